"""The application: handlers wired into python-telegram-bot's `Application`, start-up checks, log
redaction, long polling or a webhook."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from typing import Any
from urllib.parse import urlsplit

from telegram import Bot, BotCommandScopeChat, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import InvalidToken, NetworkError, TelegramError
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

from bot.answer.pipeline import Wenda
from bot.config import Settings
from bot.search.errors import IndexUnusable
from bot.search.index import Index, current_build
from bot.telegram.admin import (
    docs,
    docs_page,
    receive_document,
    reindex,
    reindex_button,
    remove,
    remove_choice,
    stats,
    upload_choice,
)
from bot.telegram.handlers import (
    ask,
    example_question,
    group_message,
    help_command,
    more_results,
    not_text,
    private_question,
    start,
    unknown_button,
    unknown_command,
)
from bot.telegram.state import BotState
from bot.telegram.texts import (
    ADMIN_COMMANDS,
    ALLOWED_UPDATES,
    APOLOGY,
    PUBLIC_COMMANDS,
    SECRET_RE,
    STATE,
    TOKEN_RE,
)

log = logging.getLogger(__name__)

class StartupError(RuntimeError):
    """The bot cannot start for a reason the user can fix; the message (one line) says how."""


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
    if state.settings.index_watch_seconds > 0:
        state.watcher = asyncio.create_task(watch_index(state), name="watch-index")


async def post_stop(application: Application) -> None:
    """Stop watching the index folder."""
    state: BotState = application.bot_data[STATE]
    if state.watcher is not None:
        state.watcher.cancel()
        state.watcher = None


async def watch_index(state: BotState) -> None:
    """Answer from the index another process made current (`wenda index`, a second bot sharing INDEX_DIR and
    Milvus), checked every INDEX_WATCH_SECONDS. Questions in flight finish on the index they started with; an
    unusable new index is logged once and the one in use keeps answering."""
    settings, refused = state.settings, None
    while True:
        await asyncio.sleep(settings.index_watch_seconds)
        build = await asyncio.to_thread(current_build, settings.index_dir)
        serving = state.wenda.index.path
        if build is None or state.reindexing or build.name == refused or (serving is not None and build.name == serving.name):
            continue
        try:
            index = await asyncio.to_thread(Index.load, settings.index_dir, True, settings)
            index.check_settings(settings)
        except IndexUnusable as error:
            refused = build.name
            log.warning("Another process made the index %s current, but it is unusable (%s); the one in use keeps answering", build.name, error)
            continue
        if state.reindexing:  # this bot's own /reindex began meanwhile: it switches when done
            continue
        state.wenda = state.wenda.with_index(index)
        log.info("Another process rebuilt the index: now answering from %s (%d passages)", index.path.name, len(index))


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
        .post_stop(post_stop)
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
