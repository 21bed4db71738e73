"""A report's own date, read from the report when its metadata gives none: its dateline ("WASHINGTON, Dec. 26,
2016 —"), else a dated web address in its source ("…/2017/01/09/…", a year-less dateline taking that year),
else the first sentence that gives a full date. Candidates are found by pattern, then parsed by dateparser
(a well-kept parser of English and Arabic dates), so "Dec. 26, 2016" and "26 ديسمبر 2016" read alike."""

from __future__ import annotations

import datetime as dt
import re

from askfront.language.dates import MONTH_PATTERN

# A dateline stands in a report's first lines; a full date further down (first dated sentence) is taken only
# when neither a dateline nor a dated address exists. Both are "read from the text" for the journalist to check.
DATELINE_CHARS = 600
SEARCH_CHARS = 20_000  # how far into a report the first dated sentence is looked for
# Dates before this year are history cited in a report, not its date; after today they are typos.
EARLIEST_YEAR = 1990

_AR_MONTHS = "يناير|فبراير|مارس|أبريل|ابريل|مايو|يونيو|يوليو|أغسطس|اغسطس|سبتمبر|أكتوبر|اكتوبر|نوفمبر|ديسمبر"
_MONTH = rf"(?:{MONTH_PATTERN})\.?|{_AR_MONTHS}"
_YEAR = r"(?:19|20)\d\d"
_FULL = re.compile(
    rf"\b(?:(?:{_MONTH})\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+{_YEAR}"  # Dec. 26, 2016
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:{_MONTH}),?\s+{_YEAR}"  # 26 December 2016, 26 ديسمبر 2016
    rf"|{_YEAR}-\d\d-\d\d)(?!\d)",  # 2016-12-26
    re.IGNORECASE,
)
_DAY_MONTH = re.compile(rf"\b(?:{MONTH_PATTERN})\.?\s+\d{{1,2}}\b(?!,?\s*\d)", re.IGNORECASE)  # Dec. 26
_ADDRESS = re.compile(r"https?://\S+", re.IGNORECASE)
_ADDRESS_DATE = re.compile(rf"/({_YEAR})[/-](0?[1-9]|1[0-2])(?:[/-](0?[1-9]|[12]\d|3[01]))?(?=[/-])")


def read_date(text: str, source: str = "") -> tuple[str, str]:
    """(ISO date, how) read from a report: how is "text" or "source" (see core.types.DATE_READ); ("", "") when the
    report says no date that can be trusted as its own."""
    head = text[:DATELINE_CHARS]
    found = _first_full(head)
    if found:
        return found, "text"
    addressed = _address_date(source) or _address_date(" ".join(_ADDRESS.findall(head)))
    if addressed:
        day = _DAY_MONTH.search(head)
        if day and len(addressed) == 7:  # "Dec. 26" in the dateline, 2016-12 in the address
            parsed = _parse(f"{day.group(0)} {addressed[:4]}")
            if parsed and parsed.startswith(addressed):
                return parsed, "source"
        return addressed, "source"
    found = _first_full(text[:SEARCH_CHARS])
    return (found, "text") if found else ("", "")


def _first_full(text: str) -> str:
    for m in _FULL.finditer(text):
        parsed = _parse(m.group(0))
        if parsed:
            return parsed
    return ""


def _address_date(addresses: str) -> str:
    """'2017-01-09' or '2017-01' from a dated web address ('…/2017/01/09/…'), '' when none."""
    m = _ADDRESS_DATE.search(addresses)
    if not m:
        return ""
    year, month, day = m.group(1), int(m.group(2)), m.group(3)
    if not _plausible(int(year)):
        return ""
    if day:
        try:
            return dt.date(int(year), month, int(day)).isoformat()
        except ValueError:
            return ""
    return f"{year}-{month:02d}"


def _parse(written: str) -> str:
    import dateparser  # ~0.3 s to import; only reports without a date need it

    settings = {"REQUIRE_PARTS": ["day", "month", "year"], "STRICT_PARSING": True}
    parsed = dateparser.parse(written.replace(".", " "), languages=["en", "ar"], settings=settings)
    if parsed is None or not _plausible(parsed.year):
        return ""
    return parsed.date().isoformat()


def _plausible(year: int) -> bool:
    return EARLIEST_YEAR <= year <= dt.date.today().year + 1
