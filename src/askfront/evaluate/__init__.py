"""Scoring answers, retrieval, citations and abstention on question files (JSON Lines, SQuAD)."""
