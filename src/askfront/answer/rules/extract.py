"""Extractive answering: pick the sentence that answers and the short span inside it, or nothing.

No text is generated: the short answer is always a span of a report (two spans joined for a figure
given in two units, "140 kilometers (about 85 miles)"). The question's expected answer type (distance,
count, date, person, place, thing) decides which spans are candidates; spaCy's parse and entities find
them; the question's words, located in the sentence, decide which candidate answers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from askfront.language.attribution import SAY_VERBS
from askfront.language.nlp import proper_runs
from askfront.language.numbers import DISTANCE, display

if TYPE_CHECKING:
    from spacy.tokens import Doc, Span, Token

_AS_FAR_AS = re.compile(r"\bas far as\s+[A-Z][\w-]*(?:\s+[A-Z][\w-]*)*")
_WH = {"what", "which", "who", "whom", "whose", "when", "where", "how", "why"}
_NUMERIC_NOUNS = {"population", "number", "toll", "count", "total", "figure", "casualties", "death"}
_PLACE_NOUNS = {"city", "town", "village", "country", "place", "district", "area", "region", "checkpoint", "base"}
_PERSON_NOUNS = {"colonel", "general", "commander", "spokesperson", "spokesman", "leader", "person", "man", "woman"}
_ORG_NOUNS = {"force", "group", "army", "militia", "organisation", "organization", "government", "agency", "unit"}
_LABELS = {
    "count": {"CARDINAL", "QUANTITY", "MONEY", "PERCENT"},
    "date": {"DATE", "TIME"},
    "person": {"PERSON", "ORG", "NORP", "GPE"},
    "place": {"GPE", "LOC", "FAC"},
    "thing": {"ORG", "PERSON", "GPE", "LOC", "FAC", "NORP", "EVENT", "PRODUCT", "WORK_OF_ART", "LAW"},
}


@dataclass(frozen=True)
class QuestionInfo:
    """What kind of answer a question wants, and the words that must be found near it."""

    kind: str  # distance | count | date | duration | person | place | thing
    head: str  # the noun of "what/which NOUN" questions ('' otherwise)
    content: dict[str, float]  # question lemma -> weight (names and numbers weigh more)
    names: tuple[str, ...]  # proper names in the question; a sentence lacking one does not answer it
    verb: str = ""  # the question's main verb (lemma) unless a light verb; the answer must come with it
    acronyms: dict[str, tuple[str, ...]] = field(default_factory=dict)  # 'lna' -> libyan, national, army
    stranded: str = ""  # a question-final preposition ('running short of?'): its object is the answer
    root: str = ""  # the question's main verb, light or not
    role: str = ""  # the wh-phrase's relation to that verb ('What did IS take?' -> dobj)


# Verbs whose meaning sits in their object ("take for treatment", "give air cover", "hold a post"):
# a sentence may answer with another verb, so they are not required in it.
_LIGHT_VERBS = {"be", "have", "do", "take", "give", "get", "make", "hold", "go", "come", "put", "happen"}


def analyse_question(doc: Doc) -> QuestionInfo:
    """Expected answer type, weighted content words, names and main verb of a parsed question."""
    text = doc.text.lower().strip()
    head = ""
    match = re.search(r"\b(?:what|which|whose)\s+(?:kind of\s+|type of\s+)?([a-z-]+)", text)
    if match and match.group(1) not in {"is", "was", "are", "were", "did", "does", "do", "has", "have", "else"}:
        head = _lemma_of(doc, match.group(1))
        wh = [t for t in doc if t.lower_ in {"what", "which", "whose"} and t.dep_ in {"det", "poss"}]
        if wh and wh[0].head.pos_ in {"NOUN", "PROPN"}:
            noun = wh[0].head  # 'which GNA force' -> force; 'what kind of attack' -> attack
            if noun.lemma_.lower() in {"kind", "type", "sort"}:
                noun = next((c for p in noun.children if p.lower_ == "of" for c in p.children), noun)
            head = noun.lemma_.lower()
    if re.search(r"\bhow (far|distant)\b|\bdistance\b", text):
        kind = "distance"
    elif re.search(r"\bhow (many|much)\b|\bwhat is the population\b", text) or head in _NUMERIC_NOUNS:
        kind = "count"
    elif re.search(r"\bhow long\b", text):
        kind = "duration"
    elif re.match(r"(?:and\s+)?(?:on\s+)?when\b", text) or head in {"date", "day", "year", "month", "time"}:
        kind = "date"
    elif re.search(r"\bwho(m|se)?\b", text) or head in _PERSON_NOUNS | _ORG_NOUNS:
        kind = "person"
    elif re.search(r"\bwhere\b", text) or head in _PLACE_NOUNS:
        kind = "place"
    else:
        kind = "thing"
    content: dict[str, float] = {}
    names: list[str] = []
    for token in doc:
        if token.is_stop or token.is_punct or token.lower_ in _WH or token.lemma_.lower() in {"do", "be", "have"}:
            continue
        weight = 2.0 if token.pos_ == "PROPN" or token.like_num else 1.0
        content[token.lemma_.lower()] = max(content.get(token.lemma_.lower(), 0.0), weight)
        if token.pos_ == "PROPN" and token.text[:1].isupper() and token.i > 0:
            names.append(token.lower_)
    roots = [t for t in doc if t.dep_ == "ROOT"]
    verb = role = ""
    if roots:
        root = roots[0]
        # 'What weapons did IS use?': with do-support the root is a verb even if tagged as a noun
        if root.pos_ == "VERB" or any(c.dep_ == "aux" and c.lemma_ == "do" for c in root.children):
            verb = root.lemma_.lower()
        wh = next((t for t in doc if t.lower_ in _WH), None)
        if wh is not None:
            phrase = wh.head if wh.dep_ in {"det", "poss"} else wh
            if phrase.head.i == root.i and phrase.i != root.i:
                role = phrase.dep_  # 'What else did IS take?' -> dobj
    acronyms = {}
    for run in proper_runs(doc[:]):
        words = [t.lower_ for t in run if t.text[:1].isupper() and t.text.isalpha()]
        if len(words) > 1:
            acronyms["".join(w[0] for w in words)] = tuple(words)
    stranded = ""
    for token in doc:
        following = doc[token.i + 1] if token.i + 1 < len(doc) else None
        bare = not any(c.dep_ == "pobj" for c in token.children)
        last = following is None or following.is_punct or following.lower_ in _WH
        if token.dep_ == "prep" and token.i > 0 and bare and last:
            stranded = token.lower_  # 'waiting for when ...', 'running short of?'
    light = verb in _LIGHT_VERBS
    return QuestionInfo(
        kind, head, content, tuple(dict.fromkeys(names)), "" if light else verb, acronyms, stranded, verb, role
    )


def _lemma_of(doc: Doc, word: str) -> str:
    for token in doc:
        if token.lower_ == word:
            return token.lemma_.lower()
    return word


_PRONOUNS = {"it", "its", "they", "their", "them", "he", "his", "him", "she", "her", "this", "these"}


def words_of(sent: Span) -> set[str]:
    """The lower-cased words and lemmas of a sentence (and the parts of 'State(IS)'-like tokens)."""
    return {t.lemma_.lower() for t in sent} | {t.lower_ for t in sent} | set(re.findall(r"\w+", sent.text.lower()))


def names_of(sent: Span) -> set[str]:
    """Lower-cased proper nouns (and acronyms) of a sentence, for the sentences after it that refer back."""
    names = {t.lower_ for t in sent if t.pos_ == "PROPN" or (t.text.isupper() and len(t.text) > 1)}
    return names.union(*(re.findall(r"\w+", name) for name in names))


def refers_back(sent: Span) -> bool:
    """Whether a sentence leans on an earlier one through a third-person pronoun ('They also took ...')."""
    return any(t.lower_ in _PRONOUNS and t.pos_ in {"PRON", "DET"} for t in sent)


def with_acronyms(info: QuestionInfo, words: set[str]) -> set[str]:
    """``words`` plus the names that acronyms in them stand for ('lna' -> libyan national army)."""
    return words.union(*(info.acronyms[w] for w in words if w in info.acronyms))


def coverage(info: QuestionInfo, words: set[str]) -> float:
    """Weighted share of the question's content words found among a sentence's ``words``."""
    if not info.content:
        return 0.0
    words = with_acronyms(info, words)
    found = sum(w for lemma, w in info.content.items() if lemma in words)
    return found / sum(info.content.values())


def names_present(info: QuestionInfo, words: set[str]) -> bool:
    """Every proper name of the question is among ``words`` (directly or through an acronym)."""
    words = with_acronyms(info, words)
    return all(name in words for name in info.names)


def may_name(info: QuestionInfo, text: str) -> bool:
    """Whether ``text`` could contain every name of the question (a cheap test before parsing it):
    each name, or an acronym standing for it, occurs in the lower-cased text."""
    low = text.lower()
    return all(
        name in low or any(name in words and acronym in low for acronym, words in info.acronyms.items())
        for name in info.names
    )


def verb_present(info: QuestionInfo, sent: Span) -> bool:
    """The question's main verb is in the sentence (any reporting verb stands for another)."""
    return not info.verb or any(_same_verb(info.verb, t.lemma_.lower()) for t in sent)


