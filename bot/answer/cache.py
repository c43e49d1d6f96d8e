"""Recent answers, so a question asked again at once is not searched again (`AnswerCache`)."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any


class AnswerCache:
    """Recent answers by question: an identical question asked again within `seconds` gets the same
    answer without a search. Holds at most `size` answers, dropping the least recently used.

    One pipeline, one index, one cache (`Wenda.with_index` gives a new index a new cache), so an
    answer is never served from an index it was not computed on. Thread-safe (the bot answers in
    worker threads).
    """

    def __init__(self, size: int, seconds: float, clock: Callable[[], float] = time.monotonic):
        self.size = size
        self.seconds = seconds
        self.clock = clock
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.size > 0 and self.seconds > 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable) -> Any | None:
        """The answer cached for `key`, or None (absent or expired)."""
        if not self.enabled:
            return None
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and self.clock() - entry[0] <= self.seconds:
                self._entries.move_to_end(key)
                self.hits += 1
                return entry[1]
            if entry is not None:
                del self._entries[key]
            self.misses += 1
            return None

    def put(self, key: Hashable, value: Any) -> None:
        """Keep `value` as the answer for `key`."""
        if not self.enabled:
            return
        with self._lock:
            self._entries[key] = (self.clock(), value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
