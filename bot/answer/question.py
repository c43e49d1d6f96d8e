"""What a question asks: its type (time, quantity, place, ...), the unit it implies, its content words.

`analyse("三峡综合物流枢纽初期投资多少钱？")` -> type "quantity", unit "元", content
"三峡综合物流枢纽初期投资". Works on folded text (simplified, half-width), so a question in
traditional characters is analysed the same way.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import numpy as np

from bot.answer.synonyms import mentions
from bot.answer.units import (
    AREA,
    COUNTERS,
    CURRENCIES,
    DURATION,
    LENGTH,
    UNIT_SPELLINGS,
    WEIGHT,
)
from bot.ingest.passages import Passage
from bot.search.index import Index
from bot.text.fold import fold, has_cjk, is_traditional, to_traditional

TIME, QUANTITY, PLACE, ENTITY, LIST, YES_NO, OTHER = "time", "quantity", "place", "entity", "list", "yes_no", "other"

# Interrogative phrases, longest first; they say what is asked, never where the answer is.
INTERROGATIVES = [
    "什么时候", "什么时间", "哪一年", "哪一天", "哪年", "哪天", "何时", "几月", "几号", "何年",
    "何人", "何种", "何地", "何物", "何者", "为何",
    "有多少", "多少钱", "多少", "有多长", "有多大", "有多久", "有多高", "有多远", "有多重", "有多深", "有多宽",
    "多长", "多大", "多久", "多高", "多远", "多重", "多深", "多宽", "几个", "几项", "几类", "几",
    "哪些", "哪几个", "哪几", "哪个", "哪里", "哪儿", "何处", "哪",
    "是什么", "什么", "是谁", "谁", "有没有", "是不是", "是否", "怎么样", "怎样", "怎么", "如何", "为什么",
    "吗", "呢", "请问",
]
INTERROGATIVE_RE = re.compile("|".join(map(re.escape, INTERROGATIVES)))
ENGLISH_TYPES = [
    (re.compile(r"\b(when|what (year|date|day|month|time))\b", re.I), TIME),
    (re.compile(r"\b(how (much|many|long|large|big|far|high)|what (percentage|proportion|share|rate|grade|class)|population)\b", re.I), QUANTITY),
    (re.compile(r"\bwhat\b.*\b(rate|percentage|proportion|population|number|amount|total)\b", re.I), QUANTITY),
    (re.compile(r"\bwhere\b", re.I), PLACE),
    (re.compile(r"\b(who|which (compan|enterprise|organi[sz]ation|department|firm))", re.I), ENTITY),
    (re.compile(r"\b(which|what are)\b", re.I), LIST),
    (re.compile(r"^(is|are|does|do|did|was|were|has|have|can)\b", re.I), YES_NO),
]

EXPLICIT_UNIT_RE = re.compile(rf"(?:多少|几)({COUNTERS})")
UNIT_HINTS = [
    (re.compile(r"钱|投资|资金|金额|收入|产值|分红|GDP|gdp|造价|花费|斥资|成本|价格|票价"), rf"元|{CURRENCIES}"),
    (re.compile(r"(?<!统)率(?!领)|比例|比重|占比|百分"), r"%|％|成|比"),  # not 率领 (led)
    (re.compile(r"级别|等级"), r"级|类|等"),  # before lengths: 级别有多高 asks a grade, not a height
    # Before lengths: 多长时间 is no length, nor is a period's (续借期多长, 保修期有多长).
    (re.compile(r"多久|多长时间|车程|时长|有效期|期(?:有|是)?多长"), DURATION),
    (re.compile(r"多长|多高|多远|多深|多宽|长度|高度|距离|身高|体长|全长|海拔"), LENGTH),
    (re.compile(r"多大|面积|占地"), AREA + "|" + LENGTH + "|岁"),  # 多大 may ask an age: 当主时多大 -> 两岁
    (re.compile(r"多重|重量|体重|净重"), WEIGHT),
    (re.compile(r"人口|多少人|人数|学生"), r"人|万|亿"),
    (re.compile(r"出栏|生猪"), r"头"),
]
# Households are counted in 户, and the thing counted says so (多少贫困户, 几农户 -> 24户; 几家农户 names its counter,
# 家), before any hint (分红 is no 元 here).
HOUSEHOLDS_RE = re.compile(r"(?:多少|几)[^，。？?、\s]{0,3}?户")
# Words for what a quantity measures, when the question names it only by 多高/多长/多大.
ATTRIBUTE_WORDS = {"多高": "高", "多长": "长", "多远": "距离", "多大": "面积", "多深": "深", "多重": "重", "多宽": "宽"}


@dataclass(frozen=True)
class QuestionInfo:
    text: str  # as asked
    folded: str  # simplified, half-width, lower case
    kind: str
    unit: str | None  # for quantity questions: the unit the answer should carry
    content: str  # folded text with interrogatives and punctuation removed
    chinese: bool
    person: bool = False  # asks who (a person), not which organisation
    attribute: str | None = None  # what 多高/多长/多大 measures: 高, 长, 面积
    keywords: bool = False  # asks nothing (`渝万高铁`, `Yuwan railway`): see asks_nothing
    several: bool = False  # asks for more than one thing (哪些, 哪几, 哪两, `which places`): see asks_several
    year: bool = False  # asks a year (哪一年, 何年, `what year`), not a day
    reason: bool = False  # asks why (为什么, 为何, `why`)


def classify(folded: str) -> str:
    """The question's type from its interrogatives (Chinese) or question words (English)."""
    if not has_cjk(folded):
        for pattern, kind in ENGLISH_TYPES:
            if pattern.search(folded):
                return kind
        return OTHER
    if re.search(r"为什么|为何|何故", folded):
        return OTHER  # asks a reason, whatever else it names (`练水的时间是其他泳手的一半，为什么…`)
    # 开工时间 asks a time (as keywords, too); 多长时间 asks a duration.
    if re.search(r"何时|什么时候|什么时间|哪一?年|哪一?天|几月|几号|何年|日期|时间是|(?<![长少久])时间[?？]?$", folded):
        return TIME
    if re.search(r"哪些|哪几", folded):
        if re.search(r"企业|公司|集团|单位|部门|机构|银行", folded):
            return ENTITY
        return LIST
    if re.search(r"多少|多长|多大|多久|多高|多远|多深|多宽|有多重|几[个项类所头家条万亿%]?|覆盖率|比例|比重|占比|百分之", folded):
        return QUANTITY
    if re.search(r"哪里|哪儿|何处|在哪|哪个(镇|区|市|县|省|村|街道|地方|城市)|什么地方|位于", folded):
        return PLACE
    if re.search(r"谁|哪个(部门|企业|公司|单位|机构|集团)|什么(企业|公司|单位|机构|部门)|由.*共建|哪家", folded):
        return ENTITY
    if re.search(r"有没有|是不是|是否|吗[?？]?$", folded):
        return YES_NO
    if re.search(r"是什么|有哪", folded):
        return LIST if re.search(r"产业|领域|项目|措施|内容", folded) else OTHER
    return OTHER


