"""Words a question and the text that answers it use for one another: 出生地 / 生于, 逝世 / 卒, 孩子 / 子女.

Question words are matched by containment (`word in sentence`), so a question that says 逝世 found no
sentence saying `清同治十二年(1873年)，卒。`. Each group below is a set of words that stand for one another
in biographies and news; a question word of a group is present where any word of its group is. The groups
are few and close on purpose: a loose one (职业 / 工作) would let sentences about something else match.
"""

from __future__ import annotations

SYNONYM_GROUPS = [
    "出生 出生地 生于 出生于 出生在",
    "逝世 去世 过世 病逝 病死 卒 死 死因 身亡 辞世 被杀 遇害",
    "女儿 之女 长女 次女 幼女",
    "儿子 之子 长子 次子 幼子",
    "孩子 子女 儿女",
    "妻子 之妻 夫人 妻",
    "丈夫 之夫",
    "父亲 之父",
    "母亲 之母",
    "别名 别称 又名 又称 亦称 俗称 也称",
    "播出 首播 播映 播放",
    "位于 坐落 地处",
    "成立 创立 创办 建立",
    "开工 动工 开建",
    "竣工 完工",
]

SYNONYMS: dict[str, tuple[str, ...]] = {word: tuple(group.split()) for group in SYNONYM_GROUPS for word in group.split()}


def mentions(text: str, word: str) -> bool:
    """Whether the (folded) text holds the word or a word of its group."""
    return any(alternative in text for alternative in SYNONYMS.get(word, (word,)))
