"""bot/ingest/uploads.py: safe names, staging and placing uploads, listing and removing corpus files.

Through the bot (the loopback Bot API) these are exercised in test_telegram_docs.py.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from bot.config import Settings
from bot.ingest.loaders import UnreadableDocument
from bot.ingest.uploads import (
    MAX_STEM_CHARS,
    find_document,
    free_name,
    is_supported,
    list_documents,
    place_upload,
    remove_document,
    safe_name,
    stage_upload,
    staging_dir,
)

TEXT = "第三届万州烤鱼美食节于2021年5月20日在万州江南新区开幕，吸引了来自川渝两地的60家烤鱼企业参展。\n"


@pytest.mark.parametrize(
    "given_name, expected",
    [
        ("../../evil.txt", "evil.txt"),
        ("..\\..\\evil.txt", "evil.txt"),
        ("/etc/passwd.txt", "passwd.txt"),
        ("万州 报告(1).PDF", "万州_报告_1.pdf"),
        (".hidden.md", "hidden.md"),
        ("...txt", "document.txt"),
        ("ｆｕｌｌ.txt", "full.txt"),
        ("Ünïcödé.md", "Unicode.md"),
        ("渝万高铁-2020_v2.docx", "渝万高铁-2020_v2.docx"),
    ],
)
def test_safe_name(given_name, expected):
    assert safe_name(given_name) == expected


@given(st.text(max_size=300))
def test_safe_names_stay_inside_the_folder_and_visible(name):
    assume(is_supported(name + ".txt"))  # else the bot refuses the file before naming it
    safe = safe_name(name + ".txt")
    assert safe.endswith(".txt") and not safe.startswith(".")
    assert "/" not in safe and "\\" not in safe and safe not in (".", "..")
    assert len(safe) <= MAX_STEM_CHARS + len(".txt") and len(safe.encode()) < 255
    assert all(char.isascii() and (char.isalnum() or char in "-_.") or "\u3400" <= char for char in safe)


def test_supported_types_by_suffix_case_insensitive():
    assert is_supported("报告.PDF") and is_supported("a.Md") and is_supported("x.docx")
    assert not is_supported("setup.exe") and not is_supported("README") and not is_supported(".txt")
    assert not is_supported("x／.txt")  # a full-width slash: saved as "txt", which the index would not read


@pytest.fixture
def corpus_settings(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    return Settings(_env_file=None, corpus_dir=corpus, index_dir=tmp_path / "index")


def test_an_upload_is_staged_beside_the_corpus_read_then_placed(corpus_settings):
    upload = stage_upload(TEXT.encode("gbk"), "kaoyu.txt", corpus_settings)
    assert upload.path.parent.parent == staging_dir(corpus_settings.corpus_dir)
    assert not list(corpus_settings.corpus_dir.iterdir())  # nothing in the corpus folder until placed
    assert (upload.encoding, upload.passages, upload.title) == ("gb18030", 1, "kaoyu")
    assert upload.characters == len(TEXT.strip())
    path = place_upload(upload, corpus_settings.corpus_dir)
    assert path == corpus_settings.corpus_dir.resolve() / "kaoyu.txt" and path.read_bytes() == TEXT.encode("gbk")
    assert not upload.path.parent.exists()  # the staging folder is gone


def test_unreadable_uploads_leave_nothing_behind(corpus_settings):
    with pytest.raises(UnreadableDocument):
        stage_upload(b"\x00\x01binary\x00", "x.txt", corpus_settings)
    with pytest.raises(UnreadableDocument, match="no text"):
        stage_upload("# 只有标题\n".encode(), "x.md", corpus_settings)
    assert list(staging_dir(corpus_settings.corpus_dir).iterdir()) == []


def test_placing_never_overwrites_unless_told(corpus_settings, monkeypatch):
    corpus = corpus_settings.corpus_dir
    (corpus / "kaoyu.txt").write_text("旧的。", encoding="utf-8")
    upload = stage_upload(TEXT.encode(), "kaoyu.txt", corpus_settings)
    with pytest.raises(FileExistsError):
        place_upload(upload, corpus)
    assert (corpus / "kaoyu.txt").read_text(encoding="utf-8") == "旧的。" and upload.path.exists()
    assert free_name(corpus, "kaoyu.txt") == "kaoyu-2.txt"
    assert place_upload(upload, corpus, rename=True).name == "kaoyu-2.txt"

    def no_hard_links(source, target):
        raise PermissionError("no hard links here")

    monkeypatch.setattr(os, "link", no_hard_links)  # the fallback keeps the promise too
    upload = stage_upload(TEXT.encode(), "kaoyu.txt", corpus_settings)
    with pytest.raises(FileExistsError):
        place_upload(upload, corpus)
    place_upload(upload, corpus, overwrite=True)
    assert (corpus / "kaoyu.txt").read_text(encoding="utf-8") == TEXT


def test_list_find_and_remove(corpus_settings, tmp_path):
    corpus = corpus_settings.corpus_dir
    (corpus / "a.txt").write_text(TEXT, encoding="utf-8")
    (corpus / "sub").mkdir()
    (corpus / "sub" / "b.md").write_text(TEXT, encoding="utf-8")
    (tmp_path / "outside.txt").write_text(TEXT, encoding="utf-8")
    (corpus / "elsewhere").symlink_to(tmp_path, target_is_directory=True)
    stat = (corpus / "a.txt").stat()
    manifest = {
        "documents": {
            "a.txt": {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "passages": 1},
            "gone.txt": {"size": 10, "mtime_ns": 0, "passages": 2},
        }
    }
    listed = {info.doc_id: info.status for info in list_documents(corpus, manifest)}
    assert listed["a.txt"] == "indexed" and listed["sub/b.md"] == "new" and listed["gone.txt"] == "gone"

    for outside in ("../outside.txt", "elsewhere/outside.txt", "/etc/hosts", "sub/../a.txt", "nope.txt", ""):
        assert find_document(corpus, outside) is None
        with pytest.raises(FileNotFoundError):
            remove_document(corpus, outside)
    assert (tmp_path / "outside.txt").exists()
    remove_document(corpus, "sub/b.md")
    assert not (corpus / "sub" / "b.md").exists() and (corpus / "a.txt").exists()
