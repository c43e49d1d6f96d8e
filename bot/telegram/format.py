"""Formatting, pure functions: an `Answer` (or a list, a report) in, escaped HTML and a keyboard out.

Every field is clipped as plain text, then escaped, so a cut never lands inside a tag or an entity,
and every reply stays far below Telegram's 4,096 characters."""

from __future__ import annotations

import html
import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.answer.pipeline import Answer
from bot.ingest.uploads import DocumentInfo, Upload, supported_types
from bot.search.build import BuildReport
from bot.search.index import Hit, Index
from bot.telegram.state import Stats
from bot.telegram.texts import (
    ANSWER_CHARS,
    CANCEL,
    CONFIRM_REMOVE,
    DOCS_PAGE_SIZE,
    MAX_EXAMPLES,
    MORE,
    NOT_FOUND,
    OVERWRITE,
    PAGE_SIZE,
    PASSAGE_CHARS,
    PENDING_SECONDS,
    QUESTION_CLIP_CHARS,
    REINDEX_NOW,
    RELATED,
    RELATED_CHARS,
    RELATED_SHOWN,
    SAVE_AS_NEW,
    SENTENCE_CHARS,
    SOURCE_CHARS,
)

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
    """The reply to a question: the answer in bold, its sentence with the answer highlighted, the source (first,
    when typing slips were put right, the question as it was read).

    Without an answer in the corpus: says so, then the closest passages as "可能相关".
    """
    lines = []
    if show_question:
        lines.append(f"问：{escape(excerpt(answer.question, QUESTION_CLIP_CHARS))}")
    if answer.read_as:  # typing slips put right (万洲 -> 万州): say how the question was read
        lines.append(f"<i>按「{escape(excerpt(answer.read_as, QUESTION_CLIP_CHARS))}」理解</i>")
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


def hint_too_many(asked: int, answered: int) -> str:
    return f"这条消息里有 {asked} 个问题，只回答了前 {answered} 个。其余的请分开再问。"


def hint_flood(seconds: float) -> str:
    return f"你问得太快了，请 {max(1, round(seconds))} 秒后再问。"
