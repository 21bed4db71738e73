"""The askfront commands other than eval: index, verify, search, grep, ask, names, timeline, export;
each prints its result and returns the exit code."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import textwrap
from pathlib import Path

from askfront.core.config import Settings
from askfront.core.errors import AskfrontError, os_reason, shown
from askfront.core.formats import write_whole
from askfront.core.types import date_shown, in_files

EXIT_OK, EXIT_FILES_FAILED, EXIT_ERROR = 0, 1, 2


def index_command(settings: Settings, args: argparse.Namespace) -> int:
    return _verify(settings) if args.verify else _index(settings, progress=not args.no_progress)


def _index(settings: Settings, progress: bool) -> int:
    from askfront.index.build import build_index
    from askfront.index.embed import Embedder

    embedder = Embedder.from_settings(settings)
    if settings.ray:
        from askfront.index.cluster import RayEmbedder

        embedder = RayEmbedder(embedder, settings.ray, settings.ray_workers, settings.ray_gpus_per_worker)
    try:
        if settings.ray:
            embedder.check()  # a typo in the address or an impossible request: one line now, not minutes late
        report = build_index(settings, embedder, progress=progress)
    finally:
        if settings.ray:
            import ray

            ray.shutdown()
    where = f" (embedded on Ray at {settings.ray})" if settings.ray else ""
    print(f"askfront index: {report.summary()} -> {settings.index}{where}")
    return EXIT_OK if report.ok else EXIT_FILES_FAILED


def _open_index(settings: Settings):
    from askfront.index.store import Index
    from askfront.language.names import load_aliases

    return Index.open(settings.index), load_aliases(settings.corpus)


def names(settings: Settings, args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from askfront.analysis import views

    index, aliases = _open_index(settings)
    if args.name:  # found by text: every report that writes it, also where the name finder missed it
        return print_matches(views.reports_mentioning(index, args.name, aliases), args.json)
    rows = views.names(index, aliases, by_text=args.top, of_kind=args.kind or "")[: args.top]
    if args.json:
        print(json.dumps([asdict(r) for r in rows], ensure_ascii=False, indent=1))
        return EXIT_OK
    if not rows:
        print("No names found (rebuild an index made by an older askfront: askfront index).")
    for r in rows:
        print(f"{r.mentions:6d} mentions  {r.reports:5d} reports  {r.kind:<12}  {shown(r.name)}")
    return EXIT_OK


def print_matches(matches, json_out: bool) -> int:
    """Reports found by exact text (askfront.search.text), as JSON or one block per report."""
    from dataclasses import asdict

    if json_out:
        print(json.dumps([asdict(m) for m in matches], ensure_ascii=False, indent=1))
        return EXIT_OK
    total = sum(m.count for m in matches)
    print(f"{len(matches)} report{'' if len(matches) == 1 else 's'}, {total} hit{'' if total == 1 else 's'}")
    for m in matches:
        dated = f" ({shown(date_shown(m.date, m.date_read))})" if m.date else " (undated)"
        print(f"\n{m.count:5d} hit{' ' if m.count == 1 else 's'}  {shown(m.title)}{dated}\n       {shown(m.path)}")
        for hit in m.hits:
            line = f"…{hit.before}[{hit.text}]{hit.after}…"
            print(textwrap.indent(textwrap.fill(shown(line), 96), "       ") + f"  (chars {hit.start}-{hit.end})")
        if m.count > len(m.hits):
            print(f"       … and {m.count - len(m.hits)} more")
    return EXIT_OK


def grep(settings: Settings, args: argparse.Namespace) -> int:
    from askfront.index.store import Index
    from askfront.search.text import search_reports

    index = Index.open(settings.index)
    return print_matches(search_reports(index, args.query, files=report_files(settings, args.file, index)), args.json)


def timeline(settings: Settings, args: argparse.Namespace) -> int:
    from askfront.analysis import views
    from askfront.language.names import entity_key

    index, aliases = _open_index(settings)
    key = views.canonical(entity_key(args.name), aliases) if args.name else ""
    rows = views.timeline(index, aliases, key=key, files=report_files(settings, args.file, index))
    print(f"askfront timeline: {views.timeline_note(rows)}", file=sys.stderr)
    if args.csv:
        sys.stdout.write(views.timeline_csv(rows))
        return EXIT_OK
    for r in rows:
        dated = f" ({shown(date_shown(r.report_date, r.report_date_read))})" if r.report_date else ""
        print(f"{r.iso:<10}  {shown(r.title)}{dated}")
        print(f"            {shown(r.path)}  chars {r.sentence_start}-{r.sentence_end}")
        print(textwrap.indent(textwrap.fill(shown(r.sentence), 96), "            "))
    return EXIT_OK


def export(args: argparse.Namespace) -> int:
    from askfront.export import formats as export

    if args.answers == "-":
        answers = export.read_answer_lines(None, sys.stdin.read())
    else:
        answers = export.read_answer_lines(Path(args.answers))
    text = export.render(answers, args.format)
    if args.out:
        try:
            write_whole(args.out, text.encode("utf-8"))
        except OSError as err:
            raise AskfrontError(f"{shown(args.out)}: cannot write the export ({os_reason(err)})") from None
        print(f"askfront export: {len(answers)} answers -> {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return EXIT_OK


def _verify(settings: Settings) -> int:
    from askfront.index.build import verify_index
    from askfront.index.embed import Embedder

    problems = verify_index(settings, Embedder.from_settings(settings))
    for problem in problems:
        print(f"askfront: error: {problem}", file=sys.stderr)
    if problems:
        print("askfront index: damaged or stale; repair it with: askfront index", file=sys.stderr)
        return EXIT_ERROR
    print(f"askfront index: {settings.index} verified: every file matches its checksum; settings current")
    return EXIT_OK


def report_files(settings: Settings, given: list[str], index) -> tuple[str, ...]:
    """``--file`` values as the index names reports: a path as the shell gives it (relative to this folder,
    './x', 'corpus/x', absolute) or relative to the corpus; a value that matches no indexed report (or
    folder of them) is one line naming it."""
    if not given:
        return ()
    corpus = settings.corpus.resolve()
    indexed = [p for p, _t, _d in index.documents()]
    out = []
    for raw in given:
        name = raw.strip().replace("\\", "/")
        candidates = [name.removeprefix("./").rstrip("/")]
        with contextlib.suppress(ValueError, OSError):  # not a path inside the corpus: taken as a corpus name
            candidates.insert(0, Path(name).resolve().relative_to(corpus).as_posix())
        if any(c in ("", ".") for c in candidates[:1]):
            continue  # the corpus folder itself: every report
        found = next((c for c in candidates if any(in_files(p, (c,)) for p in indexed)), None)
        if found is None:
            raise AskfrontError(f"--file {shown(raw)}: no indexed report matches (names as in {settings.corpus}/)")
        out.append(found)
    return tuple(out)


def search(settings: Settings, args: argparse.Namespace) -> int:
    from askfront.index.embed import Embedder
    from askfront.index.store import Index
    from askfront.search.retrieve import Filters, Retriever

    index = Index.open(settings.index)
    embedder = Embedder.from_settings(settings)
    retriever = Retriever(index, embedder, settings.retriever, settings.top_k)
    files = report_files(settings, args.file, index)
    hits = retriever.search(args.query, filters=Filters(files, args.since, args.until))
    if args.json:
        rows = [{**vars(h.record), "score": h.score, **{f"{n}_score": v for n, v in h.scores.items()}} for h in hits]
        print(json.dumps(rows, ensure_ascii=False, indent=1))
        return EXIT_OK
    if not hits:
        print("No passage matches.")
    for rank, hit in enumerate(hits, 1):
        r = hit.record
        where = f"chars {r.start}-{r.end}" + (f", page {r.page}" if r.page else "")
        detail = ", ".join(f"{name} {value:.3f}" for name, value in hit.scores.items())
        print(f"[{rank}] {shown(r.title)}{f' ({shown(date_shown(r.date, r.date_read))})' if r.date else ''}")
        print(f"    {shown(r.path)}  {where}  score {hit.score:.4f} ({detail})")
        print(textwrap.indent(textwrap.fill(shown(" ".join(r.text.split())), 100), "    "))
        print()
    return EXIT_OK


def ask(settings: Settings, args: argparse.Namespace) -> int:
    answer = _answer(settings, args)
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False))
        return EXIT_OK
    if answer.reports:
        return _print_reports(answer)
    if answer.notice:
        print(f"askfront: notice: {answer.notice}", file=sys.stderr)
    print(shown(answer.answer))  # report text may carry terminal escape sequences: printed escaped
    if answer.confidence:
        print(f"How sure: {answer.confidence}")
    for citation in answer.citations or answer.closest:
        where = f"chars {citation.start}-{citation.end}" + (f", page {citation.page}" if citation.page else "")
        where += ", read by OCR" if citation.ocr else ""
        dated = f" ({shown(date_shown(citation.date, citation.date_read))})" if citation.date else ""
        print(f"\n[{citation.n}] {shown(citation.title)}{dated}")
        print(f"    {shown(citation.file)}  {where}")
        print(textwrap.indent(textwrap.fill(shown(f'"{citation.quote}"'), 100), "    "))
    return EXIT_OK


def _answer(settings: Settings, args: argparse.Namespace):
    """The answer of a running app with the same settings when the question needs nothing the app's /ask
    does not take (filters, every report); else of the models loaded here."""
    if not (args.file or args.since or args.until or args.all_reports):
        from askfront.cli.through_app import ask_running_app

        answered = ask_running_app(settings, args.question)
        if answered is not None:
            print(f"askfront: answered by the app running at {answered[1]}", file=sys.stderr)
            return answered[0]
    from askfront.answer.registry import load_answerer
    from askfront.search.retrieve import Filters

    answerer = load_answerer(settings)
    filters = Filters(report_files(settings, args.file, answerer.retriever.index), args.since, args.until)
    if args.all_reports:
        from askfront.analysis.every_report import every_report

        return every_report(answerer, args.question, filters=filters)
    return answerer.ask(args.question, filters=filters)


def _print_reports(answer) -> int:
    """An every-report answer: the summary, then one block per report, conflicting figures marked."""
    if answer.notice:
        print(f"askfront: notice: {answer.notice}", file=sys.stderr)
    print(shown(answer.answer))
    from askfront.export.formats import figure_note

    for row in answer.reports:
        note = figure_note(row)
        flag = f"  [{note.upper() if note == 'conflicts' else note}]" if note else ""
        print(f"\n[{row['n']}] {row['date'] or 'undated'}  {shown(row['title'])}: {shown(row['short_answer'])}{flag}")
        print(
            f"    {shown(row['file'])}  chars {row['start']}-{row['end']}"
            + (f"  {row['source']}" if row["source"] else "")
        )
        print(textwrap.indent(textwrap.fill(shown(f'"{row["quote"]}"'), 100), "    "))
    return EXIT_OK
