"""Who owns what in the index folder, and which versions are in use.

- askfront writes only into a folder it made or found empty: ``.askfront-index`` marks it; a folder that
  holds anything else (notes, a corpus) is refused with one line, and nothing in it is ever removed.
- Every reader of a version holds a shared lock on ``.in-use/<version>.lock`` while it has the version
  open; an old version is removed only when no reader holds it (``remove_unused``), so a reader that has
  just resolved ``CURRENT`` never finds its version deleted under it. A version still in use is removed
  by a later build, once its readers have closed it.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
from pathlib import Path

from askfront.core.errors import BadIndexError

MARKER = ".askfront-index"
IN_USE = ".in-use"
VERSION_NAME = re.compile(r"v-[0-9A-Za-z]+")
# Names askfront writes in an index folder (README.md: the project's own index/ explains itself).
_OURS = re.compile(
    r"CURRENT|CURRENT\.tmp|v-[0-9A-Za-z]+|\.build-.+|\.lock|\.held-.+|\.in-use|\.askfront-index|README\.md"
)


def claim(index_dir: Path) -> None:
    """Make sure askfront may write in ``index_dir``: it is marked as askfront's, or holds nothing else
    (an index made before the mark existed is adopted); BadIndexError naming what is in the way if not."""
    index_dir.mkdir(parents=True, exist_ok=True)
    if (index_dir / MARKER).is_file():
        return
    foreign = sorted(
        p.name
        for p in index_dir.iterdir()
        if not _OURS.fullmatch(p.name) or (VERSION_NAME.fullmatch(p.name) and not _is_version(p))
    )
    if foreign:
        shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise BadIndexError(
            f"{index_dir}: holds files askfront did not write ({shown}); askfront builds an index only in an "
            "empty folder or one it made, so nothing else is ever deleted: choose another with --index"
        )
    (index_dir / MARKER).write_text("This folder is an askfront index; askfront may replace what is in it.\n")


def _is_version(folder: Path) -> bool:
    """Whether ``folder`` is an index version askfront wrote (it holds a manifest)."""
    return folder.is_dir() and not folder.is_symlink() and (folder / "manifest.json").is_file()


def hold(index_dir: Path, version: str) -> int | None:
    """A shared lock on ``version`` held by its reader until ``release``; None where the index folder
    cannot be written (a read-only copy: nothing removes versions there)."""
    try:
        (index_dir / IN_USE).mkdir(exist_ok=True)
        fd = os.open(index_dir / IN_USE / f"{version}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        return None
    fcntl.flock(fd, fcntl.LOCK_SH)  # waits only while a build is removing that version
    return fd


def release(fd: int | None) -> None:
    if fd is not None:
        os.close(fd)


def remove_unused(index_dir: Path, live: Path | None) -> list[str]:
    """Remove the versions other than ``live`` that no reader holds (call under the build lock: a version
    being published is not live yet). Returns the names of those kept because they are in use."""
    kept = []
    for old in sorted(index_dir.glob("v-*")):
        if old == live or not VERSION_NAME.fullmatch(old.name) or not _is_version(old):
            continue
        lock = index_dir / IN_USE / f"{old.name}.lock"
        try:
            lock.parent.mkdir(exist_ok=True)
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            kept.append(old.name)
            os.close(fd)
            continue
        try:
            shutil.rmtree(old, ignore_errors=True)
            lock.unlink(missing_ok=True)
        finally:
            os.close(fd)
    for lock in (index_dir / IN_USE).glob("v-*.lock") if (index_dir / IN_USE).is_dir() else ():
        if not (index_dir / lock.name.removesuffix(".lock")).exists():
            lock.unlink(missing_ok=True)  # a reader that found its version gone left it
    return kept
