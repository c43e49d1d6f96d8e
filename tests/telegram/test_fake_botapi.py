"""Proves that tests/telegram/fake_botapi.py behaves like the Bot API for a REAL PTB bot.

The PTB tests run a full Application (polling Updater and all) against the fake over
HTTP; the raw tests use urllib to pin down the wire-level behaviour.
"""

from __future__ import annotations

import contextlib
import html
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    MessageEntity,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

try:
    from tests.telegram.fake_botapi import FakeBotAPI
except ImportError:  # run as rootdir-less module (tests/telegram/ on sys.path)
    from fake_botapi import FakeBotAPI

USER = 4242
GROUP = -1001234567890


@pytest.fixture
def server():
    with FakeBotAPI() as srv:
        yield srv


def build_app(server: FakeBotAPI) -> Application:
    app = (
        ApplicationBuilder()
        .token(server.token)
        .base_url(server.base_url)
        .base_file_url(server.base_file_url)
        .build()
    )

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.message.reply_text(update.message.text)

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        keyboard = InlineKeyboardMarkup(
            [[InlineKeyboardButton("Yes", callback_data="yes"),
              InlineKeyboardButton("No", callback_data="no")]]
        )
        await update.message.reply_text("Pick one", reply_markup=keyboard)

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        await query.answer(f"got {query.data}")
        await query.edit_message_text(f"You chose <b>{html.escape(query.data)}</b>",
                                      parse_mode=ParseMode.HTML)

    async def document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        doc = update.message.document
        data = await (await context.bot.get_file(doc.file_id)).download_as_bytearray()
        await update.message.reply_text(f"{doc.file_name}: {len(data)} bytes, {bytes(data[:5])!r}")

    app.add_handler(CommandHandler("start", start))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    app.add_handler(MessageHandler(filters.Document.ALL, document))
    app.add_handler(CallbackQueryHandler(pressed))
    return app


@contextlib.asynccontextmanager
async def running(app: Application):
    """Initialize, start and poll; always stop the updater and the app afterwards."""
    async with app:
        await app.start()
        await app.updater.start_polling(poll_interval=0.0, timeout=1)
        try:
            yield app
        finally:
            await app.updater.stop()
            await app.stop()


