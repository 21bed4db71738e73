"""Every error a user can fix, in one place. The CLI prints their message as one line (no traceback);
the browser app shows the same line.

``one_line`` turns any exception into such a line; ``shown`` makes a file name safe for one line of
output (a newline or other control character in a name is written as an escape, not obeyed).
"""

from __future__ import annotations

import re


class AskfrontError(Exception):
    """Base of every error whose message is meant for the user."""


class ConfigError(AskfrontError, ValueError):
    """A setting, flag or environment variable has a value askfront cannot use."""


class LoadError(AskfrontError):
    """A report could not be read; the message says why in one line."""


class BadIndexError(AskfrontError):
    """The index is missing, damaged or built with other settings; the message says what to do."""


class ModelError(AskfrontError):
    """A model (embedding or reader) is missing, tampered with or unloadable."""


REPAIR = "rebuild it with: askfront index"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")  # and C1, bidi


def one_line(err: BaseException, limit: int = 160) -> str:
    """``err`` as a short single line: its message with whitespace collapsed, or its type name."""
    return " ".join(str(err).split())[:limit] or type(err).__name__


def os_reason(err: OSError) -> str:
    """Why a file operation failed, for one line: the system's words ("No space left on device"), else the
    message."""
    return err.strerror or one_line(err)


SHOWN_CHARS = 300  # a longer path (150 nested folders) is shown by its start and end


def shown(name: object) -> str:
    """A path or name for one output line: control characters (newlines, tabs, escapes) as \\n, \\x1b…;
    a very long one shortened in the middle."""
    text = _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), str(name))
    if len(text) > SHOWN_CHARS:
        text = f"{text[: SHOWN_CHARS // 2 - 1]}…{text[-(SHOWN_CHARS // 2) :]}"
    return text
