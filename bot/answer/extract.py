"""The exact answer inside a sentence: dates, numbers with units, enumerations, names.

`extract(info, sentence)` returns the span that answers the question, or None when the sentence
holds nothing of the asked type. Spans are found on folded text (same length as the original,
see `bot.text.fold.fold`) and cut from the original, so a traditional or full-width sentence keeps
its own characters.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from functools import lru_cache

from bot.answer.question import ENTITY, LIST, PLACE, QUANTITY, TIME, QuestionInfo
from bot.answer.synonyms import mentions
from bot.answer.units import CLASSIFIER_WORDS, CLASSIFIERS, UNITS
from bot.text.cjk import IDEOGRAPHS
from bot.text.fold import fold

NUMBER = r"(?:\d+(?:\.\d+)?|[〇零一二三四五六七八九十百千两]+)"
CN_NUMERAL = "〇零一二三四五六七八九十"
# A reign's year with its Gregorian year: 清同治十二年(1873年), 正德五年（1510年）十月, 在永禄5年（1562年）; the reign's
# name is two characters opening a clause or after a preposition, or a dynasty's and two more.
REIGN_YEAR = (
    rf"(?:(?:(?<![{IDEOGRAPHS}])|(?<=[在于至到从自]))[{IDEOGRAPHS}]{{2}}|[秦汉晋隋唐宋元明清]朝?[{IDEOGRAPHS}]{{2}})?(?:元|[{CN_NUMERAL}]{{1,4}}|\d{{1,2}})年"
    rf"\s*[（(](?:公元前?)?\d{{1,4}}年[）)](?:\d{{1,2}}月(?:\d{{1,2}}日)?|[{CN_NUMERAL}]{{1,2}}月(?:[{CN_NUMERAL}]{{1,3}}日)?)?"
)
LUNAR_MONTH = rf"(?:[{CN_NUMERAL}]{{1,2}}|[正腊冬])月"
LUNAR_DAY = rf"(?:初[一二三四五六七八九十]|[{CN_NUMERAL}]{{1,3}}日)"
DATE_RE = re.compile(
    rf"{REIGN_YEAR}"
    r"|(?:(?:今年|去年|明年|前年|次年|翌年|(?:公元前?)?\d{1,4}年)?\d{1,2}月(?:\d{1,2}日(?:[、至到-]\d{1,2}日)*|份|初|底|中旬|上旬|下旬)?"
    r"|(?:公元前?)?\d{1,4}年(?:代)?(?:\d{1,2}月(?:\d{1,2}日)?)?"
    rf"|[{CN_NUMERAL}]{{2,4}}年(?:[{CN_NUMERAL}]{{1,2}}月(?:[{CN_NUMERAL}]{{1,3}}日)?)?"
    # The lunar calendar: 农历三月初三, 正月十五, 腊月二十三 (after 农历 or a lunar month's name a day needs no 日).
    rf"|(?:农历|阴历|旧历)(?:\d{{1,2}}月(?:\d{{1,2}}日)?|{LUNAR_MONTH}(?:{LUNAR_DAY}|[{CN_NUMERAL}]{{1,3}})?)"
    rf"|[正腊冬]月(?:{LUNAR_DAY}|[{CN_NUMERAL}]{{1,3}})?"
    rf"|[{CN_NUMERAL}]{{1,2}}月{LUNAR_DAY}?"
    rf"|(?:\d{{1,2}}|[{CN_NUMERAL}]{{1,3}})世纪(?:初期|末期|中叶|初|末|\d{{1,2}}年代)?)"
)
QUANTITY_RE = re.compile(
    rf"(?:[ⅠⅡⅢⅣⅤⅥⅦⅧⅨⅩ]+类|{NUMBER}(?:,\d{{3}})*(?:(?:{UNITS})?[-－~～至到]{NUMBER}(?:,\d{{3}})*)?(?:余|多|近|约)?(?:万|亿|千|百)?(?:余|多)?(?:{UNITS}|\s(?=[a-z])(?:{UNITS}))?)"
)
ENUMERATION_RE = re.compile(r"[^，。；：！？、,;:!?“”]{1,40}(?:、[^，。；：！？、,;:!?“”]{1,40})+")
ORGANISATION_RE = re.compile(
    rf"(?:[{IDEOGRAPHS}]|[（(][{IDEOGRAPHS}]{{1,6}}[）)]){{2,30}}?"
    r"(?:有限责任公司|股份有限公司|有限公司|集团|公司|委员会|国资委|政府|银行|大学|学院|医院|研究院|协会|联盟|中心|局|委|厅|部)"
)
# When something happened without a calendar date: an age, a moment (高二的时候), a season or time of day, a
# period (孔雀王朝时期); never from a preposition on (只有在春季化雪的时候 -> 春季化雪的时候).
TIME_EXPRESSION_RE = re.compile(
    rf"(?:\d{{1,3}}|[{CN_NUMERAL}]{{1,3}})岁"
    r"|[^，。；！？,;!?在当于至到从自]{1,8}?的时候"
    r"|[春夏秋冬](?:季|天)|早上|上午|中午|正午|下午|傍晚|晚上|夜间|凌晨|平日|周末"
    rf"|(?:(?![在当于至到从自])[{IDEOGRAPHS}]){{1,6}}?(?:时期|时代|年间|早期|中期|晚期|初期|末期)"
    r"|(?:北宋|南宋|东汉|西汉|东晋|西晋|[秦汉晋隋唐宋元明清])朝?(?:末年|初年|末期|初期|中叶|末|初)"
)
# An event that dates another, opening its clause: `四国征伐后，…`, `高二的时候，…`.
EVENT_TIME_RE = re.compile(r"(?:^|(?<=[，。；,;]))[^，。；！？,;!?]{2,12}?(?:之后|以后|后|的时候|时|期间|之际)(?=[，,])")
PLACE_RE = re.compile(rf"[{IDEOGRAPHS}]{{1,8}}?(?:省|市|区|县|镇|乡|村|街道|港|湾|岛)")
# A place follows these verbs to the end of its clause (`位于中国江西省庐山牯岭东谷河西路180号`), or to a 的 that
# turns to what is there, a few characters not ending like a place (`位于台湾宜兰县头城镇的观光渔港`); not to one
# inside the place (`位于泰国的首都曼谷的乍都节县`, `生于乌拉圭蒙得维的亚`).
LOCATED_RE = re.compile(
    r"(?:位于|坐落于|座落于|坐落在|座落在|地处|位处|出生于|出生在|生于|原产于|原生于|发现于|栖息于|栖息在|分布于|设于)"
    r"([^，。；、（(）)：:！？!?,;]{2,30})"
)
PLACE_END = set("省市区县镇乡村州岛国山")

CONNECTORS = "与和及、以及"
# Words that join the last two items of an enumeration.
CONNECTOR_WORDS = {"及", "和", "与", "以及", "或", "或者"}
# The commonest Chinese surnames: jieba tags many ordinary words `nr`; a real name starts with one of these.
SURNAMES = set(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    text: str


@lru_cache(maxsize=4096)
def _words(text: str) -> tuple[str, ...]:
    import jieba

    return tuple(jieba.lcut(text))


@lru_cache(maxsize=4096)
def _parts(words: tuple[str, ...]) -> tuple[str, ...]:
    """The shorter words inside the question's longer ones: `占地面积` -> `占地`, `面积`."""
    import jieba

    return tuple(
        part
        for word in words
        if len(word) >= 4
        for part in jieba.cut_for_search(word)
        if 2 <= len(part) < len(word) and part not in words
    )


