"""Admins manage the corpus from Telegram: uploads, /docs, /remove — the real bot against the loopback Bot API.

Each test gets its own corpus folder in tmp_path (a copy of the shipped document) and its own index,
whose embedding cache is the session's, so rebuilding after an upload or a removal takes seconds.
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
import threading

import pytest
from reportlab.pdfgen import canvas

import bot.telegram.admin
from bot.answer.pipeline import Wenda
from bot.search.build import rebuild
from bot.telegram import (
    ADMIN_ONLY,
    CANCEL,
    CONFIRM_REMOVE,
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
from tests.conftest import corpus_copy
from tests.telegram.fake_botapi import FakeBotAPI
from tests.telegram.test_app import (
    ADMIN,
    GROUP,
    NEW_DOCUMENT,
    NEW_QUESTION,
    USER,
    ask,
    bot_settings,
    buttons,
    gated_rebuild,
    press,
    press_on_inaccessible,
    running,
    settle,
    texts,
)

# Its own last sentence keeps its passage out of the session's embedding cache whatever ran before (the e2e
# tests index NEW_DOCUMENT alone), so the reindex below must embed exactly this one passage.
KAOYU_MD = "# 万州烤鱼美食节\n\n" + NEW_DOCUMENT + "美食节期间，江南新区夜市专区每晚开放至零点。\n"
SHIPPED = "wanzhou-2020-12.txt"


@pytest.fixture
def server():
    with FakeBotAPI() as srv:
        yield srv


@pytest.fixture
def library(tmp_path, settings, embedder, wenda):  # wenda: the session cache the copy shares exists
    """`make(extra)`: a corpus folder in tmp_path (the shipped document as wanzhou.txt, plus `extra`
    files) with its own index sharing the session's embedding cache; returns (settings, Wenda)."""

    def make(extra: dict[str, str] | None = None) -> tuple:
        own = corpus_copy(tmp_path, settings, extra)
        index, _ = rebuild(own, embedder)
        return own, Wenda(own, embedder, index)

    return make


async def upload(server: FakeBotAPI, user: int, name: str, data: bytes, contains: str) -> dict:
    """Send a document and wait for the bot's reply (or the edit of its status message) containing `contains`."""
    mark = len(server.calls)
    server.send_document(user, name, data)
    return await server.wait_for_message_async(user, contains=contains, since=mark)


def downloads(server: FakeBotAPI) -> int:
    return sum(call.method == "getFile" for call in server.calls)


def staged(tmp_path) -> list:
    """What is left in the staging folder beside the corpus."""
    folder = tmp_path / "tmp"
    return sorted(folder.rglob("*")) if folder.exists() else []


def blank_pdf() -> bytes:
    """A PDF whose one page holds just a rectangle: no text layer."""
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer)
    pdf.rect(100, 100, 200, 200)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


# -- uploads ---------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_an_admin_uploads_a_document_then_reindexes_and_it_answers(server, library, tmp_path):
    own, own_wenda = library()
    async with running(bot_settings(own, server), own_wenda, progress_interval=0.05) as application:
        assert NOT_FOUND in (await ask(server, USER, NEW_QUESTION))["text"]

        saved = await upload(server, ADMIN, "烤鱼节.md", KAOYU_MD.encode(), contains="已保存")
        lines = saved["text"].splitlines()
        assert "烤鱼节.md" in lines[0]
        assert "标题：万州烤鱼美食节" in lines and "字符：" in lines[2] and "将生成 1 个段落" in lines[2]
        assert lines[3].startswith("编码：utf-8")
        assert list(buttons(saved)) == [REINDEX_NOW]
        assert (own.corpus_dir / "烤鱼节.md").read_bytes() == KAOYU_MD.encode()
        assert staged(tmp_path) == []

        mark = len(server.calls)
        await press(server, ADMIN, saved, REINDEX_NOW)
        done = await server.wait_for_message_async(ADMIN, contains="索引已重建并启用", since=mark)
        history = server.text_history(ADMIN, done["message_id"])
        assert history[0].startswith("正在重建索引") and "2 篇文档" in history[-1]
        assert "新计算向量 1 个" in history[-1]  # incremental: the shipped document's vectors were cached
        assert "reply_markup" not in server.sent_messages(ADMIN)[0]  # no second press on the old button

        answer = await ask(server, USER, NEW_QUESTION)
        assert "5月20日" in answer["text"] and "出处：万州烤鱼美食节" in answer["text"]
        assert set(application.bot_data[STATE].wenda.index.documents) == {"wanzhou.txt", "烤鱼节.md"}
    assert server.errors == []


