"""Comparing answer texts: SQuAD's normalisation (lower case, no punctuation or articles, single spaces),
shared by the verifier (do two spans agree?) and the scoring."""

from __future__ import annotations

import re
import string


def normalize(text: str) -> str:
    """SQuAD normalisation: lower case, no punctuation, no articles, single spaces."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())
