"""Answers as Markdown and spreadsheet-safe CSV."""