def _same_verb(a: str, b: str) -> bool:
    return a == b or (a in SAY_VERBS and b in SAY_VERBS)


@dataclass(frozen=True)
class Candidate:
    """A short answer: ``text`` is what is shown; ``start``/``end`` are offsets in the sentence's doc."""

    text: str
    start: int
    end: int
    score: float


def candidates(info: QuestionInfo, sent: Span) -> list[Candidate]:
    """Spans of the sentence that could answer, best first (empty when none fits the question)."""
    matched = [t for t in sent if t.lemma_.lower() in info.content or t.lower_ in info.content]
    anchors = [t for t in sent if info.verb and _same_verb(info.verb, t.lemma_.lower())]
    found: list[Candidate] = []
    for span, label in _spans(info, sent):
        span = _with_head(info, _balance(span))
        content_tokens = [t for t in span if not (t.is_stop or t.is_punct)]
        if not content_tokens:
            continue
        novel = [t for t in content_tokens if t.lemma_.lower() not in info.content and t.lower_ not in info.content]
        if not novel:
            continue  # the question's own words are not an answer
        if span.root.lower_ in info.names and label != "direction" and info.kind not in {"count", "distance"}:
            continue  # what the question names is what it asks about, not the answer
        if info.kind == "thing" and info.head and not any(t.lemma_.lower() == info.head for t in span):
            continue  # 'which airline?' is answered by an airline, named as such ('Operation Volcano')
        if anchors and not any(_within(span.root, a) for a in anchors):
            continue  # the answer must belong to the question's verb ('killed' -> who/how many was killed)
        score = _closeness(span, matched) + _LABEL_BONUS.get(label, 0.0)
        asked = [t for t in span if t.lemma_.lower() in info.content and t.lemma_.lower() != info.head]
        score -= 0.5 * len(asked)  # 'the former home town of Gadaffi' answers 'whose home town?' worse than 'Gadaffi'
        if info.head and any(t.lemma_.lower() == info.head for t in span):
            score += 1.0
        if info.head and span.root.head.lower_ == "of" and span.root.head.head.lemma_.lower() == info.head:
            score += 1.0  # 'whose home town?' -> 'the home town of Gadaffi'
        if any(t.pos_ == "PROPN" for t in span) and any(_apposed(span, t) for t in matched if t.pos_ != "PROPN"):
            score += 1.0  # 'Sirte, the last larger city stronghold of IS' answers 'what is the last ... stronghold?'
        if info.role and span.root.dep_ == info.role and span.root.head.lemma_.lower() == info.root:
            score += 1.0  # it fills the place of the question word: 'what did IS take?' -> 'took villages'
        if info.kind == "person" and label == "PERSON":
            score += 0.3
        text = _display(span)
        found.append(Candidate(text, span.start_char, span.end_char, score))
    found.sort(key=lambda c: -c.score)
    return found