def raw_call(server: FakeBotAPI, method: str, data: bytes | None = None,
             content_type: str = "application/json", token: str | None = None):
    """POST to the fake without PTB; returns (HTTP status, decoded JSON)."""
    url = f"{server.base_url}{token or server.token}/{method}"
    request = urllib.request.Request(url, data=data, headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


# ------------------------------------------------------------------ with real PTB


@pytest.mark.asyncio
async def test_echo_command_and_inline_button(server):
    async with running(build_app(server)):
        server.send_text(USER, "hello ✨ <not html>")
        echoed = await server.wait_for_message_async(USER, contains="hello ✨")
        assert echoed["text"] == "hello ✨ <not html>"
        assert echoed["from"]["id"] == server.bot_id and echoed["from"]["is_bot"]

        mark = len(server.calls)
        server.send_command(USER, "/start")
        menu = await server.wait_for_message_async(USER, contains="Pick one", since=mark)
        buttons = menu["reply_markup"]["inline_keyboard"][0]
        assert [b["callback_data"] for b in buttons] == ["yes", "no"]

        with pytest.raises(AssertionError, match="no button"):
            server.press_button(USER, menu, "maybe")
        update = server.press_button(USER, menu, "yes")
        query_id = update["callback_query"]["id"]
        answer = await server.wait_for_async(
            lambda c: c.method == "answerCallbackQuery" and c.params["callback_query_id"] == query_id
        )
        assert answer.params["text"] == "got yes"
        assert server.callback_answer(query_id)["text"] == "got yes"
        await server.wait_for_async("editMessageText", since=mark)

        chat_id, message_id = menu["chat"]["id"], menu["message_id"]
        assert server.text_history(chat_id, message_id) == ["Pick one", "You chose yes"]
        current = server.sent_messages(USER)[-1]
        assert current["text"] == "You chose yes"
        assert current["entities"] == [{"offset": 10, "length": 3, "type": "bold"}]
        assert "reply_markup" not in current  # editing without a keyboard removes it
        with pytest.raises(AssertionError, match="no button"):
            server.press_button(USER, current, "yes")

    methods = [method for method, _ in server.calls]
    assert methods[:2] == ["getMe", "deleteWebhook"]
    assert server.errors == [] and server.unknown_methods == []


@pytest.mark.asyncio
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")  # RetryAfter(int)
async def test_telegram_validation_surfaces_as_ptb_errors(server):
    async with Bot(server.token, base_url=server.base_url, base_file_url=server.base_file_url) as bot:
        assert bot.username == "wenda_test_bot"

        with pytest.raises(BadRequest, match="Message is too long"):
            await bot.send_message(USER, "x" * 4097)
        await bot.send_message(USER, "x" * 4096)
        # The limit applies after entity parsing: tags and &amp; don't count.
        await bot.send_message(USER, "<b>" + "&amp;" * 4096 + "</b>", parse_mode=ParseMode.HTML)
        with pytest.raises(BadRequest, match="Message text is empty"):
            await bot.send_message(USER, "  \n ")
        with pytest.raises(BadRequest, match="Can't parse entities: unsupported start tag \"\""):
            await bot.send_message(USER, "1 < 2", parse_mode=ParseMode.HTML)
        with pytest.raises(BadRequest, match="Can't parse entities: unsupported start tag \"br\""):
            await bot.send_message(USER, "a<br>b", parse_mode=ParseMode.HTML)
        with pytest.raises(BadRequest, match="(?i)can't find end tag"):
            await bot.send_message(USER, "<b>bold", parse_mode=ParseMode.HTML)
        with pytest.raises(BadRequest, match="(?i)unmatched end tag"):
            await bot.send_message(USER, "<b><i>x</b></i>", parse_mode=ParseMode.HTML)
        with pytest.raises(BadRequest, match="Can't parse entities"):
            await bot.send_message(USER, "Q&A", parse_mode=ParseMode.HTML)
        with pytest.raises(BadRequest, match="Button_data_invalid"):
            await bot.send_message(USER, "hi", reply_markup=InlineKeyboardMarkup(
                [[InlineKeyboardButton("x", callback_data="é" * 33)]]))  # 66 bytes

        rich = f"<b>Hi</b> 🏟 <i>{html.escape('<you & me>')}</i> <a href='example.com'>link</a>"
        sent = await bot.send_message(USER, rich, parse_mode=ParseMode.HTML)
        assert sent.text == "Hi 🏟 <you & me> link"
        assert [sent.parse_entity(e) for e in sent.entities] == ["Hi", "<you & me>", "link"]
        assert sent.entities[2].url == "http://example.com/"

        with pytest.raises(BadRequest, match="Message is not modified"):
            await bot.edit_message_text(rich, USER, sent.message_id, parse_mode=ParseMode.HTML)
        # Same characters without the entities is a real change for Telegram.
        await bot.edit_message_text("Hi 🏟 <you & me> link", USER, sent.message_id)
        edited = await bot.edit_message_text("changed", USER, sent.message_id)
        assert edited.text == "changed" and edited.edit_date is not None
        assert await bot.delete_message(USER, sent.message_id)
        with pytest.raises(BadRequest, match="Message to edit not found"):
            await bot.edit_message_text("again", USER, sent.message_id)
        with pytest.raises(BadRequest, match="Query is too old"):
            await bot.answer_callback_query("12345")
        assert await bot.send_chat_action(USER, "typing")

        await bot.set_my_commands([("start", "Start"), ("ask", "Ask a question")])
        assert [c.command for c in await bot.get_my_commands()] == ["start", "ask"]

        server.fail_next("sendMessage", "Too Many Requests: retry after 1", 429, retry_after=1)
        with pytest.raises(Exception, match="Flood control exceeded"):
            await bot.send_message(USER, "flood")

    assert "message is too long" in server.errors[0][2]


@pytest.mark.asyncio
async def test_document_download_and_upload_roundtrip(server):
    data = bytes(range(256)) * 8 + b"\r\n--boundary-like\r\n\x00\r"
    update = server.send_document(USER, "notes ü.bin", data, "application/octet-stream")
    file_id = update["message"]["document"]["file_id"]

    async with running(build_app(server)) as app:
        reply = await server.wait_for_message_async(USER, contains="notes ü.bin")
        assert reply["text"] == f"notes ü.bin: {len(data)} bytes, {data[:5]!r}"

        downloaded = await (await app.bot.get_file(file_id)).download_as_bytearray()
        assert bytes(downloaded) == data

        # Upload (multipart/form-data) from the bot, then fetch it back.
        message = await app.bot.send_document(
            USER, document=data, filename="отчёт.bin", caption="<b>Отчёт</b> готов",
            parse_mode=ParseMode.HTML,
            reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("ok", callback_data="ok")]]),
        )
        assert message.caption == "Отчёт готов"
        assert message.document.file_name == "отчёт.bin"
        assert message.reply_markup.inline_keyboard[0][0].callback_data == "ok"
        upload = server.wait_for("sendDocument").params
        assert upload["document"]["filename"] == "отчёт.bin"
        assert upload["document"]["data"] == data
        assert upload["chat_id"] == USER and upload["reply_markup"]["inline_keyboard"]
        again = await (await app.bot.get_file(message.document.file_id)).download_as_bytearray()
        assert bytes(again) == data

    with pytest.raises(BadRequest, match="Invalid file_id"):
        async with Bot(server.token, base_url=server.base_url) as bot:
            await bot.get_file("nope")


