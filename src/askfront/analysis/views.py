"""The corpus-wide views built from the names and dates found at index time: the list of people,
organisations and places with their counts, where each is mentioned, and a timeline of dated sentences.

Names are grouped by their key (see askfront.language.names) and by ``corpus/aliases.yaml``, applied here, when
the view is built: editing the alias file needs no rebuild.
"""

from __future__ import annotations

import io
from collections import Counter, defaultdict
from dataclasses import dataclass

from askfront.core.types import DATE_READ
from askfront.index.store import Index
from askfront.language.names import entity_key
from askfront.search.text import ReportMatches, Term, name_terms, search_reports

MENTIONS_SHOWN = 200  # mentions listed for one name (all of its reports are always listed)
CONTEXT = 120  # characters of report text shown each side of a mention


@dataclass(frozen=True)
class NameRow:
    key: str
    name: str  # the most frequent spelling
    kind: str  # person | organisation | place
    mentions: int
    reports: int


@dataclass(frozen=True)
class MentionRow:
    path: str
    title: str
    date: str
    start: int
    end: int
    text: str
    context: str


@dataclass(frozen=True)
class TimelineRow:
    iso: str  # YYYY-MM-DD, YYYY-MM or YYYY
    date_text: str  # as the report writes it
    sentence: str
    path: str
    title: str
    report_date: str
    start: int  # the date's span in the report
    end: int
    sentence_start: int
    sentence_end: int
    report_date_read: str = ""  # how the report's date was read from it ('' from metadata; core.types.DATE_READ)


def canonical(key: str, aliases: dict[str, str]) -> str:
    return aliases.get(key, key)


def names(index: Index, aliases: dict[str, str], by_text: int = 0, of_kind: str = "") -> list[NameRow]:
    """Every name with its mentions and reports, most mentioned first. Counts are the name finder's; for
    the first ``by_text`` names they are found by text instead (every spelling, as ``reports_mentioning``
    lists them), so a report the name finder missed is counted. ``of_kind``: only names of that kind."""
    mentions: Counter[str] = Counter()
    reports: dict[str, set[str]] = defaultdict(set)
    kinds: dict[str, Counter[str]] = defaultdict(Counter)
    spellings: dict[str, Counter[str]] = defaultdict(Counter)
    for key, path, kind, text, count in index.name_counts():
        group = canonical(key, aliases)
        mentions[group] += count
        reports[group].add(path)
        kinds[group][kind] += count
        spellings[group][text] += count
    rows = [
        NameRow(k, spellings[k].most_common(1)[0][0], kinds[k].most_common(1)[0][0], n, len(reports[k]))
        for k, n in mentions.items()
    ]
    rows = sorted((r for r in rows if not of_kind or r.kind == of_kind), key=lambda r: (-r.mentions, r.name.casefold()))
    for i, r in enumerate(rows[:by_text]):  # the spellings reports_mentioning searches for, known here
        found = search_reports(index, name_terms(_spelled(r.key, spellings[r.key], aliases)), any_term=True)
        rows[i] = NameRow(r.key, r.name, r.kind, sum(m.count for m in found), len(found))
    return rows


def _titles_and_dates(index: Index) -> dict[str, tuple[str, str]]:
    """Each report's (title, date) by its corpus path, for the rows of the views."""
    return {path: (title, date) for path, title, date in index.documents()}


def _keys(index: Index, key: str, aliases: dict[str, str]) -> list[str]:
    """Every raw key that belongs to the group of ``key``."""
    group = canonical(key, aliases)
    return sorted({k for k in index.name_keys() if canonical(k, aliases) == group} | {group})


def mentions(index: Index, key: str, aliases: dict[str, str], limit: int = MENTIONS_SHOWN) -> list[MentionRow]:
    """Where the name ``key`` (with its variants and aliases) is mentioned, report by report."""
    docs = _titles_and_dates(index)
    rows = []
    for path, start, end, text, _kind in index.mentions(_keys(index, key, aliases))[:limit]:
        lo = max(0, start - CONTEXT)
        context = " ".join(index.text(path, lo, end + CONTEXT).split())
        title, date = docs.get(path, (path, ""))
        rows.append(MentionRow(path, title, date, start, end, text, context))
    return rows


