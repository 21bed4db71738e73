"""Split reports into passages that keep their exact character span, so citations can quote and highlight."""

from __future__ import annotations

from typing import TYPE_CHECKING

from askfront.core.errors import ConfigError
from askfront.core.types import Chunk, Document

if TYPE_CHECKING:  # the splitter is imported when a build needs it: answering never does
    from langchain_text_splitters import RecursiveCharacterTextSplitter

__all__ = ["Chunk", "make_splitter", "split_document"]


def make_splitter(chunk_size: int, chunk_overlap: int) -> RecursiveCharacterTextSplitter:
    """Paragraph-, then sentence-, then word-aware splitter that records where each chunk starts."""
    if chunk_overlap >= chunk_size:
        raise ConfigError(f"chunk overlap ({chunk_overlap}) must be smaller than chunk size ({chunk_size})")
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    return RecursiveCharacterTextSplitter(
        chunk_size=chunk_size,
        chunk_overlap=chunk_overlap,
        separators=["\n\n", "\n", ". ", "? ", "! ", "; ", ", ", " ", ""],
        keep_separator="end",
        add_start_index=True,
    )


def split_document(doc: Document, splitter: RecursiveCharacterTextSplitter) -> list[Chunk]:
    """Chunks of ``doc`` in reading order, each with its span (and page) in ``doc.text``."""
    chunks = []
    for piece in splitter.create_documents([doc.text]):
        start = piece.metadata["start_index"]
        text = piece.page_content
        if start < 0 or doc.text[start : start + len(text)] != text:  # splitter could not place it
            start = doc.text.find(text)
            if start < 0:
                continue
        chunks.append(Chunk(doc.path, start, start + len(text), text, doc.page_at(start)))
    return chunks
