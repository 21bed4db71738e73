"""The one small cache helper: a bounded mapping of the most recently used entries."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from typing import Any


class LRU(OrderedDict):
    """A dict that keeps the ``size`` most recently used entries."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def get_or(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """The value for ``key``, computed by ``compute()`` (and kept) when it is missing."""
        return self.get_many([key], lambda missing: [compute()])[0]

    def get_many(self, keys: list, compute: Callable[[list], Iterable]) -> list:
        """Values for ``keys``; the missing ones are computed together by ``compute(missing)``."""
        missing = list(dict.fromkeys(k for k in keys if k not in self))
        if missing:
            self.update(zip(missing, compute(missing), strict=True))
        for key in keys:
            self.move_to_end(key)
        while len(self) > self.size:
            self.popitem(last=False)
        return [self[k] for k in keys]
