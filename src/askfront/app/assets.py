"""The page's CSS and JavaScript, kept as real files in app/assets/ and read once."""

from __future__ import annotations

import functools
from pathlib import Path

ASSETS = Path(__file__).parent / "assets"


@functools.cache
def asset(name: str) -> str:
    """The text of ``app/assets/<name>``: page.css, page.js (once per page load), scroll.js, answer.js."""
    return (ASSETS / name).read_text(encoding="utf-8")
