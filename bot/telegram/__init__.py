"""Telegram handlers: format and route only; every answer comes from `Wenda.answer`, like the CLI's.

    build_application(settings, wenda)  ->  a python-telegram-bot `Application` (app.py) with
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

The package, in the order a message travels: `texts` (every word the bot says, and its limits),
`format` (pure: an `Answer` in, HTML and a keyboard out), `state` (what the handlers share),
`handlers` (questions: routing, answering in worker threads, paging), `admin` (/reindex, documents,
/docs, /remove, /stats), `app` (the `Application`, start-up checks, log redaction, polling or webhook).
"""

from bot.telegram.app import (
    RedactSecrets,
    StartupError,
    build_application,
    check_settings,
    preflight,
    serve,
    webhook_options,
)
from bot.telegram.format import (
    excerpt,
    flatten,
    format_answer,
    format_page,
    format_progress,
    format_rebuilt,
    format_stats,
    format_welcome,
    highlight,
    more_data,
    parse_more,
)
from bot.telegram.handlers import addressed_question
from bot.telegram.state import FloodGate, RecentAnswers, Stats
from bot.telegram.texts import (
    ADMIN_ONLY,
    ALLOWED_UPDATES,
    APOLOGY,
    CANCEL,
    CONFIRM_REMOVE,
    EXPIRED,
    MORE,
    NOT_FOUND,
    OVERWRITE,
    PENDING_GONE,
    REINDEX_NOW,
    REINDEX_RUNNING,
    SAVE_AS_NEW,
    STATE,
    UPLOAD_ADMIN_ONLY,
    UPLOAD_IN_PRIVATE,
)

__all__ = [
    "ADMIN_ONLY", "ALLOWED_UPDATES", "APOLOGY", "CANCEL", "CONFIRM_REMOVE", "EXPIRED", "MORE", "NOT_FOUND",
    "OVERWRITE", "PENDING_GONE", "REINDEX_NOW", "REINDEX_RUNNING", "SAVE_AS_NEW", "STATE", "UPLOAD_ADMIN_ONLY",
    "UPLOAD_IN_PRIVATE", "FloodGate", "RecentAnswers", "RedactSecrets", "StartupError", "Stats",
    "addressed_question", "build_application", "check_settings", "excerpt", "flatten", "format_answer",
    "format_page", "format_progress", "format_rebuilt", "format_stats", "format_welcome", "highlight",
    "more_data", "parse_more", "preflight", "serve", "webhook_options",
]
