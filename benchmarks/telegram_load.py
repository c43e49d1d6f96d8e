"""Load test of the Telegram bot through the loopback fake Bot API: many users asking at once.

The real bot (`wenda serve` in its own process, as deployed: PTB polling, AIORateLimiter, answers
off the event loop) runs against tests/telegram/fake_botapi.py on 127.0.0.1, which runs here with the users.
`--in-process` runs the bot in this process instead, where it shares one interpreter lock with the
fake server and the users. Each of `--users` users asks `--questions` questions:

    paced (default)  each user asks, waits for the reply, asks the next: `--users` questions in flight
    burst            every question is sent at the same moment

A reply time runs from the moment the update is queued at the fake server to the moment the bot's
sendMessage reaches it (polling, answering and the rate limiter included). Questions come from
eval/*.jsonl (answerable and not), cycled, so about half of them repeat within the minute the
answer cache keeps an answer (ANSWER_CACHE_SIZE=0 in the environment measures without it). The
flood limit is off so --questions may exceed it.

    python benchmarks/telegram_load.py                     # 20 users x 10 questions, as deployed
    python benchmarks/telegram_load.py --burst
    python benchmarks/telegram_load.py --no-rate-limit     # the bot alone, without Telegram's 30 messages/s
    MESSAGES_PER_SECOND=60 python benchmarks/telegram_load.py   # a bot Telegram allows more

Exits 1 if any question went unanswered.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import logging
import os
import signal
import statistics
import sys
import time
from asyncio.subprocess import PIPE
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.telegram import ALLOWED_UPDATES, build_application  # noqa: E402
from tests.telegram.fake_botapi import FakeBotAPI  # noqa: E402

FIRST_USER = 100_000


class TimedFakeBotAPI(FakeBotAPI):
    """The fake Bot API, noting when each sendMessage arrives, per chat."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.replied: dict[int, list[float]] = defaultdict(list)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.waiting: dict[int, asyncio.Event] = {}

    def _api_sendMessage(self, params: dict) -> dict:  # noqa: N802 (Bot API method name)
        message = super()._api_sendMessage(params)
        chat_id = message["chat"]["id"]
        self.replied[chat_id].append(time.perf_counter())
        event = self.waiting.get(chat_id)
        if event is not None and self.loop is not None:
            self.loop.call_soon_threadsafe(event.set)
        return message