_NUMERIC_LABELS = {"DATE", "TIME", "CARDINAL", "ORDINAL", "QUANTITY", "MONEY", "PERCENT"}
_QUALIFIERS = {"over", "about", "around", "nearly", "almost", "some", "roughly", "approximately", "than", "under"}
_LABEL_BONUS = {"pattern": 0.5, "object": 1.5, "attr": 0.5, "direction": 0.5}


def _within(token: Token, anchor: Token) -> bool:
    """``token`` is ``anchor`` or hangs below it in the parse (or the anchor hangs below the token's verb)."""
    if any(t.i == anchor.i for t in token.ancestors) or token.i == anchor.i:
        return True
    verb = _governing_verb(token)
    return verb is not None and (verb.i == anchor.i or any(t.i == verb.i for t in anchor.ancestors))


def _apposed(span: Span, token: Token) -> bool:
    """``token`` is (in) an apposition to the span, or the span an apposition to it."""
    inside = span.start <= token.i < span.end
    return (not inside and token.dep_ == "appos" and span.start <= token.head.i < span.end) or (
        span.root.dep_ == "appos" and span.root.head.i == token.i
    )


def _with_head(info: QuestionInfo, span: Span) -> Span:
    """Take in the noun the question asked for: 'which government?' -> '... (HoR) government'."""
    doc = span.doc
    if info.head and span.end < len(doc) and doc[span.end].lemma_.lower() == info.head:
        return doc[span.start : span.end + 1]
    return span


