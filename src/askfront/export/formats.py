"""A conversation (answers with their citations) as Markdown for a draft, or as CSV for a spreadsheet.

Both take answers as the dicts ``Answer.to_dict()`` gives (what ``askfront ask --json`` prints), so the
browser's export and ``askfront export`` write the same thing. Every citation row carries what a
journalist needs to check it: report title, file, date, source, PDF page, the quote and its span, and
the filters that were on.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from askfront.answer.conversation import verdict
from askfront.core.arabic import is_arabic
from askfront.core.errors import AskfrontError
from askfront.core.formats import inert_markdown, safe_csv_writer
from askfront.core.registry import EXPORTERS
from askfront.core.types import DATE_READ, date_shown

CSV_COLUMNS = (
    "question", "answer", "short_answer", "citation", "report_title", "file", "date", "date_read", "source", "page",
    "read_by_ocr", "quote", "start", "end", "answers_question", "how_sure", "filters", "conflicting", "read_as",
)  # fmt: skip


def dated_name(extension: str, now: datetime | None = None) -> str:
    """'askfront-conversation-2026-11-28-1530.md': sorts by date, never overwrites an earlier export."""
    return f"askfront-conversation-{(now or datetime.now()).strftime('%Y-%m-%d-%H%M%S')}.{extension}"


def filters_text(filters: dict[str, Any] | None, titles: dict[str, str] | None = None) -> str:
    """'reports: a.txt, b.pdf; dated 2016-01 to 2016-06' ('' when no filter was on); with ``titles`` (path ->
    title) a report is named by its title: '“Coalition strikes” (a.txt)'."""
    if not filters:
        return ""
    parts = []
    if filters.get("files"):
        named = [f"“{titles[f]}” ({f})" if titles and titles.get(f, f) != f else f for f in filters["files"]]
        parts.append("reports: " + ", ".join(named))
    since, until = filters.get("since") or "", filters.get("until") or ""
    if since or until:
        parts.append(f"dated {since or '…'} to {until or '…'}")
    return "; ".join(parts)


def citation_line(c: dict[str, Any]) -> str:
    """'Title (2016-05), file.pdf, page 3, characters 762-905, source https://…' for a citation dict."""
    line = c.get("title") or c.get("file", "")
    if c.get("date"):
        line += f" ({date_shown(c['date'], c.get('date_read', ''))})"
    line += f", {c.get('file', '')}"
    if c.get("page"):
        line += f", page {c['page']}"
    if c.get("ocr"):
        line += " (read by OCR)"
    line += f", characters {c.get('start')}-{c.get('end')}"
    if c.get("source"):
        line += f", source: {c['source']}"
    return line


def read_as(answer: dict[str, Any]) -> str:
    """The question as askfront read it, when a follow-up was rewritten ('' when it was read as asked)."""
    resolved = str(answer.get("resolved_question") or "")
    return resolved if resolved and resolved.strip() != str(answer.get("question", "")).strip() else ""


def _sources(answer: dict[str, Any]) -> tuple[list[dict[str, Any]], bool]:
    """The citations of an answer, or the closest passages of an abstention (False: they do not answer)."""
    if answer.get("citations"):
        return answer["citations"], True
    return answer.get("closest") or [], False


def markdown(answers: Iterable[dict[str, Any]], title: str = "askfront conversation") -> str:
    """Every question and answer with its numbered sources and the filters that were on; every piece of
    text from a report or a user inert (``inert_markdown``): no renderer makes it HTML, a link or an image."""
    md = inert_markdown
    lines = [f"# {md(title)}", ""]
    for number, answer in enumerate(answers, 1):
        lines += [
            f"## {number}. {md(answer.get('question', ''))}",
            "",
            f"**Answer:** {md(answer.get('answer', ''))}",
            "",
        ]
        if answer.get("confidence") and not answer.get("abstained"):
            lines += [f"*How sure: {md(answer['confidence'])}*", ""]
        if read_as(answer):
            lines += [f"*Read as: {md(read_as(answer))}*", ""]
        if answer.get("notice"):
            lines += [f"*{md(answer['notice'])}*", ""]
        if filters_text(answer.get("filters")):
            lines += [f"Filters: {md(filters_text(answer.get('filters')))}", ""]
        if answer.get("reports"):
            lines += _report_table(answer["reports"])
        sources, _answering = _sources(answer)
        for c in sources:
            label = {"answers": "", "may answer": " (closest passage; it may answer: check it)"}.get(
                verdict(answer, c.get("n")), " (closest passage; does not answer)"
            )
            quote = c.get("quote", "")
            if is_arabic(quote):  # its own right-to-left paragraph (a right-to-left mark opens it)
                lines += [f"[{c.get('n')}] {md(citation_line(c))}{label}:", "", f"> \u200f{md(quote)}", ""]
            else:
                lines.append(f"[{c.get('n')}] {md(citation_line(c))}{label}: “{md(quote)}”")
        if sources:
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _cell(text: object) -> str:
    return inert_markdown(text)


def figure_note(row: dict[str, Any]) -> str:
    """What an every-report row's figure is beside the others: 'conflicts', 'other period: since March', ''."""
    if row.get("conflicting"):
        return "conflicts"
    if row.get("other_period"):
        return f"other period: {row.get('period') or 'none stated'}"
    if row.get("other_thing"):
        return f"counts {row['other_thing']}, not compared"
    if row.get("other_event"):
        where = ", ".join([*row.get("places", ()), *row.get("dates", ())])
        return f"other event{f': {where}' if where else ''}, not compared"
    return ""