ENGLISH_UNIT_HINTS = [
    # Before `dividend`: how many households got a dividend asks a count of households (HOUSEHOLDS_RE's twin).
    (re.compile(r"how many\b[^?]*?\b(households?|families)\b", re.I), r"户"),
    (re.compile(r"invest|yuan|cost|price|fare|money|dividend|fund|gdp|revenue|capital", re.I), r"元"),
    (re.compile(r"percent|rate|proportion|share|coverage", re.I), r"%"),
    (re.compile(r"kilomet|\bkm\b|how long is|how (tall|high|far)|length|distance", re.I), LENGTH),
    (re.compile(r"how long|minutes|hours|journey|travel time", re.I), DURATION),
    (re.compile(r"people|population|residents|students", re.I), r"人|万|亿"),
    (re.compile(r"pigs|hogs|head\b", re.I), r"头"),
    (re.compile(r"projects", re.I), r"个"),
    (re.compile(r"grade|class\b|category", re.I), r"类"),
]


def implied_unit(folded: str) -> str | None:
    """The unit an answer must carry, as a regular expression: `多少米` -> 米, `多少钱` -> 元, `多高` -> lengths."""
    if not has_cjk(folded):
        for pattern, unit in ENGLISH_UNIT_HINTS:
            if pattern.search(folded):
                return unit
        return None
    explicit = EXPLICIT_UNIT_RE.search(folded)
    if explicit:
        unit = explicit.group(1)
        spellings = sorted(next((group for group in UNIT_SPELLINGS if unit in group), {unit}), key=len, reverse=True)
        # A Latin unit stands alone: `m` is not the end of `km`.
        return "|".join(rf"(?<![a-z]){re.escape(s)}\b" if s.isascii() else re.escape(s) for s in spellings)
    if HOUSEHOLDS_RE.search(folded):
        return "户"
    for pattern, unit in UNIT_HINTS:
        if pattern.search(folded):
            return unit
    return None


