"""The admins' handlers (ADMIN_IDS): /reindex with progress, documents sent to the bot, /docs, /remove,
/stats."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from pathlib import Path

from telegram import Message, Update
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.config import Settings
from bot.ingest.corpus import corpus_files
from bot.ingest.loaders import UnreadableDocument
from bot.ingest.uploads import (
    Upload,
    discard,
    find_document,
    is_supported,
    list_documents,
    place_upload,
    remove_document,
    safe_name,
    stage_upload,
)
from bot.search.build import rebuild
from bot.search.errors import EmptyCorpus, IndexBusy
from bot.telegram.format import (
    escape,
    excerpt,
    format_docs,
    format_empty_corpus,
    format_exists,
    format_progress,
    format_rebuilt,
    format_remove_confirm,
    format_saved,
    format_stats,
    format_too_large,
    format_unreadable,
    format_unsupported,
)
from bot.telegram.handlers import (
    chat_of,
    drop_buttons,
    edit_quietly,
    is_group,
    refused,
    show,
    show_after_press,
)
from bot.telegram.state import BotState, Progress, Removal, state_of
from bot.telegram.texts import (
    PENDING_GONE,
    REINDEX_NOW,
    REINDEX_RUNNING,
    UPLOAD_ADMIN_ONLY,
    UPLOAD_IN_PRIVATE,
)

log = logging.getLogger(__name__)

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