def _clause(folded: str, start: int, end: int, around: bool = False) -> str:
    """The clause (between commas and stops) holding a span; with `around`, the next clause too, and the one
    before when a comma parts them and the span's clause leads with something else, the rest of a predicate
    whose subject came before (`自在奥义书是…成书较晚的，可能晚至孔雀王朝时期才出现`). A clause that opens with
    the span is its own (`三峡库区的医院很多，平日就诊的人不少`)."""
    marks = "，。；！？,;"
    folded = re.sub(r"(?<=\d),(?=\d{3})", "_", folded)  # 2,300: a digit group, not a clause break
    clause_start = max(folded.rfind(mark, 0, start) for mark in marks) + 1
    if around and 0 < clause_start < start and folded[clause_start - 1] in "，,":
        clause_start = max(folded.rfind(mark, 0, clause_start - 1) for mark in marks) + 1
    ends = [i for i in (folded.find(mark, end) for mark in marks) if i != -1]
    clause_end = min(ends) if ends else len(folded)
    if around and clause_end < len(folded):
        ends = [i for i in (folded.find(mark, clause_end + 1) for mark in marks) if i != -1]
        clause_end = min(ends) if ends else len(folded)
    return folded[clause_start:clause_end]


def _context_score(folded: str, start: int, end: int, words: list[str], around: bool = False) -> float:
    """How many characters of question words sit in the clause around the span, or a word of their group
    (bot.answer.synonyms: `逝世` in `(1873年)，卒`), not in the span itself: the unit `公里` of `50余公里` says nothing
    about what was measured."""
    clause = _clause(folded, start, end, around)
    span = folded[start:end]
    return float(sum(len(word) for word in words if mentions(clause, word) and not mentions(span, word)))


