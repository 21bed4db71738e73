"""Stage 1: reading reports (.txt, .md, .html, .pdf) and their metadata sidecars into Documents."""
