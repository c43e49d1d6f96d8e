"""Saying "not found": the figures gathered for a question (`Evidence`), the decision from them and the calibrated
thresholds (`decide`), and the one confidence figure users see (`confidence_score`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from bot.answer.question import YES_NO
from bot.config import Settings


@dataclass(frozen=True)
class Evidence:
    """The figures behind an answer's `found`, for `decide`, the REPL, eval and calibration."""

    kind: str  # the question's type (time, quantity, ...)
    chinese: bool  # asked in Chinese (else the foreign thresholds apply)
    dense: float  # cosine of question and best passage
    coverage: float  # IDF-weighted share of the question's words in the best passage (translated, for English)
    sentence_coverage: float = 0.0  # the same share in the answer's sentence and its document's title
    reader_margin: float | None = None  # the reader's best span above its window's "no answer"; None: READER=rules
    typed_span: bool | None = None  # whether the answer is of the asked type (None: the question asks none)
    requires_span: bool = False  # READER=rules: no typed span means no answer (dates, numbers)
    unit_clash: bool = False  # a quantity question's answer is a figure of another unit than the one asked (50万头 for 多少钱)
    qualifier_clash: bool = False  # the answer's sentence names 第三季度 where the question asks of 第四季度
    reader_ms: float = 0.0  # time to read (or choose the sentence)
    reason: str = ""  # decide's verdict, in words

    def figures(self) -> dict[str, Any]:
        """The set fields as a dict (for JSON lines)."""
        return {key: value for key, value in asdict(self).items() if value is not None}

    @classmethod
    def from_figures(cls, record: dict[str, Any]) -> "Evidence":
        """The evidence `figures` wrote into a record (other keys of the record are left out)."""
        return cls(**{name: record[name] for name in cls.__dataclass_fields__ if name in record})


def confidence_score(dense: float, cover: float, chinese: bool) -> float:
    """The one confidence scale users see (0..1): how sure the bot is that the best passage answers.

    The mean of `clip((cosine - 0.70) / 0.25, 0, 1)`, the e5 cosine rescaled (unrelated texts sit
    near 0.70-0.80, answers near 0.85-0.95), and the word coverage: the IDF-weighted share of the
    question's words in the passage (for English, the share of its words with a translation there).
    """
    scaled = min(1.0, max(0.0, (dense - 0.70) / 0.25))
    return (scaled + cover) / 2


def holds_every_word(evidence: Evidence) -> bool:
    """Whether the best passage and the answer's sentence hold every one of the question's words."""
    return evidence.sentence_coverage >= 1.0 - 1e-9 and evidence.coverage >= 1.0 - 1e-9


def decide(evidence: Evidence, settings: Settings) -> tuple[bool, str]:
    """Whether the corpus answers, from the figures gathered for a question, and why not."""
    limits = settings.thresholds()
    chinese = evidence.chinese
    if evidence.dense < limits["min_dense" if chinese else "min_dense_foreign"] and not (
        # A short question sits far from any passage (`续借期多长`: cosine 0.833), but a passage and sentence holding
        # every one of its words, where the reader is sure of its answer (margin 12.1), are about it.
        chinese and holds_every_word(evidence) and evidence.reader_margin is not None
        and evidence.reader_margin >= limits["min_reader_margin_untyped"]
    ):
        return False, "question and passages are far apart"
    if evidence.coverage < limits["min_coverage" if chinese else "min_coverage_foreign"]:
        return False, "the passage lacks the question's key words" if chinese else "the passage lacks translations of the question's words"
    if evidence.unit_clash:
        # However sure the reader is, `50万头` answers no `总投资多少钱` and `50分钟` no `how long … in kilometres`.
        return False, f"the answer is a figure of another unit than the {evidence.kind} asked for"
    if evidence.qualifier_clash:
        return False, "the answer's sentence speaks of another numbered thing than the question (第三 for 第四)"
    if evidence.reader_margin is not None:
        if evidence.reader_margin < limits["min_reader_margin" if chinese else "min_reader_margin_foreign"]:
            if chinese and evidence.kind == YES_NO and holds_every_word(evidence):
                # No span answers yes or no, so the reader's margin says nothing here (`万州有没有机场`: −8.3); its
                # sentence holding every word of the question (…机场的扩建升级…) is the answer shown.
                return True, "found: the sentence holds every word of the question"
            return False, "the reader finds no answer in the passages"
        if chinese and evidence.typed_span is False and evidence.reader_margin < limits["min_reader_margin_untyped"]:
            # `渝万高铁全长多少公里` -> `50分钟`: the passage talks of the railway, not of its length.
            return False, f"the reader is unsure, and its answer is not the {evidence.kind} asked for"
        if chinese and evidence.sentence_coverage < limits["min_sentence_coverage"]:
            return False, "the answer's sentence lacks the question's key words"
        return True, "found"
    if chinese and evidence.sentence_coverage < limits["min_sentence_coverage"]:
        # `渝万高铁的总投资`: the only amount is another project's investment.
        return False, "no sentence holds the question's key words together"
    if evidence.requires_span and not evidence.typed_span:
        # A sentence holding every one of the question's words answers it in words, not figures
        # (`有多少病人在征状出现的首个小时内出现死亡` -> `一半以上病人在征状出现的首个小时内死亡。`).
        if chinese and holds_every_word(evidence):
            return True, "found: the sentence holds every word of the question"
        return False, f"no {evidence.kind} answer where the text talks of this"
    return True, "found"