RATIO_RE = re.compile(r"\d+(?:\.\d+)?\s*[:比]\s*\d+(?:\.\d+)?")
# Months of the year from one to another: how long a season lasts (花期多久 -> 1-3月).
MONTH_RANGE_RE = re.compile(r"\d{1,2}\s*[-－~～至到]\s*\d{1,2}\s*月")


def _quantity_spans(folded: str, unit: str | None) -> list[tuple[int, int, bool]]:
    spans = []
    if unit and re.search(unit, "比"):  # a ratio question: 男女生比例 -> 1:7
        spans.extend((*match.span(), True) for match in RATIO_RE.finditer(folded))
    if unit and re.search(unit, "个月"):  # a duration
        spans.extend((*match.span(), True) for match in MONTH_RANGE_RE.finditer(folded))
    for match in QUANTITY_RE.finditer(folded):
        text = match.group()
        if not re.search(r"\d|[ⅠⅡⅢⅣⅤⅥⅦⅧⅨⅩ]", text) and not re.search(UNITS, text):
            continue  # a bare Chinese numeral word (一些, 十分) is no quantity
        if re.fullmatch(r"\d{1,2}月|\d{4}年|\d{1,2}日|\d{4}年[-－~～至到]\d{4}年", text):  # dates, not amounts
            continue
        start, end = match.span()
        following = folded[end : end + 2]
        if re.fullmatch(r"\d{1,2}", text) and following[:1] in "月日":
            continue  # part of a date
        has_unit = bool(re.search(UNITS + r"|[ⅠⅡⅢⅣⅤⅥⅦⅧⅨⅩ]", text))
        unit_matches = unit is None or bool(re.search(unit, text + following))
        spans.append((start, end, has_unit and unit_matches))
    return spans


# Where the last item of an enumeration ends at the latest: before a figure, 等, 共同, 在… (`云阳5地在万州召开` -> `云阳`).
LAST_ITEM_END_RE = re.compile(r"[0-9]|[一二三四五六七八九十两][大个项类地省]|等|共同|在|的|为")


def _trim_item(item: str, longest: int, keep_end: bool) -> str:
    """Cut the first (or last) item of an enumeration to the words that belong to it.

    `万州积极发展绿色照明` -> `绿色照明`; `新材料五大重点产业` -> `新材料`; `云阳5地在万州召开` -> `云阳`; an item
    joined by a connector is taken too: `物理学及数学。` -> `物理学及数学`.
    """
    item = LAST_ITEM_END_RE.split(item)[0] if not keep_end else item
    words = list(_words(item))
    if keep_end:
        words.reverse()
    taken: list[str] = []  # in reading order from the enumeration outwards
    part = 0  # characters of the item being taken: a connector starts another (物理学及数学, 法语和意大利语)
    for word in words:
        if part and word in CONNECTOR_WORDS:
            taken.append(word)
            part = 0
            continue
        if part and part + len(word) > max(longest, 2):
            break
        taken.append(word)
        part += len(word)
    if taken and taken[-1] in CONNECTOR_WORDS:  # never end on a connector
        taken.pop()
    return "".join(reversed(taken) if keep_end else taken)


def _enumeration_spans(folded: str) -> list[tuple[int, int]]:
    spans = []
    for match in ENUMERATION_RE.finditer(folded):
        items = match.group().split("、")
        middle = [len(item) for item in items[1:-1]] or [len(items[-1].split("等")[0][:6])]
        longest = max(middle)
        first = _trim_item(items[0], longest, keep_end=True)
        last = _trim_item(items[-1], longest, keep_end=False)
        if not first or not last:
            continue
        start = match.start() + len(items[0]) - len(first)
        end = match.end() - len(items[-1]) + len(last)
        spans.append((start, end))
    return spans