@pytest.mark.asyncio
async def test_group_updates_parse_in_ptb_with_utf16_offsets(server):
    async with Bot(server.token, base_url=server.base_url) as bot:
        update = Update.de_json(
            server.send_group_text(USER, GROUP, "🏟 @wenda_test_bot how are you?", mention=True), bot)
        assert update.effective_chat.type == "supergroup"
        assert update.message.entities[0].offset == 3  # 🏟 is two UTF-16 code units
        assert update.message.parse_entities([MessageEntity.MENTION]) == {
            update.message.entities[0]: "@wenda_test_bot"}

        prefixed = server.send_group_text(USER, GROUP, "привет", mention=True)["message"]
        assert prefixed["text"] == "@wenda_test_bot привет"
        plain = server.send_group_text(USER, GROUP, "just chatting")["message"]
        assert "entities" not in plain

        command = Update.de_json(server.send_command(USER, "/ask@wenda_test_bot why?", chat_id=GROUP), bot)
        assert command.message.parse_entities([MessageEntity.BOT_COMMAND]) == {
            command.message.entities[0]: "/ask@wenda_test_bot"}

        sent = await bot.send_message(GROUP, "answer")
        reply = Update.de_json(server.reply_to_bot(USER, GROUP, "thanks", sent), bot)
        assert reply.message.reply_to_message.from_user.id == server.bot_id
        assert reply.message.reply_to_message.text == "answer"

        for update_dict in (server.send_sticker(USER), server.send_photo(USER, caption="pic"),
                            server.send_voice(USER)):
            parsed = Update.de_json(update_dict, bot)
            assert parsed.message.sticker or parsed.message.photo or parsed.message.voice
            assert parsed.message.effective_attachment is not None


# -------------------------------------------------------------- wire-level (no PTB)


def test_get_updates_long_polling_and_offsets(server):
    started = time.monotonic()
    status, answer = raw_call(server, "getUpdates", json.dumps({"timeout": 30}).encode())
    assert (status, answer) == (200, {"ok": True, "result": []})
    assert 0.9 < time.monotonic() - started < 2.0  # capped at max_poll_timeout

    threading.Timer(0.2, server.send_text, args=(USER, "late")).start()
    started = time.monotonic()
    _, answer = raw_call(server, "getUpdates", b"timeout=1", "application/x-www-form-urlencoded")
    assert time.monotonic() - started < 0.9
    [first] = answer["result"]
    assert first["message"]["text"] == "late"

    server.send_text(USER, "second")
    _, answer = raw_call(server, "getUpdates", json.dumps({"offset": first["update_id"]}).encode())
    assert [u["message"]["text"] for u in answer["result"]] == ["late", "second"]
    last = answer["result"][-1]["update_id"]
    _, answer = raw_call(server, "getUpdates", json.dumps({"offset": last + 1}).encode())
    assert answer["result"] == []
    _, answer = raw_call(server, "getUpdates", json.dumps({"offset": first["update_id"]}).encode())
    assert answer["result"] == []  # confirmed updates are gone for good


def test_concurrent_get_updates_conflict(server):
    results = []
    poller = threading.Thread(
        target=lambda: results.append(raw_call(server, "getUpdates", b'{"timeout": 1}')))
    poller.start()
    time.sleep(0.2)
    raw_call(server, "getUpdates", b'{"timeout": 0}')
    poller.join()
    assert results[0][0] == 409 and "terminated by other getUpdates" in results[0][1]["description"]


def test_request_formats_unknown_methods_and_token(server):
    markup = json.dumps({"inline_keyboard": [[{"text": "a", "callback_data": "1"}]]})
    body = urllib.parse.urlencode({"chat_id": "77", "text": "123", "reply_markup": markup}).encode()
    status, answer = raw_call(server, "sendMessage", body, "application/x-www-form-urlencoded")
    assert status == 200 and answer["result"]["text"] == "123"  # text stays a string
    assert answer["result"]["reply_markup"] == json.loads(markup)
    assert server.calls[-1].params["chat_id"] == 77

    status, answer = raw_call(server, "sendPoll", b"{}")
    assert (status, answer) == (404, {"ok": False, "error_code": 404,
                                      "description": "Not Found: method sendPoll"})
    assert server.unknown_methods == ["sendPoll"]
    status, answer = raw_call(server, "getMe", b"", token="1:wrong")
    assert status == 401 and answer["description"] == "Unauthorized"
    status, answer = raw_call(server, "sendMessage", b'{"chat_id": 1, "text": "<b>x</i>", "parse_mode": "HTML"}')
    assert status == 400 and answer["description"].startswith("Bad Request: can't parse entities:")

    with pytest.raises(AssertionError, match=r"sendPoll"):
        server.wait_for(lambda call: call.params["text"] == "never", timeout=0.2)


def test_stop_wakes_long_polls_and_leaves_no_threads():
    before = set(threading.enumerate())
    server = FakeBotAPI().start()
    poller = threading.Thread(target=raw_call, args=(server, "getUpdates", b'{"timeout": 1}'))
    poller.start()
    time.sleep(0.1)
    started = time.monotonic()
    server.stop()
    poller.join()
    assert time.monotonic() - started < 0.5
    assert set(threading.enumerate()) <= before
