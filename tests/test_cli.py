"""The `wenda` command in a subprocess, as users and scripts run it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


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
    assert answer["found"] is True
    assert "11月9日" in answer["sentence"] and "11月9日" in answer["answer"]
    first = answer["passages"][0]
    assert set(first) >= {"doc", "title", "section", "text", "score"}
    assert first["doc"] == "wanzhou-2020-12.txt"
    assert first["section"] == "构筑立体交通枢纽 提升互联互通水平"
    assert 0.0 <= first["score"] <= 1.0


def test_ask_prints_the_sentence_and_its_source(cli_env):
    result = wenda(["ask", "渝万高铁何时开工"], cli_env)
    assert result.returncode == 0, result.stderr
    assert "11月9日，渝万高铁正式开工建设，万州到重庆主城的车程将缩短至50分钟。" in result.stdout
    assert "— wanzhou-2020-12 · 构筑立体交通枢纽 提升互联互通水平" in result.stdout


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


@pytest.mark.parametrize("command", ["index", "ask", "repl", "eval"])
def test_every_command_has_help(command):
    result = subprocess.run([sys.executable, "-m", "bot.cli", command, "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "usage: wenda" in result.stdout
