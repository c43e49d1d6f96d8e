"""Telegram handlers: format and route only; every answer comes from `Wenda.answer`, like the CLI's.

    build_application(settings, wenda)  ->  a python-telegram-bot `Application` with
      /start, /help          what the bot knows, how to ask, example questions as buttons
      text (private chat)    a question: answer in bold, its sentence, its source, 「更多结果」
      @mention, reply, /ask  the same in groups; other group chatter is ignored
      sticker, photo, ...    a one-line hint
      /reindex, /stats       admins (ADMIN_IDS) only
      a document (private)   admins: checked, read like the index reads it, saved into the corpus
                             folder under a safe name (asking before overwriting), 「立即重建索引」
      /docs, /remove NAME    admins: the corpus documents, 10 a page; remove one after a confirmation
    preflight(settings)     ->  settings and token checked (getMe) before the model loads
    serve(settings, wenda)  ->  long polling, or a webhook server when WEBHOOK_URL is set

Formatting is pure (`format_*`: an `Answer` in, escaped HTML and a keyboard out) and every reply
stays far below Telegram's 4096 characters: fields are clipped as plain text, then escaped, so a
cut never lands inside a tag or an entity. Shared state (recent answers for paging, flood windows,
counters, the pipeline in use) lives in one `BotState` in `application.bot_data`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import html
import logging
import re
import secrets
import statistics
import time
from collections import Counter, OrderedDict, deque
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    MessageEntity,
    Update,
)
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest, InvalidToken, NetworkError, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    filters,
)

from bot.answer import Answer, Wenda
from bot.config import Settings
from bot.corpus import UnreadableDocument, corpus_files
from bot.documents import (
    DocumentInfo,
    Upload,
    discard,
    find_document,
    is_supported,
    list_documents,
    place_upload,
    remove_document,
    safe_name,
    stage_upload,
    supported_types,
)
from bot.index import BuildReport, EmptyCorpus, Hit, Index, IndexBusy, rebuild

log = logging.getLogger(__name__)

TOKEN_RE = re.compile(r"^\d+:[A-Za-z0-9_-]{30,}$")
SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")  # what Telegram accepts as a webhook secret_token
ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY]
STATE = "wenda"  # key of the BotState in application.bot_data

# Clipping budgets in characters, before escaping. The longest message they allow is about 2,000
# characters, half of Telegram's 4,096, whatever the corpus holds.
QUESTION_CLIP_CHARS = 100
ANSWER_CHARS = 300
SENTENCE_CHARS = 1000
SOURCE_CHARS = 150
RELATED_CHARS = 200  # a "可能相关" passage under a "not found" reply
PASSAGE_CHARS = 600  # a passage on a 「更多结果」 page
PAGE_SIZE = 2  # passages per 「更多结果」 page
RELATED_SHOWN = 2  # closest passages shown with a "not found" reply
RECENT_ANSWERS = 2000  # answers kept for paging; older buttons say the result expired
MAX_EXAMPLES = 3

MORE = "更多结果"
NOT_FOUND = "资料里没有找到这个问题的答案。"
RELATED = "<b>可能相关</b>（仅供参考，不是答案）："
EXPIRED = "结果已过期，请重新提问"
BUTTON_GONE = "这个按钮已失效，请重新提问"
ADMIN_ONLY = "抱歉，这个命令只对管理员开放。"
APOLOGY = "抱歉，处理这条消息时出了点问题，请稍后再试。"
UNKNOWN_COMMAND = "没有这个命令。直接把问题发给我，或发送 /help 查看用法。"
REINDEX_RUNNING = "索引正在重建中，请等它完成。"
DOCS_PAGE_SIZE = 10  # documents per /docs page
PENDING_SECONDS = 600  # how long an upload waiting for 「覆盖」 or a removal waiting for 「确认删除」 is kept
REINDEX_NOW = "立即重建索引"
OVERWRITE, SAVE_AS_NEW, CANCEL = "覆盖", "另存为新文件", "取消"
CONFIRM_REMOVE = "确认删除"
UPLOAD_ADMIN_ONLY = "抱歉，只有管理员可以向资料库添加文档，这个文件没有保存。有问题请直接用文字问我。"
UPLOAD_IN_PRIVATE = "添加文档请在与我的私聊中发送文件（仅限管理员）。"
PENDING_GONE = "这个操作已过期，请重新发送文件或命令。"

PUBLIC_COMMANDS = [
    BotCommand("start", "介绍与示例问题"),
    BotCommand("help", "使用说明"),
    BotCommand("ask", "提问（群组中使用）：/ask 问题"),
]
ADMIN_COMMANDS = [
    BotCommand("reindex", "从资料文件夹重建索引（管理员）"),
    BotCommand("stats", "索引与回答统计（管理员）"),
    BotCommand("docs", "资料库文档列表（管理员）"),
    BotCommand("remove", "删除文档：/remove 文件名（管理员）"),
]


class StartupError(RuntimeError):
    """The bot cannot start for a reason the user can fix; the message (one line) says how."""


# -- formatting: pure functions, Answer -> HTML + keyboard -----------------------------------------


@dataclass(frozen=True)
class Reply:
    """One message: HTML text (everything escaped) and an optional inline keyboard."""

    text: str
    keyboard: InlineKeyboardMarkup | None = None


def escape(text: str) -> str:
    """Plain text -> Telegram HTML: `"A&B <c>"` -> `"A&amp;B &lt;c&gt;"`."""
    return html.escape(text, quote=False)


def flatten(text: str) -> str:
    """Join a passage's lines into one paragraph: `"发展。\n2月，"` -> `"发展。2月，"`, `"the\nport"` -> `"the port"`."""

    def join(match: re.Match) -> str:
        before, after = text[match.start() - 1 : match.start()], text[match.end() : match.end() + 1]
        return " " if before.isascii() and after.isascii() else ""  # Chinese needs no space between lines

    return re.sub(r"\s*\n\s*", join, text).strip()


def excerpt(text: str, limit: int) -> str:
    """At most `limit` characters of plain text, ending with … when cut."""
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)].rstrip() + "…"


