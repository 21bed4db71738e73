"""``askfront eval``: a question file scored once, or over a grid of settings."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from askfront.cli.commands import EXIT_FILES_FAILED, EXIT_OK
from askfront.core.config import Settings
from askfront.core.errors import AskfrontError


def eval_command(settings: Settings, args: argparse.Namespace) -> int:
    import dataclasses
    import tempfile

    from askfront.evaluate import question_files, reporting
    from askfront.index.embed import Embedder

    errors: list[str] = []
    with tempfile.TemporaryDirectory(prefix="askfront-eval-") as tmp:
        if question_files.is_squad(args.questions):  # its paragraphs become the corpus
            corpus = Path(tmp) / "squad-corpus"
            questions = question_files.read_squad(args.questions, corpus, errors)
            settings = dataclasses.replace(settings, corpus=corpus)
            if args.index is None:
                settings = dataclasses.replace(settings, index=Path(tmp) / "index")
        else:
            questions = question_files.read_questions(args.questions, errors)
        for line in errors:
            print(f"askfront: error: {line}", file=sys.stderr)
        if not questions:
            raise AskfrontError(f"{args.questions}: no questions to score")
        embedder = Embedder.from_settings(settings)
        combos = reporting.parse_grid(args.grid) if args.grid else [{}]
        rows = []
        files_ok = True
        for combo in combos:
            run_settings = dataclasses.replace(settings, **combo)
            if args.grid:  # each chunk setting gets its own index; the user's index/ is left alone
                chunks = f"{run_settings.chunk_size}-{run_settings.chunk_overlap}"
                run_settings = dataclasses.replace(run_settings, index=Path(tmp) / f"grid-{chunks}")
                print(f"askfront eval: {', '.join(f'{k}={v}' for k, v in combo.items())}", file=sys.stderr)
            metrics, ok = _eval_once(run_settings, embedder, questions, args)
            files_ok = files_ok and ok
            rows.append((combo, metrics))
        if args.grid:
            table = reporting.grid_table(rows)
            print(table)
            if args.out:
                args.out.mkdir(parents=True, exist_ok=True)
                (args.out / "grid.md").write_text(table + "\n", encoding="utf-8")
                print(f"askfront eval: wrote {args.out / 'grid.md'}", file=sys.stderr)
    return EXIT_FILES_FAILED if errors or not files_ok else EXIT_OK


def _eval_once(settings: Settings, embedder, questions, args: argparse.Namespace) -> tuple[dict, bool]:
    """Update the index, ask every question, print the metrics (and write them with --out)."""
    from tqdm import tqdm

    from askfront.answer.registry import load_answerer
    from askfront.evaluate import reporting, runner, scoring
    from askfront.index.build import build_index

    report = build_index(settings, embedder, progress=not args.no_progress)
    print(f"askfront index: {report.summary()} -> {settings.index}", file=sys.stderr)
    answerer = load_answerer(settings, embedder)
    with tqdm(total=len(questions), desc="questions", unit="q", disable=args.no_progress) as bar:
        results = runner.run(answerer, questions, on_result=lambda _: bar.update(), mode=args.mode)
    metrics = scoring.summarize(results)
    print(reporting.format_table(metrics))
    if args.out and not args.grid:
        for path in reporting.write_results(args.out, settings, metrics, results):
            print(f"askfront eval: wrote {path}", file=sys.stderr)
    return metrics, report.ok
