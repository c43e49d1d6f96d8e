"""Question types and implied units, in simplified, traditional and English."""

from __future__ import annotations

import re

import pytest

from bot.answer.question import (
    ENTITY,
    LIST,
    OTHER,
    PLACE,
    QUANTITY,
    TIME,
    YES_NO,
    analyse,
    plain_question,
    small_talk,
    split_questions,
)


@pytest.mark.parametrize(
    ("question", "kind", "unit"),
    [
        ("渝万高铁何时开工？", TIME, None),
        ("渝萬高鐵什麼時候開工", TIME, None),
        ("渝万高铁 开工时间", TIME, None),  # keywords that name a time ask one
        ("渝万高铁建成后万州到重庆主城要多长时间？", QUANTITY, "分钟"),
        ("三峡综合物流枢纽初期投资多少钱？", QUANTITY, "元"),
        ("万州全区森林覆盖率达到多少？", QUANTITY, "%"),
        ("龙沙镇的生态猪循环养殖项目年出栏多少头？", QUANTITY, "头"),
        ("长江干流万州段的水质是几类？", QUANTITY, "类"),
        ("渝万高铁建成后万州到重庆主城要多久？", QUANTITY, "分钟"),
        ("续借期多长", QUANTITY, "天"),  # a period's length is a duration
        ("人行道有多宽", QUANTITY, "米"),  # 多宽, 多深 and 有多重 ask a measure as 多长 does
        ("这个湖有多深？", QUANTITY, "米"),
        ("这头牛有多重？", QUANTITY, "公斤"),
        ("重庆三峡物流集团有限公司是由哪些企业共建的？", ENTITY, None),
        ("《改革协作框架协议》是哪几个地方签署的？", LIST, None),
        ("三峡应急医院在哪个镇？", PLACE, None),
        ("万州区区长是谁？", ENTITY, None),
        ("万州有没有机场？", YES_NO, None),
        ("When did construction start?", TIME, None),
        ("How much was invested in the logistics hub?", QUANTITY, "元"),
        ("What is the forest coverage rate?", QUANTITY, "%"),
        ("How many poor households received dividends?", QUANTITY, "户"),  # households counted, not money
        ("How much in dividends did the farm pay out to villagers?", QUANTITY, "元"),
        ("Explain the plan.", OTHER, None),
    ],
)
def test_question_kind_and_unit(question, kind, unit):
    info = analyse(question)
    assert info.kind == kind
    if unit is None:
        assert info.unit is None
    else:  # the implied unit is a pattern the answer's unit must match
        assert re.fullmatch(info.unit, unit) or re.search(rf"(^|\|){re.escape(unit)}(\||$)", info.unit), info.unit


def test_explicit_units_and_what_is_measured():
    metres = analyse("蓍所生长的地区海拔约是多少米？").unit  # not 所 (a particle here)
    assert re.search(metres, "600米") and re.search(metres, "13公尺") and not re.search(metres, "600所")
    # The same unit written another way, and the general classifier 个 standing for the specific one.
    assert re.search(analyse("锦地罗的全长是多少厘米？").unit, "2cm（0.79英尺）")
    assert analyse("林永康有几个孩子？").unit == "个"  # extract falls back to the specific classifiers
    assert analyse("A-135共有几处发射基地？").unit == "处"
    # Households: the thing counted ends in 户, whatever else the question names (分红 asks no money here).
    assert analyse("牧润养殖场给多少贫困户分红？").unit == "户"
    assert analyse("全村有多少农户？").unit == "户" and analyse("多少户？").unit == "户"
    tall = analyse("纽西兰鸡毛松有多高？")
    assert tall.attribute == "高" and re.search(tall.unit, "55米") and tall.content == "纽西兰鸡毛松"


