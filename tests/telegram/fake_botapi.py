"""A small but faithful fake of the Telegram Bot API, for tests.

The fake is a real HTTP server on 127.0.0.1 (random free port), so the bot under
test talks to it through its unmodified HTTP stack (PTB + httpx)::

    with FakeBotAPI() as server:
        app = (
            ApplicationBuilder()
            .token(server.token)
            .base_url(server.base_url)
            .base_file_url(server.base_file_url)
            .build()
        )
        ...
        server.send_text(42, "hello")                     # inject an update
        msg = server.wait_for_message(42, contains="hello")  # see what the bot did

URL layout is the real one: ``{base_url}<TOKEN>/<method>`` (PTB appends the token to
``base_url``) and ``{base_file_url}<TOKEN>/<file_path>`` for downloads.

Request bodies are accepted the way Telegram accepts them: JSON,
``application/x-www-form-urlencoded`` (what PTB sends for ordinary calls: every value a
string, nested objects such as ``reply_markup`` JSON-encoded inside it) and
``multipart/form-data`` (what PTB sends for uploads).

Behaviour copied from Telegram, because bots break on exactly these in production:

* ``parse_mode=HTML`` is parsed like TDLib's ``parse_html`` (the parser behind the Bot
  API): same allowed tags, same error texts ("can't parse entities: Unsupported start
  tag ..."), entities with UTF-16 offsets; the message echoed back carries the plain
  text plus entities, as Telegram does. Markdown parse modes are passed through
  unparsed.
* text is trimmed; empty -> "message text is empty"; more than 4096 characters after
  entity parsing -> "message is too long" (captions: 1024).
* ``callback_data`` must be 1-64 bytes (``BUTTON_DATA_INVALID``).
* editing a message without ``reply_markup`` removes its inline keyboard; editing it
  to identical content is "message is not modified".
* ``getUpdates`` long-polls (capped at ``max_poll_timeout``), confirms updates below
  ``offset``, and a second concurrent ``getUpdates`` terminates the first with 409.
* a callback query can be answered once.

Deliberate differences: group messages are all delivered (as for a bot that is a group
admin or has privacy mode off; ``getMe`` says ``can_read_all_group_messages``), a bare
``&`` that starts no entity is rejected when ``strict_html`` is true (Telegram itself
keeps it literally; the strictness catches unescaped user text), unknown methods answer
404 "Not Found: method X" (Telegram says just "Not Found").
"""

from __future__ import annotations

import asyncio
import copy
import email.parser
import email.policy
import itertools
import json
import re
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, unquote, urlsplit

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024

# Parameters that Telegram treats as strings: never JSON-decoded from form data, so a
# text of "123" or "true" stays a string.
_STRING_PARAMS = frozenset(
    {
        "text", "caption", "parse_mode", "callback_query_id", "inline_message_id", "url",
        "file_id", "action", "language_code", "emoji", "title", "description",
        "short_description", "query", "name", "business_connection_id",
        "message_effect_id", "document", "photo", "audio", "video", "voice", "animation",
        "sticker", "video_note", "thumbnail", "thumb", "secret_token", "ip_address",
        "certificate", "question", "explanation", "address", "first_name", "last_name",
        "phone_number", "vcard", "custom_title", "message_text",
    }
)

_HTML_TAGS = frozenset(
    {
        "a", "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "code", "pre",
        "tg-spoiler", "tg-emoji", "span", "blockquote",
    }
)
_HTML_ENTITY_TYPES = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
    "ins": "underline", "s": "strikethrough", "strike": "strikethrough",
    "del": "strikethrough", "tg-spoiler": "spoiler", "span": "spoiler", "code": "code",
    "pre": "pre", "blockquote": "blockquote", "tg-emoji": "custom_emoji", "a": "text_link",
}
_HTML_SPACE = " \t\r\n\f\v"
_NAMED_HTML_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}

_CHAT_ACTIONS = frozenset(
    {
        "typing", "upload_photo", "record_video", "upload_video", "record_voice",
        "upload_voice", "upload_document", "choose_sticker", "find_location",
        "record_video_note", "upload_video_note",
    }
)
_CONFLICT = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply "
    "markup are exactly the same as a content and reply markup of the current message"
)
_QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"

# Entities Telegram detects by itself in incoming text (simplified patterns).
_AUTO_ENTITIES = (
    ("url", re.compile(r"https?://[^\s<>\"]*[^\s<>\".,;:!?)\]'}]")),
    ("bot_command", re.compile(r"(?<![\w/@])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/@])")),
    ("mention", re.compile(r"(?<![\w@/])@[A-Za-z0-9_]{3,32}(?![\w@])")),
    ("hashtag", re.compile(r"(?<![\w#])#\w*[^\W\d]\w*")),
)


class _Server(ThreadingHTTPServer):
    # socketserver's listen backlog is 5: with dozens of clients connecting at once the kernel drops
    # the excess handshakes, which clients retry after a second (or see reset), unlike Telegram.
    request_queue_size = 1024


class Call(NamedTuple):
    """One Bot API call the bot made: the method name and its decoded parameters.

    Uploaded files appear in ``params`` as ``{"filename", "mime_type", "data"}``.
    """

    method: str
    params: dict[str, Any]


class _ApiError(Exception):
    """An error answer: ``{"ok": false, "error_code": code, "description": ...}``."""

    def __init__(self, code: int, description: str, parameters: dict | None = None):
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters


def _u16(text: str) -> int:
    """Length of ``text`` in UTF-16 code units, the unit of Telegram entity offsets."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _bad(description: str) -> _ApiError:
    return _ApiError(400, "Bad Request: " + description)


class FakeBotAPI:
    """A fake Telegram Bot API server with a thread-safe API for tests.

    Use ``start()``/``stop()`` or ``with FakeBotAPI() as server:``. Everything the bot
    does is recorded (``calls``, ``sent_messages``, ``text_history``); updates are
    injected with the ``send_*``/``reply_to_bot``/``press_button`` helpers, each of
    which returns the queued update (a dict in Bot API format).
    """

    def __init__(
        self,
        *,
        bot_id: int = 999,
        bot_username: str = "wenda_test_bot",
        bot_first_name: str = "Wenda",
        max_poll_timeout: float = 1.0,
        strict_html: bool = True,
    ) -> None:
        self.bot_id = bot_id
        self.bot_username = bot_username
        self.token = f"{bot_id}:ABC-DEF1234ghIkl-zyx57W2v1u123ew11"
        self.max_poll_timeout = max_poll_timeout
        self.strict_html = strict_html
        self.bot_user = {
            "id": bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": True,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
        self._cond = threading.Condition(threading.RLock())
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = False
        # updates
        self._updates: list[dict] = []
        self._delivered: set[int] = set()
        self._update_ids = itertools.count(10_001)
        self._poll_generation = 0
        self._allowed_updates: list[str] | None = None
        # recordings
        self._calls: list[Call] = []
        self._errors: list[tuple[str, dict, str]] = []
        self._unknown_methods: list[str] = []
        self._failures: dict[str, list[_ApiError]] = {}
        # world state
        self._users: dict[int, dict] = {}
        self._chats: dict[int, dict] = {}
        self._message_ids: dict[int, itertools.count] = {}
        self._messages: dict[tuple[int, int], dict] = {}
        self._bot_messages: list[dict] = []  # {"key", "call_index", "history", "deleted"}
        self._callback_queries: dict[str, dict] = {}
        self._callback_ids = itertools.count(4_382_000_000_000_000_001)
        self._files: dict[str, dict] = {}
        self._file_paths: dict[str, str] = {}
        self._file_counter = itertools.count(1)
        self._commands: dict[str, list[dict]] = {}
        self._dispatch = {
            name[len("_api_"):].lower(): getattr(self, name)
            for name in dir(self)
            if name.startswith("_api_")
        }

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeBotAPI:
        """Bind 127.0.0.1 on a free port and serve in a background thread."""
        if self._httpd is not None:
            raise RuntimeError("FakeBotAPI already started")
        self._stopping = False
        self._httpd = _Server(("127.0.0.1", 0), self._make_handler())
        # Track request threads so stop() can join them (no stray threads after tests).
        self._httpd.daemon_threads = False
        self._httpd.block_on_close = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="FakeBotAPI-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Wake pending long polls, stop serving and join all server threads."""
        if self._httpd is None:
            return
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._httpd.shutdown()
        self._httpd.server_close()  # joins request threads
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> FakeBotAPI:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The TCP port the server listens on."""
        if self._httpd is None:
            raise RuntimeError("FakeBotAPI not started")
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        """Value for PTB's ``base_url`` (PTB appends the token)."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        """Value for PTB's ``base_file_url`` (PTB appends token and file path)."""
        return f"http://127.0.0.1:{self.port}/file/bot"

    # ------------------------------------------------------------ injecting updates

    def send_text(
        self,
        user_id: int,
        text: str,
        chat_id: int | None = None,
        chat_type: str = "private",
        reply_to_message: dict | None = None,
        entities: list[dict] | None = None,
        first_name: str = "Test",
        username: str | None = None,
    ) -> dict:
        """Queue a text message from a user; returns the update.

        ``entities=None`` lets the fake detect commands, mentions, URLs and hashtags as
        Telegram does; pass a list (possibly empty) to set them explicitly.
        """
        if entities is None:
            entities = self._detect_entities(text)
        content: dict[str, Any] = {"text": text}
        if entities:
            content["entities"] = entities
        return self._incoming(
            user_id, chat_id, chat_type, first_name, username, content, reply_to_message
        )

    def send_group_text(
        self,
        user_id: int,
        group_chat_id: int,
        text: str,
        mention: bool = False,
        chat_type: str | None = None,
        first_name: str = "Test",
        username: str | None = None,
    ) -> dict:
        """Queue a group message; ``mention=True`` prefixes "@<bot username> " if absent.

        ``chat_type`` defaults to "supergroup" for ids like -100..., else "group".
        """
        handle = "@" + self.bot_username
        if mention and handle not in text:
            text = f"{handle} {text}"
        return self.send_text(
            user_id,
            text,
            chat_id=group_chat_id,
            chat_type=chat_type or self._group_type(group_chat_id),
            first_name=first_name,
            username=username,
        )

    def reply_to_bot(
        self, user_id: int, chat_id: int, text: str, bot_message: Any, **kwargs: Any
    ) -> dict:
        """Queue a message replying to ``bot_message`` (dict, PTB Message or id pair)."""
        chat_type = kwargs.pop("chat_type", None)
        if chat_type is None:
            chat_type = "private" if chat_id == user_id else self._group_type(chat_id)
        replied = self._lookup_message(bot_message, default_chat_id=chat_id)
        return self.send_text(
            user_id, text, chat_id=chat_id, chat_type=chat_type,
            reply_to_message=replied, **kwargs,
        )

    def send_command(
        self,
        user_id: int,
        command: str,
        chat_id: int | None = None,
        chat_type: str = "private",
        **kwargs: Any,
    ) -> dict:
        """Queue a command such as "/start" or "/ask question" (bot_command entity)."""
        if not command.startswith("/"):
            raise ValueError(f"a command starts with '/': {command!r}")
        return self.send_text(user_id, command, chat_id=chat_id, chat_type=chat_type, **kwargs)

    def send_sticker(
        self, user_id: int, chat_id: int | None = None, chat_type: str = "private",
        emoji: str = "\N{THUMBS UP SIGN}",
    ) -> dict:
        """Queue a sticker message; returns the update."""
        file = self.register_file(b"RIFF\x00\x00\x00\x00WEBPVP8 ", "sticker.webp", kind="sticker")
        sticker = {
            "file_id": file["file_id"], "file_unique_id": file["file_unique_id"],
            "type": "regular", "width": 512, "height": 512, "is_animated": False,
            "is_video": False, "emoji": emoji, "set_name": "TestStickers",
            "file_size": file["file_size"],
        }
        return self._incoming(user_id, chat_id, chat_type, "Test", None, {"sticker": sticker})

    def send_photo(
        self, user_id: int, chat_id: int | None = None, chat_type: str = "private",
        caption: str | None = None, data: bytes | None = None,
    ) -> dict:
        """Queue a photo message (two sizes, like Telegram); returns the update."""
        data = data if data is not None else b"\xff\xd8\xff\xe0fake-jpeg\xff\xd9"
        small = self.register_file(data[: max(1, len(data) // 2)], "photo.jpg", kind="photo")
        big = self.register_file(data, "photo.jpg", kind="photo")
        sizes = [
            {"file_id": small["file_id"], "file_unique_id": small["file_unique_id"],
             "width": 90, "height": 67, "file_size": small["file_size"]},
            {"file_id": big["file_id"], "file_unique_id": big["file_unique_id"],
             "width": 1280, "height": 960, "file_size": big["file_size"]},
        ]
        content: dict[str, Any] = {"photo": sizes}
        if caption:
            content["caption"] = caption
        return self._incoming(user_id, chat_id, chat_type, "Test", None, content)

    def send_voice(
        self, user_id: int, chat_id: int | None = None, chat_type: str = "private",
        duration: int = 3, data: bytes | None = None,
    ) -> dict:
        """Queue a voice message (audio/ogg); returns the update."""
        file = self.register_file(data or b"OggS\x00fake-opus", "voice.oga", kind="voice")
        voice = {
            "file_id": file["file_id"], "file_unique_id": file["file_unique_id"],
            "duration": duration, "mime_type": "audio/ogg", "file_size": file["file_size"],
        }
        return self._incoming(user_id, chat_id, chat_type, "Test", None, {"voice": voice})

    def send_document(
        self,
        user_id: int,
        file_name: str,
        data: bytes,
        mime_type: str = "application/octet-stream",
        chat_id: int | None = None,
        chat_type: str = "private",
        caption: str | None = None,
    ) -> dict:
        """Queue a document message; the bytes become available via getFile/download."""
        file = self.register_file(data, file_name, kind="document")
        document = {
            "file_name": file_name, "mime_type": mime_type, "file_id": file["file_id"],
            "file_unique_id": file["file_unique_id"], "file_size": file["file_size"],
        }
        content: dict[str, Any] = {"document": document}
        if caption:
            content["caption"] = caption
        return self._incoming(user_id, chat_id, chat_type, "Test", None, content)

    def press_button(
        self, user_id: int, message: Any, callback_data: str, first_name: str = "Test"
    ) -> dict:
        """Queue a callback_query for an inline button of a message the bot sent.

        ``message`` is a message dict (e.g. from ``wait_for_message``), a PTB Message or
        a ``(chat_id, message_id)`` pair. Like a real client, only a button that is
        currently on the message can be pressed (else AssertionError).
        """
        with self._cond:
            current = self._lookup_message(message)
            rows = (current.get("reply_markup") or {}).get("inline_keyboard", [])
            available = [b.get("callback_data") for row in rows for b in row]
            if callback_data not in available:
                raise AssertionError(
                    f"message {current['message_id']} in chat {current['chat']['id']} has no "
                    f"button with callback_data={callback_data!r}; buttons: {available!r}"
                )
            query_id = str(next(self._callback_ids))
            query = {
                "id": query_id,
                "from": self._user(user_id, first_name, None),
                "message": copy.deepcopy(current),
                "chat_instance": str(-abs(hash(("chat", current["chat"]["id"]))) % 10**18),
                "data": callback_data,
            }
            self._callback_queries[query_id] = {"query": query, "answer": None}
            return self._enqueue({"callback_query": query})

    def register_file(self, data: bytes, file_name: str = "file.bin", kind: str = "document") -> dict:
        """Make ``data`` downloadable; returns ``{"file_id", "file_unique_id", "file_size", "file_path"}``."""
        prefixes = {"document": "BQACAgIAAxkBAAI", "photo": "AgACAgIAAxkBAAI",
                    "voice": "AwACAgIAAxkBAAI", "sticker": "CAACAgIAAxkBAAI"}
        with self._cond:
            n = next(self._file_counter)
            ext = file_name.rsplit(".", 1)[-1] if "." in file_name else "bin"
            file_path = f"{kind}s/file_{n}.{ext}"
            record = {
                "file_id": f"{prefixes.get(kind, 'BQACAgIAAxkBAAI')}{n:06d}Z2VuZXJhdGVk",
                "file_unique_id": f"AgAD{n:06d}",
                "file_size": len(data),
                "file_path": file_path,
                "data": bytes(data),
            }
            self._files[record["file_id"]] = record
            self._file_paths[file_path] = record["file_id"]
            return {k: v for k, v in record.items() if k != "data"}

    def fail_next(
        self, method: str, description: str = "Bad Request: injected failure",
        error_code: int = 400, retry_after: int | None = None, times: int = 1,
    ) -> None:
        """Make the next ``times`` calls of ``method`` (not getUpdates) fail, e.g. 429."""
        params = {"retry_after": retry_after} if retry_after is not None else None
        with self._cond:
            self._failures.setdefault(method.lower(), []).extend(
                _ApiError(error_code, description, params) for _ in range(times)
            )

    # ------------------------------------------------------------ inspecting the bot

    @property
    def calls(self) -> list[Call]:
        """All calls except getUpdates polling, in order (copies)."""
        with self._cond:
            return copy.deepcopy(self._calls)

    @property
    def polling(self) -> bool:
        """Whether the bot has called getUpdates yet."""
        with self._cond:
            return self._poll_generation > 0

    @property
    def errors(self) -> list[tuple[str, dict, str]]:
        """Calls that got an error answer: ``(method, params, description)``."""
        with self._cond:
            return copy.deepcopy(self._errors)

    @property
    def unknown_methods(self) -> list[str]:
        """Methods the fake does not implement that the bot called (answered 404)."""
        with self._cond:
            return list(self._unknown_methods)

    def sent_messages(self, chat_id: int | None = None, include_deleted: bool = False) -> list[dict]:
        """Messages the bot sent, as Bot API dicts in their current state (after edits)."""
        with self._cond:
            return [
                copy.deepcopy(self._messages[record["key"]])
                for record in self._bot_messages
                if (chat_id is None or record["key"][0] == chat_id)
                and (include_deleted or not record["deleted"])
            ]

    def text_history(self, chat_id: int, message_id: int) -> list[str]:
        """Every text (or caption) a bot message had: the original, then each edit."""
        with self._cond:
            for record in self._bot_messages:
                if record["key"] == (chat_id, message_id):
                    return [version["text"] for version in record["history"]]
        raise KeyError(f"the bot sent no message {message_id} in chat {chat_id}")

    def callback_answer(self, callback_query_id: str) -> dict | None:
        """The answerCallbackQuery params for a pressed button, or None if unanswered."""
        with self._cond:
            return copy.deepcopy(self._callback_queries[str(callback_query_id)]["answer"])

    def commands(self, scope: dict | None = None, language_code: str = "") -> list[dict]:
        """The command list the bot set for ``scope`` / ``language_code``."""
        with self._cond:
            return copy.deepcopy(self._commands.get(self._commands_key(scope, language_code), []))

    def wait_for(
        self, predicate: Callable[[Call], bool] | str, timeout: float = 10.0, since: int = 0
    ) -> Call:
        """Block until a recorded call (index >= ``since``) satisfies ``predicate``.

        ``predicate`` may be a method name. A predicate raising KeyError/TypeError/
        IndexError/AttributeError counts as False. On timeout raises AssertionError
        listing the recent calls. Don't call this from a coroutine running in the
        bot's event loop (it would block the bot): use ``await wait_for_async(...)``.
        """
        return self._wait(lambda: self._match_call(predicate, since), timeout,
                          "no matching Bot API call")

    async def wait_for_async(
        self, predicate: Callable[[Call], bool] | str, timeout: float = 10.0, since: int = 0
    ) -> Call:
        """``wait_for`` for async tests: polls without blocking the event loop."""
        return await self._wait_async(lambda: self._match_call(predicate, since), timeout,
                                      "no matching Bot API call")

    def wait_for_message(
        self,
        chat_id: int | None = None,
        contains: str | None = None,
        timeout: float = 10.0,
        since: int = 0,
    ) -> dict:
        """Block until the bot sent a message (in ``chat_id``) whose text or caption,
        in any version (original or edit, rendered or raw HTML), contains ``contains``.

        Only messages sent by calls with index >= ``since`` count (use
        ``len(server.calls)`` as a mark). Returns the message in its current state.
        """
        return self._wait(lambda: self._match_message(chat_id, contains, since), timeout,
                          f"the bot sent no message to chat {chat_id} containing {contains!r}")

    async def wait_for_message_async(
        self,
        chat_id: int | None = None,
        contains: str | None = None,
        timeout: float = 10.0,
        since: int = 0,
    ) -> dict:
        """``wait_for_message`` for async tests: polls without blocking the event loop."""
        return await self._wait_async(
            lambda: self._match_message(chat_id, contains, since), timeout,
            f"the bot sent no message to chat {chat_id} containing {contains!r}")

    def _match_call(self, predicate: Callable[[Call], bool] | str, since: int) -> Call | None:
        if isinstance(predicate, str):
            name = predicate
            predicate = lambda call: call.method == name  # noqa: E731
        with self._cond:
            for call in self._calls[since:]:
                try:
                    if predicate(call):
                        return copy.deepcopy(call)
                except (KeyError, TypeError, IndexError, AttributeError):
                    pass
        return None

    def _match_message(self, chat_id: int | None, contains: str | None, since: int) -> dict | None:
        with self._cond:
            for record in self._bot_messages:
                if record["call_index"] < since:
                    continue
                if chat_id is not None and record["key"][0] != chat_id:
                    continue
                if contains is None or any(
                    contains in version["text"] or contains in version["raw"]
                    for version in record["history"]
                ):
                    return copy.deepcopy(self._messages[record["key"]])
        return None

    def _wait(self, find: Callable[[], Any], timeout: float, what: str) -> Any:
        deadline = time.monotonic() + timeout
        with self._cond:
            while (found := find()) is None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"{what} within {timeout}s.\n{self._dump()}")
                self._cond.wait(remaining)
            return found

    async def _wait_async(self, find: Callable[[], Any], timeout: float, what: str) -> Any:
        deadline = time.monotonic() + timeout
        while (found := find()) is None:
            if time.monotonic() >= deadline:
                with self._cond:
                    raise AssertionError(f"{what} within {timeout}s.\n{self._dump()}")
            await asyncio.sleep(0.01)
        return found

    def wait_delivered(self, timeout: float = 5.0) -> None:
        """Block until every queued update has been fetched by getUpdates at least once."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while any(u["update_id"] not in self._delivered for u in self._updates):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"updates not fetched by the bot: {self._updates!r}")
                self._cond.wait(remaining)

    def _dump(self, last: int = 25) -> str:
        """Readable summary of the latest calls, for assertion messages."""
        lines = [f"last {min(last, len(self._calls))} of {len(self._calls)} calls:"]
        for index, (method, params) in list(enumerate(self._calls))[-last:]:
            shown = repr(params)
            lines.append(f"  #{index} {method} {shown[:300]}{'...' if len(shown) > 300 else ''}")
        if self._errors:
            lines.append("errors answered: " + "; ".join(f"{m}: {d}" for m, _, d in self._errors[-5:]))
        if self._unknown_methods:
            lines.append(f"unknown methods called: {sorted(set(self._unknown_methods))}")
        return "\n".join(lines)

    # ------------------------------------------------------------------- world state

    def _user(self, user_id: int, first_name: str, username: str | None) -> dict:
        user = self._users.get(user_id)
        if user is None:
            user = {"id": user_id, "is_bot": False, "first_name": first_name,
                    "username": username or f"user{user_id}", "language_code": "en"}
            self._users[user_id] = user
        return copy.deepcopy(user)

    @staticmethod
    def _group_type(chat_id: int) -> str:
        return "supergroup" if str(chat_id).startswith("-100") else "group"

    def _chat_for_update(self, user: dict, chat_id: int | None, chat_type: str) -> dict:
        if chat_type == "private":
            if chat_id not in (None, user["id"]):
                raise ValueError("a private chat's id is the user's id")
            chat = {"id": user["id"], "type": "private", "first_name": user["first_name"],
                    "username": user["username"]}
        else:
            if chat_id is None or chat_id >= 0:
                raise ValueError(f"{chat_type} chats have negative ids, got {chat_id!r}")
            chat = {"id": chat_id, "type": chat_type, "title": f"Test {chat_type} {chat_id}"}
        self._chats[chat["id"]] = chat
        return copy.deepcopy(chat)

    def _chat_for_send(self, chat_id: Any) -> dict:
        """The chat a bot call targets; unknown numeric ids are synthesised."""
        if chat_id is None or chat_id == "":
            raise _bad("chat_id is empty")
        if isinstance(chat_id, bool) or not isinstance(chat_id, int):
            raise _bad("chat not found")
        if chat_id not in self._chats:
            if chat_id > 0:
                self._chats[chat_id] = {"id": chat_id, "type": "private",
                                        "first_name": f"User{chat_id}"}
            else:
                kind = self._group_type(chat_id)
                self._chats[chat_id] = {"id": chat_id, "type": kind,
                                        "title": f"Test {kind} {chat_id}"}
        return copy.deepcopy(self._chats[chat_id])

    def _new_message_id(self, chat_id: int) -> int:
        return next(self._message_ids.setdefault(chat_id, itertools.count(1)))

    def _incoming(
        self, user_id: int, chat_id: int | None, chat_type: str, first_name: str,
        username: str | None, content: dict, reply_to_message: dict | None = None,
    ) -> dict:
        if chat_type == "private" and chat_id is not None and chat_id < 0:
            chat_type = self._group_type(chat_id)  # a negative id is a group: infer it
        with self._cond:
            user = self._user(user_id, first_name, username)
            chat = self._chat_for_update(user, chat_id, chat_type)
            message = {"message_id": self._new_message_id(chat["id"]), "from": user,
                       "chat": chat, "date": int(time.time())}
            if reply_to_message is not None:
                replied = copy.deepcopy(self._lookup_message(reply_to_message, chat["id"]))
                replied.pop("reply_to_message", None)  # Telegram nests one level only
                message["reply_to_message"] = replied
            message.update(content)
            self._messages[(chat["id"], message["message_id"])] = message
            return self._enqueue({"message": copy.deepcopy(message)})

    def _enqueue(self, payload: dict) -> dict:
        with self._cond:
            update = {"update_id": next(self._update_ids), **payload}
            self._updates.append(update)
            self._cond.notify_all()
            return copy.deepcopy(update)

    def _lookup_message(self, message: Any, default_chat_id: int | None = None) -> dict:
        """Current stored message for a dict, PTB Message or (chat_id, message_id)."""
        if isinstance(message, tuple):
            chat_id, message_id = message
        elif isinstance(message, dict):
            chat_id, message_id = message["chat"]["id"], message["message_id"]
        elif isinstance(message, int):
            chat_id, message_id = default_chat_id, message
        else:  # PTB Message
            chat_id, message_id = message.chat_id, message.message_id
        with self._cond:
            stored = self._messages.get((chat_id, message_id))
            if stored is None:
                raise AssertionError(f"no message {message_id} in chat {chat_id}")
            return stored

    @staticmethod
    def _commands_key(scope: dict | None, language_code: str | None) -> str:
        return json.dumps([scope or {"type": "default"}, language_code or ""], sort_keys=True)

    def _detect_entities(self, text: str) -> list[dict]:
        """Entities Telegram adds to incoming text: URLs, commands, mentions, hashtags."""
        found: list[tuple[int, int, str]] = []
        for kind, pattern in _AUTO_ENTITIES:
            for match in pattern.finditer(text):
                start, end = match.span()
                if not any(s < end and start < e for s, e, _ in found):
                    found.append((start, end, kind))
        return [
            {"offset": _u16(text[:start]), "length": _u16(text[start:end]), "type": kind}
            for start, end, kind in sorted(found)
        ]

    # ----------------------------------------------------------------- HTTP layer

    def _make_handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server_version = "FakeTelegramBotAPI/1.0"
            timeout = 10  # socket timeout, so an idle client can't pin a thread

            def do_POST(self) -> None:  # noqa: N802
                api._handle_http(self)

            do_GET = do_POST  # noqa: N815

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        return Handler

    def _handle_http(self, req: BaseHTTPRequestHandler) -> None:
        req.close_connection = True
        url = urlsplit(req.path)
        path = unquote(url.path)
        try:
            body = self._read_body(req)
        except (OSError, ValueError):
            return
        match = re.fullmatch(r"/file/bot([^/]+)/(.+)", path)
        if match:
            return self._serve_file(req, match.group(1), match.group(2))
        match = re.fullmatch(r"/bot([^/]+)/([A-Za-z_]+)", path)
        if not match:
            return self._respond(req, 404, {"ok": False, "error_code": 404, "description": "Not Found"})
        token, method = match.groups()
        if token != self.token:
            return self._respond(req, 401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
        try:
            params = self._parse_params(req.headers.get("Content-Type", ""), body, url.query)
        except ValueError as exc:
            return self._respond(req, 400, {"ok": False, "error_code": 400,
                                            "description": f"Bad Request: {exc}"})
        status, answer = self._call(method, params)
        self._respond(req, status, answer)

    @staticmethod
    def _read_body(req: BaseHTTPRequestHandler) -> bytes:
        if req.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(req.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    req.rfile.readline()
                    return b"".join(chunks)
                chunks.append(req.rfile.read(size))
                req.rfile.readline()
        length = int(req.headers.get("Content-Length") or 0)
        return req.rfile.read(length) if length else b""

    def _respond(self, req: BaseHTTPRequestHandler, status: int, payload: Any,
                 content_type: str = "application/json") -> None:
        body = payload if isinstance(payload, bytes) else json.dumps(
            payload, ensure_ascii=False).encode("utf-8")
        try:
            req.send_response(status)
            req.send_header("Content-Type", content_type)
            req.send_header("Content-Length", str(len(body)))
            req.send_header("Connection", "close")
            req.end_headers()
            req.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (e.g. a cancelled long poll)

    def _serve_file(self, req: BaseHTTPRequestHandler, token: str, file_path: str) -> None:
        with self._cond:
            file_id = self._file_paths.get(file_path)
            data = self._files[file_id]["data"] if file_id and token == self.token else None
        if data is None:
            return self._respond(req, 404, {"ok": False, "error_code": 404, "description": "Not Found"})
        self._respond(req, 200, data, content_type="application/octet-stream")

    def _parse_params(self, content_type: str, body: bytes, query: str) -> dict[str, Any]:
        """Decode query string + body (JSON, urlencoded or multipart) into typed params."""
        raw: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
        files: dict[str, dict] = {}
        mime = content_type.split(";")[0].strip().lower()
        if mime == "application/json":
            decoded = json.loads(body or b"{}")
            if not isinstance(decoded, dict):
                raise ValueError("JSON body must be an object")
            raw.update(decoded)
        elif mime == "multipart/form-data":
            message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
                b"MIME-Version: 1.0\r\nContent-Type: " + content_type.encode("latin-1")
                + b"\r\n\r\n" + body
            )
            if not message.is_multipart():
                raise ValueError("malformed multipart body")
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                payload = part.get_payload(decode=True) or b""
                filename = part.get_filename()
                if filename is not None:
                    files[name] = {"filename": filename, "mime_type": part.get_content_type(),
                                   "data": payload}
                else:
                    raw[name] = payload.decode(part.get_content_charset() or "utf-8")
        elif body:
            raw.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        params = {key: self._decode_value(key, value) for key, value in raw.items()}
        for key, value in list(params.items()):  # InputMedia style "attach://name"
            if isinstance(value, str) and value.startswith("attach://") and value[9:] in files:
                params[key] = files.pop(value[9:])
        params.update(files)
        return params

    @staticmethod
    def _decode_value(key: str, value: Any) -> Any:
        """PTB sends non-string values JSON-encoded inside form fields: decode them."""
        if key in _STRING_PARAMS or not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except ValueError:
            return value

    def _call(self, method: str, params: dict) -> tuple[int, dict]:
        """Run one API method; returns (HTTP status, JSON answer). Records the call."""
        handler = self._dispatch.get(method.lower())
        if handler is not None and method.lower() == "getupdates":
            try:
                return 200, {"ok": True, "result": handler(params)}
            except _ApiError as exc:
                return exc.code, self._error_payload(exc)
        with self._cond:
            self._calls.append(Call(method, params))
            try:
                queued = self._failures.get(method.lower())
                if queued:
                    raise queued.pop(0)
                if handler is None:
                    self._unknown_methods.append(method)
                    raise _ApiError(404, f"Not Found: method {method}")
                answer = 200, {"ok": True, "result": handler(params)}
            except _ApiError as exc:
                self._errors.append((method, copy.deepcopy(params), exc.description))
                answer = exc.code, self._error_payload(exc)
            self._cond.notify_all()
            return answer

    @staticmethod
    def _error_payload(exc: _ApiError) -> dict:
        payload = {"ok": False, "error_code": exc.code, "description": exc.description}
        if exc.parameters:
            payload["parameters"] = exc.parameters
        return payload

    # ------------------------------------------------------------ text validation

    def _render(self, params: dict, field: str, max_length: int, required: bool) -> tuple[str, list[dict], str]:
        """Parse ``params[field]`` per parse_mode; returns (plain text, entities, raw).

        Applies Telegram's trimming, emptiness and length rules.
        """
        raw = params.get(field)
        if raw is None:
            raw = ""
        if not isinstance(raw, str):
            raw = str(raw)
        mode = str(params.get("parse_mode") or "").lower()
        explicit = params.get(f"{'caption_' if field == 'caption' else ''}entities")
        if mode == "html":
            text, entities = self._parse_html(raw)
        elif mode in ("", "markdown", "markdownv2"):
            text, entities = raw, list(explicit or [])
        else:
            raise _bad(f"unsupported parse_mode {params.get('parse_mode')!r}")
        stripped = text.lstrip(_HTML_SPACE)
        shift = _u16(text) - _u16(stripped)
        text = stripped.rstrip(_HTML_SPACE)
        total = _u16(text)
        trimmed = []
        for entity in entities:
            start = max(0, entity["offset"] - shift)
            end = min(total, entity["offset"] + entity["length"] - shift)
            if end > start:
                trimmed.append({**entity, "offset": start, "length": end - start})
        if required and not text:
            raise _bad("message text is empty")
        if len(text) > max_length:
            raise _bad("message is too long" if field == "text" else "message caption is too long")
        return text, trimmed, raw

    def _parse_html(self, text: str) -> tuple[str, list[dict]]:
        """Telegram's (TDLib's) HTML parser: returns plain text and entities or raises."""
        n = len(text)

        def at(k: int) -> str:
            return text[k] if k < n else ""

        def offset(k: int) -> int:
            return len(text[:k].encode("utf-8", "surrogatepass"))

        def fail(message: str) -> _ApiError:
            return _bad("can't parse entities: " + message)

        out: list[str] = []
        utf16 = 0
        stack: list[tuple[str, str, int]] = []  # (tag, argument, utf16 start)
        entities: list[dict] = []
        i = 0
        while i < n:
            c = text[i]
            if c == "&":
                char, end = self._decode_html_entity(text, i)
                if char is not None:
                    out.append(char)
                    utf16 += _u16(char)
                    i = end
                    continue
                if self.strict_html:
                    raise fail(f"unescaped '&' at byte offset {offset(i)} (the fake is "
                               "stricter than Telegram here: escape it as &amp;)")
            if c != "<":
                out.append(c)
                utf16 += 1 if ord(c) < 0x10000 else 2
                i += 1
                continue
            begin = i
            i += 1
            if at(i) != "/":
                while i < n and at(i) not in _HTML_SPACE and at(i) != ">":
                    i += 1
                if i >= n:
                    raise fail(f"Unclosed start tag at byte offset {offset(begin)}")
                tag = text[begin + 1:i].lower()
                if tag not in _HTML_TAGS:
                    raise fail(f'Unsupported start tag "{tag}" at byte offset {offset(begin)}')
                argument = ""
                while at(i) != ">":
                    while i < n and at(i) in _HTML_SPACE:
                        i += 1
                    if at(i) == ">":
                        break
                    name_begin = i
                    while i < n and at(i) not in _HTML_SPACE and at(i) not in "=>":
                        i += 1
                    name = text[name_begin:i].lower()
                    if not name:
                        raise fail(f'Empty attribute name in the tag "{tag}" at byte offset {offset(begin)}')
                    while i < n and at(i) in _HTML_SPACE:
                        i += 1
                    if i >= n:
                        raise fail(f'Unclosed start tag "{tag}" at byte offset {offset(begin)}')
                    if at(i) != "=":
                        if tag == "blockquote" and name == "expandable":
                            argument = "expandable"
                            continue
                        raise fail("Expected equal sign in declaration of an attribute of the "
                                   f'tag "{tag}" at byte offset {offset(begin)}')
                    i += 1
                    while i < n and at(i) in _HTML_SPACE:
                        i += 1
                    if i >= n:
                        raise fail(f'Unclosed start tag "{tag}" at byte offset {offset(begin)}')
                    if at(i) not in "'\"":
                        token_begin = i
                        while i < n and (at(i).isascii() and at(i).isalnum() or at(i) in ".-"):
                            i += 1
                        value = text[token_begin:i].lower()
                        if i < n and at(i) not in _HTML_SPACE and at(i) != ">":
                            raise fail(f"Unexpected end of name token at byte offset {offset(token_begin)}")
                    else:
                        quote = at(i)
                        i += 1
                        chars = []
                        while i < n and at(i) != quote:
                            if at(i) == "&":
                                char, end = self._decode_html_entity(text, i)
                                if char is not None:
                                    chars.append(char)
                                    i = end
                                    continue
                            chars.append(at(i))
                            i += 1
                        if at(i) == quote:
                            i += 1
                        value = "".join(chars)
                    if i >= n:
                        raise fail(f"Unclosed start tag at byte offset {offset(begin)}")
                    if tag == "a" and name == "href":
                        argument = value
                    elif tag == "code" and name == "class" and value.startswith("language-"):
                        argument = value[len("language-"):]
                    elif tag == "span" and name == "class" and value.startswith("tg-"):
                        argument = value[len("tg-"):]
                    elif tag == "tg-emoji" and name == "emoji-id":
                        argument = value
                    elif tag == "pre" and name == "language":
                        argument = value
                if tag == "span" and argument != "spoiler":
                    raise fail(f'Tag "span" must have class "tg-spoiler" at byte offset {offset(begin)}')
                if tag == "tg-emoji" and not argument.isdigit():
                    raise fail("Invalid custom emoji identifier specified")
                stack.append((tag, argument, utf16))
                i += 1
            else:
                if not stack:
                    raise fail(f"Unexpected end tag at byte offset {offset(begin)}")
                while i < n and at(i) not in _HTML_SPACE and at(i) != ">":
                    i += 1
                end_tag = text[begin + 2:i].lower()
                while i < n and at(i) in _HTML_SPACE:
                    i += 1
                if at(i) != ">":
                    raise fail(f"Unclosed end tag at byte offset {offset(begin)}")
                tag, argument, start = stack.pop()
                if end_tag and end_tag != tag:
                    raise fail(f'Unmatched end tag at byte offset {offset(begin)}, expected '
                               f'"</{tag}>", found "</{end_tag}>"')
                if utf16 > start:
                    self._close_html_entity(entities, tag, argument, start, utf16 - start, out)
                i += 1
        if stack:
            raise fail(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
        entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return "".join(out), entities

    @staticmethod
    def _decode_html_entity(text: str, pos: int) -> tuple[str | None, int]:
        """Decode an entity at text[pos] == '&' like TDLib; (None, pos) if there is none."""
        n = len(text)
        end = pos + 1
        if end < n and text[end] == "#":
            end += 1
            value = 0
            hexadecimal = end < n and text[end] == "x"
            digits = "0123456789abcdefABCDEF" if hexadecimal else "0123456789"
            end += hexadecimal
            while end < n and text[end] in digits:
                value = value * (16 if hexadecimal else 10) + int(text[end], 16)
                end += 1
                if value >= 0x10FFFF:
                    return None, pos
            if value == 0 or end - pos >= 10:
                return None, pos
            if 0xD800 <= value <= 0xDFFF:
                raise _bad("can't parse entities: Text contains invalid Unicode characters after "
                           "decoding HTML entities, check for unmatched surrogate code units")
            char = chr(value)
        else:
            while end < n and text[end].isascii() and text[end].isalpha():
                end += 1
            char = _NAMED_HTML_ENTITIES.get(text[pos + 1:end])
            if char is None:
                return None, pos
        if end < n and text[end] == ";":
            end += 1
        return char, end

    @staticmethod
    def _close_html_entity(entities: list[dict], tag: str, argument: str, offset: int,
                           length: int, out: list[str]) -> None:
        entity: dict[str, Any] = {"offset": offset, "length": length, "type": _HTML_ENTITY_TYPES[tag]}
        if tag == "a":
            url = argument
            if not url:
                inner = "".join(out).encode("utf-16-le", "surrogatepass")[2 * offset:]
                url = inner.decode("utf-16-le", "surrogatepass")
                if not re.fullmatch(r"(https?://)?[\w-]+(\.[\w-]+)+(/\S*)?", url):
                    return
            if url.startswith("tg://user?id="):
                entity = {"offset": offset, "length": length, "type": "text_mention",
                          "user": {"id": int(url.split("=", 1)[1] or 0), "is_bot": False,
                                   "first_name": "User"}}
            else:
                if "://" not in url and not url.startswith("tg:"):
                    url = "http://" + url
                if re.fullmatch(r"https?://[^/?#]+", url):
                    url += "/"
                entity["url"] = url
        elif tag == "code" and argument:
            entity["language"] = argument
        elif tag == "pre":
            # <pre><code class="language-x">...</code></pre> becomes one pre entity
            inner = [e for e in entities if e["type"] == "code" and e["offset"] == offset
                     and e["length"] == length]
            for code in inner:
                entities.remove(code)
                if code.get("language"):
                    argument = code["language"]
            if argument:
                entity["language"] = argument
        elif tag == "blockquote" and argument == "expandable":
            entity["type"] = "expandable_blockquote"
        elif tag == "tg-emoji":
            entity["custom_emoji_id"] = argument
        entities.append(entity)

    @staticmethod
    def _check_reply_markup(markup: Any) -> dict | None:
        """Validate a reply_markup; returns it (as a dict) or None."""
        if markup is None or markup == "":
            return None
        if not isinstance(markup, dict):
            raise _bad("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
                raise _bad("field \"inline_keyboard\" of the InlineKeyboardMarkup should be an Array of Arrays")
            for row in rows:
                for button in row:
                    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                        raise _bad("can't parse inline keyboard button: Field \"text\" must be of type String")
                    actions = set(button) - {"text", "style", "icon_custom_emoji_id"}
                    if not actions:
                        raise _bad("can't parse inline keyboard button: Text buttons are "
                                   "unallowed in the inline keyboard")
                    if "callback_data" in button:
                        data = button["callback_data"]
                        size = len(data.encode("utf-8")) if isinstance(data, str) else 0
                        if not 1 <= size <= MAX_CALLBACK_DATA_BYTES:
                            raise _bad("BUTTON_DATA_INVALID")
                    if "url" in button and not button["url"]:
                        raise _bad("BUTTON_URL_INVALID")
        return markup

    @staticmethod
    def _echoed_markup(markup: dict | None) -> dict | None:
        """What Telegram echoes in the Message: only non-empty inline keyboards."""
        if markup and markup.get("inline_keyboard"):
            return copy.deepcopy(markup)
        return None

    # --------------------------------------------------------------- message store

    def _store_bot_message(self, chat: dict, content: dict, params: dict, raw: str) -> dict:
        message = {"message_id": self._new_message_id(chat["id"]), "from": copy.deepcopy(self.bot_user),
                   "chat": chat, "date": int(time.time())}
        for key in ("can_join_groups", "can_read_all_group_messages", "supports_inline_queries",
                    "can_connect_to_business", "has_main_web_app"):
            message["from"].pop(key)
        reply_to = params.get("reply_parameters") or {}
        reply_id = reply_to.get("message_id") or params.get("reply_to_message_id")
        if reply_id:
            replied = self._messages.get((reply_to.get("chat_id", chat["id"]), reply_id))
            allow = reply_to.get("allow_sending_without_reply") or params.get("allow_sending_without_reply")
            if replied is None and not allow:
                raise _bad("message to be replied not found")
            if replied is not None:
                message["reply_to_message"] = {k: v for k, v in copy.deepcopy(replied).items()
                                               if k != "reply_to_message"}
        message.update({k: v for k, v in content.items() if v not in (None, [], "")})
        key = (chat["id"], message["message_id"])
        self._messages[key] = message
        text_field = "text" if "text" in content else "caption"
        self._bot_messages.append({
            "key": key,
            "call_index": len(self._calls) - 1,
            "history": [{"text": content.get(text_field) or "", "raw": raw,
                         "reply_markup": copy.deepcopy(params.get("reply_markup"))}],
            "deleted": False,
        })
        return copy.deepcopy(message)

    def _target_message(self, params: dict, action: str) -> tuple[dict, dict]:
        """(stored message, its record) addressed by chat_id + message_id."""
        if params.get("inline_message_id"):
            raise _bad("MESSAGE_ID_INVALID")
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise _bad("chat_id is empty")
        if not params.get("message_id"):
            raise _bad("message identifier is not specified")
        key = (chat_id, params["message_id"])
        record = next((r for r in self._bot_messages if r["key"] == key), None)
        stored = self._messages.get(key)
        if stored is None or (record is not None and record["deleted"]):
            raise _bad(f"message to {action} not found")
        if record is None and action != "delete":
            raise _bad(f"message can't be {action}ed")
        return stored, record

    # ------------------------------------------------------------------ methods

    def _api_getMe(self, params: dict) -> dict:
        return copy.deepcopy(self.bot_user)

    def _api_logOut(self, params: dict) -> bool:
        return True

    def _api_close(self, params: dict) -> bool:
        return True

    def _api_deleteWebhook(self, params: dict) -> bool:
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def _api_getWebhookInfo(self, params: dict) -> dict:
        return {"url": "", "has_custom_certificate": False,
                "pending_update_count": len(self._updates)}

    def _api_getUpdates(self, params: dict) -> list[dict]:
        """Long polling: confirm updates below offset, wait up to timeout for new ones."""
        offset = params.get("offset") or 0
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        timeout = min(max(float(params.get("timeout") or 0), 0.0), self.max_poll_timeout)
        deadline = time.monotonic() + timeout
        with self._cond:
            self._poll_generation += 1
            generation = self._poll_generation
            self._cond.notify_all()  # terminate a concurrent long poll (409 like Telegram)
            if params.get("allowed_updates") is not None:
                self._allowed_updates = list(params["allowed_updates"])
            if offset > 0:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
            elif offset < 0:
                self._updates = self._updates[offset:]
            while True:
                if generation != self._poll_generation:
                    raise _ApiError(409, _CONFLICT)
                if self._allowed_updates:
                    self._updates = [u for u in self._updates
                                     if any(k in self._allowed_updates for k in u if k != "update_id")]
                batch = self._updates[:limit]
                remaining = deadline - time.monotonic()
                if batch or remaining <= 0 or self._stopping:
                    self._delivered.update(u["update_id"] for u in batch)
                    self._cond.notify_all()
                    return copy.deepcopy(batch)
                self._cond.wait(remaining)

    def _api_setMyCommands(self, params: dict) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _bad("can't parse commands JSON object")
        for command in commands:
            if not isinstance(command, dict) or not re.fullmatch(r"[a-z0-9_]{1,32}", str(command.get("command", ""))):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")  # approximate wording
        key = self._commands_key(params.get("scope"), params.get("language_code"))
        self._commands[key] = [{"command": c["command"], "description": c["description"]} for c in commands]
        return True

    def _api_getMyCommands(self, params: dict) -> list[dict]:
        return copy.deepcopy(self._commands.get(
            self._commands_key(params.get("scope"), params.get("language_code")), []))

    def _api_deleteMyCommands(self, params: dict) -> bool:
        self._commands.pop(self._commands_key(params.get("scope"), params.get("language_code")), None)
        return True

    def _api_sendMessage(self, params: dict) -> dict:
        chat = self._chat_for_send(params.get("chat_id"))
        text, entities, raw = self._render(params, "text", MAX_TEXT_LENGTH, required=True)
        markup = self._check_reply_markup(params.get("reply_markup"))
        content = {"text": text, "entities": entities, "reply_markup": self._echoed_markup(markup)}
        if params.get("link_preview_options"):
            content["link_preview_options"] = params["link_preview_options"]
        return self._store_bot_message(chat, content, params, raw)

    def _api_editMessageText(self, params: dict) -> dict:
        stored, record = self._target_message(params, "edit")
        if "text" not in stored:
            raise _bad("there is no text in the message to edit")
        text, entities, raw = self._render(params, "text", MAX_TEXT_LENGTH, required=True)
        markup = self._echoed_markup(self._check_reply_markup(params.get("reply_markup")))
        if (text == stored["text"] and entities == stored.get("entities", [])
                and markup == stored.get("reply_markup")):
            raise _ApiError(400, _NOT_MODIFIED)
        stored["text"] = text
        self._set_optional(stored, "entities", entities)
        self._set_optional(stored, "reply_markup", markup)  # no markup => keyboard removed
        stored["edit_date"] = int(time.time())
        record["history"].append({"text": text, "raw": raw,
                                  "reply_markup": copy.deepcopy(params.get("reply_markup"))})
        return copy.deepcopy(stored)

    def _api_editMessageReplyMarkup(self, params: dict) -> dict:
        stored, record = self._target_message(params, "edit")
        markup = self._echoed_markup(self._check_reply_markup(params.get("reply_markup")))
        if markup == stored.get("reply_markup"):
            raise _ApiError(400, _NOT_MODIFIED)
        self._set_optional(stored, "reply_markup", markup)
        stored["edit_date"] = int(time.time())
        return copy.deepcopy(stored)

    def _api_deleteMessage(self, params: dict) -> bool:
        stored, record = self._target_message(params, "delete")
        if record is not None:
            record["deleted"] = True
        else:
            del self._messages[(stored["chat"]["id"], stored["message_id"])]
        return True

    def _api_answerCallbackQuery(self, params: dict) -> bool:
        entry = self._callback_queries.get(str(params.get("callback_query_id", "")))
        if entry is None or entry["answer"] is not None:
            raise _bad(_QUERY_INVALID)
        if len(str(params.get("text") or "")) > 200:
            raise _bad("MESSAGE_TOO_LONG")
        entry["answer"] = copy.deepcopy(params)
        return True

    def _api_sendChatAction(self, params: dict) -> bool:
        self._chat_for_send(params.get("chat_id"))
        if params.get("action") not in _CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        return True

    def _api_getFile(self, params: dict) -> dict:
        file = self._files.get(str(params.get("file_id") or ""))
        if file is None:
            raise _bad("invalid file_id")
        if file["file_size"] > MAX_DOWNLOAD_BYTES:
            raise _bad("file is too big")
        return {k: v for k, v in file.items() if k != "data"}

    def _api_sendDocument(self, params: dict) -> dict:
        chat = self._chat_for_send(params.get("chat_id"))
        document = params.get("document")
        if isinstance(document, dict):  # uploaded in the multipart body
            if not document["data"]:
                raise _bad("file must be non-empty")
            file = self.register_file(document["data"], document["filename"] or "file", "document")
            name, mime = document["filename"], document["mime_type"]
        elif isinstance(document, str) and document in self._files:
            file = self._files[document]
            name, mime = file["file_path"].rsplit("/", 1)[-1], "application/octet-stream"
        elif isinstance(document, str) and re.match(r"https?://", document):
            file = self.register_file(b"downloaded by Telegram from " + document.encode(), "file", "document")
            name, mime = document.rsplit("/", 1)[-1] or "file", "application/octet-stream"
        else:
            raise _bad("wrong file identifier/HTTP URL specified")
        caption, entities, raw = self._render(params, "caption", MAX_CAPTION_LENGTH, required=False)
        markup = self._check_reply_markup(params.get("reply_markup"))
        content = {
            "document": {"file_name": name, "mime_type": mime, "file_id": file["file_id"],
                         "file_unique_id": file["file_unique_id"], "file_size": file["file_size"]},
            "caption": caption, "caption_entities": entities,
            "reply_markup": self._echoed_markup(markup),
        }
        return self._store_bot_message(chat, content, params, raw)

    @staticmethod
    def _set_optional(target: dict, key: str, value: Any) -> None:
        if value in (None, [], ""):
            target.pop(key, None)
        else:
            target[key] = value