ENGLISH_ASKING_RE = re.compile(
    r"\b(what|when|where|who|whom|whose|which|why|how)\b|^(is|are|does|do|did|was|were|has|have|can|could|will|would|should)\b"
)


def has_question_word(folded: str) -> bool:
    """Whether (folded) text holds a question word: an interrogative (Chinese) or `what`, `how`, `is …` (English)."""
    return bool(INTERROGATIVE_RE.search(folded) if has_cjk(folded) else ENGLISH_ASKING_RE.search(folded.strip()))


def asks_nothing(folded: str) -> bool:
    """Whether a (folded) question is keywords only: no interrogative, no question word, no question mark, and
    not a sentence (`说出丰田的一个豪华汽车部门。` asks, though it has no question word)."""
    if re.search(r"[?？]|[。.!！]\s*$", folded):
        return False
    return not has_question_word(folded)


# 哪些 / 哪几 / 哪两家; `which places`, `what are` (not `which is`, `which was`).
SEVERAL_RE = re.compile(r"哪些|哪几|哪[两三四五六七八九十]|\bwhich (?!is\b|was\b|has\b|does\b|this\b)[a-z]+s\b|\bwhat are\b")


def asks_several(folded: str) -> bool:
    """Whether a (folded) question asks for more than one thing: its answer is a whole list, not one item of it."""
    return bool(SEVERAL_RE.search(folded))


# 哪一年 / 何年 / `what year`: the year, not the day (analyse's `year`).
YEAR_RE = re.compile(r"哪一?年|何年|什么年份|\b(which|what) year\b")
# Asks why; not 称为什么 (is called what), 出版为什么书, 呈现为什么样的形状, nor `…的亮点为何？` (is what).
REASON_RE = re.compile(r"(?<![称成作视改定封名译列选认以])(?:为什么(?![样书])|为何(?!\s*[?？]?$))|何故|\bwhy\b")


# Greetings and requests around a question (你好，请问…; 麻烦告诉我…; 你知道…吗): they ask nothing, and their words,
# which no corpus has (告诉, 知道), would count against every passage as key words it lacks.
GREETINGS, LATIN_GREETINGS = "你好|您好|哈[喽啰]|嗨", "hi|hello|hey"
GREETING_RE = re.compile(rf"(?:{GREETINGS}|(?:{LATIN_GREETINGS})\b)[\s,，.。!！~～]*")
REQUEST_RE = re.compile(
    r"(?:请问|请教|我?想(?:问问|问|知道|了解|打听)|问一下|打听一下"
    r"|(?:麻烦|请)?[你您]?(?:能不能|能否|可不可以|可以|能)?(?:告诉|帮)我(?:查查|查|找找|找|看看|看)?"
    r"|[你您](?:知道|晓得))(?:一下)?[\s,，:：]*"
)
INDIRECT_RE = re.compile(r"告诉|帮|知道|晓得")  # 能告诉我…吗 asks the question, not whether one can tell
# Colloquial question words in their standard form, as the reader was trained on them (啥时候 -> 什么时候).
COLLOQUIAL = [("啥时候", "什么时候"), ("啥时", "什么时候"), ("多会儿", "什么时候"), ("几时", "何时"), ("咋样", "怎么样"),
              ("咋", "怎么"), ("啥", "什么")]
