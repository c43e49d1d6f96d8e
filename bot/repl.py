"""`wenda repl`: ask questions interactively and see every score, for developers."""

from __future__ import annotations

import os
import time
from pathlib import Path

from bot.answer.pipeline import Wenda
from bot.answer.question import split_questions
from bot.config import Settings
from bot.startup import plural

HISTORY = Path(os.environ.get("WENDA_HISTORY", Path.home() / ".wenda_history"))
HELP = """Type a question and press Enter.
  :k N     show N passages per answer
  :help    this text (help, ? too)
  :quit    leave (exit, quit, Ctrl-D too)"""


def _setup_readline() -> None:
    """Line editing and history through the standard readline module, where it exists."""
    try:
        import readline
    except ImportError:  # Windows without pyreadline
        return
    try:
        readline.read_history_file(HISTORY)
    except (FileNotFoundError, PermissionError, OSError):
        pass
    readline.set_history_length(1000)
    import atexit

    def save() -> None:
        try:
            readline.write_history_file(HISTORY)
        except OSError:
            pass

    atexit.register(save)


def render(answer, elapsed_ms: float) -> str:
    """An answer with the scores of each passage: fused rank score, dense cosine, raw BM25; first, when typing
    slips were put right, the question as it was read."""
    lines = [f"读作: {answer.read_as}"] if answer.read_as else []  # typing slips put right
    if answer.found:
        lines.append(f"答: {answer.answer}")
        if answer.sentence != answer.answer:
            lines.append(f"句: {answer.sentence}")
    else:
        reason = answer.evidence.reason if answer.evidence else "no passage"
        lines.append(f"未找到答案 (no answer in the corpus: {reason})")
    evidence = answer.evidence
    if evidence is None or not answer.hits:  # nothing was searched or found: no figures to show
        lines.append(f"confidence {answer.confidence:.3f} · {elapsed_ms:.0f} ms")
    else:
        if evidence.reader_margin is not None:  # the trained reader: how far its span scores above "no answer"
            judged = f"reader margin {evidence.reader_margin:+.2f} ({evidence.reader_ms:.0f} ms)"
        else:
            judged = f"sentence {evidence.sentence_coverage:.2f}"
        lines.append(
            f"confidence {answer.confidence:.3f} · type {evidence.kind} · cosine {evidence.dense:.3f} "
            f"· coverage {evidence.coverage:.2f} · {judged} · {elapsed_ms:.0f} ms"
        )
    for rank, hit in enumerate(answer.hits, 1):
        text = hit.passage.text.replace("\n", " ")
        lines.append(
            f"{rank}. fused {hit.score:.3f} dense {hit.dense:.3f} bm25 {hit.bm25:.2f}  [{hit.passage.source}]"
        )
        lines.append(f"   {text[:120]}{'…' if len(text) > 120 else ''}")
    return "\n".join(lines)


def run_repl(wenda: Wenda, settings: Settings) -> int:
    _setup_readline()
    k = settings.top_k
    index = wenda.index
    documents, passages = len(index.documents), len(index)
    print(
        f"wenda repl · {plural(documents, 'document')}, {plural(passages, 'passage')}"
        " · :help for commands"
    )
    while True:
        try:
            line = input("问> ").strip()
        except EOFError:
            print()
            return 0
        except KeyboardInterrupt:
            print()
            continue
        if not line:
            continue
        # What a new user types first, as in Python's REPL: `exit`, `help` (no English question is one word).
        if line in (":q", ":quit", ":exit") or line.lower() in ("exit", "quit"):
            return 0
        if line in (":h", ":help", "?", "？") or line.lower() == "help":
            print(HELP)
            continue
        if line.startswith(":k"):
            value = line[2:].strip()
            if value.isdigit() and 1 <= int(value) <= 100:
                k = int(value)
                print(f"showing {k} passages")
            else:
                print("usage: :k N  (1-100)")
            continue
        if line.startswith(":"):
            print(f"unknown command {line.split()[0]}; :help lists them")
            continue
        questions = split_questions(line)  # `…何时开工？…要多久？`: an answer to each
        for question in questions:
            if len(questions) > 1:
                print(f"问: {question}")
            started = time.perf_counter()
            answer = wenda.answer(question, k)
            print(render(answer, (time.perf_counter() - started) * 1000))
