"""The `wenda` command in a subprocess, as users and scripts run it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import free_port


def wenda(args, env, stdin=None, timeout=180):
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )


def test_ask_json_answers_the_railway_question(cli_env):
    result = wenda(["ask", "--json", "渝万高铁何时开工"], cli_env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    answer = json.loads(lines[0])
    assert set(answer) >= {"question", "found", "answer", "sentence", "passages"}
    assert answer["found"] is True and answer["read_as"] is None
    assert "11月9日" in answer["sentence"] and "11月9日" in answer["answer"]
    first = answer["passages"][0]
    assert set(first) >= {"doc", "title", "section", "text", "score"}
    assert first["doc"] == "wanzhou-2020-12.txt"
    assert first["section"] == "构筑立体交通枢纽 提升互联互通水平"
    assert 0.0 <= first["score"] <= 1.0


def test_ask_prints_the_answer_then_its_sentence_and_source(cli_env):
    result = wenda(["ask", "渝万高铁何时开工"], cli_env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "答：11月9日"  # on its own line, piped or not
    assert lines[1] == "11月9日，渝万高铁正式开工建设，万州到重庆主城的车程将缩短至50分钟。"
    assert lines[2] == "  — wanzhou-2020-12 · 构筑立体交通枢纽 提升互联互通水平"


def test_ask_says_how_a_question_with_typing_slips_was_read(cli_env):
    result = wenda(["ask", "万洲的五大重点产业是什么"], cli_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[:2] == ["（按「万州的五大重点产业是什么」理解）", "答：绿色照明、智能装备、食品医药、汽车、新材料"]
    typed = json.loads(wenda(["ask", "--json", "万洲的五大重点产业是什么"], cli_env).stdout)
    assert typed["question"] == "万洲的五大重点产业是什么" and typed["read_as"] == "万州的五大重点产业是什么"


def test_ask_answers_each_question_of_a_message_that_asks_several(cli_env):
    message = "渝万高铁何时开工？三峡应急医院什么时候开工？"
    lines = wenda(["ask", "--json", message], cli_env).stdout.strip().splitlines()
    assert [json.loads(line)["answer"] for line in lines] == ["11月9日", "2月"]
    text = wenda(["ask", message], cli_env).stdout.splitlines()
    assert text[0] == "问：渝万高铁何时开工？" and text[1] == "答：11月9日" and "问：三峡应急医院什么时候开工？" in text


def test_ask_says_why_a_question_was_not_searched(cli_env):
    result = wenda(["ask", "渝万高铁何时开工" * 100], cli_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("未找到答案: the question is 800 characters long: ask one short question (at most 500).")


def test_repl_answers_with_its_evidence_and_counts_in_words(cli_env):
    result = wenda(["repl"], cli_env, stdin="渝万高铁何时开工\n？？？\n万洲的五大重点产业是什么\n:quit\n")
    assert result.returncode == 0, result.stderr
    assert "wenda repl · 1 document, " in result.stdout  # not "1 documents"
    assert "答: 11月9日" in result.stdout and "reader margin +" in result.stdout
    assert "读作: 万州的五大重点产业是什么\n答: 绿色照明" in result.stdout  # a typing slip put right, and said so
    # Marks alone are not searched, and say so without figures of a search that did not happen.
    assert "未找到答案 (no answer in the corpus: the question has no words to search for)" in result.stdout
    assert "cosine 0.000" not in result.stdout


def test_repl_takes_the_words_a_new_user_types_first(cli_env):
    result = wenda(["repl"], cli_env, stdin="help\n渝万高铁何时开工\nexit\n北京冬奥会什么时候开幕\n")
    assert result.returncode == 0, result.stderr
    assert ":k N" in result.stdout and "答: 11月9日" in result.stdout  # `help` shows the commands, not a search
    assert "未找到答案" not in result.stdout  # `exit` left before the next question


def test_ask_reads_questions_from_stdin_one_per_line(cli_env):
    stdin = "渝万高铁何时开工\n\n三峡综合物流枢纽初期投资多少钱？\n北京冬奥会什么时候开幕？\n"
    result = wenda(["ask", "--json"], cli_env, stdin=stdin)
    assert result.returncode == 0, result.stderr
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert [a["question"] for a in answers] == ["渝万高铁何时开工", "三峡综合物流枢纽初期投资多少钱？", "北京冬奥会什么时候开幕？"]
    assert "11月9日" in answers[0]["sentence"]
    assert "15亿元" in answers[1]["sentence"]
    assert answers[2]["found"] is False and answers[2]["answer"] is None


def test_bad_input_gets_a_one_line_message(cli_env, tmp_path):
    empty = wenda(["ask", "   "], cli_env)
    assert empty.returncode == 2 and "question is empty" in empty.stderr and "Traceback" not in empty.stderr
    env = dict(cli_env, CORPUS_DIR=str(tmp_path / "missing"), INDEX_DIR=str(tmp_path / "index"))
    missing = wenda(["index"], env)
    assert missing.returncode == 2 and "does not exist" in missing.stderr and "Traceback" not in missing.stderr
    bad = wenda(["ask", "x"], dict(cli_env, TOP_K="lots"))
    assert bad.returncode == 2 and "TOP_K" in bad.stderr


def test_errors_that_need_no_model_come_before_it_loads(cli_env, tmp_path):
    """A model that cannot load would be the error if it loaded first: each error below names its own cause."""
    (tmp_path / "empty").mkdir()
    (tmp_path / "a.txt").write_text("一个文件。", encoding="utf-8")
    env = dict(cli_env, EMBEDDING_MODEL=str(tmp_path / "no-such-model"), INDEX_DIR=str(tmp_path / "index"))
    cases = [
        (["ask", ""], "question is empty"),
        (["ask", "--corpus", str(tmp_path / "nonexistent"), "x"], "does not exist"),
        (["ask", "--corpus", str(tmp_path / "a.txt"), "x"], "is a file, not a folder"),
        (["ask", "--corpus", str(tmp_path / "empty"), "x"], "holds no documents"),
        (["index", "--corpus", str(tmp_path / "empty")], "holds no documents"),
        (["ask", "-k", "0", "x"], "argument -k: expected 1 to 100 passages, not 0"),
        (["ask", "-k", "-1", "x"], "argument -k: expected 1 to 100 passages, not -1"),
        (["ask", "-k", "many", "x"], "argument -k: expected a whole number of passages"),
    ]
    for args, message in cases:
        result = wenda(args, env)
        assert result.returncode == 2 and message in result.stderr, (args, result.stderr)
        assert "building it" not in result.stderr and "previous index" not in result.stderr and ".env" not in result.stderr
        assert "Traceback" not in result.stderr and "no-such-model" not in result.stderr


def test_a_file_the_build_skipped_is_not_reported_as_new_until_it_changes(cli_env, tmp_path, settings):
    from tests.conftest import corpus_copy

    own = corpus_copy(tmp_path, settings)
    fake = own.corpus_dir / "scan.pdf"
    fake.write_bytes(b"not a pdf at all")
    env = dict(cli_env, CORPUS_DIR=str(own.corpus_dir), INDEX_DIR=str(own.index_dir))
    built = wenda(["index", "-q"], env)
    assert built.returncode == 0 and "skipped scan.pdf" in built.stderr and "Indexed 1 document, " in built.stderr
    asked = wenda(["ask", "渝万高铁何时开工"], env)
    assert asked.returncode == 0 and "corpus changed" not in asked.stderr
    fake.write_bytes(b"still not a pdf, but another file")
    asked = wenda(["ask", "渝万高铁何时开工"], env)
    assert "The corpus changed since the index was built (1 changed)" in asked.stderr
    fake.unlink()
    asked = wenda(["ask", "渝万高铁何时开工"], env)
    assert "corpus changed" not in asked.stderr  # the index never held it


def test_index_prepares_the_english_dictionary_in_wenda_cache_dir(cli_env, tmp_path, settings):
    from tests.conftest import corpus_copy

    own = corpus_copy(tmp_path, settings)
    cache = tmp_path / "cache"
    env = dict(cli_env, CORPUS_DIR=str(own.corpus_dir), INDEX_DIR=str(own.index_dir), WENDA_CACHE_DIR=str(cache))
    assert wenda(["index", "-q"], env).returncode == 0
    assert [path.suffix for path in cache.glob("cedict-en-zh-*")] == [".pickle"]


@pytest.mark.parametrize("command", ["index", "ask", "repl", "eval"])
def test_every_command_has_help(command):
    result = subprocess.run([sys.executable, "-m", "bot.cli", command, "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "usage: wenda" in result.stdout


@pytest.mark.parametrize("command", [["ask", "渝万高铁何时开工"], ["index"]])
def test_an_unreachable_milvus_is_one_line_before_any_model_loads(tmp_path, cli_env, command):
    pytest.importorskip("pymilvus", reason="the Milvus backend needs the .[milvus] extra (pymilvus, milvus-lite)")
    port = free_port()
    env = dict(cli_env, INDEX_BACKEND="milvus", MILVUS_URI=f"http://127.0.0.1:{port}", INDEX_DIR=str(tmp_path / "index"))
    result = wenda(command, env, timeout=60)
    assert result.returncode == 2, result.stderr[-2000:]
    assert result.stderr.startswith(f"wenda: Cannot reach Milvus at http://127.0.0.1:{port}")
    assert "MILVUS_URI" in result.stderr and "Traceback" not in result.stderr