COLLOQUIAL_RE = re.compile("|".join(map(re.escape, (said for said, _ in COLLOQUIAL))))
# 几号 asking a day (`渝万高铁几号开工`, read by the reader as "what number": not found), not a numbered thing
# (几号线, 几号楼) nor the day of a month already asked (几月几号 reads well as it is).
DAY_NUMBER_RE = re.compile(r"(?<![月第])几号(?![线楼门车口位院房馆台站厅床球码桌厢座机窗])")
# 了没 / 了没有 closing a question asks yes or no, as 了吗 does (`新田港建好了没`): the reader and the question types
# know 吗, and 没 left in the question reads as a word to look for.
NOT_YET_RE = re.compile(r"(?<=了)没有?(?=[?？]?\s*$)")


# A message that is only a greeting, thanks, or a question about the bot itself (你好！; 谢谢; help; 你能做什么):
# no document answers it, and "not found" with passages beside it would puzzle. Matched on the whole message,
# folded, lower-cased, without spaces and marks, piece by piece (`你好，你能做什么？` is help; `history` is not `hi`).
SMALL_TALK = {
    "help": re.compile(
        r"帮助|帮忙|求助|怎么用|如何使用|使用说明|用法|菜单|你是谁|你是什么|你叫什么(?:名字)?|你能(?:做|干)什么|你会(?:做|干)?什么"
        r"|你可以(?:做|干)什么|你能回答什么(?:问题)?|help|menu|start|whoareyou|whatareyou|whatcanyoudo|howdoesthiswork"
    ),
    "thanks": re.compile(r"谢谢|多谢|感谢|谢了|谢啦|辛苦了|thankyou|thanks|thank|thx|ty"),
    "greeting": re.compile(
        rf"{GREETINGS}|在吗|在不在|早上好|早安|上午好|中午好|下午好|晚上好|大家好|hiya|{LATIN_GREETINGS}|yo"
        r"|goodmorning|goodafternoon|goodevening"
    ),
}
SMALL_TALK_FILLER = re.compile(r"机器人|问答|bot|wenda|吗|嘛|呀|啊|哦|喔|呢|吧|啦|了|你|您|there|again|so|very|much|a|lot|please")


def small_talk(message: str) -> str | None:
    """"help", "thanks" or "greeting" when the message is only that (help first where it mixes them), else None."""
    text = re.sub(r"[\W_]+", "", fold(message).lower())
    kinds: set[str] = set()
    position = 0
    while position < len(text):
        for kind, pattern in SMALL_TALK.items():
            if match := pattern.match(text, position):
                kinds.add(kind)
                position = match.end()
                break
        else:
            if not (filler := SMALL_TALK_FILLER.match(text, position)):
                return None
            position = filler.end()
    return next((kind for kind in SMALL_TALK if kind in kinds), None)