def enumeration_spans(text: str) -> list[tuple[int, int]]:
    """Where text lists things joined by 、 (`万州、达州、开州、梁平、云阳`): `(start, end)` of each list."""
    return _enumeration_spans(fold(text))


def whole_list(text: str, start: int, end: int) -> tuple[int, int]:
    """`(start, end)` widened to the enumeration of `text` it lies in (`越南` of `越南、老挝、缅甸` -> all three), or
    as it is when it lies in none: the answer to a question asking for several things."""
    holding = [(a, b) for a, b in enumeration_spans(text) if a <= start and end <= b]
    if not holding:
        return start, end
    first, last = holding[0]
    # Where the span is the first item, its start is surer than the list's, whose first item is cut by a guess
    # (`分布于越南` -> `越南`).
    return (start if start < text.find("、", first) else first), last


def with_reader_edges(text: str, stretch: tuple[int, int], start: int, end: int) -> tuple[int, int]:
    """An enumeration's bounds (`enumeration_spans`) taking the reader's span `(start, end)` edges where they say more
    than the list's guesses: a start later in its first item, an end where the last item is cut by what ends a list
    (`等`, a figure, `在`…: `_trim_item`). The guesses cut those items by word lengths, too long at the start and
    too short at the end: `推动威科赛乐、博赛特铝新` of `推动威科赛乐、博赛特铝新材料等`, where the reader marks
    `威科赛乐、博赛特铝新材料`."""
    folded = fold(text)
    first, last = stretch
    raw = next((match.span() for match in ENUMERATION_RE.finditer(folded) if match.start() <= first and last <= match.end()), None)
    if raw is None:
        return stretch
    first_separator, last_separator = folded.find("、", first), folded.rfind("、", 0, last)
    # The reader's start counts where it starts a word (`以权谋私` is not cut to `权谋私`).
    starts = set(itertools.accumulate((len(word) for word in _words(folded[raw[0] : first_separator])), initial=raw[0]))
    last_item = LAST_ITEM_END_RE.split(folded[last_separator + 1 : raw[1]], maxsplit=1)
    return (
        start if first <= start < first_separator and start in starts else first,
        end if len(last_item) == 2 and end == last_separator + 1 + len(last_item[0]) else last,
    )


BRACKETS = {"“": "”", "‘": "’", "「": "」", "『": "』", "《": "》", "〈": "〉", "（": "）", "(": ")", "【": "】", "[": "]"}
CLOSING = {close: open_ for open_, close in BRACKETS.items()}
QUOTES = "“‘「『《〈"  # completed where the partner stands beside the span; a lone parenthesis is left out
EDGE_PUNCTUATION = "，。、；：！？…,;:!?"


def whole_quantities(text: str, start: int, end: int) -> tuple[int, int]:
    """`(start, end)` widened so that neither edge cuts a number with its unit (`保持Ⅱ` of `保持Ⅱ类` -> `保持Ⅱ类`,
    `53亿元` of `1153亿元` -> `1153亿元`): a reader's span ends where a token does, not where a quantity does."""
    folded = fold(text)
    for match in QUANTITY_RE.finditer(folded, max(0, start - 20), min(len(folded), end + 20)):
        if match.start() < start < match.end() and match.end() <= end:
            start = match.start()
        if match.start() < end < match.end() and start <= match.start():
            end = match.end()
    return start, end


RESPECTIVELY_RE = re.compile(r"分别|分別")
LIST_JOINT_RE = re.compile(r"以及|[、和与與及跟]")


