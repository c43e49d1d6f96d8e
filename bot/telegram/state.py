"""The bot's shared state, one `BotState` in `application.bot_data`: recent answers for paging,
flood windows, counters, pending confirmations and the pipeline in use."""

from __future__ import annotations

import asyncio
import secrets
import statistics
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field

from telegram.ext import ContextTypes

from bot.answer.pipeline import Answer, Wenda
from bot.config import Settings
from bot.ingest.uploads import Upload
from bot.telegram.texts import PENDING_SECONDS, RECENT_ANSWERS, STATE

# -- state -----------------------------------------------------------------------------------------


class RecentAnswers:
    """The last `size` answers by short token, so 「更多结果」 can page through them later."""

    def __init__(self, size: int = RECENT_ANSWERS):
        self.size = size
        self._answers: OrderedDict[str, Answer] = OrderedDict()

    def add(self, answer: Answer) -> str:
        token = secrets.token_urlsafe(6)  # 8 characters
        self._answers[token] = answer
        while len(self._answers) > self.size:
            self._answers.popitem(last=False)
        return token

    def get(self, token: str) -> Answer | None:
        answer = self._answers.get(token)
        if answer is not None:
            self._answers.move_to_end(token)
        return answer


class FloodGate:
    """At most `limit` questions per user in any `window` seconds (0 = no limit)."""

    def __init__(self, limit: int, window: float = 60.0):
        self.limit = limit
        self.window = window
        self._asked: dict[int, deque[float]] = {}
        self._warned: dict[int, float] = {}

    def check(self, user_id: int, now: float) -> float | None:
        """None when the user may ask (the question is counted); else the seconds until they may."""
        if not self.limit:
            return None
        if len(self._asked) > 10_000:
            self._forget_idle(now)
        asked = self._asked.setdefault(user_id, deque())
        while asked and now - asked[0] >= self.window:
            asked.popleft()
        if len(asked) < self.limit:
            asked.append(now)
            return None
        return self.window - (now - asked[0])

    def should_warn(self, user_id: int, now: float) -> bool:
        """Whether to tell the user about the limit: once per window, not for every extra message."""
        if now - self._warned.get(user_id, float("-inf")) < self.window:
            return False
        self._warned[user_id] = now
        return True

    def _forget_idle(self, now: float) -> None:
        for user_id in [u for u, asked in self._asked.items() if not asked or now - asked[-1] >= self.window]:
            del self._asked[user_id]
            self._warned.pop(user_id, None)


@dataclass
class Stats:
    """Questions answered since start and how long `answer()` took (the last 10,000)."""

    questions: int = 0
    found: int = 0
    seconds: deque[float] = field(default_factory=lambda: deque(maxlen=10_000))

    def record(self, found: bool, seconds: float) -> None:
        self.questions += 1
        self.found += bool(found)
        self.seconds.append(seconds)

    def median(self) -> float | None:
        return statistics.median(self.seconds) if self.seconds else None


class Progress:
    """The latest `(stage, done, total)` of a build, written by the build thread, read by the event loop."""

    def __init__(self) -> None:
        self.latest: tuple[str, int, int] | None = None

    def __call__(self, stage: str, done: int, total: int) -> None:
        self.latest = (stage, done, total)  # one reference assignment: atomic


@dataclass(frozen=True)
class Removal:
    """A /remove waiting for 「确认删除」."""

    doc_id: str


class Pending:
    """Uploads waiting for 「覆盖」/「另存为新文件」/「取消」 and removals waiting for 「确认删除」, by short token.

    Forgotten after `seconds`; `expire` hands back what it forgot, so staged files can be deleted.
    """

    def __init__(self, seconds: float = PENDING_SECONDS):
        self.seconds = seconds
        self._items: dict[str, tuple[float, Upload | Removal]] = {}

    def add(self, item: Upload | Removal, now: float) -> str:
        token = secrets.token_urlsafe(6)  # 8 characters
        self._items[token] = (now, item)
        return token

    def expire(self, now: float) -> list[Upload | Removal]:
        stale = [token for token, (added, _) in self._items.items() if now - added >= self.seconds]
        return [self._items.pop(token)[1] for token in stale]

    def take(self, token: str, kind: type[Upload] | type[Removal]) -> Upload | Removal | None:
        """The item, if it is of that kind (forgotten from now on), or None when there is none of it: a removal's
        button cannot take an upload, nor the other way round (call `expire` first)."""
        if not self.holds(token, kind):
            return None
        return self._items.pop(token)[1]

    def holds(self, token: str, kind: type[Upload] | type[Removal]) -> bool:
        entry = self._items.get(token)
        return entry is not None and isinstance(entry[1], kind)


@dataclass
class BotState:
    """Everything the handlers share; kept in `application.bot_data[STATE]`."""

    settings: Settings
    wenda: Wenda  # the pipeline in use; /reindex replaces it with one holding the new index
    progress_interval: float = 1.0  # seconds between edits of the /reindex progress message
    startup: float | None = None  # time.perf_counter() when `serve` began, for the start-up log
    started: float = field(default_factory=time.monotonic)
    answers: RecentAnswers = field(default_factory=RecentAnswers)
    stats: Stats = field(default_factory=Stats)
    flood: FloodGate = field(init=False)
    reindexing: bool = False  # a rebuild is running (see claim_rebuild)
    pending: Pending = field(default_factory=Pending)
    watcher: asyncio.Task | None = None  # watch_index (bot/telegram/app.py), while the bot runs

    def __post_init__(self) -> None:
        self.flood = FloodGate(self.settings.questions_per_minute)

    @property
    def example(self) -> str | None:
        return self.settings.example_questions[0] if self.settings.example_questions else None


def state_of(context: ContextTypes.DEFAULT_TYPE) -> BotState:
    return context.application.bot_data[STATE]
