"""Routing and the question handlers: who is asking what, answered in a worker thread, edited or sent."""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import logging
import re
import time

from telegram import InlineKeyboardMarkup, Message, MessageEntity, Update
from telegram.constants import ChatType
from telegram.error import BadRequest, TelegramError
from telegram.ext import ContextTypes

from bot.answer.question import MAX_QUESTIONS_PER_MESSAGE, has_words, small_talk, split_questions
from bot.telegram.format import (
    escape,
    format_answer,
    format_page,
    format_welcome,
    hint_empty,
    hint_flood,
    hint_not_text,
    hint_too_long,
    hint_too_many,
    parse_more,
)
from bot.telegram.state import state_of
from bot.telegram.texts import ADMIN_ONLY, BUTTON_GONE, EXPIRED, THANKS, UNKNOWN_COMMAND

log = logging.getLogger(__name__)

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
# for all waiting questions together (bot.search.embedding.QueryBatcher), so more threads make bigger,
# cheaper batches; asyncio's default pool has 6 on 2 cores. Measured, 50 users asking at once
# (benchmarks/telegram_load.py): the slowest replies 1.1-1.2 s with 6 threads, 0.6-0.9 s with 32.
ANSWER_THREADS = 32


@functools.cache
def answerers() -> concurrent.futures.ThreadPoolExecutor:
    return concurrent.futures.ThreadPoolExecutor(ANSWER_THREADS, thread_name_prefix="answer")


async def answer_question(
    update: Update, context: ContextTypes.DEFAULT_TYPE, question: str, show_question: bool = False
) -> None:
    """Check the question, answer it off the event loop, remember it for paging, reply (a reply to each question
    when the message asks several)."""
    state = state_of(context)
    question = question.strip()
    if not has_words(question):  # nothing, or only marks and emoji
        await reply(update, context, hint_empty(state.example))
        return
    if len(question) > state.settings.max_question_chars:
        await reply(update, context, hint_too_long(len(question), state.settings.max_question_chars))
        return
    talk = small_talk(question)  # 你好 / 谢谢 / help: no document answers these; reply in kind, not "not found"
    if talk == "thanks":
        await reply(update, context, THANKS)
        return
    if talk is not None:
        welcome = format_welcome(state.wenda.index, state.settings.example_questions, full=talk == "help")
        await reply(update, context, welcome.text, welcome.keyboard)
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
    # Several questions in one message (`…何时开工？…要多久？`) get a reply each, each saying which it answers.
    questions = split_questions(question)
    for asked in questions[:MAX_QUESTIONS_PER_MESSAGE]:
        started = time.perf_counter()
        answer = await asyncio.get_running_loop().run_in_executor(answerers(), wenda.answer, asked)
        seconds = time.perf_counter() - started
        state.stats.record(answer.found, seconds)
        log.debug("Answered user %s in %.0f ms (found: %s)", user_id, seconds * 1000, answer.found)
        formatted = format_answer(answer, state.answers.add(answer), show_question or len(questions) > 1)
        await reply(update, context, formatted.text, formatted.keyboard)
    if len(questions) > MAX_QUESTIONS_PER_MESSAGE:
        await reply(update, context, hint_too_many(len(questions), MAX_QUESTIONS_PER_MESSAGE))


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
