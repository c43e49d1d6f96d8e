"""English questions: does feeding CC-CEDICT translations to the BM25 side help retrieval?

BM25 indexes Chinese character n-grams, so an English question alone gives it nothing and the
ranking is the dense model's. Here the BM25 side gets `EnglishToChinese.terms(question)` instead
(see bot/answer/crosslingual/) and the evidence passage's rank is measured, for several fusion weights,
term budgets and filters, on the English paraphrases of the seed questions (eval/seed_en.jsonl)
plus the seed's own English question v19. Then, for answerable and unanswerable English questions
(eval/out_of_corpus.jsonl), it prints what the best passage looks like through the translation:
its BM25 score, the share of the question's content words with a translation in it, and the share
of the chosen terms in it, to see whether they separate the two.

    python benchmarks/english_expansion.py            # uses index/ (built on first use)
    python benchmarks/english_expansion.py --terms    # also print the terms of every question
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "eval"


def read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def is_english(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and sum(c.isascii() for c in letters) / len(letters) > 0.8


def squash(text: str) -> str:
    return "".join(text.split())


def evidence_rank(hits, evidence: str) -> int | None:
    for rank, hit in enumerate(hits, 1):
        if evidence in squash(hit.passage.text):
            return rank
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--terms", action="store_true", help="print the terms of every question")
    args = parser.parse_args()

    from bot.answer.crosslingual.translate import EnglishToChinese, known_from_index
    from bot.config import Settings
    from bot.startup import load_pipeline

    settings = Settings()
    started = time.perf_counter()
    wenda = load_pipeline(settings, quiet=True)
    index = wenda.index
    print(f"pipeline loaded in {time.perf_counter() - started:.1f} s: {len(index)} passages", file=sys.stderr)

    started = time.perf_counter()
    translator = EnglishToChinese().load()
    load_seconds = time.perf_counter() - started
    known = known_from_index(index)

    answerable = read(ROOT / "eval" / "seed_en.jsonl")
    seed = {item["id"]: item for item in read(SHARED / "seed_qa.jsonl")} if (SHARED / "seed_qa.jsonl").is_file() else {}
    if "v19" in seed:
        answerable.append(seed["v19"])
    unanswerable = [item for item in read(ROOT / "eval" / "out_of_corpus.jsonl") if is_english(item["question"])]
    questions = answerable + unanswerable
    vectors = wenda.embedder.encode_queries([item["question"] for item in questions])
    vector_of = {item["id"]: vector for item, vector in zip(questions, vectors)}

    started = time.perf_counter()
    for item in questions:
        translator.terms(item["question"], known)
    per_question_ms = (time.perf_counter() - started) / len(questions) * 1000

    variant = translator.with_options  # same dictionary, other selection options

    def query_of(item: dict, mode: str, chooser) -> str:
        question = item["question"]
        if mode == "question":
            return question
        terms = chooser.terms(question, None if mode == "terms-unfiltered" else known)
        if mode == "question+terms":
            return question + " " + " ".join(terms)
        return " ".join(terms)

    def run(mode: str, weight: float, chooser) -> dict:
        ranks = {}
        for item in answerable:
            hits = index.search(vector_of[item["id"]], query_of(item, mode, chooser), k=5, weight=weight,
                                candidates=settings.candidates)
            ranks[item["id"]] = evidence_rank(hits, squash(item["evidence"]))
        return ranks

    default = f"{translator.max_terms} terms, {translator.per_word}/word"
    configs = [("question (baseline: dense only)", "question", 0.6, translator)]
    for weight in (0.4, 0.5, 0.6, 0.7, 0.8):
        configs.append((f"known, {default}, w={weight}", "terms", weight, translator))
    for max_terms, per_word in ((4, 2), (6, 2), (12, 2), (16, 3), (8, 1), (12, 1), (8, 3), (12, 3)):
        configs.append((f"known, {max_terms} terms, {per_word}/word, w=0.6", "terms", 0.6,
                        variant(max_terms=max_terms, per_word=per_word)))
    for weight in (0.5, 0.6, 0.7):
        configs.append((f"unfiltered, {default}, w={weight}", "terms-unfiltered", weight, translator))
    configs.append(("unfiltered, 12 terms, 3/word, w=0.6", "terms-unfiltered", 0.6, variant(max_terms=12, per_word=3)))
    configs.append((f"question+terms, known, {default}, w=0.6", "question+terms", 0.6, translator))
    configs.append((f"known, {default}, with single chars, w=0.6", "terms", 0.6, variant(single_chars=True)))
    configs.append((f"known, {default}, no pinyin names, w=0.6", "terms", 0.6, variant(pinyin_names=False)))

    n = len(answerable)
    print(f"\nCC-CEDICT reverse index: loaded in {load_seconds:.2f} s; terms() {per_question_ms:.1f} ms a question")
    print(f"\nEvidence rank over {n} English questions (seed_en e01-e18 + v19), top 5 retrieved\n")
    print(f"| {'setting':42} | @1 | @3 | @5 | MRR@5 | v19 | misses (rank) |")
    print(f"|{'-' * 44}|----|----|----|-------|-----|---------------|")
    for label, mode, weight, chooser in configs:
        ranks = run(mode, weight, chooser)
        values = list(ranks.values())
        at = lambda k: sum(1 for r in values if r is not None and r <= k)  # noqa: E731
        mrr = sum(1.0 / r for r in values if r) / n
        misses = " ".join(f"{key}:{rank or '-'}" for key, rank in ranks.items() if rank != 1)
        print(f"| {label:42} | {at(1):2} | {at(3):2} | {at(5):2} | {mrr:5.3f} | {ranks.get('v19') or '-':>3} | {misses} |")

    print(f"\nBest passage through the translation (known, {default}, w=0.6): answerable vs unanswerable\n")
    print("| id | answerable | evidence rank | dense | bm25 | word coverage | term share | question |")
    print("|----|----|----|----|----|----|----|----|")
    rows = []
    for item in questions:
        terms = translator.terms(item["question"], known)
        hits = index.search(vector_of[item["id"]], " ".join(terms), k=5, weight=0.6, candidates=settings.candidates)
        top = hits[0]
        text = squash(top.passage.text + top.passage.section)
        share, found, total = translator.coverage(item["question"], text, known)
        term_share = sum(1 for t in terms if t in text) / len(terms) if terms else 0.0
        is_answerable = not item.get("unanswerable")
        rank = evidence_rank(hits, squash(item["evidence"])) if is_answerable else None
        rows.append((is_answerable, top.dense, top.bm25, share, term_share))
        print(f"| {item['id']} | {'yes' if is_answerable else 'no'} | {rank or '-'} | {top.dense:.3f} | {top.bm25:.2f} | "
              f"{share:.2f} ({found}/{total}) | {term_share:.2f} | {item['question']} |")
    print()
    for name, column in (("dense", 1), ("bm25", 2), ("word coverage", 3), ("term share", 4)):
        yes = np.array([r[column] for r in rows if r[0]])
        no = np.array([r[column] for r in rows if not r[0]])
        print(f"{name:14} answerable min {yes.min():.3f} median {np.median(yes):.3f} | "
              f"unanswerable max {no.max():.3f} median {np.median(no):.3f} | "
              f"separable: {'yes' if yes.min() > no.max() else 'no'}")

    print("\n'not found' when word coverage < t: answerable wrongly refused / unanswerable refused")
    for threshold in (0.2, 0.3, 0.35, 0.4, 0.5, 0.6):
        refused_yes = sum(1 for r in rows if r[0] and r[3] < threshold)
        refused_no = sum(1 for r in rows if not r[0] and r[3] < threshold)
        print(f"  t={threshold:.2f}: {refused_yes}/{sum(1 for r in rows if r[0])} answerable, "
              f"{refused_no}/{sum(1 for r in rows if not r[0])} unanswerable")

    if args.terms:
        print("\nTerms (known = in the corpus's BM25 vocabulary; pinyin names need it)\n")
        for item in questions:
            print(f"{item['id']}  {item['question']}")
            print(f"     all:   {' '.join(translator.terms(item['question']))}")
            print(f"     known: {' '.join(translator.terms(item['question'], known))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