def respective(text: str, start: int, end: int, question: str) -> tuple[int, int]:
    """`(start, end)` moved to the figure that belongs to what the question names, where the span is one of the
    figures of a `A和B分别达x、y` sentence ("respectively"): `长江两岸森林覆盖率是多少` of
    `全区森林覆盖率和长江两岸森林覆盖率分别达53.5%、68%` -> 68%, not the reader's 53.5%. The things are the
    clause before 分别 cut at 和/与/及/、, the figures the numbers and dates after it up to the clause's end;
    the question names the thing whose own characters (those not shared by all the things) it holds most
    of, and must name one alone. Otherwise as it is."""
    folded, asked = fold(text), fold(question)
    for marker in RESPECTIVELY_RE.finditer(folded):
        clause_start = max((folded.rfind(mark, 0, marker.start()) for mark in "，,；;：:。（("), default=-1) + 1
        things = [thing.strip() for thing in LIST_JOINT_RE.split(folded[clause_start : marker.start()])]
        clause_end = min([i for i in (folded.find(mark, marker.end()) for mark in "，,；;。）)") if i != -1] + [len(folded)])
        figures = [m.span() for m in QUANTITY_RE.finditer(folded, marker.end(), clause_end)]
        figures = [(a, b) for a, b in figures if b - a > 1 or folded[a].isdigit()]
        if len(things) < 2 or len(things) != len(figures) or not all(things):
            continue
        current = [i for i, (a, b) in enumerate(figures) if a < end and start < b]
        if len(current) != 1:
            continue
        shared = set.intersection(*(set(thing) for thing in things))
        own = [set(thing) - shared for thing in things]
        held = [len(chars & set(asked)) / len(chars) if chars else 0.0 for chars in own]
        named = [i for i, share in enumerate(held) if share >= 0.5]
        if len(named) == 1 and named[0] != current[0]:
            return figures[named[0]]
    return start, end


def _unmatched(text: str, start: int, end: int) -> set[int]:
    """Positions in `text[start:end]` of quotes and brackets whose partner is not in that stretch."""
    opened: list[int] = []
    alone = set()
    for position in range(start, end):
        char = text[position]
        if char in BRACKETS:
            opened.append(position)
        elif char in CLOSING:
            if opened and text[opened[-1]] == CLOSING[char]:
                opened.pop()
            else:
                alone.add(position)
    return alone | set(opened)


def leading_particle(text: str, start: int, end: int) -> bool:
    """Whether `text[start:end]` opens with the particle 的, which ties it to what stands before (`的三倍赔偿` of
    `按原价的三倍赔偿`): no gold answer of the training sets (4,714) opens with it; 的确 and 的士 are words."""
    return end - start > 1 and text[start] == "的" and text[start + 1] not in "确確士"


def tidy_edges(text: str, start: int, end: int) -> tuple[int, int]:
    """`(start, end)` without the clause punctuation or spaces at its edges or a particle 的 opening it
    (`leading_particle`), and with a quote or bracket it opens or closes alone either given its partner, where a
    quote's stands right beside the span (`泰晤士報》` -> `《泰晤士報》`), or left out (`英菲尼迪），` -> `英菲尼迪`): a
    reader's span is cut by tokens, and an answer shown as `《日出` looks broken. Never empties the span."""
    was = (start, end)
    for _ in range(2 * (end - start) + 4):  # each step moves an edge once; the bound only guards the loop
        before = (start, end)
        while start < end and (
            text[start].isspace() or text[start] in EDGE_PUNCTUATION or leading_particle(text, start, end)
        ):
            start += 1
        while end > start and (text[end - 1].isspace() or text[end - 1] in EDGE_PUNCTUATION):
            end -= 1
        alone = sorted(_unmatched(text, start, end)) if start < end else []
        openers = [position for position in alone if text[position] in BRACKETS]
        closers = [position for position in alone if text[position] in CLOSING]
        if openers and text[openers[-1]] in QUOTES and text[end : end + 1] == BRACKETS[text[openers[-1]]]:
            end += 1  # `《日出` + `》`
        elif closers and CLOSING[text[closers[0]]] in QUOTES and start > 0 and text[start - 1] == CLOSING[text[closers[0]]]:
            start -= 1  # `“` + `疯狂科学家”`
        elif alone and alone[0] == start:
            start += 1
        elif alone and alone[-1] == end - 1:
            end -= 1
        if (start, end) == before:
            break
    return (start, end) if start < end else was


# 哪些公司, 哪几家企业, 哪两个单位: the organisations are what is asked (not 哪些功能性总部 of 金融机构).
ORGANISATION_ASKED_RE = re.compile(
    r"哪(?:些|几|[两三四五六七八九十])(?:家|个|所|间)?[^，。？?、]{0,4}?"
    r"(?:公司|企业|国企|央企|单位|集团|机构|银行|部门|政府|机关|组织|学校|大学|医院|协会)"
)