def test_content_drops_interrogatives_and_folds_script():
    info = analyse("渝萬高鐵何時開工？")
    assert info.content == "渝万高铁 开工"
    assert info.chinese and not analyse("When?").chinese
    assert analyse("万州区区长是谁？").person
    # 在哪些 is 在 and 哪些: no 些 is left as a word to look for.
    assert analyse("此鱼分布在哪些地区？").content == "此鱼分布在 地区"
    assert analyse("四加亭在哪里？").content == "四加亭在"


@pytest.mark.parametrize(
    "question, keywords",
    [
        ("渝万高铁", True),
        ("万州 森林覆盖率", True),
        ("Yuwan railway", True),
        ("渝萬高鐵", True),
        ("渝万高铁何时开工", False),
        ("渝万高铁？", False),  # a question mark asks
        ("说出丰田的一个豪华汽车部门。", False),  # so does a request in a whole sentence
        ("Name a luxury division of Toyota.", False),
        ("万州的森林覆盖率是多少", False),
        ("When did the railway start?", False),
        ("Is the railway finished", False),
        ("how long is the railway", False),
    ],
)
def test_keywords_alone_ask_nothing(question, keywords):
    assert analyse(question).keywords is keywords


@pytest.mark.parametrize(
    "question, several",
    [
        ("万州积极发展哪些重点产业？", True),
        ("哪几个地方签署了改革协作框架协议？", True),
        ("莎莉公司被拆分成哪两家公司？", True),
        ("Which places signed the Reform Cooperation Framework Agreement?", True),
        ("What are the five key industries?", True),
        ("万州的森林覆盖率是多少？", False),
        ("哪个部门负责？", False),
        ("Which is the longest bridge?", False),
        ("Which company built it?", False),
    ],
)
def test_questions_asking_for_several_things(question, several):
    assert analyse(question).several is several


def test_questions_asking_a_year():
    assert analyse("特斯拉是哪一年去世的？").year and analyse("What year did Tesla die?").year
    assert analyse("特斯拉何年去世").year
    assert not analyse("渝万高铁何时开工？").year and not analyse("渝万高铁哪天开工？").year


@pytest.mark.parametrize(
    "question, reason",
    [
        ("光伏逆变器业务为什么下降？", True),
        ("為何網球選手在發球時腳不被允許走或跑？", True),
        ("Why did the inverter business shrink?", True),
        ("几何光学，又称为什么?", False),  # is called what
        ("伊克巴勒的七次英语讲座出版为什么书？", False),
        ("盲点呈现为什么样的形状?", False),
        ("人们看到的白色亮点为何?", False),  # is what
        ("渝万高铁何时开工？", False),
    ],
)
def test_questions_asking_why(question, reason):
    assert analyse(question).reason is reason


@pytest.mark.parametrize(
    "question, plain",
    [
        ("你好，请问渝万高铁是哪天开工的？", "渝万高铁是哪天开工的？"),
        ("我想知道三峡综合物流枢纽初期投了多少钱", "三峡综合物流枢纽初期投了多少钱"),
        ("麻烦告诉我万州的森林覆盖率是多少", "万州的森林覆盖率是多少"),
        ("帮我查一下万达开地区有多少人口", "万达开地区有多少人口"),
        ("我想问一下渝万高铁何时开工", "渝万高铁何时开工"),
        # An indirect question's 吗 belongs to the request: `能告诉我…吗` asks the thing, not whether one can.
        ("能告诉我川渝国企万州行协议投资总额吗", "川渝国企万州行协议投资总额"),
        ("你知道牧润养殖场给村民分红了多少钱吗？", "牧润养殖场给村民分红了多少钱？"),
        # Colloquial question words in their standard form, in the question's script.
        ("请问三峡应急医院啥时候开工建设的", "三峡应急医院什么时候开工建设的"),
        ("万达开国土空间规划协同合作框架协议是几时签的", "万达开国土空间规划协同合作框架协议是何时签的"),
        ("渝万高铁是几号开工的", "渝万高铁是哪天开工的"),  # 几号 asking a day
        ("坐几号线去万州北站", "坐几号线去万州北站"),  # a numbered thing, not a day
        ("渝万高铁几月几号开工", "渝万高铁几月几号开工"),  # reads well as it is
        ("长江干流万州段水质咋样", "长江干流万州段水质怎么样"),
        ("新田港建好了没", "新田港建好了吗"),  # 了没 asks yes or no, as 了吗
        ("新田港建好了没有？", "新田港建好了吗？"),
        ("新田港为什么没有", "新田港为什么没有"),  # no 了: not the question's particle
        ("請問渝萬高鐵啥時候開工", "渝萬高鐵什麼時候開工"),
        # Nothing to take off, or nothing left without it.
        ("渝万高铁何时开工", "渝万高铁何时开工"),
        ("万州有没有机场吗", "万州有没有机场吗"),
        ("问题", "问题"),
        ("你好", "你好"),
        ("你好吗", "你好吗"),
        ("Hi, when did the Yuwan railway start?", "when did the Yuwan railway start?"),
        ("high-speed rail to Wanzhou: when did it start?", "high-speed rail to Wanzhou: when did it start?"),
        ("帮助中心在哪", "帮助中心在哪"),
    ],
)
def test_the_question_itself_without_greetings_requests_or_colloquial_words(question, plain):
    assert plain_question(question) == plain


