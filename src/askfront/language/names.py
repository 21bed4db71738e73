"""People, organisations and places: the spaCy labels kept and what the views call them, a name's key
(case, a leading "the" and a possessive merged), the found mentions and dated sentences as stored, and
the aliases (built-in variants and ``corpus/aliases.yaml``, read when the views are built)."""

from __future__ import annotations

import functools
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from askfront.core.errors import ConfigError, one_line

if TYPE_CHECKING:
    pass

# spaCy labels kept, and what the views call them (NORP, "Iraqi", "Kurdish", is left out: mostly adjectives).
KINDS = {"PERSON": "person", "ORG": "organisation", "GPE": "place", "LOC": "place", "FAC": "place"}
NAME_KINDS = tuple(dict.fromkeys(KINDS.values()))  # person, organisation, place: what the views filter by
ALIASES_FILE = "aliases.yaml"
MAX_NAME = 80  # characters: longer "names" are tagging errors (a headline run into a paragraph)


@dataclass(frozen=True)
class Mention:
    """A name in a report: characters ``start``..``end``; ``key`` groups its variants."""

    start: int
    end: int
    text: str
    kind: str  # person | organisation | place
    key: str


@dataclass(frozen=True)
class Dated:
    """A sentence with an explicit date: ``iso`` (YYYY, YYYY-MM or YYYY-MM-DD) from the date at start..end."""

    start: int
    end: int
    sentence_start: int
    sentence_end: int
    date_text: str
    iso: str


def entity_key(name: str) -> str:
    """Variants that are safe to merge share a key: "The Islamic State's" and 'islamic state' -> 'islamic state'."""
    key = " ".join(name.replace("\u2019", "'").split()).casefold()
    key = re.sub(r"^the\s+", "", key)
    key = re.sub(r"'s?$", "", key)
    return key.strip(" .,;:'\"")


MAX_ALIASES_BYTES = 64_000  # like a sidecar: a list of names is a few kB
# Variants every corpus shares, merged beside corpus/aliases.yaml (whose groups join these where they
# share a name; its first name then names the group).
BUILTIN_ALIASES = (
    ("United States", "U.S.", "US", "USA", "U.S.A.", "United States of America"),
    ("United Kingdom", "UK", "U.K.", "Britain", "Great Britain"),
    ("United Nations", "UN", "U.N."),
    ("Islamic State", "ISIL", "ISIS", "IS", "Daesh", "Da'esh", "Islamic State of Iraq and the Levant",
     "Islamic State of Iraq and Syria", "Islamic State group"),
)  # fmt: skip


class Aliases(dict):
    """Name key -> the key of its alias group; ``spellings``: each group's names as written."""

    def __init__(self, groups: list[tuple[str, ...]]) -> None:
        super().__init__()
        parent: dict[str, str] = {}  # groups sharing a name are one: the group met first leads

        def root(key: str) -> str:
            while parent[key] != key:
                key = parent[key]
            return key

        for names in groups:
            keys = [entity_key(n) for n in names]
            for key in keys:
                parent.setdefault(key, key)
            leader = min({root(k) for k in keys}, key=list(parent).index)
            for key in keys:
                parent[root(key)] = leader
        spelled: dict[str, list[str]] = {}
        for names in groups:
            spelled.setdefault(root(entity_key(names[0])), []).extend(names)
        self.update({key: root(key) for key in parent if root(key) != key})
        self.spellings = {group: tuple(dict.fromkeys(names)) for group, names in spelled.items()}


def load_aliases(corpus: Path) -> Aliases:
    """The built-in aliases and ``corpus/aliases.yaml`` together. Each entry of the file is a list of
    names, or one line of comma-separated names: ``- ISIL, ISIS, Da'esh, Islamic State``. Read like a
    sidecar (no YAML anchors or aliases, at most 64 kB, a regular file only) and once per change."""
    path = corpus / ALIASES_FILE
    try:
        st = path.lstat()
    except OSError:
        return _aliases("", 0, 0)
    if not stat.S_ISREG(st.st_mode):
        return _aliases("", 0, 0)
    if st.st_size > MAX_ALIASES_BYTES:
        raise ConfigError(f"{path}: longer than {MAX_ALIASES_BYTES // 1000} kB; not a list of names")
    return _aliases(str(path), st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=8)
def _aliases(path: str, mtime_ns: int, size: int) -> Aliases:
    """The aliases with one version of the file (its path, modification time and size are the key;
    no path: the built-in ones alone). Callers must not change the result."""
    from askfront.core.formats import PlainYAML

    raw = []
    if path:
        try:
            raw = yaml.load(Path(path).read_text(encoding="utf-8")[:MAX_ALIASES_BYTES], Loader=PlainYAML) or []
        except (OSError, UnicodeDecodeError, yaml.YAMLError, RecursionError) as err:
            raise ConfigError(f"{path}: not a list of names ({one_line(err)})") from None
        if not isinstance(raw, list):
            raise ConfigError(f"{path}: must be a list, one line of comma-separated names per entry")
    groups = []
    for entry in raw:
        names = tuple(str(n).strip() for n in (entry if isinstance(entry, list) else str(entry).split(",")))
        names = tuple(n for n in names if entity_key(n))
        if len(names) > 1:
            groups.append(names)
    # the file's groups first: where one shares a name with a built-in group, the file's first name leads
    return Aliases(groups + list(BUILTIN_ALIASES))