def _qualified(span: Span) -> Span:
    """Keep the word that qualifies a figure or date: 'over two weeks ago', 'about 85', 'nearly 40'."""
    doc = span.doc
    if span.start > 0 and doc[span.start - 1].lower_ in _QUALIFIERS:
        start = span.start - 1
        if start > 0 and doc[start].lower_ == "than" and doc[start - 1].lower_ in {"more", "less", "fewer"}:
            start -= 1
        return doc[start : span.end]
    return span


def _balance(span: Span) -> Span:
    """Close a parenthesis the span opened: 'the House of Representatives (HoR' -> '... (HoR)'."""
    doc = span.doc
    if span.text.count("(") > span.text.count(")") and span.end < len(doc) and doc[span.end].text == ")":
        return doc[span.start : span.end + 1]
    return span


def _objects(info: QuestionInfo, sent: Span) -> list[Span]:
    """For 'What is the hospital running short of?': what follows 'short of' in the sentence; for
    'What were they waiting for?': the clause after 'waiting for' ('the GNA to form a command')."""
    out = []
    for token in sent:
        if token.lower_ != info.stranded:
            continue
        if token.dep_ == "prep" and token.head.lemma_.lower() in info.content:
            out += [_expand(sent.doc[c.i : c.i + 1]) for c in token.children if c.dep_ == "pobj"]
        elif token.dep_ == "mark" and token.head.head.lemma_.lower() in info.content:
            out.append(sent.doc[token.i + 1 : token.head.right_edge.i + 1])
    return out


def _spans(info: QuestionInfo, sent: Span) -> list[tuple[Span, str]]:
    """Spans of the expected type: regex patterns for quantities, entities, then noun phrases."""
    doc = sent.doc
    out: list[tuple[Span, str]] = []
    if info.kind == "distance":
        for m in (*DISTANCE.finditer(sent.text), *_AS_FAR_AS.finditer(sent.text)):
            span = doc.char_span(sent.start_char + m.start(), sent.start_char + m.end(), alignment_mode="expand")
            if span is not None:
                out.append((span, "pattern"))
        return out
    if info.kind == "duration":
        return [(e, e.label_) for e in sent.ents if e.label_ in {"DATE", "TIME"} and _is_duration(e.text)]
    labels = _LABELS.get(info.kind, set())
    if info.kind == "count":
        out += [(_qualified(e), e.label_) for e in sent.ents if e.label_ in labels and not DISTANCE.search(e.text)]
        out += [(doc[t.i : t.i + 1], "num") for t in sent if t.like_num and not t.ent_type_]
        return out
    if info.kind == "date":
        return [(_qualified(e), e.label_) for e in sent.ents if e.label_ in labels]
    if info.stranded:
        out += [(span, "object") for span in _objects(info, sent)]
    entities = [e for e in sent.ents if e.label_ in labels]
    out += [(e, e.label_) for e in entities] + [(_expand(e), e.label_) for e in entities]
    if info.kind == "place":
        out += [(_expand(span), "propn") for span in proper_runs(sent) if _after_place_preposition(span)]
        out += [(span, "direction") for span in _directions(sent)]
    elif info.kind == "person":
        out += [(_expand(span), "propn") for span in proper_runs(sent)]
        out += [(_expand(c), "chunk") for c in sent.noun_chunks if info.head and c.root.lemma_.lower() == info.head]
    else:
        out += [
            (_expand(chunk), "chunk")
            for chunk in sent.noun_chunks
            if chunk.root.pos_ != "PRON" and chunk.root.ent_type_ not in _NUMERIC_LABELS
        ]
        out += [(_expand(span), "propn") for span in proper_runs(sent) if span.root.ent_type_ not in {"DATE", "TIME"}]
        out += [
            (_expand(doc[t.i : t.i + 1]), "attr")
            for t in sent
            if t.dep_ in {"attr", "acomp"} and t.pos_ == "NOUN" and t.ent_type_ not in _NUMERIC_LABELS
        ]
    return out