def questions() -> list[str]:
    """Questions from this project's eval sets (answerable and not), for variety."""
    found = []
    for path in sorted((ROOT / "eval").glob("*.jsonl")):
        found += [
            json.loads(line)["question"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
        ]
    return found or ["渝万高铁何时开工？", "三峡综合物流枢纽初期投资多少钱？", "北京冬奥会什么时候开幕？"]


async def wait_replies(server: TimedFakeBotAPI, chat_id: int, count: int, timeout: float) -> bool:
    """Wait until the chat has `count` replies, woken by the server (polling here would load the loop)."""
    deadline = time.perf_counter() + timeout
    event = server.waiting.setdefault(chat_id, asyncio.Event())
    while len(server.replied[chat_id]) < count:
        remaining = deadline - time.perf_counter()
        if remaining <= 0:
            return False
        event.clear()
        if len(server.replied[chat_id]) >= count:
            break
        try:
            await asyncio.wait_for(event.wait(), remaining)
        except TimeoutError:
            return False
    return True


async def paced_user(server: TimedFakeBotAPI, user: int, asked: list[str], timeout: float) -> list[float]:
    """Ask one question at a time, each when the previous one is answered; returns the reply times."""
    times = []
    for number, question in enumerate(asked, 1):
        sent = time.perf_counter()
        server.send_text(user, question)
        if not await wait_replies(server, user, number, timeout):
            break
        times.append(server.replied[user][number - 1] - sent)
    return times


async def burst(server: TimedFakeBotAPI, users: list[int], asked: dict[int, list[str]], timeout: float) -> list[float]:
    """Send every question at once; the k-th reply in a chat answers one of its k first questions."""
    sent = time.perf_counter()
    for round_ in zip(*(asked[user] for user in users), strict=True):
        for user, question in zip(users, round_, strict=True):
            server.send_text(user, question)
    await asyncio.gather(*(wait_replies(server, user, len(asked[user]), timeout) for user in users))
    return [reply - sent for user in users for reply in server.replied[user]]


async def run(args: argparse.Namespace) -> int:
    pool = itertools.cycle(questions())
    users = [FIRST_USER + n for n in range(args.users)]
    asked = {user: [next(pool) for _ in range(args.questions)] for user in users}
    with TimedFakeBotAPI() as server:
        server.loop = asyncio.get_running_loop()
        environment = {
            "TELEGRAM_TOKEN": server.token,
            "TELEGRAM_BASE_URL": server.base_url,
            "TELEGRAM_BASE_FILE_URL": server.base_file_url,
            "QUESTIONS_PER_MINUTE": "0",
            "MESSAGES_PER_SECOND": "0" if args.no_rate_limit else os.environ.get("MESSAGES_PER_SECOND", "30"),
        }
        if args.corpus:
            environment["CORPUS_DIR"] = args.corpus
        if args.index:
            environment["INDEX_DIR"] = args.index
        async with (bot_in_process(server, environment) if args.in_process else bot_process(server, environment)):
            started = time.perf_counter()
            rounds: list[tuple] = []
            if args.burst:
                times = await burst(server, users, asked, args.timeout)
            else:
                per_user = await asyncio.gather(*(paced_user(server, user, asked[user], args.timeout) for user in users))
                times = [t for user_times in per_user for t in user_times]
                rounds = list(itertools.zip_longest(*per_user))
            wall = time.perf_counter() - started
        errors = server.errors
    rate = float(environment["MESSAGES_PER_SECOND"])
    total = args.users * args.questions
    quantiles = statistics.quantiles(times, n=100, method="inclusive") if len(times) > 1 else times * 99
    print(
        f"{args.users} users x {args.questions} questions ({'burst' if args.burst else 'paced'}, "
        f"rate limiter {environment['MESSAGES_PER_SECOND'] + ' messages/s' if rate else 'off'}"
        f"{', bot in this process' if args.in_process else ''}): {len(times)}/{total} answered in {wall:.1f} s "
        f"({len(times) / wall:.1f} replies/s)"
    )
    if times:
        print(
            f"reply time p50 {quantiles[49] * 1000:.0f} ms, p95 {quantiles[94] * 1000:.0f} ms, max {max(times) * 1000:.0f} ms"
        )
    if not args.burst and times:
        for number, round_ in enumerate(rounds, 1):
            got = sorted(t for t in round_ if t is not None)
            print(f"  question {number}: p50 {got[len(got) // 2] * 1000:.0f} ms, max {got[-1] * 1000:.0f} ms")
    if errors:
        print(f"{len(errors)} Bot API errors, e.g. {errors[0][0]}: {errors[0][2]}")
    return 0 if len(times) == total and not errors else 1


@contextlib.asynccontextmanager
async def bot_process(server: TimedFakeBotAPI, environment: dict[str, str]):
    """`wenda serve` in its own process, as deployed, polling the fake server; stopped with SIGINT.

    Questions start once it polls and has its English dictionary (loaded in the background at start,
    0.2-0.4 s, longer the first time on a machine): the load is measured on a running bot.
    """
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "serve", cwd=ROOT, env={**os.environ, **environment}, stderr=PIPE
    )
    ready = asyncio.Event()

    async def relay() -> None:  # the bot's log, to this stderr, watching for the dictionary
        async for line in process.stderr:
            sys.stderr.write(line.decode(errors="replace"))
            if b"English dictionary ready" in line:
                ready.set()

    relaying = asyncio.create_task(relay())
    try:
        deadline = time.perf_counter() + 180
        while not (ready.is_set() and server.polling):
            if process.returncode is not None or time.perf_counter() > deadline:
                raise SystemExit(f"`wenda serve` did not get ready (exit status {process.returncode})")
            await asyncio.sleep(0.1)
        yield
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(process.wait(), 30)
            except TimeoutError:
                process.kill()
        await relaying


@contextlib.asynccontextmanager
async def bot_in_process(server: TimedFakeBotAPI, environment: dict[str, str]):
    """The bot in this process, sharing its interpreter (and GIL) with the fake server and the users."""
    from bot.config import Settings
    from bot.startup import load_pipeline

    settings = Settings(**{key.lower(): value for key, value in environment.items()})
    wenda = load_pipeline(settings)
    wenda.load_translator_in_background().join()  # as `wenda serve` does, waiting for it as above
    application = build_application(settings, wenda)
    async with application:
        await application.start()
        await application.updater.start_polling(poll_interval=0.0, timeout=1, allowed_updates=ALLOWED_UPDATES)
        try:
            yield
        finally:
            await application.updater.stop()
            await application.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--questions", type=int, default=10, help="questions per user")
    parser.add_argument("--burst", action="store_true", help="send every question at once")
    parser.add_argument("--no-rate-limit", action="store_true", help="without PTB's AIORateLimiter")
    parser.add_argument(
        "--in-process", action="store_true", help="run the bot in this process rather than as `wenda serve`"
    )
    parser.add_argument("--timeout", type=float, default=120, help="seconds to wait for a reply")
    parser.add_argument("--corpus", metavar="DIR")
    parser.add_argument("--index", metavar="DIR")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
