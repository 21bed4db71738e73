"""What an evaluation writes: the metrics table, results.json, report.md with the failures, the chart,
and the grid of settings compared in one table."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from askfront.core.errors import AskfrontError
from askfront.evaluate.scoring import Result

if TYPE_CHECKING:
    from askfront.core.config import Settings


_LABELS = {
    "exact_match": "exact match",
    "f1": "F1",
    "exact_match_all": "EM, all (SQuAD v2.0)",
    "f1_all": "F1, all (SQuAD v2.0)",
    "answer_in_text": "answer in answer text",
    "recall@1": "retrieval recall@1",
    "recall@5": "retrieval recall@5",
    "recall@10": "retrieval recall@10",
    "mrr": "retrieval MRR",
    "citation_precision": "citation precision",
    "abstention_precision": "abstention precision",
    "abstention_recall": "abstention recall",
    "abstained_when_found": "abstained, answer passage found",
    "latency_p50_ms": "latency p50 (ms)",
    "latency_p95_ms": "latency p95 (ms)",
}


def format_table(metrics: dict[str, float | int | None]) -> str:
    """The metrics as a two-column text table, with the question counts on top."""
    lines = [f"{metrics['questions']} questions ({metrics['answerable']} answerable, {metrics['unanswerable']} not)"]
    for key, label in _LABELS.items():
        lines.append(f"  {label:<24} {_shown(key, metrics.get(key)):>8}")
    return "\n".join(lines)


def write_results(out: Path, settings: Settings, metrics: dict, results: list[Result]) -> list[Path]:
    """``results.json`` (settings, metrics, every question), ``report.md`` (summary and failures with
    the passages retrieved) and ``metrics.png`` (a bar chart) in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    shown = settings.public()  # no password or API key is ever written
    payload = {"settings": shown, "metrics": metrics, "results": [asdict(r) for r in results]}
    (out / "results.json").write_text(json.dumps(payload, ensure_ascii=False, indent=1), encoding="utf-8")
    (out / "report.md").write_text(report_markdown(shown, metrics, results), encoding="utf-8")
    chart(metrics, out / "metrics.png")
    return [out / "results.json", out / "report.md", out / "metrics.png"]


def failed(result: Result) -> bool:
    """Wrong short answer, an answer to an unanswerable question, or an abstention on an answerable one."""
    return result.em < 1.0 if result.answerable else not result.abstained


def report_markdown(settings: dict[str, str], metrics: dict, results: list[Result]) -> str:
    """Summary table and every failure with what was retrieved for it."""
    keys = ("retriever", "answerer", "chunk_size", "chunk_overlap", "top_k", "model")
    lines = ["# askfront evaluation", "", ", ".join(f"{k} {settings.get(k) or 'default'}" for k in keys), ""]
    lines += ["| metric | value |", "|---|---|"]
    lines += [f"| {label} | {_shown(key, metrics.get(key))} |" for key, label in _LABELS.items()]
    wrong = [r for r in results if failed(r)]
    lines += ["", f"## Failures ({len(wrong)} of {len(results)})", ""]
    for r in wrong:
        gold = " / ".join(r.gold) if r.gold else "(unanswerable: should abstain)"
        lines += [f"### {r.id or r.question}", "", f"- question: {r.question}", f"- gold: {gold}"]
        lines += [f"- answered: {r.answer}", f"- first relevant passage at rank: {r.first_relevant or 'none'}", ""]
        for rank, passage in enumerate(r.retrieved[:5], 1):
            mark = " (relevant)" if passage["relevant"] else ""
            quote = " ".join(passage["text"].split())[:300]
            lines.append(f"{rank}. {passage['file']} {passage['start']}-{passage['end']}{mark}: {quote}")
        lines.append("")
    return "\n".join(lines)


def chart(metrics: dict, path: Path) -> None:
    """A horizontal bar chart of the 0..1 metrics (matplotlib, no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    items = [
        (label, metrics[k])
        for k, label in _LABELS.items()
        if not k.startswith("latency") and metrics.get(k) is not None
    ]
    fig, ax = plt.subplots(figsize=(7, 0.4 * len(items) + 1))
    ax.barh([label for label, _ in items][::-1], [v for _, v in items][::-1], color="#3b6ea5")
    for y, (_, value) in enumerate(items[::-1]):
        ax.text(min(value, 1.0) + 0.01, y, f"{value:.3f}", va="center", fontsize=8)
    ax.set_xlim(0, 1.1)
    ax.set_title(f"askfront eval: {metrics['questions']} questions", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _shown(key: str, value: float | int | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:.1f}" if key.startswith("latency") else f"{value:.3f}"


GRID_KEYS = {"retriever": str, "answerer": str, "chunk_size": int, "chunk_overlap": int, "top_k": int}


GRID_COLUMNS = ("exact_match", "f1", "recall@5", "mrr", "citation_precision", "abstention_recall", "latency_p95_ms")


def parse_grid(specs: list[str]) -> list[dict[str, object]]:
    """``["retriever=dense,bm25", "chunk_size=300,500"]`` -> every combination as settings overrides."""
    axes: list[list[tuple[str, object]]] = []
    for spec in specs:
        key, sep, values = spec.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or key not in GRID_KEYS or not values.strip():
            raise AskfrontError(f"--grid {spec!r}: use NAME=V1,V2 with NAME one of {', '.join(GRID_KEYS)}")
        try:
            axes.append([(key, GRID_KEYS[key](v.strip())) for v in values.split(",")])
        except ValueError:
            raise AskfrontError(f"--grid {spec!r}: {key} takes whole numbers") from None
    combos: list[dict[str, object]] = [{}]
    for axis in axes:
        combos = [{**combo, k: v} for combo in combos for k, v in axis]
    return combos


def grid_table(rows: list[tuple[dict[str, object], dict]]) -> str:
    """One Markdown table comparing every grid combination on the main metrics."""
    keys = list(dict.fromkeys(k for combo, _ in rows for k in combo))
    header = [*keys, *(_LABELS[c] for c in GRID_COLUMNS)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for combo, metrics in rows:
        cells = [str(combo.get(k, "")) for k in keys] + [_shown(c, metrics.get(c)) for c in GRID_COLUMNS]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
