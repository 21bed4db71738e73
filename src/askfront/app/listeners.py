"""How the page's listeners fail: with the one line the CLI would print, never Gradio's bare "Error"."""

from __future__ import annotations

import functools
import sys
import traceback
from collections.abc import Callable
from typing import Any

from askfront.core.errors import AskfrontError, one_line


def page_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """A listener whose failures reach the page as one line (a bug's traceback goes to the terminal)."""
    import gradio as gr

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except AskfrontError as err:
            raise gr.Error(f"askfront: error: {err}", print_exception=False) from None
        except Exception as err:
            traceback.print_exc(file=sys.stderr)
            raise gr.Error(f"askfront: error: unexpected {type(err).__name__}: {one_line(err)}") from None

    return wrapper
