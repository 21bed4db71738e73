"""Follow-up questions that stay with the conversation.

- ``resolve_followup``: the question as it stands alone. "he/she" become the person the previous answer
  was about (its short answer when that is a name, else the person the previous question asked about:
  "the sailor"), never a place; "it/they/there" the first name of the previous question; an elliptical
  follow-up ("And how many in Iraq?") keeps the previous question with the new part in place of the
  old one ("How many coalition strikes hit ISIL in Iraq on January 8?").
- ``followup_scope``: a follow-up is asked of the reports the previous answer came from, unless it names
  something those reports do not mention.
- ``speaker_before``: who introduces a quote on the line before it ("Minister Tobias Ellwood said:").
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from askfront.language.nlp import proper_runs

if TYPE_CHECKING:
    from spacy.language import Language

    from askfront.answer.conversation import Answer

_LEAD = re.compile(r"^\s*(?:and|so|but|also|then|ok|okay)\b[\s,]*", re.I)
_PRONOUN = re.compile(r"\b(it|there|he|she|him|her|they|them|its|his|their)\b", re.I)
# Pronouns that refer to nothing earlier: existential "there" ("Were there any casualties?", "there were"),
# dummy "it" ("Is it true that ...", "it is reported that ...", "it rained").
_NOT_A_REFERENCE = re.compile(
    r"\b(?:is|are|was|were|be|been|being|has|have|had|will|would|could|'s)\s+there\b|"
    r"\bthere\s+(?:is|are|was|were|be|been|has|have|had|will|would|could|may|might|'s)\b|"
    r"\b(?:is|was|does|did|will)\s+it\s+(?:true|possible|likely|known|clear|certain|the\s+case|confirmed|rain)\b|"
    r"\bit\s+(?:is|was)\s+(?:true|reported|said|claimed|possible|likely|unclear|clear|known|believed|thought)\b",
    re.I,
)
_PERSONAL = {"he", "she", "him", "her", "his"}
_PLACE_LABELS = {"GPE", "LOC", "FAC"}
_WH = re.compile(r"^(?:how\s+(?:many|much|far|long|old)|what|which|who|whom|when|where|why)\b", re.I)
_ELLIPTICAL_MAX_WORDS = 7  # "And how many in Iraq?", "And in Benghazi?": no verb of their own
_SPEAKER_LINE = re.compile(
    r"([A-Z][\w.'\u2019-]*(?:\s+(?:of\s+|the\s+)?[A-Z][\w.'\u2019-]*){0,7})\s*,?\s+"
    r"(?:said|told\s+[\w\s]{1,30}|stated|wrote|added|announced|declared)\s*(?:on\s+\w+\s*)?:\s*$"
)


def resolve_followup(question: str, history: list[Answer], nlp: Language) -> str:
    """Rewrite a follow-up so it stands alone: 'And how far is it from Misrata?' after a question about
    Abu Grain becomes 'how far is Abu Grain from Misrata?'. Questions without a reference pass through."""
    if not history:
        return question
    previous = history[-1]
    before = previous.resolved_question or previous.question
    text = _LEAD.sub("", question).strip()
    about = re.match(r"^(?:what|how)\s+about\s+(.+?)\s*\??$", text, re.I)
    doc = nlp(before)
    names = [" ".join(t.text for t in run) for run in proper_runs(doc[:])]
    if about:
        return before.replace(names[0], about.group(1), 1) if names else f"{before} {about.group(1)}"
    elliptical = _elliptical(question, text, before, doc, nlp)
    if elliptical:
        return elliptical
    skip = [m.span() for m in _NOT_A_REFERENCE.finditer(text)]
    match = next((m for m in _PRONOUN.finditer(text) if not any(a <= m.start() < b for a, b in skip)), None)
    if not match:
        return question
    if any(t.pos_ in {"NOUN", "PROPN"} for t in nlp(text[: match.start()])):
        return question  # 'How many trucks did the convoy have when it reached Tobruk?': 'it' is the convoy
    word = match.group(1).lower()
    referent = _person(previous, doc, nlp) if word in _PERSONAL else (names[0] if names else "")
    if not referent:
        return question
    if word in {"its", "his", "their"}:
        referent += "'s"
    return text[: match.start()] + referent + text[match.end() :]


def _person(previous: Answer, doc, nlp: Language) -> str:
    """Who 'he/she' is after ``previous``: its short answer when that is a name; else the person named
    nearest before the answer in its cited sentence ('Scott C. Dayton, 42, of ...'); else the first noun
    phrase of its question that is not a place ('the sailor killed in Syria' -> 'the sailor')."""
    short = previous.short_answer
    if short and not previous.abstained and not re.search(r"\d", short):
        tagged = nlp(short)
        if any(e.label_ == "PERSON" for e in tagged.ents) or all(t.pos_ == "PROPN" for t in tagged):
            return short
    if short and not previous.abstained and previous.citations:
        c = previous.citations[0]
        cut = (c.answer_start - c.start) if c.answer_start is not None else len(c.quote)
        people = [e for e in nlp(c.quote).ents if e.label_ == "PERSON" and e.end_char <= cut]
        if people:
            return people[-1].text
    places = {t.i for e in doc.ents if e.label_ in _PLACE_LABELS for t in e}
    for chunk in doc.noun_chunks:
        if chunk.root.i not in places and chunk.root.tag_ not in {"WP", "WDT"} and chunk.root.pos_ != "PRON":
            return chunk.text
    return ""


def _elliptical(question: str, text: str, before: str, doc, nlp: Language) -> str:
    """'And how many in Iraq?' after 'How many coalition strikes hit ISIL in Syria on January 8?': the
    previous question with the new name in place of the old one of the same kind (or after the same
    word); '' when ``question`` is not such a follow-up."""
    if not _LEAD.match(question) or len(text.split()) > _ELLIPTICAL_MAX_WORDS:
        return ""
    asked = nlp(text)
    if any(t.pos_ in {"VERB", "AUX"} for t in asked):
        return ""  # a question of its own ('And how many were wounded?')
    new = proper_runs(asked[:])
    if not new:
        return ""
    replacement = new[0]
    label = replacement.ents[0].label_ if replacement.ents else ""
    old = [e for e in doc.ents if label and e.label_ == label] or [
        run for run in proper_runs(doc[:]) if run.start > 0 and doc[run.start - 1].lower_ == _before_word(replacement)
    ]
    if not old:
        return ""
    target = old[0]
    return before[: target.start_char] + replacement.text + before[target.end_char :]


def _before_word(run) -> str:
    return run.doc[run.start - 1].lower_ if run.start > 0 else ""


def followup_scope(
    question: str, resolved: str, previous: Answer, mentions: Callable[[str, str], bool], nlp: Language
) -> tuple[str, ...]:
    """The reports a follow-up is asked of: those the previous answer came from, when ``question`` is a
    follow-up (it refers back, or opens with 'And ...') and names nothing they do not mention
    (``mentions(report, name)``); () for a question of its own."""
    files = tuple(dict.fromkeys([c.file for c in previous.citations] + [r["file"] for r in previous.reports]))
    if not files or previous.abstained:
        return ()
    refers = resolved.strip() != question.strip() or bool(_LEAD.match(question))
    if not refers:
        text = question.strip()
        skip = [m.span() for m in _NOT_A_REFERENCE.finditer(text)]
        refers = any(not any(a <= m.start() < b for a, b in skip) for m in _PRONOUN.finditer(text))
    if not refers:
        return ()
    names = [run.text for run in proper_runs(nlp(_LEAD.sub("", question))[:])]
    if any(not any(mentions(f, name) for f in files) for name in names):
        return ()  # it names something else: ask every report
    return files


def speaker_before(text_before: str) -> str:
    """The speaker who introduces a quote on the line before it ('... Tobias Ellwood said:'), or ''."""
    lines = [line.strip() for line in text_before.splitlines() if line.strip()]
    if not lines:
        return ""
    match = _SPEAKER_LINE.search(lines[-1])
    return match.group(1).strip() if match else ""