def report_label(row: dict[str, Any]) -> str:
    """An every-report row's report: its title (or file), and the copies of it that count as this one."""
    label = row.get("title") or row.get("file") or ""
    copies = row.get("copies") or []
    return f"{label} (copies: {', '.join(copies)})" if copies else label


def _report_table(rows: list[dict[str, Any]]) -> list[str]:
    """Every report's answer as a Markdown table, sorted by report date, conflicting figures marked."""
    lines = ["| # | report date | report | answer | figures |", "|---|---|---|---|---|"]
    for r in rows:
        note = figure_note(r)
        flag = f"**{note}**" if note == "conflicts" else _cell(note)
        report, date = _cell(report_label(r)), _cell(date_shown(r.get("date", ""), r.get("date_read", "")) or "undated")
        lines.append(f"| [{r.get('n')}] | {date} | {report} | {_cell(r.get('short_answer'))} | {flag} |")
    return [*lines, ""]


def csv_rows(answers: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """One row per citation (or one row for an answer without any), columns ``CSV_COLUMNS``."""
    for answer in answers:
        base = {
            "question": answer.get("question", ""),
            "answer": answer.get("answer", ""),
            "short_answer": answer.get("short_answer", ""),
            "filters": filters_text(answer.get("filters")),
            "read_as": read_as(answer),
            "how_sure": "" if answer.get("abstained") else answer.get("confidence", ""),
        }
        sources, _answering = _sources(answer)
        per_report = {r.get("n"): r for r in answer.get("reports") or []}
        if not sources:
            yield {**base, "answers_question": "no"}
        for c in sources:
            yield {
                **base,
                "citation": c.get("n"),
                "report_title": c.get("title", ""),
                "file": c.get("file", ""),
                "date": c.get("date", ""),
                "date_read": DATE_READ.get(c.get("date_read", ""), ""),
                "source": c.get("source", ""),
                "page": c.get("page") or "",
                "read_by_ocr": "yes" if c.get("ocr") else "",
                "quote": c.get("quote", ""),
                "start": c.get("start"),
                "end": c.get("end"),
                "answers_question": {"answers": "yes", "may answer": "maybe"}.get(verdict(answer, c.get("n")), "no"),
                "conflicting": "yes" if per_report.get(c.get("n"), {}).get("conflicting") else "",
                **({"short_answer": per_report[c.get("n")]["short_answer"]} if c.get("n") in per_report else {}),
            }


def to_csv(answers: Iterable[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = safe_csv_writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in csv_rows(answers):
        writer.writerow(row.get(c, "") for c in CSV_COLUMNS)
    return out.getvalue()


def render(answers: list[dict[str, Any]], fmt: str) -> str:
    """The answers in an export format of the registry (``core.registry.EXPORTERS``)."""
    return EXPORTERS.load(fmt)(answers)


def read_answer_lines(path: Path | None, text: str | None = None) -> list[dict[str, Any]]:
    """Answers from JSON lines (``askfront ask --json`` output); AskfrontError naming a bad line."""
    raw = text if text is not None else _read(path)
    answers = []
    for number, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        try:
            answer = json.loads(line)
        except json.JSONDecodeError as err:
            raise AskfrontError(f"{path or 'stdin'}:{number}: not a JSON answer ({err.msg})") from None
        if not isinstance(answer, dict) or "question" not in answer or "answer" not in answer:
            raise AskfrontError(f"{path or 'stdin'}:{number}: not an answer of 'askfront ask --json'")
        answers.append(answer)
    return answers


def _read(path: Path | None) -> str:
    try:
        return path.read_text(encoding="utf-8") if path else ""
    except (OSError, UnicodeDecodeError) as err:
        raise AskfrontError(f"{path}: cannot read ({err})") from None
