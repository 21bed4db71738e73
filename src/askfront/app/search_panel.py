"""The page's search panel: every report holding words or a "quoted phrase" (askfront.search.text),
newest first with its count and highlighted snippets; a snippet opens the whole report at that hit.

The names panel shows a name's reports the same way (found by text, variants and aliases included).
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from askfront.core.types import date_shown

if TYPE_CHECKING:
    from askfront.app.service import Service
    from askfront.search.text import ReportMatches

# A click on a hit link fills the hidden box #hit-pick with "report index:hit start:hit end:time"
# (always a change, even for the same hit); see JS in askfront.app.page.
PICK_JS_SELECTOR = "a.hit"


def matches_html(matches: list[ReportMatches], what: str) -> str:
    """The hit list: '3 reports, 12 hits for …', then each report (newest first) with its snippets as links."""
    if not matches:
        return f'<p class="no-hits">No report contains {html.escape(what)}.</p>'
    total = sum(m.count for m in matches)
    parts = [
        f'<p class="hit-count">{len(matches)} report{"" if len(matches) == 1 else "s"}, '
        f"{total} hit{'' if total == 1 else 's'} for {html.escape(what)}</p>"
    ]
    for i, m in enumerate(matches):
        dated = html.escape(date_shown(m.date, m.date_read)) if m.date else "undated"
        parts.append(
            f'<div class="hit-report"><h4>{html.escape(m.title)} ({dated}) · '
            f'<span class="hits">{m.count} hit{"" if m.count == 1 else "s"}</span></h4>'
            f'<p class="where">{html.escape(m.path)}</p>'
        )
        for hit in m.hits:
            parts.append(
                f'<p class="snippet"><a class="hit" href="#hit-{i}-{hit.start}-{hit.end}">…{html.escape(hit.before)}'
                f"<mark>{html.escape(hit.text)}</mark>{html.escape(hit.after)}…</a></p>"
            )
        if m.count > len(m.hits):
            parts.append(f'<p class="where">… and {m.count - len(m.hits)} more (all marked in the report)</p>')
        parts.append("</div>")
    return '<div class="source hit-list">' + "".join(parts) + "</div>"


def report_hits_html(service: Service, path: str, spans: list[tuple[int, int]], at: tuple[int, int]) -> str:
    """A whole report with every hit marked and the picked one (``at``) marked as the one to scroll to."""
    try:
        text = service.report_text(path)
    except KeyError:
        return f"<p>{html.escape(path)} is no longer in the index.</p>"
    parts, last = [], 0
    for start, end in spans:
        if start < last:
            continue
        mark = "answer-span" if (start, end) == tuple(at) else "hit"
        parts += [html.escape(text[last:start]), f'<mark class="{mark}">{html.escape(text[start:end])}</mark>']
        last = end
    parts.append(html.escape(text[last:]))
    row = next((r for r in service.reports() if r.path == path), None)
    dated = date_shown(row.date, row.date_read) if row else ""
    title = html.escape(row.title if row else path) + (f" ({html.escape(dated)})" if dated else "")
    return (
        f'<div class="source whole-report"><h4>{title}</h4><p class="where">{html.escape(path)}</p>'
        f'<div class="report-text">{"".join(parts)}</div></div>'
    )


def hit_opener(service: Service, page_errors):
    """The listener behind a panel's hidden #hit-pick box: the whole report at the clicked hit."""
    import gradio as gr

    @page_errors
    def open_hit(found: list, value: str):
        try:
            i, start, end = (int(part) for part in (value or "").split(":")[:3])
            path, wanted = found[i]
        except (ValueError, IndexError, TypeError):
            return gr.skip()
        return report_hits_html(service, path, service.hit_spans(path, wanted), (start, end))

    return open_hit


def hit_list(service: Service, page_errors, scroll_js: str, name: str):
    """A hit list's parts inside the current panel: results, their report view and the click wiring.
    Returns (results HTML, state of [(path, terms)] per listed report, the whole-report view)."""
    import gradio as gr

    results = gr.HTML("", elem_classes=["hit-results"], elem_id=name)
    found = gr.State([])
    pick = gr.Textbox(elem_classes=["askfront-hidden", "hit-pick"], show_label=False)
    whole = gr.HTML("", elem_classes=["hit-report-view"], elem_id=f"{name}-report")
    pick.change(hit_opener(service, page_errors), [found, pick], whole, api_visibility="private").then(
        None, js=scroll_js
    )
    return results, found, whole


def search_panel(service: Service, page_errors, scroll_js: str) -> None:
    """The 'Search the reports' panel, built inside the page's Blocks, its events wired."""
    import gradio as gr

    from askfront.search.text import terms

    @page_errors
    def run(query: str):
        query = (query or "").strip()
        if not query:
            return '<p>Type words or a "quoted phrase" to list every report that contains them.</p>', [], ""
        wanted = terms(query)
        matches = service.grep(wanted)
        return matches_html(matches, query), [(m.path, wanted) for m in matches], ""

    with gr.Accordion("Search the reports (exact words)", open=False, elem_id="search-panel"):
        with gr.Row():
            query = gr.Textbox(
                placeholder='Words or a "quoted phrase", e.g. "Abu Grain"', show_label=False, scale=5,
                elem_id="grep-query",
            )  # fmt: skip
            go = gr.Button("Search", scale=1, elem_id="grep-go")
        results, found, whole = hit_list(service, page_errors, scroll_js, "grep-results")
    query.submit(run, query, [results, found, whole], api_visibility="private")
    go.click(run, query, [results, found, whole], api_visibility="private")