def highlight(sentence: str, answer: str, limit: int = SENTENCE_CHARS) -> str:
    """The sentence as HTML with the answer in bold, clipped to `limit` characters around the answer.

    `("11月9日，渝万高铁正式开工建设。", "11月9日")` -> `"<b>11月9日</b>，渝万高铁正式开工建设。"`
    """
    start = sentence.find(answer) if answer else -1
    if start < 0:
        return escape(excerpt(sentence, limit))
    end = start + len(answer)
    if len(answer) >= limit:
        return f"<b>{escape(excerpt(answer, limit))}</b>"
    low, high = 0, len(sentence)
    if high > limit:
        low = max(0, min(start - (limit - len(answer)) // 2, len(sentence) - limit))
        high = low + limit
    before = ("…" if low > 0 else "") + escape(sentence[low:start])
    after = escape(sentence[end:high]) + ("…" if high < len(sentence) else "")
    return f"{before}<b>{escape(answer)}</b>{after}"


def source_line(hit: Hit) -> str:
    return f"<i>出处：{escape(excerpt(hit.passage.source, SOURCE_CHARS))}</i>"


def passage_block(number: int, hit: Hit, limit: int) -> str:
    """A numbered passage excerpt with its source on the next line."""
    return f"<b>{number}.</b> {escape(excerpt(flatten(hit.passage.text), limit))}\n{source_line(hit)}"


def first_page_hits(answer: Answer) -> int:
    """How many passages the answer message itself shows (the rest are 「更多结果」 pages)."""
    return 1 if answer.found else min(RELATED_SHOWN, len(answer.hits))


def page_count(answer: Answer) -> int:
    rest = len(answer.hits) - first_page_hits(answer)
    return max(0, -(-rest // PAGE_SIZE))


def more_data(token: str, page: int) -> str:
    """Callback data of a paging button: `more:<token>:<page>` (page 0 = the answer itself), < 64 bytes."""
    return f"more:{token}:{page}"


def parse_more(data: str) -> tuple[str, int] | None:
    match = re.fullmatch(r"more:([A-Za-z0-9_-]{1,40}):(\d{1,3})", data or "")
    return (match.group(1), int(match.group(2))) if match else None


def page_keyboard(token: str, page: int, pages: int) -> InlineKeyboardMarkup | None:
    """「返回答案」/「上一页」 and 「更多结果」 buttons for page `page` of `pages`."""
    buttons = []
    if page > 0:
        buttons.append(
            InlineKeyboardButton("返回答案" if page == 1 else "上一页", callback_data=more_data(token, page - 1))
        )
    if page < pages:
        buttons.append(InlineKeyboardButton(MORE, callback_data=more_data(token, page + 1)))
    return InlineKeyboardMarkup([buttons]) if buttons else None


def format_answer(answer: Answer, token: str, show_question: bool = False) -> Reply:
    """The reply to a question: the answer in bold, its sentence with the answer highlighted, the source.

    Without an answer in the corpus: says so, then the closest passages as "可能相关".
    """
    lines = []
    if show_question:
        lines.append(f"问：{escape(excerpt(answer.question, QUESTION_CLIP_CHARS))}")
    if answer.found and answer.hits:
        short = answer.answer or answer.sentence or ""
        sentence = answer.sentence or ""
        if sentence and short != sentence:
            lines.append(f"<b>{escape(excerpt(short, ANSWER_CHARS))}</b>")
            lines.append(f"<blockquote>{highlight(sentence, short)}</blockquote>")
        else:
            lines.append(f"<b>{escape(excerpt(short, SENTENCE_CHARS))}</b>")
        lines.append(source_line(answer.hits[0]))
    else:
        lines.append(NOT_FOUND)
        related = answer.hits[: first_page_hits(answer)]
        if related:
            lines.append("")
            lines.append(RELATED)
            lines.extend(passage_block(number, hit, RELATED_CHARS) for number, hit in enumerate(related, 1))
    return Reply("\n".join(lines), page_keyboard(token, 0, page_count(answer)))


def format_page(answer: Answer, token: str, page: int) -> Reply:
    """Page `page` (1, 2, ...) of the passages after the ones the answer message shows."""
    pages = page_count(answer)
    if page <= 0 or pages == 0:
        return format_answer(answer, token)
    page = min(page, pages)
    first = first_page_hits(answer) + (page - 1) * PAGE_SIZE
    title = MORE if answer.found else "更多可能相关的段落（不是答案）"
    lines = [f"<b>{title}</b>（{page}/{pages}）", f"问：{escape(excerpt(answer.question, QUESTION_CLIP_CHARS))}"]
    for number, hit in enumerate(answer.hits[first : first + PAGE_SIZE], first + 1):
        lines.append("")
        lines.append(passage_block(number, hit, PASSAGE_CHARS))
    return Reply("\n".join(lines), page_keyboard(token, page, pages))


def topics(index: Index, limit: int = 5) -> list[str]:
    """What the corpus is about: its most frequent section titles (or document titles, lacking those)."""
    sections = Counter(passage.section for passage in index.passages if passage.section.strip())
    if not sections:
        sections = Counter(passage.title for passage in index.passages if passage.title.strip())
    return [excerpt(name, 40) for name, _ in sections.most_common(limit)]


def format_welcome(index: Index, examples: list[str], full: bool = False) -> Reply:
    """/start (and, with `full`, /help): what the bot knows, how to ask, example questions as buttons."""
    documents = index.manifest.get("document_count", len(index.documents))
    about = "；".join(escape(topic) for topic in topics(index))
    lines = [
        "你好！我是<b>问答</b>机器人：只根据资料库里的文档回答问题，给出答案、原句和出处，不编造。",
        f"资料库现有 {documents} 篇文档、{len(index)} 个段落" + (f"，内容包括：{about}。" if about else "。"),
        "直接把问题发给我就行；在群里请 @我 或用 /ask 问题。",
    ]
    if full:
        lines += [
            "",
            "每个回答下的「更多结果」按钮列出其他相关段落。",
            "/ask 问题 — 提问（群组中使用）",
            "/start — 介绍与示例问题",
            "管理员：/reindex 重建索引，/stats 统计，/docs 文档列表，/remove 文件名 删除文档；"
            "在私聊中把文件发给我即可添加文档。",
        ]
    examples = examples[:MAX_EXAMPLES]
    keyboard = None
    if examples:
        lines.append("")
        lines.append("试试这些问题：")
        keyboard = InlineKeyboardMarkup(
            [
                [InlineKeyboardButton(excerpt(question, 60), callback_data=f"ask:{number}")]
                for number, question in enumerate(examples)
            ]
        )
    return Reply("\n".join(lines), keyboard)


def format_stats(index: Index, stats: Stats, uptime: float) -> str:
    """/stats: the index in use and the questions answered since start."""
    manifest = index.manifest
    built = manifest.get("built_at", "?")
    try:
        built = datetime.fromisoformat(built).strftime("%Y-%m-%d %H:%M %Z").strip()
    except (TypeError, ValueError):
        pass
    median = stats.median()
    return "\n".join(
        [
            "<b>统计</b>",
            f"文档：{manifest.get('document_count', len(index.documents))} 篇；段落：{len(index)} 个",
            f"模型：{escape(str(manifest.get('embedding_model', '?')))}",
            f"索引建立于：{escape(str(built))}",
            f"启动以来回答问题：{stats.questions} 个（找到答案 {stats.found} 个）",
            f"回答时间中位数：{median * 1000:.0f} 毫秒" if median is not None else "回答时间中位数：—",
            f"已运行：{format_duration(uptime)}",
        ]
    )


def format_duration(seconds: float) -> str:
    minutes, seconds = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days} 天 {hours} 小时"
    if hours:
        return f"{hours} 小时 {minutes} 分"
    return f"{minutes} 分 {seconds} 秒"


STAGES = {"read": "读取文档", "embed": "计算段落向量"}


def format_progress(stage: str | None, done: int = 0, total: int = 0) -> str:
    """The /reindex progress message: `正在重建索引：读取文档 3/10 ▰▰▰▱▱▱▱▱▱▱`."""
    if stage is None:
        return "正在重建索引……（旧索引照常回答问题）"
    filled = round(10 * done / total) if total else 0
    bar = "▰" * filled + "▱" * (10 - filled)
    return f"正在重建索引：{escape(STAGES.get(stage, stage))} {done}/{total} {bar}\n（旧索引照常回答问题）"


def format_empty_corpus(corpus_dir: Path, skipped: list[dict[str, str]]) -> str:
    """/reindex over a corpus with no readable text: what is wrong and what to do, in one line."""
    unread = f"（{len(skipped)} 个文件无法读取）" if skipped else ""
    return (
        f"资料文件夹 {escape(excerpt(str(corpus_dir), 200))} 里没有可读的文本{unread}：请先发送 .txt、.md、.docx、.pdf 或 "
        ".html 文件再 /reindex。旧索引继续使用。"
    )


def format_rebuilt(report: BuildReport) -> str:
    """The /reindex summary: documents, passages, seconds; files that were skipped."""
    lines = [
        f"索引已重建并启用：{report.documents} 篇文档，{report.passages} 个段落，"
        f"用时 {report.seconds:.1f} 秒（新计算向量 {report.embedded} 个）。"
    ]
    for skipped in report.skipped[:5]:
        lines.append(f"跳过 {escape(excerpt(skipped['doc'], 80))}：{escape(excerpt(skipped['reason'], 200))}")
    if len(report.skipped) > 5:
        lines.append(f"……另有 {len(report.skipped) - 5} 个文件被跳过")
    return "\n".join(lines)


def format_size(size: int) -> str:
    """`812` -> `"812 B"`, `46284` -> `"45.2 KB"`, `3250000` -> `"3.1 MB"`."""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def format_unsupported(file_name: str) -> str:
    """One line: the file's type cannot be added, and which types can."""
    suffix = PurePosixPath(file_name.replace("\\", "/")).suffix.lower()
    shown = escape(excerpt(suffix, 20)) if suffix else "没有扩展名"
    return f"不能添加这种文件（{shown}）。支持的类型：{escape(supported_types())}。"


def format_too_large(size: int, limit_mb: float) -> str:
    return f"文件太大（{format_size(size)}），上限是 {limit_mb:g} MB（设置 MAX_UPLOAD_MB），没有保存。"


def format_unreadable(name: str, reason: str) -> str:
    return f"无法读取「{escape(name)}」：{escape(excerpt(reason, 300))}。文件没有保存。"


def format_saved(upload: Upload, name: str, replaced: bool = False) -> Reply:
    """What an upload turned out to be once saved, with 「立即重建索引」."""
    lines = [
        f"<b>已保存</b>「{escape(name)}」" + ("，覆盖了原来的文件。" if replaced else "。"),
        f"标题：{escape(excerpt(upload.title_as(name), 100))}",
        f"字符：{upload.characters:,}；将生成 {upload.passages} 个段落",
        f"编码：{escape(upload.encoding)}；大小：{format_size(upload.size)}",
        f"按「{REINDEX_NOW}」后，就能回答这篇文档里的问题。",
    ]
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton(REINDEX_NOW, callback_data="reindex:now")]])
    return Reply("\n".join(lines), keyboard)


