"""Features of the best passage for answerable and unanswerable questions, to set the "not found" rule.

Positives: the seed questions (simplified, traditional, English) against the shipped corpus, and
CMRC 2018 trial questions against their own paragraphs. Negatives: the out-of-corpus set and the
seed's unanswerable question against the shipped corpus, CMRC questions against the shipped
corpus, and seed questions against the CMRC paragraphs. Prints one TSV line per question.

    python benchmarks/calibrate_abstention.py > /tmp/features.tsv
"""

from __future__ import annotations

import sys
from pathlib import Path

from bot.answer import Wenda, content_words, coverage
from bot.config import Settings
from bot.embedding import Embedder
from bot.evaluate import read_jsonl, read_squad, squad_index
from bot.index import Index
from bot.question import analyse

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "eval"


def rows(wenda: Wenda, questions, label_of, set_name):
    for question in questions:
        hits = wenda.search(question.question, 5)
        info = analyse(question.question)
        best = hits[0]
        cov = coverage(wenda.index, content_words(info.content), best.passage)
        gap = best.dense - sum(h.dense for h in hits[1:]) / max(1, len(hits) - 1)
        yield (
            f"{set_name}\t{label_of(question)}\t{int(info.chinese)}\t{best.dense:.4f}\t{cov:.4f}\t{gap:.4f}\t"
            f"{question.question}"
        )


def main() -> None:
    settings = Settings()
    embedder = Embedder(settings)
    shipped = Wenda(settings, embedder, Index.load(settings.index_dir))
    paragraphs, cmrc = read_squad(SHARED / "cmrc2018_trial.json")
    cmrc_wenda = Wenda(settings, embedder, squad_index(paragraphs, settings, embedder))
    seed = read_jsonl(SHARED / "seed_qa.jsonl")
    answerable = lambda q: int(q.answerable)  # noqa: E731
    print("set\tanswerable\tchinese\tdense\tcoverage\tgap\tquestion")
    for name, path in [("seed", SHARED / "seed_qa.jsonl"), ("trad", ROOT / "eval/seed_traditional.jsonl"),
                       ("en", ROOT / "eval/seed_en.jsonl"), ("ooc", ROOT / "eval/out_of_corpus.jsonl")]:
        for line in rows(shipped, read_jsonl(path), answerable, name):
            print(line, flush=True)
    for line in rows(cmrc_wenda, cmrc, answerable, "cmrc"):
        print(line)
    for line in rows(shipped, cmrc, lambda q: 0, "cmrc-on-shipped"):
        print(line)
    for line in rows(cmrc_wenda, [q for q in seed if q.answerable], lambda q: 0, "seed-on-cmrc"):
        print(line)


if __name__ == "__main__":
    sys.exit(main())
