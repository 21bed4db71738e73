"""Command line: ``askfront index``, ``search``, ``grep``, ``ask``, ``eval``, ``names``, ``timeline``,
``export``, ``serve`` (exit 0 on success, 1 when some files failed, 2 on an error)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from askfront.cli import commands
from askfront.cli.commands import EXIT_ERROR, EXIT_OK
from askfront.cli.evaluation import eval_command
from askfront.cli.parser import build_parser
from askfront.core.config import Settings
from askfront.core.errors import AskfrontError


def _serve(settings: Settings, args) -> int:
    from askfront.app.launch import serve

    serve(settings)
    return EXIT_OK


COMMANDS = {  # command -> what runs it, with the settings and the parsed flags
    "index": commands.index_command,
    "search": commands.search,
    "grep": commands.grep,
    "ask": commands.ask,
    "eval": eval_command,
    "names": commands.names,
    "timeline": commands.timeline,
    "export": lambda settings, args: commands.export(args),
    "serve": _serve,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        overrides = {k: v for k, v in vars(args).items() if k in Settings.__dataclass_fields__}
        return COMMANDS[args.command](Settings.from_env(**overrides), args)
    except KeyboardInterrupt:
        print("askfront: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `askfront search ... | head`: the reader stopped listening, not an error
        sys.stderr.close()
        return EXIT_OK
    except AskfrontError as err:  # a problem the user can fix: one line, no traceback
        print(f"askfront: error: {err}", file=sys.stderr)
        return EXIT_ERROR