def spellings(index: Index, key: str, aliases: dict[str, str]) -> list[str]:
    """Every way the reports and the aliases write the name ``key``'s group."""
    written = [text for _path, _start, _end, text, _kind in index.mentions(_keys(index, key, aliases))]
    return _spelled(canonical(key, aliases), written, aliases)


def _spelled(group: str, written, aliases: dict[str, str]) -> list[str]:
    """A group's spellings: as the reports write it, as its aliases do, and its key."""
    return sorted(set(written) | set(getattr(aliases, "spellings", {}).get(group, ())) | {group})


def reports_mentioning(
    index: Index, name: str, aliases: dict[str, str], files: tuple[str, ...] = ()
) -> list[ReportMatches]:
    """Every report whose text holds the name (as typed, or a key), any of its variants or aliases,
    found by text, not only where the name finder tagged it; newest first, with counts."""
    return search_reports(index, terms_of_name(index, name, aliases), any_term=True, files=files)


def terms_of_name(index: Index, name: str, aliases: dict[str, str]) -> list[Term]:
    """The name as typed and every spelling of its group, as text-search terms."""
    return name_terms([name, *spellings(index, canonical(entity_key(name), aliases), aliases)])


def reports_naming(index: Index, key: str, aliases: dict[str, str]) -> list[str]:
    """The reports that mention the name ``key`` (for restricting questions to them)."""
    return sorted(m.path for m in reports_mentioning(index, key, aliases))


def timeline(index: Index, aliases: dict[str, str], key: str = "", files: tuple[str, ...] = ()) -> list[TimelineRow]:
    """Dated sentences in date order; only those naming ``key`` and/or in ``files`` when given."""
    docs = _titles_and_dates(index)
    naming: dict[str, list[tuple[int, int]]] = defaultdict(list)
    if key:
        for path, start, end, _text, _kind in index.mentions(_keys(index, key, aliases)):
            naming[path].append((start, end))
    rows = []
    for path, start, end, s_start, s_end, date_text, iso, sentence in index.dated():
        if files and path not in files:
            continue
        if key and not any(s_start <= a and b <= s_end for a, b in naming.get(path, ())):
            continue
        title, report_date = docs.get(path, (path, ""))
        sentence = " ".join(sentence.split())
        read = index.manifest.dates_read.get(path, "")
        rows.append(TimelineRow(iso, date_text, sentence, path, title, report_date, start, end, s_start, s_end, read))
    return rows


def timeline_note(rows: list[TimelineRow], shown: int = 0) -> str:
    """'12 dated sentences (3 from undated reports …)': what the timeline holds and what it cannot."""
    text = f"{len(rows)} dated sentence{'' if len(rows) == 1 else 's'}"
    undated = sum(not r.report_date for r in rows)
    if undated:
        text += (
            f'; {undated} from undated reports (a sentence\'s own full date, such as "Dec. 26, 2016", stands '
            'without a report date; "May 5" or "on Monday" needs one: give the report a date)'
        )
    read = sum(bool(r.report_date_read) for r in rows)
    if read:
        text += (
            f"; {read} from reports whose date askfront read from the report itself (no date in their metadata): "
            "check it in the Reports panel"
        )
    if shown and len(rows) > shown:
        text += f" (first {shown} shown)"
    return text


TIMELINE_COLUMNS = (
    "date", "date_as_written", "sentence", "report_title", "file", "report_date", "report_date_read", "start", "end"
)  # fmt: skip


def timeline_csv(rows: list[TimelineRow]) -> str:
    """The timeline as CSV: date, date as written, sentence, report title, file, report date, date span."""
    from askfront.core.formats import safe_csv_writer

    out = io.StringIO()
    writer = safe_csv_writer(out)
    writer.writerow(TIMELINE_COLUMNS)
    for r in rows:
        read = DATE_READ.get(r.report_date_read, "")
        writer.writerow((r.iso, r.date_text, r.sentence, r.title, r.path, r.report_date, read, r.start, r.end))
    return out.getvalue()
