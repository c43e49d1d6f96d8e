"""What a question asks: its type (time, quantity, place, ...), the unit it implies, its content words.

`analyse("三峡综合物流枢纽初期投资多少钱？")` -> type "quantity", unit "元", content
"三峡综合物流枢纽初期投资". Works on folded text (simplified, half-width), so a question in
traditional characters is analysed the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.textnorm import fold, has_cjk

TIME, QUANTITY, PLACE, ENTITY, LIST, YES_NO, OTHER = "time", "quantity", "place", "entity", "list", "yes_no", "other"

# Interrogative phrases, longest first; they say what is asked, never where the answer is.
INTERROGATIVES = [
    "什么时候", "什么时间", "哪一年", "哪一天", "哪年", "哪天", "何时", "几月", "几号", "何年",
    "有多少", "多少钱", "多少", "多长", "多大", "多久", "多高", "多远", "几个", "几项", "几类", "几",
    "哪些", "哪几个", "哪几", "哪个", "哪里", "哪儿", "何处", "在哪", "哪",
    "是什么", "什么", "是谁", "谁", "有没有", "是不是", "是否", "怎么样", "怎样", "怎么", "如何", "为什么",
    "吗", "呢", "请问",
]
INTERROGATIVE_RE = re.compile("|".join(map(re.escape, INTERROGATIVES)))
ENGLISH_TYPES = [
    (re.compile(r"\b(when|what (year|date|day|month|time))\b", re.I), TIME),
    (re.compile(r"\b(how (much|many|long|large|big|far|high)|what (percentage|proportion|share|rate))\b", re.I), QUANTITY),
    (re.compile(r"\bwhere\b", re.I), PLACE),
    (re.compile(r"\b(who|which (compan|enterprise|organi[sz]ation|department|firm))", re.I), ENTITY),
    (re.compile(r"\b(which|what are)\b", re.I), LIST),
    (re.compile(r"^(is|are|does|do|did|was|were|has|have|can)\b", re.I), YES_NO),
]

# Units a quantity question implies, from the words it uses.
UNIT_HINTS = [
    (re.compile(r"钱|投资|资金|金额|收入|产值|分红|元|GDP|gdp|亿|万元"), "元"),
    (re.compile(r"率|比例|比重|占比|百分"), "%"),
    (re.compile(r"多久|多长时间|时间|车程|分钟|小时"), "分钟"),
    (re.compile(r"公里|多长|多远|长度|距离"), "公里"),
    (re.compile(r"人口|多少人|人数|学生"), "人"),
    (re.compile(r"头|出栏|猪|生猪"), "头"),
    (re.compile(r"项目|几个|多少个"), "个"),
    (re.compile(r"几项|多少项|协议"), "项"),
    (re.compile(r"所|学校|院校|高校"), "所"),
    (re.compile(r"几类|什么类|哪类|类"), "类"),
]


@dataclass(frozen=True)
class QuestionInfo:
    text: str  # as asked
    folded: str  # simplified, half-width, lower case
    kind: str
    unit: str | None  # for quantity questions: the unit the answer should carry
    content: str  # folded text with interrogatives and punctuation removed
    chinese: bool


def classify(folded: str) -> str:
    """The question's type from its interrogatives (Chinese) or question words (English)."""
    if not has_cjk(folded):
        for pattern, kind in ENGLISH_TYPES:
            if pattern.search(folded):
                return kind
        return OTHER
    if re.search(r"何时|什么时候|什么时间|哪一?年|哪一?天|几月|几号|何年|日期|时间是", folded):
        return TIME
    if re.search(r"多少|多长|多大|多久|多高|多远|几[个项类所头家条万亿%]?|覆盖率|比例|比重|占比|百分之", folded):
        return QUANTITY
    if re.search(r"哪些|哪几", folded):
        if re.search(r"企业|公司|集团|单位|部门|机构|银行", folded):
            return ENTITY
        return LIST
    if re.search(r"哪里|哪儿|何处|在哪|哪个(镇|区|市|县|省|村|街道|地方|城市)|什么地方|位于", folded):
        return PLACE
    if re.search(r"谁|哪个(部门|企业|公司|单位|机构|集团)|什么(企业|公司|单位|机构|部门)|由.*共建|哪家", folded):
        return ENTITY
    if re.search(r"有没有|是不是|是否|吗[?？]?$", folded):
        return YES_NO
    if re.search(r"是什么|有哪", folded):
        return LIST if re.search(r"产业|领域|项目|措施|内容", folded) else OTHER
    return OTHER


def implied_unit(folded: str) -> str | None:
    for pattern, unit in UNIT_HINTS:
        if pattern.search(folded):
            return unit
    return None


def analyse(question: str) -> QuestionInfo:
    folded = fold(question.strip())
    kind = classify(folded)
    content = INTERROGATIVE_RE.sub(" ", folded) if has_cjk(folded) else folded
    content = re.sub(r"[\s?？!！。，,、：:；;“”\"'《》「」()（）]+", " ", content).strip()
    return QuestionInfo(
        text=question,
        folded=folded,
        kind=kind,
        unit=implied_unit(folded) if kind == QUANTITY else None,
        content=content,
        chinese=has_cjk(folded),
    )
