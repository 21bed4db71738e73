"""Writes Outlook .msg files for the tests: nothing on this machine can save one, so the test builds the
container itself from the published formats. A .msg is a Compound File ([MS-CFB], version 3: 512-byte
sectors, streams under 4,096 bytes in 64-byte mini sectors) holding the message's properties as [MS-OXMSG]
lays them out: a ``__properties_version1.0`` stream of 16-byte entries, strings and binaries in streams
named ``__substg1.0_<id><type>``, each attachment in a storage ``__attach_version1.0_#<n>``.

Only the writer lives here; askfront reads the files with python-oxmsg, which never saw this code."""

from __future__ import annotations

import datetime as dt
import itertools
import struct
from dataclasses import dataclass, field

FREE, END, FAT_SECTOR, NONE = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF
SECTOR, MINI, CUTOFF = 512, 64, 4096
UNICODE, BINARY, LONG, SYSTIME = 0x001F, 0x0102, 0x0003, 0x0040


@dataclass
class Storage:
    name: str
    streams: dict[str, bytes] = field(default_factory=dict)
    storages: list[Storage] = field(default_factory=list)


def properties(header: bytes, props: list[tuple[int, int, object]]) -> tuple[bytes, dict[str, bytes]]:
    """The properties stream and the value streams for ``props`` (property id, type, value)."""
    entries, streams = [header], {}
    for pid, kind, value in props:
        tag = struct.pack("<HH", kind, pid)
        if kind == UNICODE:
            data = str(value).encode("utf-16-le")
            streams[f"__substg1.0_{pid:04X}{kind:04X}"] = data
            entries.append(tag + struct.pack("<IIi", 6, len(data) + 2, 0))
        elif kind == BINARY:
            streams[f"__substg1.0_{pid:04X}{kind:04X}"] = bytes(value)  # type: ignore[arg-type]
            entries.append(tag + struct.pack("<IIi", 6, len(value), 0))  # type: ignore[arg-type]
        elif kind == SYSTIME:
            ticks = int((value - dt.datetime(1601, 1, 1, tzinfo=dt.UTC)).total_seconds() * 10_000_000)  # type: ignore[operator]
            entries.append(tag + struct.pack("<IQ", 6, ticks))
        else:
            entries.append(tag + struct.pack("<IIi", 6, int(value), 0))  # type: ignore[call-overload]
    return b"".join(entries), streams


def message(
    subject: str, body: str, sender: str, address: str, sent: dt.datetime, attachments: list[tuple[str, bytes]] = ()
) -> bytes:
    """A .msg of one e-mail with attachments (name, bytes[, attach method])."""
    props, streams = properties(
        struct.pack("<8x4I8x", 0, len(attachments), 0, len(attachments)),
        [(0x001A, UNICODE, "IPM.Note"), (0x0037, UNICODE, subject), (0x1000, UNICODE, body),
         (0x0C1A, UNICODE, sender), (0x0C1F, UNICODE, address), (0x0039, SYSTIME, sent)],
    )  # fmt: skip
    root = Storage("Root Entry", {"__properties_version1.0": props, **streams})
    for n, (name, data, *method) in enumerate(attachments):  # method 1: a file; 5: an Outlook item
        kind = method[0] if method else 1
        props, streams = properties(b"\0" * 8, [(0x3705, LONG, kind), (0x3707, UNICODE, name), (0x3701, BINARY, data)])
        root.storages.append(Storage(f"__attach_version1.0_#{n:08X}", {"__properties_version1.0": props, **streams}))
    return compound_file(root)


def compound_file(root: Storage) -> bytes:
    entries: list[list] = []  # [name, type, start, size, child, right]; sibling lists as right-leaning chains
    big: list[bytes] = []  # streams of CUTOFF bytes or more, in regular sectors
    mini = bytearray()

    def add(name: str, kind: int, data: bytes = b"") -> int:
        entries.append([name, kind, END, len(data), NONE, NONE, data])
        return len(entries) - 1

    def walk(storage: Storage, me: int) -> None:
        kids = [(n, 2, d, None) for n, d in storage.streams.items()] + [(s.name, 1, b"", s) for s in storage.storages]
        kids.sort(key=lambda k: (len(k[0]), k[0].upper()))  # the order [MS-CFB] compares names in
        ids = [add(n, kind, d) for n, kind, d, _ in kids]
        if ids:
            entries[me][4] = ids[0]
        for a, b in itertools.pairwise(ids):
            entries[a][5] = b
        for i, (_, _, _, sub) in zip(ids, kids, strict=True):
            if sub is not None:
                walk(sub, i)

    walk(root, add("Root Entry", 5))
    for e in entries[1:]:
        if e[1] == 2 and e[3] < CUTOFF:
            e[2] = len(mini) // MINI if e[3] else END
            mini += e[6] + b"\0" * (-len(e[6]) % MINI)
        elif e[1] == 2:
            big.append(e)
    mini_fat: list[int] = []
    for e in entries[1:]:
        if e[1] == 2 and 0 < e[3] < CUTOFF:
            count = -(-e[3] // MINI)
            mini_fat += [e[2] + k + 1 for k in range(count - 1)] + [END]

    sectors: list[bytes] = []
    fat: list[int] = []

    def put(data: bytes) -> int:
        if not data:
            return END
        start, count = len(sectors), -(-len(data) // SECTOR)
        for k in range(count):
            sectors.append(data[k * SECTOR : (k + 1) * SECTOR].ljust(SECTOR, b"\0"))
            fat.append(start + k + 1 if k < count - 1 else END)
        return start

    for e in big:
        e[2] = put(e[6])
    entries[0][2], entries[0][3] = put(bytes(mini)), len(mini)
    mini_fat_start = put(b"".join(struct.pack("<I", v) for v in mini_fat))
    mini_fat_sectors = -(-len(mini_fat) * 4 // SECTOR)
    directory = b"".join(_entry(*e[:6]) for e in entries)
    directory += _entry("", 0, END, 0, NONE, NONE) * (-len(entries) % 4)
    dir_start = put(directory)
    n_fat = 1
    while (len(sectors) + n_fat) > n_fat * (SECTOR // 4):
        n_fat += 1
    fat_ids = list(range(len(sectors), len(sectors) + n_fat))
    fat += [FAT_SECTOR] * n_fat
    fat += [FREE] * (n_fat * (SECTOR // 4) - len(fat))
    fat_bytes = b"".join(struct.pack("<I", v) for v in fat)
    sectors += [fat_bytes[k * SECTOR : (k + 1) * SECTOR] for k in range(n_fat)]
    difat = fat_ids + [FREE] * (109 - len(fat_ids))
    header = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 16
        + struct.pack("<HHHHH6xIIIIIIIII", 0x3E, 3, 0xFFFE, 9, 6, 0, n_fat, dir_start, 0, CUTOFF,
                      mini_fat_start, mini_fat_sectors, END, 0)
        + b"".join(struct.pack("<I", v) for v in difat)
    )  # fmt: skip
    return header + b"".join(sectors)


def _entry(name: str, kind: int, start: int, size: int, child: int, right: int) -> bytes:
    encoded = (name.encode("utf-16-le") + b"\0\0") if name else b""
    return (
        encoded.ljust(64, b"\0")
        + struct.pack("<HBBIII", len(encoded), kind, 1, NONE, right, child)
        + b"\0" * 16 + struct.pack("<I", 0) + b"\0" * 16
        + struct.pack("<IQ", start, size)
    )  # fmt: skip