def whole_organisations(text: str, start: int, end: int, question: str) -> tuple[int, int]:
    """`(start, end)` widened to the run of organisation names it lies in (`重庆万商实业集团物流有限公司` of
    `四川港投集团与重庆市万州汽车运输（集团）有限责任公司、重庆万商实业集团物流有限公司` -> all three), or as it
    is: the answer to a question asking which organisations (哪些公司, 哪几家企业), whose names hold 、 and （集团） that
    cut an enumeration wrongly. The span's own start stands where it lies in the run's first name (whose
    start the pattern guesses); a preposition the guessed start takes in (由…) goes. A span in no run is as it
    was."""
    asked = fold(question)
    if not ORGANISATION_ASKED_RE.search(asked):  # 哪些功能性总部 asks no organisations: 总部 is no name's end
        return start, end
    folded = fold(text)
    for first, last in _organisation_spans(folded, asked):
        if first <= start < last or first < end <= last:
            head = ORGANISATION_RE.match(folded, first)
            if head and first < start < head.end():
                return start, last  # a start within the first name (not at its guessed start) stands
            start, end = first, last
            while end - start > 1 and folded[start] in "由与和及在被对向从经把将":  # 由四川省国资委 -> 四川省国资委
                start += 1
            break
    return start, end


# A date given by reference to one before it: 同月 (the same month), 当年 (that year), 同日, 当天…
RELATIVE_DATE_RE = re.compile(r"[同当该](年|月|日|天)")


def resolve_relative_date(before: str, answer: str) -> str | None:
    """The date a relative one stands for: the last date in the text `before` it that is as precise, cut to that
    precision (`同月` of `9月，…职业教育联盟成立。同月，三地签署了…` -> `9月`; `同年` after `1943年1月7日` -> `1943年`).
    None where the answer is no relative date, or no such date stands before it."""
    relative = RELATIVE_DATE_RE.fullmatch(fold(answer).strip())
    if relative is None:
        return None
    unit = "日" if relative.group(1) == "天" else relative.group(1)
    for match in reversed(list(DATE_RE.finditer(fold(before)))):
        if unit in match.group():
            return before[match.start() : match.start() + match.group().index(unit) + 1].strip()
    return None


LEADING_YEAR_RE = re.compile(r"(?:公元前?)?\s*(?:\d{1,4}|[〇零一二三四五六七八九十]{2,4})\s*年")


CLAUSE_MARKS = "，。；！？,;!?\n"


def whole_words(text: str, start: int, end: int) -> tuple[int, int]:
    """`(start, end)` widened to the words it cuts into (jieba's, cutting the clause around it): the reader's tokens
    may end inside one (`因传说有白鹿在河边鸣` of `…鸣叫而得名`)."""
    clause_start = max(text.rfind(mark, 0, start) for mark in CLAUSE_MARKS) + 1
    ends = [i for i in (text.find(mark, end) for mark in CLAUSE_MARKS) if i != -1]
    clause_end = min(ends) if ends else len(text)
    bounds = list(itertools.accumulate((len(word) for word in _words(fold(text[clause_start:clause_end]))), initial=clause_start))
    return max(bound for bound in bounds if bound <= start), min(bound for bound in bounds if bound >= end)


def holds_bare_figure(text: str) -> bool:
    """Whether a clause of `text` is a number or a date and nothing else (`3.6%，` or `3.6%，主要受…影响` answer no
    question asking why)."""
    clauses = (clause.strip() for clause in re.split(f"[{CLAUSE_MARKS}]", fold(text)))
    return any(QUANTITY_RE.fullmatch(clause) or DATE_RE.fullmatch(clause) for clause in clauses if clause)


def year_only(text: str, start: int, end: int) -> tuple[int, int]:
    """`(start, end)` cut to the year it opens with (`1943年1月7日` -> `1943年`), or as it is: the answer to a
    question asking a year, where the date the answer sits in says more than was asked."""
    year = LEADING_YEAR_RE.match(text, start, end)
    return (start, year.end()) if year else (start, end)