@pytest.mark.asyncio
async def test_an_upload_whose_name_exists_asks_before_overwriting(server, library, tmp_path):
    own, own_wenda = library()
    original = (own.corpus_dir / "wanzhou.txt").read_bytes()
    new = NEW_DOCUMENT.encode()
    async with running(bot_settings(own, server), own_wenda) as application:
        question = await upload(server, ADMIN, "wanzhou.txt", new, contains="已经有「wanzhou.txt」")
        assert list(buttons(question)) == [OVERWRITE, SAVE_AS_NEW, CANCEL]
        assert all(len(data.encode()) <= 64 for data in buttons(question).values())
        assert len(staged(tmp_path)) == 2  # the upload waits in its staging folder, not in the corpus

        await press(server, ADMIN, question, CANCEL)
        await server.wait_for_message_async(ADMIN, contains="已取消")
        assert (own.corpus_dir / "wanzhou.txt").read_bytes() == original and staged(tmp_path) == []

        question = await upload(server, ADMIN, "wanzhou.txt", new, contains="已经有")
        await press(server, ADMIN, question, SAVE_AS_NEW)
        saved = await server.wait_for_message_async(ADMIN, contains="已保存「wanzhou-2.txt」")
        assert "标题：wanzhou-2" in saved["text"] and list(buttons(saved)) == [REINDEX_NOW]
        assert (own.corpus_dir / "wanzhou-2.txt").read_bytes() == new
        assert (own.corpus_dir / "wanzhou.txt").read_bytes() == original

        question = await upload(server, ADMIN, "wanzhou.txt", new, contains="已经有")
        await press(server, ADMIN, question, OVERWRITE)
        await server.wait_for_message_async(ADMIN, contains="覆盖了原来的文件")
        assert (own.corpus_dir / "wanzhou.txt").read_bytes() == new and staged(tmp_path) == []

        application.bot_data[STATE].pending.seconds = 0  # a question nobody answers in time expires
        question = await upload(server, ADMIN, "wanzhou.txt", original, contains="已经有")
        answered = await press(server, ADMIN, question, OVERWRITE)
        assert answered["text"] == PENDING_GONE
        await server.wait_for_async("editMessageReplyMarkup")
        assert (own.corpus_dir / "wanzhou.txt").read_bytes() == new and staged(tmp_path) == []
    assert server.errors == []


@pytest.mark.asyncio
async def test_an_uploads_token_does_not_work_a_removal_button_nor_the_other_way_round(server, library, tmp_path):
    """Uploads and removals wait under tokens of one space: a button of one kind carrying the other's token
    (a forged or stale callback) is answered as gone and takes nothing."""
    own, own_wenda = library({"kaoyu.txt": NEW_DOCUMENT})
    async with running(bot_settings(own, server), own_wenda):
        question = await upload(server, ADMIN, "wanzhou.txt", NEW_DOCUMENT.encode(), contains="已经有")
        upload_token = buttons(question)[OVERWRITE].split(":")[1]
        confirm = await ask(server, ADMIN, "/remove kaoyu.txt", contains="确定删除")
        removal_token = buttons(confirm)[CONFIRM_REMOVE].split(":")[1]
        for data in (f"rm:{upload_token}:y", f"up:{removal_token}:o"):
            query_id = press_on_inaccessible(server, ADMIN, ADMIN, confirm["message_id"], data)
            call = await server.wait_for_async(
                lambda c, query_id=query_id: c.method == "answerCallbackQuery" and c.params["callback_query_id"] == query_id
            )
            assert call.params["text"] == PENDING_GONE
        assert (own.corpus_dir / "kaoyu.txt").exists()
        await press(server, ADMIN, question, CANCEL)  # each still waits for its own buttons
        await server.wait_for_message_async(ADMIN, contains="已取消：新文件没有保存")
        await press(server, ADMIN, confirm, CANCEL)
        await server.wait_for_message_async(ADMIN, contains="已取消，「kaoyu.txt」保留")
    assert server.errors == []


