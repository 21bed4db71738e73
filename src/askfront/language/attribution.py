"""Who a sentence says makes a claim: "according to X" kept whole over abbreviations and titles, or
the subject of a reporting verb ("X said ...") when the answer is part of what it reports."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spacy.tokens import Span, Token


SAY_VERBS = {"say", "tell", "note", "claim", "announce", "report", "state", "confirm", "add", "insist", "deny"}


# Verbs that make their subject the source of what they report ("deny" does not: it disputes it).
REPORT_VERBS = SAY_VERBS - {"deny"} | {"estimate", "tally", "count"}


# Dependents that carry what a verb reports: "X said [that seven died]", "seven died, [X said]".
_REPORTED = {"ccomp", "parataxis", "xcomp"}


def attribution(sent: Span, answer_start: int, answer_end: int) -> str:
    """Who the sentence says makes the claim ('according to X', 'X said that ...'), unless that is the
    answer. A verb's subject is a source only of what the verb reports: "Da'esh claimed the attack,
    which killed 60" does not make Da'esh the source of the 60."""
    found = according_to(sent.text)
    if found:
        start, end = (sent.start_char + x for x in found)
        if not (start <= answer_start < end):
            return "according to " + " ".join(sent.text[found[0] : found[1]].split()).rstrip(",")
        return ""
    answer = [t for t in sent if t.idx < answer_end and t.idx + len(t) > answer_start]
    if not answer:
        return ""
    for token in sent:
        if token.lemma_.lower() in REPORT_VERBS and token.pos_ == "VERB":
            subjects = [c for c in token.children if c.dep_ in {"nsubj"}]
            if not subjects or subjects[0].pos_ == "PRON":
                continue
            subject = sent.doc[subjects[0].left_edge.i : subjects[0].right_edge.i + 1]
            if subject.start_char <= answer_start < subject.end_char:
                return ""
            if not _reports(token, answer[0]):
                continue
            return f"according to {' '.join(subject.text.split())}"
    return ""


_ACCORDING = re.compile(r"\baccording to\s+", re.IGNORECASE)


# A full stop after one of these (or after single capitals, "U.S.", "U.N.") does not end the source's name.
_ABBREVIATION = re.compile(
    r"(?:\b[A-Z]\.)+$|\b(?:Lt|Col|Gen|Maj|Capt|Sgt|Cpl|Pvt|Adm|Cmdr|Brig|Dr|Mr|Mrs|Ms|Prof|Gov|Sen|Rep|St|Jr|Sr|"
    r"No|Inc|Co|Corp|Ltd|Dept|Govt|Amb|Rev)\.$"
)


def according_to(text: str) -> tuple[int, int] | None:
    """Characters of the source in 'according to X': to the end of the sentence (or a ';'), kept whole over
    abbreviations and titles ('U.S. officials', 'Lt. Col. Ahmed Hassan', 'the U.N.'); when the phrase
    opens the sentence ('According to the ministry, seven soldiers were killed.'), to its first comma."""
    m = _ACCORDING.search(text)
    if not m:
        return None
    opens = not text[: m.start()].strip(" \"'\u201c(") or text[: m.start()].rstrip().endswith((";", ":"))
    end = len(text)
    for stop in re.finditer(r"[;,]|\.(?=\s|$|[\"'\u201d)])", text[m.end() :]):
        at = m.end() + stop.start()
        if stop.group() == ";" or (stop.group() == "," and opens):
            end = at
            break
        if stop.group() == "." and not _ABBREVIATION.search(text[m.end() : at + 1]):
            end = at
            break
    end = len(text[:end].rstrip(" ,"))
    return (m.end(), end) if end > m.end() else None


def _reports(verb: Token, token: Token) -> bool:
    """``token`` is part of what ``verb`` reports: inside its clausal complement, or in the clause that
    the verb comments on ("Seven were killed, a spokesman said")."""

    def inside(t: Token, anchor: Token) -> bool:
        return anchor.left_edge.i <= t.i <= anchor.right_edge.i

    if any(c.dep_ in _REPORTED and inside(token, c) for c in verb.children):
        return True
    return verb.dep_ in _REPORTED and verb.head.i != verb.i and inside(token, verb.head) and not inside(token, verb)