def plain_question(question: str) -> str:
    """The question itself: a greeting and a request around it taken off, colloquial question words in their
    standard form (`你好，请问三峡应急医院啥时候开工的` -> `三峡应急医院什么时候开工的`, `能告诉我协议投资总额吗` ->
    `协议投资总额`, `新田港建好了没` -> `新田港建好了吗`), in the question's own script. A question that is nothing else
    stays as asked."""
    folded = fold(question)
    if len(folded) != len(question):  # folding changed the length: nothing lines up to cut by
        return question
    greeting = GREETING_RE.match(folded)
    start = greeting.end() if greeting else 0
    request = REQUEST_RE.match(folded, start)
    dropped = []  # spans taken out
    if request and request.end() > start:
        if INDIRECT_RE.search(request.group()):
            particle = re.search(r"[吗么](?=[?？]?\s*$)", folded[request.end() :])
            if particle:
                dropped.append((request.end() + particle.start(), request.end() + particle.end()))
        start = request.end()
    replaced = [(match.start(), match.end(), dict(COLLOQUIAL)[match.group()]) for match in COLLOQUIAL_RE.finditer(folded, start)]
    replaced += [(match.start(), match.end(), "哪天") for match in DAY_NUMBER_RE.finditer(folded, start)]
    replaced += [(match.start(), match.end(), "吗") for match in NOT_YET_RE.finditer(folded, start)]
    edits = sorted([(a, b, "") for a, b in dropped] + replaced)
    traditional = is_traditional(question)
    plain, kept = [], start
    for begin, end, standard in edits:
        plain.append(question[kept:begin])
        plain.append(to_traditional(standard) if traditional and standard else standard)
        kept = end
    plain.append(question[kept:])
    result = "".join(plain)
    return result if has_words(re.sub(r"[吗嗎呢吧啊呀哦嘛么麼]", "", result)) else question  # 你好吗 stays


# Questions answered from one message, at most (the rest are left, and the reply says so).
MAX_QUESTIONS_PER_MESSAGE = 3


OPENING, CLOSING = "「『“‘《〈(（[【", "」』”’》〉)）]】"


def split_questions(text: str) -> list[str]:
    """The questions in one message, each with its question mark (`渝万高铁何时开工？三峡应急医院什么时候开工？` ->
    two). Only parts that each ask (a question word) stand alone: `…？谢谢` and `東頭?和美東?曾…哪一個區中?` are
    one question, and so is a question mark inside quotes or a title (`「…乎？」這句話是誰說的?`)."""
    parts, start, depth = [], 0, 0
    for position, char in enumerate(text):
        depth += (char in OPENING) - (char in CLOSING)
        if char in "?？" and depth <= 0:  # not inside 「…？」 or 《…?》
            parts.append(text[start : position + 1])
            start = position + 1
    parts.append(text[start:])

    questions: list[str] = []
    for part in (part for part in parts if part.strip()):
        if questions and not (has_question_word(fold(part)) and has_question_word(fold(questions[-1]))):
            questions[-1] += part
        else:
            questions.append(part)
    return [question.strip() for question in questions]


def has_words(question: str) -> bool:
    """Whether a question holds anything to search for: a character, letter or digit (not only `？？？` or 😀)."""
    return any(char.isalnum() for char in question)


def analyse(question: str) -> QuestionInfo:
    folded = fold(question.strip())
    kind = classify(folded)
    content = INTERROGATIVE_RE.sub(" ", folded) if has_cjk(folded) else folded
    content = re.sub(r"[\s?？!！。，,、：:；;'「」()（）]+", " ", content).strip()
    return QuestionInfo(
        text=question,
        folded=folded,
        kind=kind,
        unit=implied_unit(folded) if kind == QUANTITY else None,
        content=content,
        chinese=has_cjk(folded),
        person=bool(re.search(r"谁|\bwho(m|se)?\b", folded)),
        attribute=next((word for phrase, word in ATTRIBUTE_WORDS.items() if phrase in folded), None),
        keywords=asks_nothing(folded),
        several=asks_several(folded),
        year=bool(YEAR_RE.search(folded)),
        reason=bool(REASON_RE.search(folded)),
    )


# Characters of question words carry no evidence about which sentence answers.
QUESTION_WORD_CHARS = set("的了是在有和与吗呢吧么什哪谁何几多少怎样为啥个么请问")


QUESTION_STOPWORDS = set("的 了 是 在 和 与 及 或 把 被 给 对 为 从 由 到 让 向 之间 之 中 上 下 里 后 前 时 年 月 日 个 这 那 这个 那个 这些 那些 其 该 都 也 就 还 又 并 将 已 已经 以 于 等 有 没有 要 能 会 可以 呢 吗 吧 啊 请问 一下 the a an of to in on at for and or is are was were be been did do does what when where who which how".split())