@pytest.mark.asyncio
async def test_reindex_of_a_corpus_without_text_says_what_to_do_in_chinese(server, library):
    own, own_wenda = library()
    (own.corpus_dir / "wanzhou.txt").unlink()
    (own.corpus_dir / "扫描件.pdf").write_bytes(b"%PDF-1.4 not really a pdf")
    async with running(bot_settings(own, server), own_wenda) as application:
        mark = len(server.calls)
        server.send_command(ADMIN, "/reindex")
        summary = await server.wait_for_message_async(ADMIN, contains="没有可读的文本", since=mark)
        assert "1 个文件无法读取" in summary["text"] and "旧索引继续使用" in summary["text"]
        assert "No text" not in summary["text"] and "previous index" not in summary["text"]  # no English inside
        assert application.bot_data[STATE].wenda is own_wenda
        await ask(server, USER, "渝万高铁何时开工", contains="11月9日")
    assert server.errors == []


@pytest.mark.asyncio
async def test_a_path_in_the_file_name_cannot_leave_the_corpus_folder(server, library, tmp_path):
    own, own_wenda = library()
    async with running(bot_settings(own, server), own_wenda):
        saved = await upload(server, ADMIN, "../../evil.txt", NEW_DOCUMENT.encode(), contains="已保存")
        assert "「evil.txt」" in saved["text"]
        saved = await upload(server, ADMIN, ".hidden 报告(1).TXT", NEW_DOCUMENT.encode(), contains="已保存")
        assert "「hidden_报告_1.txt」" in saved["text"]
    assert sorted(path.name for path in own.corpus_dir.iterdir()) == ["evil.txt", "hidden_报告_1.txt", "wanzhou.txt"]
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path.parent / "evil.txt").exists()
    assert server.errors == []


@pytest.mark.asyncio
async def test_wrong_type_too_large_and_unreadable_uploads_are_refused_with_the_reason(server, library, tmp_path):
    own, own_wenda = library()
    tiny = bot_settings(own, server, max_upload_mb=0.01)  # 10,485 bytes
    async with running(tiny, own_wenda):
        refused = await upload(server, ADMIN, "setup.EXE", b"MZ\x90\x00", contains="不能添加")
        assert refused["text"].count("\n") == 0 and ".exe" in refused["text"]
        assert all(suffix in refused["text"] for suffix in (".txt", ".md", ".docx", ".pdf", ".html"))

        big = ("渝万高铁正式开工建设。" * 1000).encode()
        refused = await upload(server, ADMIN, "big.txt", big, contains="文件太大")
        assert "0.01 MB" in refused["text"] and "MAX_UPLOAD_MB" in refused["text"]
        assert downloads(server) == 0  # both refused before downloading anything

        # Without Telegram's file_size the real byte count decides.
        file = server.register_file(big, "big.txt")
        mark = len(server.calls)
        server._incoming(ADMIN, None, "private", "Test", None, {"document": {
            "file_name": "big.txt", "file_id": file["file_id"], "file_unique_id": file["file_unique_id"]}})
        await server.wait_for_message_async(ADMIN, contains="文件太大", since=mark)

        refused = await upload(server, ADMIN, "scan.pdf", blank_pdf(), contains="无法读取")
        assert "「scan.pdf」" in refused["text"] and "no text layer" in refused["text"] and "没有保存" in refused["text"]

        saved = await upload(server, ADMIN, "gbk.txt", NEW_DOCUMENT.encode("gbk"), contains="已保存")
        assert "编码：gb18030" in saved["text"] and "将生成 1 个段落" in saved["text"]
    assert sorted(path.name for path in own.corpus_dir.iterdir()) == ["gbk.txt", "wanzhou.txt"]
    assert staged(tmp_path) == []
    assert server.errors == []