def choice_keyboard(kind: str, token: str, choices: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    """One row of buttons answering a pending question: callback data `kind:token:choice`."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=f"{kind}:{token}:{choice}") for label, choice in choices]]
    )


def format_exists(name: str, token: str) -> Reply:
    """An upload whose name is taken: 「覆盖」, 「另存为新文件」 or 「取消」."""
    text = (
        f"资料库里已经有「{escape(name)}」。要覆盖它，把新文件另存为新文件，还是取消？"
        f"（{PENDING_SECONDS // 60} 分钟内有效）"
    )
    keyboard = choice_keyboard("up", token, [(OVERWRITE, "o"), (SAVE_AS_NEW, "n"), (CANCEL, "c")])
    return Reply(text, keyboard)


def document_state(info: DocumentInfo) -> str:
    """The passages of a /docs entry, or why it has none: `"64 个段落"`, `"未索引"`, ..."""
    passages = f"{info.passages} 个段落"
    if info.status == "indexed":
        return passages
    if info.status == "changed":
        return f"{passages}（文件已改动，未重建索引）"
    if info.status == "gone":
        return f"{passages}（文件已删除，重建索引后不再使用）"
    if info.status == "skipped":
        return f"无法读取：{excerpt(info.reason, 80)}"
    return "未索引"


def format_docs(documents: list[DocumentInfo], page: int) -> Reply:
    """/docs: page `page` (from 0) of the documents, 10 a page, with 「上一页」/「下一页」."""
    pages = max(1, -(-len(documents) // DOCS_PAGE_SIZE))
    page = min(max(page, 0), pages - 1)
    if not documents:
        return Reply("资料文件夹里还没有文档。在私聊中把文件发给我即可添加。")
    lines = [f"<b>资料库文档</b>：{len(documents)} 篇（第 {page + 1}/{pages} 页）"]
    first = page * DOCS_PAGE_SIZE
    for number, info in enumerate(documents[first : first + DOCS_PAGE_SIZE], first + 1):
        added = datetime.fromtimestamp(info.modified).strftime("%Y-%m-%d %H:%M")
        lines.append(f"{number}. <code>{escape(excerpt(info.doc_id, 200))}</code>")
        lines.append(f"    {format_size(info.size)} · {escape(document_state(info))} · {added}")
    if any(info.status in ("new", "changed", "gone") for info in documents):
        lines.append("")
        lines.append("有文档改动还没进索引：发送 /reindex 重建索引。")
    lines.append("删除文档：/remove 文件名（点文件名可复制）")
    buttons = []
    if page > 0:
        buttons.append(InlineKeyboardButton("上一页", callback_data=f"docs:{page - 1}"))
    if page < pages - 1:
        buttons.append(InlineKeyboardButton("下一页", callback_data=f"docs:{page + 1}"))
    return Reply("\n".join(lines), InlineKeyboardMarkup([buttons]) if buttons else None)


def format_remove_confirm(doc_id: str, passages: int | None, token: str) -> Reply:
    """/remove NAME: are you sure? 「确认删除」/「取消」."""
    held = f"（{passages} 个段落）" if passages else ""
    text = (
        f"确定删除「{escape(excerpt(doc_id, 200))}」{held}吗？文件会从资料文件夹中删除，然后重建索引，"
        f"这篇文档不再用于回答。（{PENDING_SECONDS // 60} 分钟内有效）"
    )
    keyboard = choice_keyboard("rm", token, [(CONFIRM_REMOVE, "y"), (CANCEL, "n")])
    return Reply(text, keyboard)


def hint_not_text(example: str | None) -> str:
    suffix = f"，例如「{escape(example)}」" if example else ""
    return f"我只能回答文字问题：请把问题打成文字发给我{suffix}。"


def hint_empty(example: str | None) -> str:
    return f"请写下你的问题{'，例如「' + escape(example) + '」' if example else ''}。"


def hint_too_long(length: int, limit: int) -> str:
    return f"消息太长了（{length} 字）。请一次只问一个简短的问题（{limit} 字以内）。"


def hint_flood(seconds: float) -> str:
    return f"你问得太快了，请 {max(1, round(seconds))} 秒后再问。"


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

    def __post_init__(self) -> None:
        self.flood = FloodGate(self.settings.questions_per_minute)

    @property
    def example(self) -> str | None:
        return self.settings.example_questions[0] if self.settings.example_questions else None


def state_of(context: ContextTypes.DEFAULT_TYPE) -> BotState:
    return context.application.bot_data[STATE]


# -- routing helpers -------------------------------------------------------------------------------


def addressed_question(message: Message, bot_id: int, bot_username: str) -> str | None:
    """The question in a group message meant for the bot, or None for other chatter.

    `"@wenda_bot 渝万高铁何时开工"` -> `"渝万高铁何时开工"`; a reply to one of the bot's messages is a
    question as it stands.
    """
    ours = []
    for entity, text in message.parse_entities([MessageEntity.MENTION, MessageEntity.TEXT_MENTION]).items():
        if entity.type == MessageEntity.MENTION and text[1:].lower() == bot_username.lower():
            ours.append(text)
        elif entity.type == MessageEntity.TEXT_MENTION and entity.user and entity.user.id == bot_id:
            ours.append(text)
    replied = message.reply_to_message
    replying = replied is not None and replied.from_user is not None and replied.from_user.id == bot_id
    if not ours and not replying:
        return None
    text = message.text or ""
    for mention in ours:
        text = text.replace(mention, " ", 1)
    return re.sub(r"\s+", " ", text).strip()


def is_group(message: Message) -> bool:
    return message.chat.type in (ChatType.GROUP, ChatType.SUPERGROUP)


async def reply(
    update: Update, context: ContextTypes.DEFAULT_TYPE, text: str, keyboard: InlineKeyboardMarkup | None = None
) -> None:
    """Reply in the update's chat: quoting the asker's message in groups; a new message after a button press."""
    message = update.message
    if message is not None:
        await message.reply_text(text, reply_markup=keyboard, do_quote=is_group(message))
    else:
        await context.bot.send_message(update.effective_chat.id, text, reply_markup=keyboard)


# Questions answered at once. Each waits mostly for its query vector, which the embedder computes
# for all waiting questions together (bot.embedding.QueryBatcher), so more threads make bigger,
# cheaper batches; asyncio's default pool has 6 on 2 cores. Measured, 50 users asking at once
# (benchmarks/telegram_load.py): the slowest replies 1.1-1.2 s with 6 threads, 0.6-0.9 s with 32.
ANSWER_THREADS = 32


@functools.cache
def answerers() -> concurrent.futures.ThreadPoolExecutor:
    return concurrent.futures.ThreadPoolExecutor(ANSWER_THREADS, thread_name_prefix="answer")


async def answer_question(
    update: Update, context: ContextTypes.DEFAULT_TYPE, question: str, show_question: bool = False
) -> None:
    """Check the question, answer it off the event loop, remember it for paging, reply."""
    state = state_of(context)
    question = question.strip()
    if not question:
        await reply(update, context, hint_empty(state.example))
        return
    if len(question) > state.settings.max_question_chars:
        await reply(update, context, hint_too_long(len(question), state.settings.max_question_chars))
        return
    user_id = update.effective_user.id if update.effective_user else update.effective_chat.id
    now = time.monotonic()
    wait = state.flood.check(user_id, now)
    if wait is not None:
        log.info("Flood limit: user %s asked more than %d questions a minute", user_id, state.flood.limit)
        if state.flood.should_warn(user_id, now):
            await reply(update, context, hint_flood(wait))
        return
    wenda = state.wenda  # the pipeline in use now; a /reindex finishing meanwhile does not affect this question
    started = time.perf_counter()
    answer = await asyncio.get_running_loop().run_in_executor(answerers(), wenda.answer, question)
    seconds = time.perf_counter() - started
    state.stats.record(answer.found, seconds)
    log.debug("Answered user %s in %.0f ms (found: %s)", user_id, seconds * 1000, answer.found)
    formatted = format_answer(answer, state.answers.add(answer), show_question)
    await reply(update, context, formatted.text, formatted.keyboard)


async def refused(
    update: Update, context: ContextTypes.DEFAULT_TYPE, action: str, text: str = ADMIN_ONLY
) -> bool:
    """False for users in ADMIN_IDS; anyone else gets a polite refusal, the attempt is logged, and True.

    `action` names the attempt in the log (`"/reindex"`, `"a document upload"`); a button press is
    refused with a notice on the button rather than a message.
    """
    user = update.effective_user
    if user is not None and user.id in state_of(context).settings.admin_ids:
        return False
    log.warning("Refused %s from user %s (not in ADMIN_IDS)", action, user.id if user else "unknown")
    if update.callback_query is not None:
        await update.callback_query.answer(text)
    else:
        await update.effective_message.reply_text(text)
    return True


def not_modified(error: BadRequest) -> bool:
    """Whether Telegram refused an edit because the message already reads so (a button pressed twice)."""
    return "not modified" in str(error).lower()


async def show(
    context: ContextTypes.DEFAULT_TYPE, message: Message, text: str, keyboard: InlineKeyboardMarkup | None = None
) -> None:
    """Replace a status message's text and buttons; when it cannot be edited, send the text anew."""
    try:
        await message.edit_text(text, reply_markup=keyboard)
        return
    except BadRequest as error:
        if not_modified(error):
            return
        log.info("Could not edit message %s (%s): sending it anew", message.message_id, error)
    await context.bot.send_message(message.chat_id, text, reply_markup=keyboard)


async def show_after_press(
    update: Update, context: ContextTypes.DEFAULT_TYPE, text: str, keyboard: InlineKeyboardMarkup | None = None
) -> None:
    """Show `text` in place of the message whose button was pressed (anew when that one is too old to edit)."""
    message = update.callback_query.message
    if message is not None and message.is_accessible:
        await show(context, message, text, keyboard)
    else:
        await context.bot.send_message(chat_of(update), text, reply_markup=keyboard)


async def drop_buttons(update: Update) -> None:
    """Remove the keyboard of the message whose button was pressed (no second press), quietly."""
    message = update.callback_query.message
    if message is not None and message.is_accessible:
        try:
            await update.callback_query.edit_message_reply_markup(reply_markup=None)
        except TelegramError:
            pass


def chat_of(update: Update) -> int:
    """The chat to answer in; a private chat's id is the user's."""
    return update.effective_chat.id if update.effective_chat is not None else update.effective_user.id


async def edit_quietly(message: Message, text: str) -> None:
    """Edit a status message; a failed edit is logged, never fatal to the work it reports on."""
    try:
        await message.edit_text(text)
    except BadRequest as error:
        if not not_modified(error):
            log.warning("Could not edit message %s: %s", message.message_id, error)
    except TelegramError as error:
        log.warning("Could not edit message %s: %s", message.message_id, error)


# -- handlers --------------------------------------------------------------------------------------


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Say what the bot knows and how to ask, with example questions as buttons."""
    state = state_of(context)
    welcome = format_welcome(state.wenda.index, state.settings.example_questions)
    await update.effective_message.reply_text(welcome.text, reply_markup=welcome.keyboard)


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Like /start, plus the commands."""
    state = state_of(context)
    welcome = format_welcome(state.wenda.index, state.settings.example_questions, full=True)
    await update.effective_message.reply_text(welcome.text, reply_markup=welcome.keyboard)


async def private_question(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer a text message in a private chat."""
    await answer_question(update, context, update.message.text)


async def group_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer a group message that mentions the bot or replies to it; ignore other chatter."""
    question = addressed_question(update.message, context.bot.id, context.bot.username)
    if question is not None:
        await answer_question(update, context, question)


async def ask(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer `/ask 问题` (in groups, or anywhere)."""
    parts = (update.message.text or "").split(maxsplit=1)
    if len(parts) < 2:
        example = state_of(context).example or "问题"
        await update.message.reply_text(
            f"用法：/ask 问题，例如 /ask {escape(example)}", do_quote=is_group(update.message)
        )
        return
    await answer_question(update, context, parts[1])


async def not_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Hint that only text questions work (stickers, photos, voice ...); in groups only when meant for the bot."""
    message = update.message
    if is_group(message):
        replied = message.reply_to_message
        if replied is None or replied.from_user is None or replied.from_user.id != context.bot.id:
            return
    await message.reply_text(hint_not_text(state_of(context).example), do_quote=is_group(message))


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Point to /help for a command the bot does not know (private chats only)."""
    await update.message.reply_text(UNKNOWN_COMMAND)


async def more_results(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Show another page of passages for an earlier answer, or say that the result expired."""
    query = update.callback_query
    state = state_of(context)
    parsed = parse_more(query.data)
    answer = state.answers.get(parsed[0]) if parsed else None
    editable = query.message is not None and query.message.is_accessible  # not too old for the bot to see
    if answer is None or query.message is None:
        await query.answer(EXPIRED)
        if editable:
            try:
                await query.edit_message_reply_markup(reply_markup=None)  # no more presses on a dead button
            except TelegramError:
                pass
        return
    await query.answer()
    token, page = parsed
    formatted = format_page(answer, token, page)
    await show_after_press(update, context, formatted.text, formatted.keyboard)  # pressed twice: shown already


async def example_question(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer the example question whose button was pressed."""
    query = update.callback_query
    examples = state_of(context).settings.example_questions
    number = int(query.data.split(":", 1)[1])
    if number >= len(examples) or update.effective_chat is None:
        await query.answer(BUTTON_GONE)
        return
    await query.answer()
    await answer_question(update, context, examples[number], show_question=True)


async def unknown_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer a press on a button this version of the bot does not know."""
    await update.callback_query.answer(BUTTON_GONE)


def claim_rebuild(state: BotState) -> bool:
    """Take the one rebuild slot (False when a rebuild runs already); give it back with `state.reindexing = False`."""
    if state.reindexing:
        return False
    state.reindexing = True
    return True


async def rebuild_with_progress(
    context: ContextTypes.DEFAULT_TYPE, chat_id: int, reply_to: Message | None = None
) -> bool:
    """Rebuild the index from the corpus folder, editing a progress message, then answer from the new one.

    Shared by /reindex, 「立即重建索引」 and /remove. Passages already embedded come from the embedding
    cache, so after a small change this takes seconds. Chats keep getting answers from the old index
    meanwhile, and a failed rebuild leaves it serving. The caller holds the rebuild slot
    (`claim_rebuild`). Returns whether the new index is in use.
    """
    state = state_of(context)
    text = format_progress(None)
    status = await (reply_to.reply_text(text) if reply_to is not None else context.bot.send_message(chat_id, text))
    progress = Progress()
    build = asyncio.ensure_future(asyncio.to_thread(rebuild, state.settings, state.wenda.embedder, progress))
    shown = None
    while not build.done():
        await asyncio.wait({build}, timeout=state.progress_interval)
        if progress.latest is not None and progress.latest != shown and not build.done():
            shown = progress.latest
            await edit_quietly(status, format_progress(*shown))
    switched = False
    try:
        index, report = build.result()
    except IndexBusy:
        summary = "另一个进程正在重建索引，请稍后再试。旧索引继续使用。"
    except EmptyCorpus as error:
        log.warning("Not rebuilt: %s", error)
        summary = format_empty_corpus(state.settings.corpus_dir, error.skipped)
    except OSError as error:  # the corpus or index folder cannot be read or written
        log.exception("Rebuilding the index failed; the old index keeps serving")
        where = escape(excerpt(str(error.filename or state.settings.index_dir), 200))
        reason = escape(excerpt(error.strerror or str(error) or type(error).__name__, 200))
        summary = f"重建索引失败：无法读写 {where}（{reason}）。请检查文件夹权限和磁盘空间，旧索引继续使用。"
    except Exception as error:  # any failure leaves the old index serving
        log.exception("Rebuilding the index failed; the old index keeps serving")
        summary = f"重建索引失败，旧索引继续使用。请查看服务器日志（{escape(excerpt(type(error).__name__, 100))}）。"
    else:
        state.wenda = state.wenda.with_index(index)  # questions in flight keep the old pipeline and its index
        switched = True
        summary = format_rebuilt(report)
        log.info(
            "Index rebuilt: %d documents, %d passages in %.1f s; now serving it",
            report.documents,
            report.passages,
            report.seconds,
        )
    await edit_quietly(status, summary)
    return switched


async def reindex(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Rebuild the index from the corpus folder while chats keep getting answers (admins only)."""
    if await refused(update, context, "/reindex"):
        return
    state = state_of(context)
    if not claim_rebuild(state):
        await update.effective_message.reply_text(REINDEX_RUNNING)
        return
    try:
        log.info("Rebuilding the index for user %s", update.effective_user.id)
        await rebuild_with_progress(context, chat_of(update), reply_to=update.effective_message)
    finally:
        state.reindexing = False


async def reindex_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """「立即重建索引」 under a saved upload: the same rebuild as /reindex (admins only)."""
    if await refused(update, context, f"the {REINDEX_NOW} button"):
        return
    state = state_of(context)
    if not claim_rebuild(state):
        await update.callback_query.answer(REINDEX_RUNNING)
        return
    try:
        await update.callback_query.answer()
        await drop_buttons(update)
        log.info("Rebuilding the index for user %s (after an upload)", update.effective_user.id)
        await rebuild_with_progress(context, chat_of(update))
    finally:
        state.reindexing = False


def upload_limit(settings: Settings) -> int:
    """MAX_UPLOAD_MB in bytes."""
    return int(settings.max_upload_mb * 1024 * 1024)


async def forget_expired(state: BotState) -> None:
    """Forget pending uploads and removals nobody answered in time; delete the staged files."""
    for item in state.pending.expire(time.monotonic()):
        if isinstance(item, Upload):
            await asyncio.to_thread(discard, item)


async def receive_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Take a document an admin sends in a private chat into the corpus: check it, read it, save it or ask."""
    message = update.message
    state = state_of(context)
    if is_group(message):  # only in private chats; a document meant for the bot gets a hint
        replied = message.reply_to_message
        if replied is not None and replied.from_user is not None and replied.from_user.id == context.bot.id:
            await message.reply_text(UPLOAD_IN_PRIVATE, do_quote=True)
        return
    if await refused(update, context, "a document upload", UPLOAD_ADMIN_ONLY):  # nothing downloaded
        return
    document = message.document
    file_name = document.file_name or ""
    if not is_supported(file_name):
        await message.reply_text(format_unsupported(file_name))
        return
    limit = upload_limit(state.settings)
    if document.file_size is not None and document.file_size > limit:
        await message.reply_text(format_too_large(document.file_size, state.settings.max_upload_mb))
        return
    name = safe_name(file_name)
    status = await message.reply_text(f"收到「{escape(name)}」，正在检查……")
    try:
        data = await (await context.bot.get_file(document.file_id)).download_as_bytearray()
    except TelegramError as error:
        log.warning("Could not download %s from user %s: %s", name, update.effective_user.id, error)
        await show(context, status, f"无法从 Telegram 下载这个文件（{escape(excerpt(str(error), 200))}），请稍后再试。")
        return
    if len(data) > limit:  # Telegram's file_size can be missing (or wrong)
        await show(context, status, format_too_large(len(data), state.settings.max_upload_mb))
        return
    await forget_expired(state)
    try:
        upload = await asyncio.to_thread(stage_upload, bytes(data), name, state.settings)
    except UnreadableDocument as error:
        log.info("Refused upload %s from user %s: %s", name, update.effective_user.id, error)
        await show(context, status, format_unreadable(name, error.reason))
        return
    log.info(
        "User %s sent %s (%d bytes, %d passages, %s)",
        update.effective_user.id,
        name,
        upload.size,
        upload.passages,
        upload.encoding,
    )
    await save_upload(update, context, status, upload)


async def save_upload(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    status: Message,
    upload: Upload,
    overwrite: bool = False,
    rename: bool = False,
) -> None:
    """Move a staged upload into the corpus folder and say what it holds; ask first when its name is taken."""
    state = state_of(context)
    try:
        path = await asyncio.to_thread(
            place_upload, upload, state.settings.corpus_dir, overwrite=overwrite, rename=rename
        )
    except FileExistsError:
        token = state.pending.add(upload, time.monotonic())
        formatted = format_exists(upload.name, token)
        await show(context, status, formatted.text, formatted.keyboard)
        return
    except OSError as error:  # disk full, no permission: say so, keep nothing
        log.error("Could not save %s into %s: %s", upload.name, state.settings.corpus_dir, error)
        await asyncio.to_thread(discard, upload)
        await show(context, status, f"保存失败：{escape(excerpt(str(error), 300))}。文件没有保存。")
        return
    log.info("User %s saved %s into the corpus%s", update.effective_user.id, path.name, " (replaced)" if overwrite else "")
    formatted = format_saved(upload, path.name, replaced=overwrite)
    await show(context, status, formatted.text, formatted.keyboard)


async def upload_choice(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """「覆盖」, 「另存为新文件」 or 「取消」 for an upload whose name was taken (admins only)."""
    if await refused(update, context, "an upload choice"):
        return
    state = state_of(context)
    await forget_expired(state)
    match = re.fullmatch(r"up:([A-Za-z0-9_-]{1,16}):([onc])", update.callback_query.data or "")
    upload = state.pending.take(match.group(1), Upload) if match else None
    if upload is None:
        await update.callback_query.answer(PENDING_GONE)
        await drop_buttons(update)
        return
    await update.callback_query.answer()
    choice = match.group(2)
    if choice == "c":
        await asyncio.to_thread(discard, upload)
        await show_after_press(update, context, f"已取消：新文件没有保存，「{escape(upload.name)}」保持不变。")
        return
    message = update.callback_query.message
    if message is None or not message.is_accessible:
        message = await context.bot.send_message(chat_of(update), "正在保存……")
    await save_upload(update, context, message, upload, overwrite=choice == "o", rename=choice == "n")


async def docs(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """List the corpus documents: name, size, passages, when added; 10 a page (admins only)."""
    if await refused(update, context, "/docs"):
        return
    state = state_of(context)
    documents = await asyncio.to_thread(list_documents, state.settings.corpus_dir, state.wenda.index.manifest)
    formatted = format_docs(documents, 0)
    await update.effective_message.reply_text(formatted.text, reply_markup=formatted.keyboard)


async def docs_page(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """「上一页」/「下一页」 of /docs: the page as the corpus is now (admins only)."""
    if await refused(update, context, "a /docs page"):
        return
    state = state_of(context)
    page = int(update.callback_query.data.split(":", 1)[1])
    documents = await asyncio.to_thread(list_documents, state.settings.corpus_dir, state.wenda.index.manifest)
    await update.callback_query.answer()
    formatted = format_docs(documents, page)
    await show_after_press(update, context, formatted.text, formatted.keyboard)


def removal_target(corpus_dir: Path, doc_id: str) -> tuple[bool, int]:
    """Whether `doc_id` is a corpus file inside the folder, and how many corpus files there are."""
    return find_document(corpus_dir, doc_id) is not None, len(corpus_files(corpus_dir))


async def remove(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`/remove NAME`: ask to confirm removing a document, NAME as /docs shows it (admins only)."""
    if await refused(update, context, "/remove"):
        return
    state = state_of(context)
    message = update.effective_message
    parts = (message.text or "").split(maxsplit=1)
    doc_id = parts[1].strip().strip("\"'“”‘’「」<>") if len(parts) > 1 else ""
    if not doc_id:
        await message.reply_text("用法：/remove 文件名（文件名见 /docs）")
        return
    found, files = await asyncio.to_thread(removal_target, state.settings.corpus_dir, doc_id)
    indexed = state.wenda.index.documents
    if not found:
        if doc_id in indexed:
            await message.reply_text(
                f"「{escape(excerpt(doc_id, 200))}」已经不在资料文件夹里了，但索引里还有：发送 /reindex 让索引也去掉它。"
            )
        else:
            await message.reply_text(f"没有名为「{escape(excerpt(doc_id, 200))}」的文档。发送 /docs 查看文档和文件名。")
        return
    if files == 1:  # the rebuild would refuse an empty corpus and keep answering from this document
        await message.reply_text(
            f"「{escape(excerpt(doc_id, 200))}」是资料库里唯一的文档，删除后就无从回答了。请先添加新文档，再删除它。"
        )
        return
    await forget_expired(state)
    token = state.pending.add(Removal(doc_id), time.monotonic())
    formatted = format_remove_confirm(doc_id, indexed.get(doc_id, {}).get("passages"), token)
    await message.reply_text(formatted.text, reply_markup=formatted.keyboard)


async def remove_choice(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """「确认删除」: delete the file, then rebuild the index as /reindex does; or 「取消」 (admins only)."""
    if await refused(update, context, "a /remove confirmation"):
        return
    query = update.callback_query
    state = state_of(context)
    await forget_expired(state)
    match = re.fullmatch(r"rm:([A-Za-z0-9_-]{1,16}):([yn])", query.data or "")
    if match is None or not state.pending.holds(match.group(1), Removal):
        await query.answer(PENDING_GONE)
        await drop_buttons(update)
        return
    confirmed = match.group(2) == "y"
    if confirmed and not claim_rebuild(state):  # the buttons stay: press again once it is done
        await query.answer(REINDEX_RUNNING)
        return
    removal = state.pending.take(match.group(1), Removal)
    if not confirmed:
        await query.answer()
        await show_after_press(update, context, f"已取消，「{escape(excerpt(removal.doc_id, 200))}」保留。")
        return
    try:
        await query.answer()
        name = escape(excerpt(removal.doc_id, 200))
        try:
            await asyncio.to_thread(remove_document, state.settings.corpus_dir, removal.doc_id)
        except FileNotFoundError:
            await show_after_press(update, context, f"「{name}」已经不在资料文件夹里了。")
        else:
            log.info("User %s removed %s from the corpus", update.effective_user.id, removal.doc_id)
            await show_after_press(update, context, f"已删除「{name}」。")
        await rebuild_with_progress(context, chat_of(update))
    finally:
        state.reindexing = False


async def stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Show the index in use and the questions answered since start (admins only)."""
    if await refused(update, context, "/stats"):
        return
    state = state_of(context)
    await update.effective_message.reply_text(
        format_stats(state.wenda.index, state.stats, time.monotonic() - state.started)
    )


async def error_handler(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the exception and reply with a short apology; the bot keeps running."""
    log.error("Error while handling an update", exc_info=context.error)
    if not isinstance(update, Update):
        return
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(APOLOGY)
        elif update.effective_message is not None:
            await update.effective_message.reply_text(APOLOGY)
    except TelegramError as error:  # e.g. the query was answered already, or Telegram is unreachable
        log.debug("Could not apologise: %s", error)


async def post_init(application: Application) -> None:
    """Set the command menu (admins get their commands too) and log that the bot is up."""
    state: BotState = application.bot_data[STATE]
    bot = application.bot
    try:
        await bot.set_my_commands(PUBLIC_COMMANDS)
    except TelegramError as error:
        log.warning("Could not set the command menu: %s", error)
    for admin in sorted(state.settings.admin_ids):
        try:
            await bot.set_my_commands(PUBLIC_COMMANDS + ADMIN_COMMANDS, scope=BotCommandScopeChat(admin))
        except TelegramError as error:  # "chat not found" until the admin has talked to the bot
            log.info("No admin command menu for user %s yet: %s", admin, error)
    index = state.wenda.index
    took = f" in {time.perf_counter() - state.startup:.1f} s" if state.startup is not None else ""
    log.info("@%s is up%s (documents: %d, passages: %d)", bot.username, took, len(index.documents), len(index))


# -- the application -------------------------------------------------------------------------------


def build_application(
    settings: Settings,
    wenda: Wenda,
    *,
    progress_interval: float = 1.0,
    startup: float | None = None,
) -> Application:
    """The bot: every handler registered here, state in `bot_data`, outgoing calls rate-limited."""
    builder = (
        ApplicationBuilder()
        .token(bot_token(settings))
        .base_url(settings.telegram_base_url)
        .base_file_url(settings.telegram_base_file_url)
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
                allow_sending_without_reply=True,  # a question deleted meanwhile still gets its answer
            )
        )
        .concurrent_updates(True)
        .post_init(post_init)
    )
    if settings.messages_per_second > 0:
        builder = builder.rate_limiter(AIORateLimiter(overall_max_rate=settings.messages_per_second, max_retries=3))
    application = builder.build()
    application.bot_data[STATE] = BotState(settings, wenda, progress_interval=progress_interval, startup=startup)

    new_message = filters.UpdateType.MESSAGE
    application.add_handler(CommandHandler("start", start, filters=new_message))
    application.add_handler(CommandHandler("help", help_command, filters=new_message))
    application.add_handler(CommandHandler("ask", ask, filters=new_message))
    application.add_handler(CommandHandler("reindex", reindex, filters=new_message))
    application.add_handler(CommandHandler("stats", stats, filters=new_message))
    application.add_handler(CommandHandler("docs", docs, filters=new_message))
    application.add_handler(CommandHandler("remove", remove, filters=new_message))
    application.add_handler(MessageHandler(new_message & filters.ChatType.PRIVATE & filters.COMMAND, unknown_command))
    application.add_handler(MessageHandler(new_message & filters.ChatType.PRIVATE & filters.TEXT, private_question))
    application.add_handler(
        MessageHandler(new_message & filters.ChatType.GROUPS & filters.TEXT & ~filters.COMMAND, group_message)
    )
    application.add_handler(MessageHandler(new_message & filters.Document.ALL, receive_document))
    application.add_handler(MessageHandler(new_message & ~filters.TEXT & ~filters.StatusUpdate.ALL, not_text))
    application.add_handler(CallbackQueryHandler(more_results, pattern=r"^more:"))
    application.add_handler(CallbackQueryHandler(reindex_button, pattern=r"^reindex:now$"))
    application.add_handler(CallbackQueryHandler(upload_choice, pattern=r"^up:"))
    application.add_handler(CallbackQueryHandler(docs_page, pattern=r"^docs:\d{1,4}$"))
    application.add_handler(CallbackQueryHandler(remove_choice, pattern=r"^rm:"))
    application.add_handler(CallbackQueryHandler(example_question, pattern=r"^ask:\d{1,3}$"))
    application.add_handler(CallbackQueryHandler(unknown_button))
    application.add_error_handler(error_handler)
    return application


def bot_token(settings: Settings) -> str:
    return settings.telegram_token.get_secret_value().strip()


def check_settings(settings: Settings) -> None:
    """Raise StartupError (one line, saying what to do) for a missing or malformed Telegram setting.

    Never puts the token itself in the message.
    """
    token = bot_token(settings)
    where = "create a bot with @BotFather in Telegram (/newbot) and put its token in .env as TELEGRAM_TOKEN=..."
    if not token:
        raise StartupError(f"TELEGRAM_TOKEN is not set: {where}")
    if not TOKEN_RE.match(token):
        raise StartupError(
            "TELEGRAM_TOKEN is malformed (a bot token is digits, a colon, then 30 or more letters, digits, _ or -): "
            f"copy it again from @BotFather, or {where}"
        )
    for name, url in (
        ("TELEGRAM_BASE_URL", settings.telegram_base_url),
        ("TELEGRAM_BASE_FILE_URL", settings.telegram_base_file_url),
    ):
        if not url.startswith(("http://", "https://")):
            raise StartupError(
                f"{name} must start with http:// or https:// (e.g. https://api.telegram.org/bot); fix it in .env."
            )
    if settings.webhook_url:
        url = urlsplit(settings.webhook_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise StartupError(
                "WEBHOOK_URL must be a URL such as https://bot.example.org/wenda (or empty for long polling); fix it in .env."
            )
        secret = settings.webhook_secret.get_secret_value()
        if secret and not SECRET_RE.match(secret):
            raise StartupError(
                "WEBHOOK_SECRET may hold only letters, digits, _ and - (1-256 characters); fix it in .env."
            )


def webhook_options(settings: Settings) -> dict[str, Any]:
    """Arguments for `run_webhook` / `Updater.start_webhook`: where to listen, the public URL, the secret.

    The path of WEBHOOK_URL is the path served locally (a reverse proxy forwards it unchanged); an
    empty WEBHOOK_SECRET gets a random one, which `setWebhook` hands to Telegram at each start.
    """
    return {
        "listen": settings.webhook_listen,
        "port": settings.webhook_port,
        "url_path": urlsplit(settings.webhook_url).path.strip("/"),
        "webhook_url": settings.webhook_url,
        "secret_token": settings.webhook_secret.get_secret_value() or secrets.token_urlsafe(32),
        "allowed_updates": ALLOWED_UPDATES,
    }


class RedactSecrets(logging.Filter):
    """Replace secrets (the bot token, the webhook secret) in log records, tracebacks included.

    PTB logs the API URL, which holds the token, at DEBUG, and puts the token in InvalidToken's
    message; httpx logs request URLs at INFO.
    """

    def __init__(self, secrets_: list[str]):
        super().__init__()
        self.secrets = [secret for secret in secrets_ if secret]

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "<redacted>")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def redact_logs(secrets_: list[str]) -> RedactSecrets:
    """Install a RedactSecrets filter on every handler of the root logger (records propagate there)."""
    redactor = RedactSecrets(secrets_)
    for handler in logging.getLogger().handlers:
        handler.addFilter(redactor)
    logging.getLogger("httpx").setLevel(max(logging.getLogger("httpx").getEffectiveLevel(), logging.WARNING))
    return redactor


async def introduce(settings: Settings) -> str:
    """Ask the Bot API who the bot is (getMe); a rejected token or an unreachable server fails here."""
    async with Bot(
        bot_token(settings), base_url=settings.telegram_base_url, base_file_url=settings.telegram_base_file_url
    ) as bot:
        return bot.username


def preflight(settings: Settings) -> str:
    """Check the Telegram settings, keep the token out of the logs, and ask the Bot API who the bot is.

    Meant to run before the model loads, so that a wrong token fails in a moment. Returns the bot's
    username; raises StartupError (one line, saying what to do).
    """
    check_settings(settings)
    redactor = redact_logs([bot_token(settings)])
    try:
        return asyncio.run(introduce(settings))
    except InvalidToken as error:
        raise StartupError(
            f"The Bot API at {settings.telegram_base_url} rejected TELEGRAM_TOKEN ({redactor.redact(str(error))}): "
            "check the token with @BotFather (/token) and put the right one in .env."
        ) from None
    except NetworkError as error:
        raise StartupError(
            f"Could not reach the Bot API at {settings.telegram_base_url} ({redactor.redact(str(error))}): "
            "check TELEGRAM_BASE_URL and the network."
        ) from None
    except TelegramError as error:
        raise StartupError(f"The Bot API refused getMe: {redactor.redact(str(error))}") from None


def serve(settings: Settings, wenda: Wenda, startup: float | None = None) -> None:
    """Run the bot until interrupted: long polling, or a webhook server when WEBHOOK_URL is set.

    Call `preflight` first. Raises StartupError (one line) when Telegram refuses to start the bot.
    """
    options = webhook_options(settings) if settings.webhook_url else None
    redactor = redact_logs([bot_token(settings), options["secret_token"] if options else ""])
    application = build_application(settings, wenda, startup=startup)
    try:
        if options:
            log.info(
                "Webhook mode: listening on %s:%s/%s for %s",
                options["listen"],
                options["port"],
                options["url_path"],
                options["webhook_url"],
            )
            application.run_webhook(**options)
        else:
            log.info("Long polling %s", settings.telegram_base_url)
            application.run_polling(allowed_updates=ALLOWED_UPDATES)
    except TelegramError as error:  # e.g. setWebhook refused: "bad webhook: An HTTPS URL must be provided"
        raise StartupError(f"Telegram refused to start the bot: {redactor.redact(str(error))}") from None
