"""The askfront command line's parser: one function per command, shared flag groups."""

from __future__ import annotations

import argparse
from pathlib import Path

from askfront import __version__
from askfront.core.config import DEVICES, INDEX_TYPES, PRECISIONS
from askfront.core.registry import ANSWERERS, EXPORTERS, RETRIEVERS
from askfront.language.names import NAME_KINDS


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="askfront",
        description="Ask questions of a folder of conflict reports; answers cite the exact passage.",
        epilog="Every option can also be set as an ASKFRONT_* environment variable (e.g. ASKFRONT_TOP_K=8).",
    )
    parser.add_argument("--version", action="version", version=f"askfront {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_index(commands)
    _add_search(commands)
    _add_grep(commands)
    _add_ask(commands)
    _add_evaluate(commands)
    _add_names(commands)
    _add_timeline(commands)
    _add_export(commands)
    _add_serve(commands)
    return parser


def _add_index(commands) -> None:
    index = commands.add_parser(
        "index",
        help="build or update the index from the corpus folder",
        description="Build or update index/ from corpus/. Only added or changed reports are embedded; "
        "the new index replaces the old one only once it is complete. Exit code 1 if any file failed.",
    )
    index.add_argument("--corpus", type=Path, help="folder of reports (default: corpus)")
    _index_flag(index)
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


def _add_search(commands) -> None:
    search = commands.add_parser(
        "search",
        help="print the passages that best match a query",
        description="Print the best-matching passages with report title, file, character span and score.",
    )
    search.add_argument("query", metavar="QUERY")
    _retrieval_flags(search, top_k_help="number of passages (default: 5)")
    search.add_argument("--json", action="store_true", help="print the passages as JSON")


def _add_grep(commands) -> None:
    grep = commands.add_parser(
        "grep",
        help='every report that contains words or a "quoted phrase", with counts',
        description='Exact-text search: every report holding all the words and "quoted phrases" (whole words; '
        "case, accents and curly/straight apostrophes alike), newest first, with its number of hits and the "
        "first hits in context. Unlike 'search', nothing is ranked or left out.",
    )
    grep.add_argument("query", metavar="QUERY")
    _index_flag(grep)
    grep.add_argument("--file", action="append", default=[], help="only this report file or folder (repeat)")
    grep.add_argument("--json", action="store_true", help="print the reports and hits as JSON")


def _add_ask(commands) -> None:
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


def _add_evaluate(commands) -> None:
    evaluate = commands.add_parser(
        "eval",
        help="score answers, retrieval and citations on a question file",
        description="Update the index from the corpus, ask every question of a question file and print the "
        "metrics. QUESTIONS is JSON Lines (question, answers: [] for unanswerable, optional source and id) "
        "or a SQuAD v1.1/v2.0 JSON file (its paragraphs become a temporary corpus).",
    )
    evaluate.add_argument("questions", type=Path, metavar="QUESTIONS")
    evaluate.add_argument("--corpus", type=Path, help="folder of reports (default: corpus)")
    _index_flag(evaluate)
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
    evaluate.add_argument("--retriever", choices=RETRIEVERS.names(), help="how to search (hybrid)")
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


def _add_names(commands) -> None:
    names = commands.add_parser(
        "names",
        help="people, organisations and places in the reports, or where one is mentioned",
        description="Without NAME: every person, organisation and place found in the indexed reports, with how "
        "often and in how many reports. With NAME: the reports and passages that mention it (variants and "
        "corpus/aliases.yaml included).",
    )
    names.add_argument("name", nargs="?", metavar="NAME")
    _index_flag(names)
    names.add_argument("--corpus", type=Path, help="corpus folder, for aliases.yaml (default: corpus)")
    names.add_argument("--kind", choices=NAME_KINDS, help="only this kind")
    names.add_argument("--top", type=int, default=50, help="how many names to list (default: 50)")
    names.add_argument("--json", action="store_true", help="print JSON")


def _add_timeline(commands) -> None:
    timeline = commands.add_parser(
        "timeline",
        help="dated sentences of the reports, in date order",
        description="Every sentence with an explicit date (resolved against its report's date), in date order, "
        "with its report and character span.",
    )
    _index_flag(timeline)
    timeline.add_argument("--corpus", type=Path, help="corpus folder, for aliases.yaml (default: corpus)")
    timeline.add_argument("--name", default="", help="only sentences that mention this name")
    timeline.add_argument("--file", action="append", default=[], help="only this report file (repeat)")
    timeline.add_argument("--csv", action="store_true", help="print CSV")


def _add_export(commands) -> None:
    export = commands.add_parser(
        "export",
        help="write answers of 'askfront ask --json' as Markdown or CSV",
        description="Turn answers (JSON lines as printed by 'askfront ask --json', one per question) into a "
        "Markdown conversation or a CSV file with one row per citation: question, answer, short answer, "
        "report title, file, date, source, page, quote, character span, filters.",
    )
    export.add_argument("answers", metavar="ANSWERS", help="file of JSON lines, or - for standard input")
    export.add_argument("--format", choices=EXPORTERS.names(), default="md", help="md (default) or csv")
    export.add_argument("--out", type=Path, help="write here (default: standard output)")


def _add_serve(commands) -> None:
    serve = commands.add_parser(
        "serve",
        help="start the chat in a browser (Gradio)",
        description="Start the askfront chat on http://127.0.0.1:7860 (builds the index first if there is "
        "none). Login: ASKFRONT_AUTH=user:password. Port also from GRADIO_SERVER_PORT.",
    )
    serve.add_argument("--host", help="address to listen on (default: 127.0.0.1, this machine only)")
    serve.add_argument("--port", type=int, help="port (default: ASKFRONT_PORT, GRADIO_SERVER_PORT or 7860)")
    serve.add_argument("--corpus", type=Path, help="folder of reports (default: corpus)")
    _index_flag(serve)
    serve.add_argument("--model", help="local sentence-transformers model folder")
    serve.add_argument("--device", choices=DEVICES, help="where models run (default: auto)")
    _llm_flags(serve)


def _index_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--index", type=Path, help="index folder (default: index)")


def _retrieval_flags(parser: argparse.ArgumentParser, top_k_help: str) -> None:
    """The index, model, retriever and filter flags that ``search`` and ``ask`` share."""
    _index_flag(parser)
    parser.add_argument("--model", help="local sentence-transformers model folder the index was built with")
    parser.add_argument(
        "--device", choices=DEVICES, help="where models run: auto (a GPU if torch sees one), cpu, cuda, mps"
    )
    parser.add_argument("--top-k", type=int, help=top_k_help)
    parser.add_argument("--retriever", choices=RETRIEVERS.names(), help="how to search (hybrid)")
    parser.add_argument("--file", action="append", default=[], help="only this report file or folder (repeat)")
    parser.add_argument("--since", default="", help="only reports dated on/after YYYY[-MM[-DD]]")
    parser.add_argument("--until", default="", help="only reports dated on/before YYYY[-MM[-DD]]")


def _llm_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--answerer", choices=ANSWERERS.names(), help="who finds the answer (default: reader)")
    parser.add_argument("--reader", help="a reader folder (reader.json + weights) instead of the shipped one")
    parser.add_argument("--llm-url", help="OpenAI-compatible base URL, e.g. http://127.0.0.1:11434/v1")
    parser.add_argument("--llm-model", help="model name at that endpoint")
