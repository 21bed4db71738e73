"""Corpus-wide views over answers and the index: every report's answer, figures, names, timeline."""
