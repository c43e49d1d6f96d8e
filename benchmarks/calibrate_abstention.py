"""Calibrate the "not found" rule: gather the evidence `answer()` decides on, then sweep thresholds.

Answerable: the seed questions (simplified, traditional, English) against the shipped corpus, and
the CMRC 2018 trial questions against their own paragraphs. Unanswerable: this project's
out-of-corpus set and the seed's unanswerable question against the shipped corpus, and CMRC
questions asked of the shipped corpus (which knows nothing of them).

    python benchmarks/calibrate_abstention.py gather > /tmp/evidence.jsonl     # ~2 minutes, cached vectors
    python benchmarks/calibrate_abstention.py sweep /tmp/evidence.jsonl
"""

from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "eval"


def gather() -> None:
    from bot.answer.pipeline import Wenda
    from bot.answer.sentence import choose_sentence
    from bot.config import Settings
    from bot.evaluate import contains_answer, read_jsonl, read_squad, squad_index
    from bot.search.embedding import Embedder
    from bot.search.index import Index

    settings = Settings(reader="rules")  # these are the rules' thresholds (the reader's: calibrate_reader.py)
    embedder = Embedder(settings)
    shipped = Wenda(settings, embedder, Index.load(settings.index_dir))
    paragraphs, cmrc = read_squad(SHARED / "cmrc2018_trial.json")
    cmrc_wenda = Wenda(settings, embedder, squad_index(paragraphs, settings, embedder))

    def emit(wenda, questions, name, answerable=None):
        for question in questions:
            answer = wenda.answer(question.question, 5)
            label = question.answerable if answerable is None else answerable
            # Re-run the sentence choice so the record holds the sentence even when not found.
            record = dict(answer.evidence.figures() if answer.evidence else {}, set=name, id=question.id, answerable=label, question=question.question)
            if label:
                from bot.answer.question import analyse, content_words

                info = analyse(question.question)
                words = content_words(info.content) if info.chinese else wenda.translator()[0].terms(
                    info.text, wenda.translator()[1]
                )
                sentence, span, _, _ = choose_sentence(wenda.index, wenda.embedder, info, words, answer.hits)
                record["sentence_ok"] = contains_answer(sentence, question.answers)
                record["answer_ok"] = contains_answer(span.text if span else sentence, question.answers)
            print(json.dumps(record, ensure_ascii=False), flush=True)

    emit(shipped, read_jsonl(SHARED / "seed_qa.jsonl"), "seed")
    emit(shipped, read_jsonl(ROOT / "eval/seed_traditional.jsonl"), "traditional")
    emit(shipped, read_jsonl(ROOT / "eval/seed_en.jsonl"), "english")
    emit(shipped, read_jsonl(ROOT / "eval/out_of_corpus.jsonl"), "out_of_corpus")
    emit(cmrc_wenda, cmrc, "cmrc")
    emit(shipped, cmrc[::4], "cmrc_on_shipped", answerable=False)


def sweep(path: str) -> None:
    from bot.answer.abstain import Evidence, decide
    from bot.config import Settings

    records = [json.loads(line) for line in open(path, encoding="utf-8")]
    grid = itertools.product(
        [0.78, 0.79, 0.80, 0.81, 0.82],  # min_dense
        [0.2, 0.25, 0.3, 0.35, 0.38],  # min_coverage
        [0.25, 0.3, 0.35, 0.4, 0.45],  # min_sentence_coverage
        [0.70, 0.73, 0.745, 0.755],  # min_dense_foreign
    )
    rows = []
    for dense, cover, sentence, foreign in grid:
        settings = Settings(
            _env_file=None, reader="rules", min_dense=dense, min_coverage=cover, min_sentence_coverage=sentence,
            min_dense_foreign=foreign,
        )
        stats = {}
        for name in ("seed", "traditional", "english", "out_of_corpus", "cmrc", "cmrc_on_shipped"):
            subset = [r for r in records if r["set"] == name]
            found = [decide(Evidence.from_figures(r), settings)[0] for r in subset]
            answerable = [r for r, f in zip(subset, found) if r["answerable"]]
            unanswerable = [f for r, f in zip(subset, found) if not r["answerable"]]
            stats[name] = {
                "correct": sum(1 for r, f in zip(subset, found) if r["answerable"] and f and r.get("answer_ok")),
                "sentence_ok": sum(1 for r, f in zip(subset, found) if r["answerable"] and f and r.get("sentence_ok")),
                "lost": sum(1 for r, f in zip(subset, found) if r["answerable"] and not f),
                "answerable": len(answerable),
                "abstained": sum(1 for f in unanswerable if not f),
                "unanswerable": len(unanswerable),
            }
        ok = stats["seed"]["lost"] == 0 and stats["traditional"]["lost"] <= 1
        ooc = stats["out_of_corpus"]
        recall = (ooc["abstained"] + stats["seed"]["abstained"]) / (ooc["unanswerable"] + stats["seed"]["unanswerable"])
        cmrc_sentence = stats["cmrc"]["sentence_ok"] / stats["cmrc"]["answerable"]
        rows.append((ok, recall >= 0.9, cmrc_sentence, recall, (dense, cover, sentence, foreign), stats))
    rows.sort(key=lambda row: (row[0], row[1], row[2], row[3]), reverse=True)
    for ok, _, cmrc_sentence, recall, params, stats in rows[:10]:
        print(
            f"dense>={params[0]} cover>={params[1]} sentence>={params[2]} foreign>={params[3]}: "
            f"seed ok={ok} lost={stats['seed']['lost']} trad lost={stats['traditional']['lost']} "
            f"english correct={stats['english']['correct']}/{stats['english']['answerable']} "
            f"OOC recall={recall:.3f} cmrc sentence acc={cmrc_sentence:.3f} lost={stats['cmrc']['lost']} "
            f"cmrc-on-shipped abstained={stats['cmrc_on_shipped']['abstained']}/{stats['cmrc_on_shipped']['unanswerable']}"
        )


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "gather":
        gather()
    elif len(sys.argv) >= 3 and sys.argv[1] == "sweep":
        sweep(sys.argv[2])
    else:
        print(__doc__)
        sys.exit(2)