def _organisation_spans(folded: str, question: str) -> list[tuple[int, int]]:
    """Runs of organisation names (not the ones the question names), joined by 与/和/、."""
    asked = [match.group() for match in ORGANISATION_RE.finditer(question) if len(match.group()) >= 5]
    names = []
    for match in ORGANISATION_RE.finditer(folded):
        start, end = match.span()
        while start < end and folded[start] in CONNECTORS:
            start += 1
        text = folded[start:end]
        if text in question or len(text) < 3 or any(name in text for name in asked):
            continue
        names.append((start, end))
    runs: list[list[int]] = []
    for start, end in names:
        if runs and set(folded[runs[-1][1] : start]) <= set(CONNECTORS + "（）()"):
            runs[-1][1] = end
        else:
            runs.append([start, end])
    return [(start, end) for start, end in runs]


def _person_spans(folded: str, question: str) -> list[tuple[int, int]]:
    """Person names (jieba's `nr` tag) that the question does not already name."""
    return [(start, end) for start, end, word in _names(folded) if word not in question]


def _located_spans(folded: str, question: str) -> list[tuple[int, int]]:
    """The place after each verb that places something (LOCATED_RE) and the question does not name."""
    spans = []
    for match in LOCATED_RE.finditer(folded):
        start, end = match.span(1)
        turn = folded.find("的", start, end)
        if turn != -1 and 2 < end - turn <= 7 and folded[end - 1] not in PLACE_END:
            end = turn
        if end - start >= 2 and folded[start:end] not in question:
            spans.append((start, end))
    return spans


@lru_cache(maxsize=4096)  # jieba's part-of-speech tagger (HMM, in Python) is the slowest step of an answer
def _names(folded: str) -> tuple[tuple[int, int, str], ...]:
    """Where jieba tags a person's name (`nr`, 2-4 characters, a known surname) in the text."""
    import jieba.posseg

    names = []
    position = 0
    for token in jieba.posseg.lcut(folded):
        start = folded.find(token.word, position)
        position = start + len(token.word)
        if token.flag == "nr" and 2 <= len(token.word) <= 4 and token.word[0] in SURNAMES:
            names.append((start, position, token.word))
    return tuple(names)


DAY_OF_MONTH_RE = re.compile(rf"(?:\d{{1,2}}|[{CN_NUMERAL}]{{1,3}})[日号]")


def is_calendar_date(folded: str) -> bool:
    """Whether folded text is a date with a month (`8月15日`, `农历三月初三`) or a day of the month (`16日`): no
    count of anything, as a year (`3年`) may be."""
    return bool(DATE_RE.fullmatch(folded) and "月" in folded or DAY_OF_MONTH_RE.fullmatch(folded))


def other_unit(info: QuestionInfo, text: str) -> bool:
    """Whether `text` holds a number with a unit, and none with the unit a quantity question asks for (`43个`
    for 多少钱), or is a calendar date (`16日` for 停课几天, where the sentence says `停课两天`)."""
    folded = fold(text).strip()
    if is_calendar_date(folded):
        return True
    return any(ok for _, _, ok in _quantity_spans(folded, None)) and not any(ok for _, _, ok in _quantity_spans(folded, info.unit))


MAGNITUDE_RE = re.compile(r"[\d.,]+(?:余|多|近|约)?(?:万|亿|千|百)+(?:余|多)?")


def unit_clash(info: QuestionInfo, text: str) -> bool:
    """Whether a quantity question's answer is a figure of another measure than the one asked: a calendar date,
    or numbers carrying units (not a bare 万 or 亿: `1.25亿视杆细胞` counts cells) none of which is the asked one
    (for a count, any classifier: 几个孩子 -> 3名, 几本书 -> 10册)."""
    folded = fold(text).strip()
    if not info.unit:
        return False
    if is_calendar_date(folded):
        return True
    counted = any(unit in CLASSIFIER_WORDS for unit in info.unit.split("|"))
    asked = f"{info.unit}|{CLASSIFIERS}" if counted else info.unit
    measured = [(s, e) for s, e, ok in _quantity_spans(folded, None) if ok and not MAGNITUDE_RE.fullmatch(folded[s:e])]
    # The asked unit may follow a classifier (`10个工作日` for 多久).
    return bool(measured) and not any(re.search(asked, folded[s : e + 4]) for s, e in measured)


# A numbered qualifier: 第四季度, 第六批, 第3届 (the numeral, and the character after it). Not a year: a question
# sets its scene with one the answer's sentence need not repeat (`1740年，腓特烈大帝入侵西里西亚，…`, validation split).
QUALIFIER_RE = re.compile(rf"第([{CN_NUMERAL}两]+|\d+)([{IDEOGRAPHS}])")


