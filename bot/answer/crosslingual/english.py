"""English words: stopwords, lemmas (a small lemmatiser with irregular forms and British spellings),
derivations and the word patterns both the dictionary and the translator read text with."""

from __future__ import annotations

import re

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


WORD_RE = re.compile(r"[a-z0-9\u00c0-\u024f]+(?:'[a-z]+)?")  # Satō is not `sat`


LOWER_WORD_RE = re.compile(r"\b[a-z]+\b")


QUESTION_WORD_RE = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?|\d+(?:\.\d+)?")


ACRONYM_RE = re.compile(r"\(([A-Z]{2,6})\)")


HEAD_RE = re.compile(r"^((?:[A-Z][\w'.]*(?:-[A-Za-z]+)*)(?: (?:[A-Z][\w'.]*(?:-[A-Za-z]+)*))*)")


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


def derivations(lemma: str) -> list[str]:
    """Related forms of a lemma (`construction` -> `construct`), used at a discount on the question side."""
    out = []
    if lemma.endswith("tion") and len(lemma) > 6:
        out += [lemma[:-3], lemma[:-3] + "e"]  # construct, cooperate
    if lemma.endswith("ment") and len(lemma) > 7:
        out.append(lemma[:-4])  # invest, agree
    if lemma.endswith("al") and len(lemma) > 6:
        out.append(lemma[:-2])  # vocational -> vocation, regional -> region
    return out


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