def test_a_colloquial_question_gets_its_standard_type():
    assert analyse(plain_question("三峡应急医院啥时候开工")).kind == TIME
    assert analyse(plain_question("能告诉我川渝国企万州行协议投资总额吗")).kind != YES_NO
    assert analyse(plain_question("新田港建好了没")).kind == YES_NO


@pytest.mark.parametrize(
    "message, questions",
    [
        ("渝万高铁何时开工？三峡应急医院什么时候开工？", ["渝万高铁何时开工？", "三峡应急医院什么时候开工？"]),
        ("渝万高铁何时开工? 三峡应急医院什么时候开工", ["渝万高铁何时开工?", "三峡应急医院什么时候开工"]),
        ("When did it start? How long is it?", ["When did it start?", "How long is it?"]),
        ("When did it start? Is it finished?", ["When did it start?", "Is it finished?"]),
        ("渝万高铁何时开工？谢谢", ["渝万高铁何时开工？谢谢"]),  # a part that asks nothing stays with its question
        ("这是什么？？", ["这是什么？？"]),
        ("渝万高铁何时开工，建成后要多久？", ["渝万高铁何时开工，建成后要多久？"]),  # one sentence: one question
        ("渝万高铁", ["渝万高铁"]),
        # A question mark inside quotes or a title, or after a part that asks nothing, splits nothing.
        ("「殿下先謁陵乎？先即位乎？」這句話是誰說的?", ["「殿下先謁陵乎？先即位乎？」這句話是誰說的?"]),
        ("《物體慣性與其所含能量有關嗎?》之外還有哪一篇論文?", ["《物體慣性與其所含能量有關嗎?》之外還有哪一篇論文?"]),
        ("東頭?和美東?曾被劃入哪一個區中?", ["東頭?和美東?曾被劃入哪一個區中?"]),
    ],
)
def test_a_message_asking_several_questions_is_split_into_them(message, questions):
    assert split_questions(message) == questions


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("你好！", "greeting"),
        ("您好，机器人", "greeting"),
        ("Hi there!", "greeting"),
        ("谢谢你😀", "thanks"),
        ("Thank you very much", "thanks"),
        ("help", "help"),
        ("你好，你能做什么？", "help"),  # help wins where a message mixes them
        ("Who are you?", "help"),
        ("你好吗？", "greeting"),
        ("你好，渝万高铁何时开工", None),  # a question behind a greeting is a question
        ("渝万高铁吗", None),
        ("history", None),  # not `hi` + something
        ("you", None),
        ("你", None),
        ("help me find the investment", None),
        ("渝万高铁", None),
    ],
)
def test_small_talk_is_a_whole_message_of_greetings_thanks_or_help(message, kind):
    assert small_talk(message) == kind