def content_words(question_content: str) -> list[str]:
    """The question's content words (jieba), without stopwords: `万州和达州之间的城际快巴开通的` ->
    `["万州", "达州", "城际", "快巴", "开通"]`. A quoted title (《改革协作框架协议》) is also kept whole."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    words = [quoted for quoted in re.findall(r"[《“\"]([^》”\"]{2,30})[》”\"]", question_content)]
    for word in _unglue(jieba.lcut(question_content), jieba.dt.FREQ):
        word = word.strip()
        if not word or word in QUESTION_STOPWORDS or (len(word) == 1 and not word.isalnum()):
            continue
        if len(word) == 1 and word in QUESTION_WORD_CHARS:
            continue
        if word not in words:
            words.append(word)
    return words


# What jieba's HMM glues to a neighbouring character: 有 and 是 after it, a date's unit before it.
GLUED_AFTER, GLUED_BEFORE = "有是", "年月日"


def _unglue(tokens: list[str], dictionary: dict[str, int]) -> list[str]:
    """jieba's tokens, with each two-character word its HMM made up of 有 or 是 and the character before it,
    or of a date's unit and the character after it, taken apart: 上部叶有什么特点 gives `叶有`, 茨柏克沃斯基是
    gives `基是`, 2016年林郁智 gives `年林`. Such a word is in no sentence, so the question looked less covered
    than it was; its parts are 叶 and the stopword 有."""
    unglued: list[str] = []
    for token in tokens:
        glued = len(token) == 2 and has_cjk(token) and token not in dictionary
        if glued and (token[1] in GLUED_AFTER or token[0] in GLUED_BEFORE):
            unglued.extend(token)
        else:
            unglued.append(token)
    return unglued


# The longest question word mend_words looks into (its pieces are searched in quadratic time).
MENDED_WORD_MAX = 8


def mend_words(index: Index, words: list[str]) -> list[str]:
    """The question's words with jieba's gluing undone against the corpus: a Chinese word the corpus never
    has, but which is a word it has plus at most one character, becomes that word (`黄华麒是` -> `黄华麒`,
    `以兆康苑` -> `兆康苑`, `魏舒史` -> `魏舒`; jieba joins a name it does not know to its neighbour). A word
    the corpus lacks otherwise stays whole: its absence is what says the corpus cannot answer."""
    def pieces(text: str) -> list[str]:
        """The longest parts of `text` (two characters or more) the corpus has, left to right."""
        for length in range(len(text), 1, -1):
            for start in range(len(text) - length + 1):
                if index.has_word(text[start : start + length]):
                    end = start + length
                    return pieces(text[:start]) + [text[start:end]] + pieces(text[end:])
        return []

    mended: list[str] = []
    for word in words:
        # A word longer than jieba's (a quoted title, kept whole on purpose) is not searched: its pieces are many.
        glued = 2 < len(word) <= MENDED_WORD_MAX and has_cjk(word) and not index.has_word(word)
        found = pieces(word) if glued else []
        keep = found if found and len(word) - sum(map(len, found)) <= 1 else [word]
        mended.extend(piece for piece in keep if piece not in mended)
    return mended


def word_share(index: Index, words: list[str], texts: list[str]) -> np.ndarray:
    """For each (folded) text, the IDF-weighted share of the words it contains (0..1), a word counting where
    a word of its group does (bot.answer.synonyms: 出生地 where the text says 生于).

    A question about something the corpus never mentions (`万州的GDP是多少`: no passage says GDP)
    keeps a low share however close its vector lands; a word the corpus lacks weighs the most.
    """
    weights = index.word_idf(words)
    present = np.array([[mentions(text, word) for word in words] for text in texts], dtype=np.float64)
    return present.reshape(len(texts), len(words)) @ weights / (float(weights.sum()) or 1.0)


def coverage(index: Index, words: list[str], passage: Passage) -> float:
    """IDF-weighted share of the question's content words that the passage (and its section title) contains."""
    return float(word_share(index, words, [fold(passage.text + passage.section)])[0]) if words else 0.0
