"""The app's one temporary folder: every file the app or its web framework writes outside the corpus and
the index (uploads as received, exports, Gradio's cache of files it serves) goes under
``<system temp>/askfront-<pid>-<random>/``, readable by this user only. It is removed when the app stops,
a deleted report's copies in it are removed at once (``forget``), and folders left by an app that was
killed are removed when the next one starts.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

PREFIX = "askfront-"
_OURS = re.compile(rf"{PREFIX}(\d+)-\w+")
MAX_SCANNED = 200_000_000  # bytes: larger files in the folder are not read when looking for a report's copies


class Scratch:
    """The folder, made when the app starts (``open``) and removed when it stops (``close``)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @classmethod
    def open(cls, parent: str | None = None) -> Scratch:
        """A new folder under ``parent`` (the system's temporary folder), after removing those of askfront
        apps that are no longer running."""
        root = Path(parent or tempfile.gettempdir())
        for old in root.glob(f"{PREFIX}*"):
            m = _OURS.fullmatch(old.name)
            if m and old.is_dir() and not old.is_symlink() and not _running(int(m.group(1))):
                shutil.rmtree(old, ignore_errors=True)
        folder = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-", dir=root))  # mode 0700
        return cls(folder)

    def web(self) -> Path:
        """Where the web framework keeps uploads and the files it serves (GRADIO_TEMP_DIR)."""
        path = self.folder / "web"
        path.mkdir(exist_ok=True)
        return path

    def forget(self, name: str, data: bytes) -> int:
        """Remove every file here that is a copy of a report (its bytes) or names it (an export quoting
        it); returns how many were removed."""
        removed = 0
        for path in list(self.folder.rglob("*")):
            try:
                if not path.is_file() or path.is_symlink() or path.stat().st_size > MAX_SCANNED:
                    continue
                content = path.read_bytes()
                if content == data or name.encode("utf-8") in content:
                    path.unlink()
                    removed += 1
            except OSError:
                continue
        return removed

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True
