"""Conversations kept on this machine: each one a JSON file in the conversations folder (default
``conversations/`` beside corpus/ and index/, mode 0700), written whole after every answer, so a page
reload, a restart or another day shows it again. Listed newest first; opened, renamed and deleted by id.
Nothing of a conversation leaves the machine: the browser keeps only the id of the one it shows."""

from __future__ import annotations

import json
import os
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from askfront.answer.conversation import Answer
from askfront.core.errors import ConfigError, one_line, os_reason, shown
from askfront.core.formats import write_whole

MAX_NAME = 120  # characters of a conversation's name (its first question, or what the journalist calls it)
MAX_BYTES = 50_000_000  # a conversation file larger than this is not read (not one askfront wrote)
_ID = re.compile(r"c-\d{8}T\d{6}-[0-9a-f]{8}")


@dataclass(frozen=True)
class Kept:
    id: str
    name: str
    updated: str  # ISO time of its last answer
    questions: int


class ConversationStore:
    """The conversations folder. Methods raise ConfigError with one line for a bad id or a failed write."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def new_id(self) -> str:
        return f"c-{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(4)}"

    def secret(self) -> str:
        """A key kept in the folder that encrypts the id the browser remembers (stable across restarts)."""
        path = self.folder / ".browser-key"
        try:
            return path.read_text().strip() or self._new_secret(path)
        except FileNotFoundError:
            return self._new_secret(path)
        except OSError:
            return secrets.token_hex(16)  # a folder that cannot be read: remembered until the app stops

    def _new_secret(self, path: Path) -> str:
        key = secrets.token_hex(16)
        try:
            self._ensure()
            write_whole(path, key.encode())
        except (OSError, ConfigError):
            pass
        return key

    def save(self, cid: str, answers: list[Answer], name: str = "") -> None:
        """Write conversation ``cid`` whole (its name kept, or its first question when it has none)."""
        path = self._path(cid)
        old = self._read(path) if path.exists() else {}
        record = {
            "id": cid,
            "name": (name or old.get("name") or (answers[0].question if answers else "") or "conversation")[:MAX_NAME],
            "created": old.get("created") or _now(),
            "updated": _now(),
            "answers": [a.to_dict() for a in answers],
        }
        self._ensure()
        try:
            write_whole(path, json.dumps(record, ensure_ascii=False).encode("utf-8"))
            os.chmod(path, 0o600)
        except OSError as err:
            raise ConfigError(f"{shown(path)}: conversation not saved ({os_reason(err)})") from None

    def load(self, cid: str) -> tuple[str, list[Answer]]:
        """Name and answers of ``cid``; ConfigError when it is gone or cannot be read."""
        record = self._read(self._path(cid))
        try:
            return str(record.get("name", "")), [Answer.from_dict(a) for a in record.get("answers", [])]
        except (TypeError, KeyError, AttributeError) as err:
            raise ConfigError(f"{cid}: not a conversation askfront saved ({one_line(err)})") from None

    def listed(self) -> list[Kept]:
        """Every kept conversation, most recently answered first (a file that cannot be read is left out)."""
        out = []
        for path in self.folder.glob("c-*.json") if self.folder.is_dir() else ():
            try:
                record = self._read(path)
                out.append(Kept(path.stem, str(record["name"]), str(record["updated"]), len(record["answers"])))
            except (ConfigError, KeyError, TypeError):
                continue
        return sorted(out, key=lambda k: k.updated, reverse=True)

    def rename(self, cid: str, name: str) -> None:
        name = " ".join((name or "").split())
        if not name:
            raise ConfigError("a conversation's name cannot be empty")
        self.save(cid, self.load(cid)[1], name[:MAX_NAME])

    def delete(self, cid: str) -> None:
        try:
            self._path(cid).unlink()
        except FileNotFoundError:
            raise ConfigError(f"{cid}: no such conversation (deleted already?)") from None
        except OSError as err:
            raise ConfigError(f"{cid}: not deleted ({os_reason(err)})") from None

    def _path(self, cid: str) -> Path:
        if not isinstance(cid, str) or not _ID.fullmatch(cid):
            raise ConfigError(f"{cid!r} is not a conversation id")
        return self.folder / f"{cid}.json"

    def _read(self, path: Path) -> dict:
        try:
            if path.stat().st_size > MAX_BYTES:
                raise ConfigError(f"{shown(path)}: larger than {MAX_BYTES // 1_000_000} MB; not read")
            record = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{path.stem}: no such conversation (deleted?)") from None
        except (OSError, ValueError, RecursionError) as err:
            raise ConfigError(f"{shown(path)}: cannot be read ({one_line(err)})") from None
        if not isinstance(record, dict) or not isinstance(record.get("answers"), list):
            raise ConfigError(f"{shown(path)}: not a conversation askfront saved")
        return record

    def _ensure(self) -> None:
        try:
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as err:
            raise ConfigError(f"{shown(self.folder)}: cannot keep conversations ({err.strerror})") from None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")