@pytest.mark.asyncio
async def test_others_uploads_are_refused_and_groups_are_not_the_place(server, library, tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="bot.telegram")
    own, own_wenda = library()
    async with running(bot_settings(own, server), own_wenda) as application:
        refusal = await upload(server, USER, "kaoyu.txt", NEW_DOCUMENT.encode(), contains="")
        assert refusal["text"] == UPLOAD_ADMIN_ONLY

        mark = len(server.calls)
        server.send_document(ADMIN, "kaoyu.txt", NEW_DOCUMENT.encode(), chat_id=GROUP, chat_type="supergroup")
        await settle(server, application)
        assert texts(server, GROUP, mark) == []  # a document in a group is chatter ...
        server.send_command(ADMIN, "/ask@wenda_test_bot 渝万高铁何时开工", chat_id=GROUP)
        answer = await server.wait_for_message_async(GROUP, contains="11月9日", since=mark)
        file = server.register_file(NEW_DOCUMENT.encode(), "kaoyu.txt")
        mark = len(server.calls)
        document = {"file_name": "kaoyu.txt", "file_id": file["file_id"], "file_unique_id": file["file_unique_id"]}
        server._incoming(ADMIN, GROUP, "supergroup", "Test", None, {"document": document}, reply_to_message=answer)
        hint = await server.wait_for_message_async(GROUP, since=mark)  # ... unless it is meant for the bot
        assert hint["text"] == UPLOAD_IN_PRIVATE
        assert downloads(server) == 0
    assert [path.name for path in own.corpus_dir.iterdir()] == ["wanzhou.txt"] and staged(tmp_path) == []
    refused = [r.getMessage() for r in caplog.records if "Refused" in r.getMessage()]
    assert refused == [f"Refused a document upload from user {USER} (not in ADMIN_IDS)"]
    assert server.errors == []


# -- /docs -----------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_docs_lists_the_shipped_document_with_its_passages(server, settings, wenda):
    passages = wenda.index.documents[SHIPPED]["passages"]
    async with running(bot_settings(settings, server), wenda):
        admin_menu = server.commands({"type": "chat", "chat_id": ADMIN})
        assert [c["command"] for c in admin_menu][-2:] == ["docs", "remove"]
        listing = await ask(server, ADMIN, "/docs", contains="资料库文档")
        lines = listing["text"].splitlines()
        assert lines[0] == "资料库文档：1 篇（第 1/1 页）"
        assert lines[1] == f"1. {SHIPPED}" and any(e["type"] == "code" for e in listing["entities"])
        assert re.fullmatch(rf"    \d+\.\d KB · {passages} 个段落 · \d{{4}}-\d\d-\d\d \d\d:\d\d", lines[2])
        assert "/remove" in lines[-1] and "reply_markup" not in listing
        assert (await ask(server, USER, "/docs"))["text"] == ADMIN_ONLY
    assert server.errors == []


@pytest.mark.asyncio
async def test_docs_pages_ten_at_a_time_and_marks_documents_not_yet_indexed(server, library):
    own, own_wenda = library()
    for number in range(1, 12):
        (own.corpus_dir / f"note{number:02d}.txt").write_text(NEW_DOCUMENT, encoding="utf-8")
    async with running(bot_settings(own, server), own_wenda):
        first = await ask(server, ADMIN, "/docs", contains="资料库文档")
        assert "12 篇（第 1/2 页）" in first["text"] and "10. note10.txt" in first["text"]
        assert "11." not in first["text"] and "未索引" in first["text"] and "/reindex" in first["text"]
        assert list(buttons(first)) == ["下一页"]

        await press(server, ADMIN, first, "下一页")
        second = await server.wait_for_message_async(ADMIN, contains="第 2/2 页")
        assert second["message_id"] == first["message_id"]
        assert "11. note11.txt" in second["text"] and "12. wanzhou.txt" in second["text"]
        assert list(buttons(second)) == ["上一页"]

        older = await ask(server, ADMIN, "/docs", contains="资料库文档")  # a later listing ...
        mark = len(server.calls)
        await press(server, ADMIN, second, "上一页")  # ... and the older one still pages
        await server.wait_for_async(
            lambda c: c.method == "editMessageText" and "第 1/2 页" in c.params["text"], since=mark
        )
        assert older["message_id"] != first["message_id"]
    assert server.errors == []