def _is_duration(text: str) -> bool:
    return bool(re.search(r"\b(second|minute|hour|day|week|month|year)s?\b", text, re.IGNORECASE))


def _after_place_preposition(span: Span) -> bool:
    before = span.doc[span.start - 1] if span.start > 0 else None
    if before is not None and before.lower_ == "the" and span.start > 1:
        before = span.doc[span.start - 2]
    return before is not None and before.lower_ in {"in", "at", "near", "from", "to", "of", "outside", "around"}


def _directions(sent: Span) -> list[Span]:
    """'south of Misrata', 'near Zilla in the south': place phrases without a clean entity."""
    out = []
    for m in re.finditer(
        r"\b(?:(?:just\s+)?(?:north|south|east|west)(?:ern|-east|-west)?\s+of\s+[A-Z][\w-]*(?:\s+[A-Z][\w-]*)*"
        r"|near\s+[A-Z][\w-]*(?:\s+[A-Z][\w-]*)*(?:\s+in\s+the\s+(?:north|south|east|west))?)",
        sent.text,
    ):
        span = sent.doc.char_span(sent.start_char + m.start(), sent.start_char + m.end(), alignment_mode="expand")
        if span is not None:
            out.append(span)
    return out


def _expand(span: Span) -> Span:
    """Grow a name to its noun phrase: 'General Staff' -> 'the air force of the General Staff';
    'Alli' stays 'colonel Ibrahim Abdel Alli'. Stops at clauses, appositions and coordination."""
    root = span.root
    while root.dep_ == "pobj" and root.head.lower_ == "of" and root.head.head.pos_ in {"NOUN", "PROPN"}:
        root = root.head.head
    if root.i == span.root.i and root.pos_ not in {"NOUN", "PROPN"}:
        return span
    keep = [t for t in root.subtree if not _in_clause(t, root)]
    if not keep:
        return span
    start = min(min(t.i for t in keep), span.start)
    end = max(max(t.i for t in keep) + 1, span.end)
    doc = span.doc
    while start < end and (doc[start].is_punct or doc[start].dep_ == "cc"):
        start += 1
    while end > start and (doc[end - 1].is_punct or doc[end - 1].dep_ == "cc"):
        end -= 1
    return doc[start:end]


def _in_clause(token: Token, root: Token) -> bool:
    """True if ``token`` hangs below ``root`` through a clause, apposition or conjunct (not part of the NP)."""
    while token.i != root.i:
        if token.dep_ in {"relcl", "acl", "appos", "conj", "cc", "advcl", "prep"} and token.head.i == root.i:
            if token.dep_ == "prep" and token.lower_ == "of":
                token = token.head
                continue
            return True
        if token.dep_ in {"relcl", "acl", "appos", "conj", "advcl"}:
            return True
        token = token.head
    return False


def _closeness(span: Span, matched: list[Token]) -> float:
    """How near the span is to the question's words: through the parse (shared verb) and in the text."""
    if not matched:
        return 0.0
    distance = min(min(abs(t.i - span.start), abs(t.i - (span.end - 1))) for t in matched)
    score = 1.0 / (1.0 + distance / 3.0)
    verb = _governing_verb(span.root)
    if verb is not None and any(t.i == verb.i for t in matched):
        score += 1.0
    return score


def _governing_verb(token: Token) -> Token | None:
    seen = 0
    while token.head.i != token.i and seen < 8:
        token = token.head
        seen += 1
        if token.pos_ in {"VERB", "AUX"}:
            return token
    return token if token.pos_ in {"VERB", "AUX"} else None


def _display(span: Span) -> str:
    """Short-answer text of a span (see ``display``)."""
    return display(span.text)
