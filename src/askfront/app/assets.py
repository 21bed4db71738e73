"""The page's CSS and JavaScript, kept as real files in app/assets/ and read once."""

from __future__ import annotations

import functools
from pathlib import Path

ASSETS = Path(__file__).parent / "assets"


@functools.cache
def asset(name: str) -> str:
    """The text of ``app/assets/<name>``: page.css, page.js (once per page load), scroll.js, answer.js."""
    return (ASSETS / name).read_text(encoding="utf-8")


# Shown under a table on a narrow screen (page.css), where its columns run past the edge: it scrolls sideways.
SCROLL_HINT = "↔ The table is wider than the screen: scroll it sideways to see every column."