def qualifier_clash(question: str, sentence: str) -> bool:
    """Whether the question names a numbered thing (第四季度) its answer's sentence does not, where that sentence
    names another of the same kind (第三季度): `远帆科技第四季度营业收入多少` is not answered
    from `公司第三季度实现营业收入42.6亿元`."""
    folded = fold(sentence)
    said = set(QUALIFIER_RE.findall(folded))
    return any(
        (number, kind) not in said
        and any(other_kind == kind for _, other_kind in said)
        and not re.search(f"[该本此这]{re.escape(kind)}", folded)  # `该区位于…，西部与第一区接邻` speaks of 第四区
        for number, kind in QUALIFIER_RE.findall(fold(question))
    )


def typed_candidates(info: QuestionInfo, folded: str) -> list[tuple[int, int]]:
    """Where folded text holds a date or time (a time question) or a number with the asked unit (a quantity
    question): `(start, end)` of each; nothing for other questions."""
    if info.kind == TIME:
        return (
            [m.span() for m in DATE_RE.finditer(folded)]
            or [m.span() for m in TIME_EXPRESSION_RE.finditer(folded)]
            or [m.span() for m in EVENT_TIME_RE.finditer(folded)]
        )
    if info.kind == QUANTITY and (ordinal := re.search(rf"第几([{IDEOGRAPHS}])", info.folded)):
        return [m.span() for m in re.finditer(rf"第{NUMBER}{ordinal.group(1)}", folded)]  # 第几区 -> 第三区
    if info.kind == QUANTITY:
        candidates = [(s, e) for s, e, ok in _quantity_spans(folded, info.unit) if ok]
        if not candidates and info.unit == "个":
            candidates = [(s, e) for s, e, ok in _quantity_spans(folded, CLASSIFIERS) if ok]
        return candidates
    return []


def extract(info: QuestionInfo, sentence: str, words: list[str]) -> Span | None:
    """The span of `sentence` that answers the question, or None when none of the asked type is there.

    Several candidates: the one whose clause shares most of the question's words wins, then the first.
    """
    folded = fold(sentence)
    candidates: list[tuple[int, int]] = typed_candidates(info, folded)
    if info.kind == ENTITY and info.person:
        candidates = _person_spans(folded, info.folded)
    elif info.kind in (LIST, ENTITY):
        if info.kind == ENTITY:
            candidates = _organisation_spans(folded, info.folded)
        candidates = candidates or _enumeration_spans(folded)
    elif info.kind == PLACE:
        # A located place counts where its clause is about the question (李晨毕业于哪儿 is not answered by
        # `出生于北京`); else any name ending like a place.
        located = [span for span in _located_spans(folded, info.folded) if _context_score(folded, *span, words) > 0]
        candidates = located or [m.span() for m in PLACE_RE.finditer(folded) if m.group() not in info.folded]
    # A date often stands alone before the clause it dates, or ends a clause whose subject is the one before.
    around = info.kind == TIME
    if info.attribute:
        words = [*words, info.attribute]
    # A number or date counts only where the question's words are: `长江干流万州段全长多少公里` finds no
    # length in `建成50余公里消落带生态绿廊`, a clause about something else. A long word counts by its parts
    # too (jieba's search mode): the text says 占地 where the question says 占地面积.
    located = bool(words) and info.kind in (TIME, QUANTITY)
    if located:
        words = [*words, *_parts(tuple(words))]
    scored = [(_context_score(folded, start, end, words, around), start, end) for start, end in candidates]
    if located:
        scored = [item for item in scored if item[0] > 0]
    if not scored:
        return None
    # Equal scores: the span whose own clause holds more of the question (`1992年被列为中国名校，2005年获“中国百强
    # 中学”称号`: both dates see 称号 in the clause after them), then the first.
    _, start, end = max(scored, key=lambda item: (item[0], _context_score(folded, item[1], item[2], words), -item[1]))
    return Span(start, end, sentence[start:end])


def requires_span(info: QuestionInfo) -> bool:
    """Whether no span of the asked type in the text means no answer.

    Dates and numbers always; for a question without Chinese (English) every answer must be a typed
    span, since the sentence cannot be checked against the question's words.
    """
    return info.kind in (TIME, QUANTITY) or not info.chinese