# -- /remove ---------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_remove_asks_then_deletes_the_file_and_reindexes(server, library, tmp_path):
    own, own_wenda = library({"kaoyu.txt": NEW_DOCUMENT})
    async with running(bot_settings(own, server), own_wenda, progress_interval=0.05) as application:
        assert "5月20日" in (await ask(server, USER, NEW_QUESTION))["text"]

        confirm = await ask(server, ADMIN, "/remove kaoyu.txt", contains="确定删除")
        assert "「kaoyu.txt」（1 个段落）" in confirm["text"]
        assert list(buttons(confirm)) == [CONFIRM_REMOVE, CANCEL]
        await press(server, ADMIN, confirm, CANCEL)
        await server.wait_for_message_async(ADMIN, contains="已取消")
        assert (own.corpus_dir / "kaoyu.txt").exists()

        confirm = await ask(server, ADMIN, "/remove kaoyu.txt", contains="确定删除")
        mark = len(server.calls)
        await press(server, ADMIN, confirm, CONFIRM_REMOVE)
        await server.wait_for_message_async(ADMIN, contains="已删除「kaoyu.txt」")  # the question, edited
        done = await server.wait_for_message_async(ADMIN, contains="索引已重建并启用", since=mark)
        assert "1 篇文档" in done["text"] and "新计算向量 0 个" in done["text"]
        assert not (own.corpus_dir / "kaoyu.txt").exists()
        assert set(application.bot_data[STATE].wenda.index.documents) == {"wanzhou.txt"}

        answer = await ask(server, USER, NEW_QUESTION)
        assert "5月20日" not in answer["text"] and "kaoyu" not in answer["text"]

        last = await ask(server, ADMIN, "/remove wanzhou.txt")
        assert "唯一的文档" in last["text"] and (own.corpus_dir / "wanzhou.txt").exists()
    assert server.errors == []


@pytest.mark.asyncio
async def test_remove_unknown_names_paths_outside_and_others(server, library, tmp_path):
    own, own_wenda = library()
    (tmp_path / "outside.txt").write_text(NEW_DOCUMENT, encoding="utf-8")
    async with running(bot_settings(own, server), own_wenda):
        for name in ("nope.txt", "../outside.txt", str(tmp_path / "outside.txt"), "WANZHOU.TXT"):
            unknown = await ask(server, ADMIN, f"/remove {name}")
            assert unknown["text"].startswith("没有名为") and "/docs" in unknown["text"]
        assert "用法：/remove 文件名" in (await ask(server, ADMIN, "/remove"))["text"]
        assert (await ask(server, USER, "/remove wanzhou.txt"))["text"] == ADMIN_ONLY
    assert (tmp_path / "outside.txt").exists() and (own.corpus_dir / "wanzhou.txt").exists()
    assert server.errors == []


@pytest.mark.asyncio
async def test_a_removal_waits_for_a_running_rebuild(server, library, monkeypatch):
    own, own_wenda = library({"kaoyu.txt": NEW_DOCUMENT})
    release = threading.Event()
    monkeypatch.setattr(bot.telegram.admin, "rebuild", gated_rebuild(release))
    async with running(bot_settings(own, server), own_wenda, progress_interval=0.05) as application:
        confirm = await ask(server, ADMIN, "/remove kaoyu.txt", contains="确定删除")
        mark = len(server.calls)
        server.send_command(ADMIN, "/reindex")
        await server.wait_for_message_async(ADMIN, contains="读取文档 0/2", since=mark)
        answered = await press(server, ADMIN, confirm, CONFIRM_REMOVE)
        assert answered["text"] == REINDEX_RUNNING and (own.corpus_dir / "kaoyu.txt").exists()
        release.set()
        await server.wait_for_message_async(ADMIN, contains="索引已重建并启用", since=mark)
        while application.bot_data[STATE].reindexing:  # the summary is sent just before the slot is given back
            await asyncio.sleep(0.01)

        mark = len(server.calls)
        await press(server, ADMIN, server.sent_messages(ADMIN)[0], CONFIRM_REMOVE)  # the buttons stayed
        await server.wait_for_message_async(ADMIN, contains="索引已重建并启用", since=mark)
        assert not (own.corpus_dir / "kaoyu.txt").exists()
    assert server.errors == []
