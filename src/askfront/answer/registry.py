"""The answerers' factories (named in ``core.registry.ANSWERERS``) and the conversation they are put
behind: every answerer answers through the same ``Conversation``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from askfront.answer.conversation import Answerer, Conversation
from askfront.core.registry import ANSWERERS
from askfront.search.retrieve import Retriever

if TYPE_CHECKING:
    from askfront.core.config import Settings
    from askfront.index.embed import Embedder
    from askfront.index.store import Index


def reader(settings: Settings, index: Index, embedder: Embedder) -> Answerer:
    from pathlib import Path

    from askfront.answer.reader.reader import ReaderAnswerer

    return ReaderAnswerer(
        index,
        Path(settings.reader).expanduser() if settings.reader else None,
        min_margin=settings.reader_min_margin,
        rank_penalty=settings.reader_rank_penalty,
        precision=settings.precision,
        device=settings.device,
    )


def rules(settings: Settings, index: Index, embedder: Embedder) -> Answerer:
    from askfront.answer.rules.rules import RuleAnswerer

    return RuleAnswerer(index, embedder)


def llm(settings: Settings, index: Index, embedder: Embedder) -> Answerer:
    from askfront.answer.generate import LLMAnswerer

    fallback = reader(settings, index, embedder)  # answers from the same passages when the endpoint fails
    return LLMAnswerer(fallback, embedder, settings.llm_url, settings.llm_model, settings.llm_key, settings.llm_timeout)


def make_answerer(settings: Settings, index: Index, embedder: Embedder) -> Answerer:
    """The answerer ``settings.answerer`` names (models load lazily, on the first question)."""
    return ANSWERERS.load(settings.answerer)(settings, index, embedder)


def load_answerer(settings: Settings, embedder: Embedder | None = None) -> Conversation:
    """A conversation over the index, model and answerer that ``settings`` name, loaded once for many
    questions (the models themselves load on the first question)."""
    from askfront.index.embed import Embedder
    from askfront.index.store import Index

    index = Index.open(settings.index)
    embedder = embedder or Embedder.from_settings(settings)
    retriever = Retriever(index, embedder, settings.retriever, settings.top_k)
    read_k = settings.reader_read_k if settings.answerer == "reader" else settings.top_k
    return Conversation(retriever, make_answerer(settings, index, embedder), top_k=settings.top_k, read_k=read_k)
