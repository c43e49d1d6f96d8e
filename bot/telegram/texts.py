"""The bot's words and limits: every message text, button label, clipping budget and command list."""

from __future__ import annotations

import re

from telegram import BotCommand, Update

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
THANKS = "不客气！还有问题，直接发给我就行。"
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
