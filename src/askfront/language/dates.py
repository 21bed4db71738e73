"""Dates in report text resolved to the calendar: "May 5" in a report dated 2016-05 is 2016-05-05;
"December 28" in one dated 2016-01-03 is 2015-12-28; "Monday" only in a report dated to the day; "last
week" and "earlier this month" are left out. A full date ("Dec. 26, 2016") needs no report date."""

from __future__ import annotations

import calendar
import datetime as dt
import re

# "December 28" in a report dated 2016-01-03 is 2015-12-28; "May 5" in one dated 2016-05-03 is an upcoming
# 2016-05-05: a day-month without a year is taken as at most this many days after the report.
FUTURE_DAYS = 60
_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_MONTHS |= {name.lower(): i for i, name in enumerate(calendar.month_abbr) if name}
_MONTHS["sept"] = 9
# Any month name or abbreviation, longest first (a regex alternation; analysis.figures tells dates from
# figures with it)
MONTH_PATTERN = "|".join(sorted(_MONTHS, key=len, reverse=True))
_MONTH = MONTH_PATTERN  # short, for the patterns below
_DAYS = {name.lower(): i for i, name in enumerate(calendar.day_name)}
_YEAR = r"(?:1[89]|20)\d\d"
_PATTERNS = (  # (regex, what it gives); tried in order on the DATE entity's text
    (re.compile(rf"(?P<y>{_YEAR})-(?P<m>\d\d)-(?P<d>\d\d)"), "day"),
    (re.compile(rf"(?P<mon>{_MONTH})\.?\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<y>{_YEAR})", re.I), "day"),
    (re.compile(rf"(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<mon>{_MONTH})\.?,?\s+(?P<y>{_YEAR})", re.I), "day"),
    (re.compile(rf"(?P<mon>{_MONTH})\.?\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\b", re.I), "day"),
    (re.compile(rf"(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<mon>{_MONTH})\b", re.I), "day"),
    (re.compile(rf"(?P<mon>{_MONTH})\.?,?\s+(?P<y>{_YEAR})", re.I), "month"),
    (re.compile(rf"(?P<y>{_YEAR})-(?P<m>\d\d)\b"), "month"),
    (re.compile(rf"^(?:the\s+year\s+|in\s+)?(?P<y>{_YEAR})$", re.I), "year"),
)  # fmt: skip
_RELATIVE_DAY = re.compile(
    r"^(?:on\s+|last\s+)?(?P<day>monday|tuesday|wednesday|thursday|friday|saturday|sunday)$", re.IGNORECASE
)


def resolve_date(text: str, report_date: str) -> str | None:
    """``text`` (a DATE entity) as YYYY-MM-DD, YYYY-MM or YYYY, resolved against the report's date; None when
    it is not an explicit calendar date or cannot be resolved ("last week", "May 5" in an undated report)."""
    text = " ".join(text.split())
    base = _base(report_date)
    for pattern, precision in _PATTERNS:
        m = pattern.search(text)
        if m is None:
            continue
        groups = m.groupdict()
        month = int(groups["m"]) if groups.get("m") else _MONTHS.get((groups.get("mon") or "").lower().rstrip("."))
        year = int(groups["y"]) if groups.get("y") else None
        if precision == "year":
            return f"{year:04d}"
        if year is None:  # "May 5": the report's year, or the year before when that is far after the report
            if base is None or not month:
                return None
            year = base[0].year
            try:
                ahead = dt.date(year, month, int(groups.get("d") or 1)) - base[0]
            except ValueError:
                return None
            if ahead > dt.timedelta(days=FUTURE_DAYS):
                year -= 1
        if precision == "month":
            return f"{year:04d}-{month:02d}" if month else None
        try:
            return dt.date(year, month or 0, int(groups["d"])).isoformat()
        except (TypeError, ValueError):
            return None
    m = _RELATIVE_DAY.match(text)
    if m and base is not None and base[1] == "day":  # "on Monday" in a report dated to the day
        back = (base[0].weekday() - _DAYS[m.group("day").lower()]) % 7
        return (base[0] - dt.timedelta(days=back)).isoformat()
    if text.lower() in ("today", "yesterday") and base is not None and base[1] == "day":
        return (base[0] - dt.timedelta(days=text.lower() == "yesterday")).isoformat()
    return None


def _base(report_date: str) -> tuple[dt.date, str] | None:
    """The report's date as (last day it covers, precision), or None when it is undated."""
    parts = report_date.strip()[:10].split("-")
    try:
        year = int(parts[0])
        if len(parts) == 1:
            return dt.date(year, 12, 31), "year"
        month = int(parts[1])
        if len(parts) == 2:
            return dt.date(year, month, calendar.monthrange(year, month)[1]), "month"
        return dt.date(year, month, int(parts[2])), "day"
    except (ValueError, IndexError):
        return None
