"""Command line: ``askfront index``, ``search``, ``ask``, ``eval``, ``serve`` (exit 0 on success, else non-zero)."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

from askfront import __version__
from askfront.core.config import DEVICES, INDEX_TYPES, PRECISIONS, RETRIEVERS, Settings
from askfront.core.errors import AskfrontError, one_line, shown
from askfront.language.entities import NAME_KINDS

EXIT_OK, EXIT_FILES_FAILED, EXIT_ERROR = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="askfront",
        description="Ask questions of a folder of conflict reports; answers cite the exact passage.",
        epilog="Every option can also be set as an ASKFRONT_* environment variable (e.g. ASKFRONT_TOP_K=8).",
    )
    parser.add_argument("--version", action="version", version=f"askfront {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    index = commands.add_parser(
        "index",
        help="build or update the index from the corpus folder",
        description="Build or update index/ from corpus/. Only added or changed reports are embedded; "
        "the new index replaces the old one only once it is complete. Exit code 1 if any file failed.",
    )
    index.add_argument("--corpus", type=Path, help="folder of reports (default: corpus)")
    index.add_argument("--index", type=Path, help="index folder (default: index)")
    index.add_argument("--model", help="local sentence-transformers model folder (default: all-MiniLM-L6-v2)")
    index.add_argument("--precision", choices=PRECISIONS, help="embedding precision")
    index.add_argument(
        "--device", choices=DEVICES, help="where to embed: auto (a GPU if torch sees one), cpu, cuda, mps"
    )
    index.add_argument("--chunk-size", type=int, help="passage length in characters (default: 500)")
    index.add_argument("--chunk-overlap", type=int, help="characters shared by neighbouring passages (100)")
    index.add_argument("--index-type", choices=INDEX_TYPES, help="FAISS index type (auto)")
    index.add_argument("--no-progress", action="store_true", help="no progress bars")
    index.add_argument(
        "--ray",
        metavar="ADDRESS",
        help="embed on a Ray cluster (host:port, or auto for the one running here or a new local one); "
        'needs pip install -e ".[ray]"',
    )
    index.add_argument("--ray-workers", type=int, help="actors on the cluster (default: one per CPU)")
    index.add_argument("--ray-gpus-per-worker", type=float, help="GPUs per actor (default 0: CPU actors)")
    index.add_argument(
        "--verify",
        action="store_true",
        help="only check the index (checksums of its files, model, chunk and search settings); change nothing. "
        "Exit code 2 if it is damaged or stale",
    )

    search = commands.add_parser(
        "search",
        help="print the passages that best match a query",
        description="Print the best-matching passages with report title, file, character span and score.",
    )
    search.add_argument("query", metavar="QUERY")
    _retrieval_flags(search, top_k_help="number of passages (default: 5)")
    search.add_argument("--json", action="store_true", help="print the passages as JSON")

    grep = commands.add_parser(
        "grep",
        help='every report that contains words or a "quoted phrase", with counts',
        description='Exact-text search: every report holding all the words and "quoted phrases" (whole words; '
        "case, accents and curly/straight apostrophes alike), newest first, with its number of hits and the "
        "first hits in context. Unlike 'search', nothing is ranked or left out.",
    )
    grep.add_argument("query", metavar="QUERY")
    grep.add_argument("--index", type=Path, help="index folder (default: index)")
    grep.add_argument("--file", action="append", default=[], help="only this report file or folder (repeat)")
    grep.add_argument("--json", action="store_true", help="print the reports and hits as JSON")

    ask = commands.add_parser(
        "ask",
        help="answer a question with citations, or say the reports don't",
        description="Answer a question from the indexed reports: a short answer quoted from a report, with "
        "numbered citations (report, file, character span, the quoted sentence), or 'The reports don't say.'",
    )
    ask.add_argument("question", metavar="QUESTION")
    _retrieval_flags(ask, top_k_help="passages read to find the answer (default: 5)")
    ask.add_argument("--json", action="store_true", help="print the answer object as one JSON object")
    ask.add_argument(
        "--all-reports",
        action="store_true",
        help="answer from every report on its own: one row per report that answers, sorted by report date, "
        "figures compared and conflicting ones flagged",
    )
    _llm_flags(ask)

    evaluate = commands.add_parser(
        "eval",
        help="score answers, retrieval and citations on a question file",
        description="Update the index from the corpus, ask every question of a question file and print the "
        "metrics. QUESTIONS is JSON Lines (question, answers: [] for unanswerable, optional source and id) "
        "or a SQuAD v1.1/v2.0 JSON file (its paragraphs become a temporary corpus).",
    )
    evaluate.add_argument("questions", type=Path, metavar="QUESTIONS")
    evaluate.add_argument("--corpus", type=Path, help="folder of reports (default: corpus)")
    evaluate.add_argument("--index", type=Path, help="index folder (default: index)")
    evaluate.add_argument("--out", type=Path, help="write results.json, report.md and metrics.png here")
    evaluate.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="NAME=V1,V2",
        help="compare settings: repeat for each of retriever, answerer, chunk_size, chunk_overlap, top_k "
        "(e.g. --grid retriever=dense,bm25,hybrid --grid chunk_size=300,500); prints one table",
    )
    evaluate.add_argument("--model", help="local sentence-transformers model folder")
    evaluate.add_argument("--device", choices=DEVICES, help="where models run (default: auto)")
    evaluate.add_argument("--top-k", type=int, help="passages read to find each answer (default: 5)")
    evaluate.add_argument("--retriever", choices=RETRIEVERS, help="how to search (hybrid)")
    evaluate.add_argument("--chunk-size", type=int, help="passage length in characters (default: 500)")
    evaluate.add_argument("--chunk-overlap", type=int, help="characters shared by neighbouring passages (100)")
    evaluate.add_argument(
        "--mode",
        choices=["open", "reading"],
        default="open",
        help="open: retrieve from all reports (default); reading: answer each question from its own report "
        "only (its 'source'; every paragraph of a SQuAD file), so reader and retrieval errors can be told apart",
    )
    evaluate.add_argument("--no-progress", action="store_true", help="no progress bars")
    _llm_flags(evaluate)

    names = commands.add_parser(
        "names",
        help="people, organisations and places in the reports, or where one is mentioned",
        description="Without NAME: every person, organisation and place found in the indexed reports, with how "
        "often and in how many reports. With NAME: the reports and passages that mention it (variants and "
        "corpus/aliases.yaml included).",
    )
    names.add_argument("name", nargs="?", metavar="NAME")
    names.add_argument("--index", type=Path, help="index folder (default: index)")
    names.add_argument("--corpus", type=Path, help="corpus folder, for aliases.yaml (default: corpus)")
    names.add_argument("--kind", choices=NAME_KINDS, help="only this kind")
    names.add_argument("--top", type=int, default=50, help="how many names to list (default: 50)")
    names.add_argument("--json", action="store_true", help="print JSON")

    timeline = commands.add_parser(
        "timeline",
        help="dated sentences of the reports, in date order",
        description="Every sentence with an explicit date (resolved against its report's date), in date order, "
        "with its report and character span.",
    )
    timeline.add_argument("--index", type=Path, help="index folder (default: index)")
    timeline.add_argument("--corpus", type=Path, help="corpus folder, for aliases.yaml (default: corpus)")
    timeline.add_argument("--name", default="", help="only sentences that mention this name")
    timeline.add_argument("--file", action="append", default=[], help="only this report file (repeat)")
    timeline.add_argument("--csv", action="store_true", help="print CSV")

    export = commands.add_parser(
        "export",
        help="write answers of 'askfront ask --json' as Markdown or CSV",
        description="Turn answers (JSON lines as printed by 'askfront ask --json', one per question) into a "
        "Markdown conversation or a CSV file with one row per citation: question, answer, short answer, "
        "report title, file, date, source, page, quote, character span, filters.",
    )
    export.add_argument("answers", metavar="ANSWERS", help="file of JSON lines, or - for standard input")
    export.add_argument("--format", choices=["md", "csv"], default="md", help="md (default) or csv")
    export.add_argument("--out", type=Path, help="write here (default: standard output)")

    serve = commands.add_parser(
        "serve",
        help="start the chat in a browser (Gradio)",
        description="Start the askfront chat on http://127.0.0.1:7860 (builds the index first if there is "
        "none). Login: ASKFRONT_AUTH=user:password. Port also from GRADIO_SERVER_PORT.",
    )
    serve.add_argument("--host", help="address to listen on (default: 127.0.0.1, this machine only)")
    serve.add_argument("--port", type=int, help="port (default: ASKFRONT_PORT, GRADIO_SERVER_PORT or 7860)")
    serve.add_argument("--corpus", type=Path, help="folder of reports (default: corpus)")
    serve.add_argument("--index", type=Path, help="index folder (default: index)")
    serve.add_argument("--model", help="local sentence-transformers model folder")
    serve.add_argument("--device", choices=DEVICES, help="where models run (default: auto)")
    _llm_flags(serve)
    return parser


def _retrieval_flags(parser: argparse.ArgumentParser, top_k_help: str) -> None:
    """The index, model, retriever and filter flags that ``search`` and ``ask`` share."""
    parser.add_argument("--index", type=Path, help="index folder (default: index)")
    parser.add_argument("--model", help="local sentence-transformers model folder the index was built with")
    parser.add_argument(
        "--device", choices=DEVICES, help="where models run: auto (a GPU if torch sees one), cpu, cuda, mps"
    )
    parser.add_argument("--top-k", type=int, help=top_k_help)
    parser.add_argument("--retriever", choices=RETRIEVERS, help="how to search (hybrid)")
    parser.add_argument("--file", action="append", default=[], help="only this report file or folder (repeat)")
    parser.add_argument("--since", default="", help="only reports dated on/after YYYY[-MM[-DD]]")
    parser.add_argument("--until", default="", help="only reports dated on/before YYYY[-MM[-DD]]")


def _llm_flags(parser: argparse.ArgumentParser) -> None:
    from askfront.answer.registry import ANSWERERS

    parser.add_argument("--answerer", choices=list(ANSWERERS), help="who finds the answer (default: reader)")
    parser.add_argument("--reader", help="a reader folder (reader.json + weights) instead of the shipped one")
    parser.add_argument("--llm-url", help="OpenAI-compatible base URL, e.g. http://127.0.0.1:11434/v1")
    parser.add_argument("--llm-model", help="model name at that endpoint")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        overrides = {k: v for k, v in vars(args).items() if k in Settings.__dataclass_fields__}
        settings = Settings.from_env(**overrides)
        if args.command == "index":
            return _verify(settings) if args.verify else _index(settings, progress=not args.no_progress)
        if args.command == "ask":
            return _ask(settings, args)
        if args.command == "eval":
            return _eval(settings, args)
        if args.command == "export":
            return _export(args)
        if args.command == "names":
            return _names(settings, args)
        if args.command == "timeline":
            return _timeline(settings, args)
        if args.command == "grep":
            return _grep(settings, args)
        if args.command == "serve":
            from askfront.app.launch import serve

            serve(settings)
            return EXIT_OK
        return _search(settings, args)
    except KeyboardInterrupt:
        print("askfront: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `askfront search ... | head`: the reader stopped listening, not an error
        sys.stderr.close()
        return EXIT_OK
    except AskfrontError as err:  # a problem the user can fix: one line, no traceback
        print(f"askfront: error: {err}", file=sys.stderr)
        return EXIT_ERROR


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
    from askfront.language.entities import load_aliases

    return Index.open(settings.index), load_aliases(settings.corpus)


def _names(settings: Settings, args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from askfront.analysis import views

    index, aliases = _open_index(settings)
    if args.name:  # found by text: every report that writes it, also where the name finder missed it
        return print_matches(views.reports_mentioning(index, args.name, aliases), args.json)
    rows = [r for r in views.names(index, aliases) if not args.kind or r.kind == args.kind][: args.top]
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
        dated = f" ({shown(m.date)})" if m.date else " (undated)"
        print(f"\n{m.count:5d} hit{' ' if m.count == 1 else 's'}  {shown(m.title)}{dated}\n       {shown(m.path)}")
        for hit in m.hits:
            line = f"…{hit.before} [{hit.text}]{'' if hit.after[:1] in ',.;:!?)' else ' '}{hit.after}…"
            print(textwrap.indent(textwrap.fill(shown(line), 96), "       ") + f"  (chars {hit.start}-{hit.end})")
        if m.count > len(m.hits):
            print(f"       … and {m.count - len(m.hits)} more")
    return EXIT_OK


def _grep(settings: Settings, args: argparse.Namespace) -> int:
    from askfront.index.store import Index
    from askfront.search.text import search_reports

    index = Index.open(settings.index)
    return print_matches(search_reports(index, args.query, files=report_files(settings, args.file, index)), args.json)


def _timeline(settings: Settings, args: argparse.Namespace) -> int:
    from askfront.analysis import views
    from askfront.language.entities import entity_key

    index, aliases = _open_index(settings)
    key = views.canonical(entity_key(args.name), aliases) if args.name else ""
    rows = views.timeline(index, aliases, key=key, files=report_files(settings, args.file, index))
    print(f"askfront timeline: {views.timeline_note(rows)}", file=sys.stderr)
    if args.csv:
        sys.stdout.write(views.timeline_csv(rows))
        return EXIT_OK
    for r in rows:
        print(f"{r.iso:<10}  {shown(r.title)}{f' ({r.report_date})' if r.report_date else ''}")
        print(f"            {shown(r.path)}  chars {r.sentence_start}-{r.sentence_end}")
        print(textwrap.indent(textwrap.fill(shown(r.sentence), 96), "            "))
    return EXIT_OK


def _export(args: argparse.Namespace) -> int:
    from askfront.export import formats as export

    if args.answers == "-":
        answers = export.read_answer_lines(None, sys.stdin.read())
    else:
        answers = export.read_answer_lines(Path(args.answers))
    text = export.render(answers, args.format)
    if args.out:
        try:
            args.out.write_text(text, encoding="utf-8", newline="")
        except OSError as err:
            raise AskfrontError(
                f"{shown(args.out)}: cannot write the export ({err.strerror or one_line(err)})"
            ) from None
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
        found = next((c for c in candidates if any(p == c or p.startswith(c + "/") for p in indexed)), None)
        if found is None:
            raise AskfrontError(f"--file {shown(raw)}: no indexed report matches (names as in {settings.corpus}/)")
        out.append(found)
    return tuple(out)


def _search(settings: Settings, args: argparse.Namespace) -> int:
    from askfront.index.embed import Embedder
    from askfront.index.store import Index
    from askfront.search.retrieve import Filters, Retriever

    index = Index.open(settings.index)
    embedder = Embedder.from_settings(settings)
    retriever = Retriever(index, embedder, settings.retriever, settings.top_k)
    files = report_files(settings, args.file, index)
    hits = retriever.search(args.query, filters=Filters(files, args.since, args.until))
    if args.json:
        rows = [{**vars(h.record), "score": h.score, "dense_score": h.dense, "bm25_score": h.bm25} for h in hits]
        print(json.dumps(rows, ensure_ascii=False, indent=1))
        return EXIT_OK
    if not hits:
        print("No passage matches.")
    for rank, hit in enumerate(hits, 1):
        r = hit.record
        where = f"chars {r.start}-{r.end}" + (f", page {r.page}" if r.page else "")
        detail = ", ".join(
            f"{name} {value:.3f}" for name, value in (("dense", hit.dense), ("bm25", hit.bm25)) if value is not None
        )
        print(f"[{rank}] {shown(r.title)}{f' ({shown(r.date)})' if r.date else ''}")
        print(f"    {shown(r.path)}  {where}  score {hit.score:.4f} ({detail})")
        print(textwrap.indent(textwrap.fill(shown(" ".join(r.text.split())), 100), "    "))
        print()
    return EXIT_OK


def _ask(settings: Settings, args: argparse.Namespace) -> int:
    from askfront.answer.registry import load_answerer
    from askfront.search.retrieve import Filters

    answerer = load_answerer(settings)
    filters = Filters(report_files(settings, args.file, answerer.retriever.index), args.since, args.until)
    if args.all_reports:
        from askfront.analysis.every_report import every_report

        answer = every_report(answerer, args.question, filters=filters)
    else:
        answer = answerer.ask(args.question, filters=filters)
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
        print(f"\n[{citation.n}] {shown(citation.title)}{f' ({shown(citation.date)})' if citation.date else ''}")
        print(f"    {shown(citation.file)}  {where}")
        print(textwrap.indent(textwrap.fill(shown(f'"{citation.quote}"'), 100), "    "))
    return EXIT_OK


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


def _eval(settings: Settings, args: argparse.Namespace) -> int:
    import dataclasses
    import tempfile

    from askfront.evaluate import evaluation as evaluate
    from askfront.index.embed import Embedder

    errors: list[str] = []
    with tempfile.TemporaryDirectory(prefix="askfront-eval-") as tmp:
        if evaluate.is_squad(args.questions):  # its paragraphs become the corpus
            corpus = Path(tmp) / "squad-corpus"
            questions = evaluate.read_squad(args.questions, corpus, errors)
            settings = dataclasses.replace(settings, corpus=corpus)
            if args.index is None:
                settings = dataclasses.replace(settings, index=Path(tmp) / "index")
        else:
            questions = evaluate.read_questions(args.questions, errors)
        for line in errors:
            print(f"askfront: error: {line}", file=sys.stderr)
        if not questions:
            raise AskfrontError(f"{args.questions}: no questions to score")
        embedder = Embedder.from_settings(settings)
        combos = evaluate.parse_grid(args.grid) if args.grid else [{}]
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
            table = evaluate.grid_table(rows)
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
    from askfront.evaluate import evaluation as evaluate
    from askfront.index.build import build_index

    report = build_index(settings, embedder, progress=not args.no_progress)
    print(f"askfront index: {report.summary()} -> {settings.index}", file=sys.stderr)
    answerer = load_answerer(settings, embedder)
    with tqdm(total=len(questions), desc="questions", unit="q", disable=args.no_progress) as bar:
        results = evaluate.run(answerer, questions, on_result=lambda _: bar.update(), mode=args.mode)
    metrics = evaluate.summarize(results)
    print(evaluate.format_table(metrics))
    if args.out and not args.grid:
        for path in evaluate.write_results(args.out, settings, metrics, results):
            print(f"askfront eval: wrote {path}", file=sys.stderr)
    return metrics, report.ok


if __name__ == "__main__":
    sys.exit(main())
