"""Answer spans in real sentences of the shipped corpus."""

from __future__ import annotations

import pytest

from bot.answer.extract import (
    enumeration_spans,
    extract,
    holds_bare_figure,
    other_unit,
    qualifier_clash,
    resolve_relative_date,
    respective,
    tidy_edges,
    unit_clash,
    whole_list,
    whole_organisations,
    whole_quantities,
    whole_words,
    with_reader_edges,
    year_only,
)
from bot.answer.question import analyse, content_words


def span(question: str, sentence: str) -> str | None:
    info = analyse(question)
    found = extract(info, sentence, content_words(info.content))
    return found.text if found else None


@pytest.mark.parametrize(
    ("question", "sentence", "answer"),
    [
        ("渝万高铁何时开工？", "11月9日，渝万高铁正式开工建设，万州到重庆主城的车程将缩短至50分钟。", "11月9日"),
        ("渝万高铁建成后万州到重庆主城要多久？", "11月9日，渝万高铁正式开工建设，万州到重庆主城的车程将缩短至50分钟。", "50分钟"),
        ("年假可以顺延到什么时候", "当年未休完的年假可顺延至次年3月31日，逾期作废。", "次年3月31日"),  # the year it falls in
        (
            "川渝国企万州行的协议投资总额是多少？",
            "活动中，达成3项战略合作协议，央属国企及川渝两省市40多家地方国企与万达开三地签约项目43个，协议投资1153亿元，涉及交通、产业等多个领域；",
            "1153亿元",
        ),
        (
            "“2020川渝国企万州行”活动签约了多少个项目？",
            "活动中，达成3项战略合作协议，央属国企及川渝两省市40多家地方国企与万达开三地签约项目43个，协议投资1153亿元；",
            "43个",
        ),
        ("长江干流万州段的水质是几类？", "截至目前，万州辖区21条次级河流水质持续向好，长江干流万州段水质保持Ⅱ类，全区森林覆盖率和长江两岸森林覆盖率分别达53.5%、68%。", "Ⅱ类"),
        ("万州全区森林覆盖率达到多少？", "长江干流万州段水质保持Ⅱ类，全区森林覆盖率和长江两岸森林覆盖率分别达53.5%、68%，建成50余公里消落带生态绿廊。", "53.5%"),
        (
            "万州的五大重点产业是什么？",
            "今年来，万州积极发展绿色照明、智能装备、食品医药、汽车、新材料五大重点产业，继续提高战略性新兴制造业产值比重。",
            "绿色照明、智能装备、食品医药、汽车、新材料",
        ),
        (
            "《改革协作框架协议》是哪几个地方签署的？",
            "10月23日，万州、达州、开州、梁平、云阳5地在万州召开全面深化改革座谈会议，并签署《改革协作框架协议》。",
            "万州、达州、开州、梁平、云阳",
        ),
        (
            "万州地处哪些省市的交界区域？",
            "地处渝东北、川东北、陕南、鄂西、湘西、黔北6省市交界区域，万州区位优势明显。",
            "渝东北、川东北、陕南、鄂西、湘西、黔北",
        ),
        (
            "重庆三峡物流集团有限公司是由哪些企业共建的？",
            "四川港投集团与重庆市万州汽车运输（集团）有限责任公司、重庆万商实业集团物流有限公司共同投资合作共建的重庆三峡物流集团有限公司揭牌。",
            "四川港投集团与重庆市万州汽车运输（集团）有限责任公司、重庆万商实业集团物流有限公司",
        ),
        ("龙沙镇的生态猪循环养殖项目年出栏多少头？", "在万州区龙沙镇开工建设年出栏50万头生态猪循环养殖项目。", "50万头"),
        # 个月 is one unit, not the classifier 个 followed by 月.
        ("PP棉滤芯多久换一次", "PP棉滤芯建议每6个月更换一次，RO反渗透滤芯建议每24个月更换一次。", "6个月"),
    ],
)
def test_span_of_the_asked_type(question, sentence, answer):
    assert span(question, sentence) == answer


def test_no_span_where_the_question_words_are_absent():
    # The only length in the sentence measures something else.
    assert span("长江干流万州段全长多少公里？", "全区森林覆盖率分别达53.5%，建成50余公里消落带生态绿廊。") is None
    assert span("三峡文化艺术中心什么时候建成开放？", "今年来，万州高水平建设三峡文化艺术中心。") is None


@pytest.mark.parametrize(
    ("question", "sentence", "answer"),
    [
        # A range whose ends both carry the unit is one span.
        ("蓍所生长的地区海拔约是多少米？", "生长于海拔200米至2,300米的地区，一般生于山坡草地。", "200米至2,300米"),
        ("西贡商信银行成立初时的注册资本是多少？", "成立时最初的注册资本为30亿越南盾。", "30亿越南盾"),
        ("与藤原纪香的婚礼耗资多少日圆？", "与藤原纪香的婚礼耗资5亿日圆。", "5亿日圆"),
        ("纽西兰鸡毛松有多高？", "此树是常绿乔木，树高可达55米。", "55米"),
        ("A-135共有几处发射基地？", "共有7处发射基地。", "7处"),
        ("什么时候双方代表互换批准书？", "一九六一年九月十日，双方代表互换批准书。", "一九六一年九月十日"),
        ("A-135反弹道导弹系统于哪年开始运作？", "该系统于1995年开始运作。", "1995年"),
        ("张天霖在何时拍摄了周华健的MV？", "原本是模特儿的张天霖MARCUS，高二的时候拍了周华健的MV「朋友」。", "高二的时候"),
        ("峡谷什么时候可能会短期关闭？", "峡谷终年可以进入，但是需要买门票，只有在春季化雪的时候可能会短期关闭。", "春季化雪的时候"),
        # The question's words are in the clause before the period's, within the sentence.
        ("自在奥义书的成书时间是什么时候？", "不过，自在奥义书是13部主要奥义书中成书较晚的，可能晚至孔雀王朝时期才出现。", "孔雀王朝时期"),
        ("毛利幸松丸被拥立为下任当主时多大？", "当时毛利兴元方才去世不久，年仅两岁的其子毛利幸松丸被拥立为下任当主。", "两岁"),
        ("非洲的猴面包树果实的长度约是多少厘米？", "非洲猴面包树的果实长约15至20厘米。", "15至20厘米"),
        ("长柄艾纳香的花期约是多久？", "花期1-3月。", "1-3月"),
        # A place is what follows 位于/生于/…, to its clause's end or to the 的 that turns to what is there.
        ("乌石渔港在哪里？", "乌石渔港是位于台湾宜兰县头城镇的观光渔港，现为第一类渔港。", "台湾宜兰县头城镇"),
        ("乍都节公园位于什么地方？", "乍都节公园位于泰国的首都曼谷的乍都节县。", "泰国的首都曼谷的乍都节县"),
        ("美庐别墅在哪里？", "美庐别墅位于中国江西省庐山牯岭东谷河西路180号。", "中国江西省庐山牯岭东谷河西路180号"),
        ("夏尔在哪里出生的？", "夏尔是费迪南多的儿子，1963年2月24日生于法国瓦尔省圣拉斐尔。", "法国瓦尔省圣拉斐尔"),
        # 出生于北京 does not say where he graduated; no place name ends the other clause.
        ("李晨毕业于哪儿？", "李晨，中国大陆男演员，出生于北京，毕业于北京群星艺术学院。", None),
        # The last item of an enumeration runs past its connector to the item after it.
        ("计算神经科学包含哪些科学？", "计算神经科学包含神经科学、认知科学、资讯工程、电脑科学、物理学及数学。", "神经科学、认知科学、资讯工程、电脑科学、物理学及数学"),
        ("洛拉会讲哪些语言？", "她会讲意大利语、法语、西班牙语与英语。", "意大利语、法语、西班牙语与英语"),
        # 级别有多高 asks a grade, not a height.
        ("中国（南京）国际象棋超级大赛的级别有多高？", "被国际棋联定为21级赛事，也是亚洲迄今为止举办的最高水平的国际象棋大赛。", "21级"),
        # A reign's year with its Gregorian year is one date, with the reign's name.
        ("刘六、刘七什么时候攻占的束鹿县城？", "正德六年（1511年）刘六、刘七攻占束鹿县城（今旧城镇）。", "正德六年（1511年）"),
        ("刘六刘七叛乱何时爆发？", "刘六刘七叛乱，爆发于明朝正德六年（1511年），河北霸州地区一场民变。", "明朝正德六年（1511年）"),
        ("潘仕成何时出资研发水雷？", "道光二十二年（1842年）十月，潘自行出资延请美国军官在广州研发水雷。", "道光二十二年（1842年）十月"),
        ("松平康忠什么时候被任命为知行？", "在永禄5年（1562年）元服，被任命为三河国宝饭郡小坂井的知行。", "永禄5年（1562年）"),
        ("《越南亡国史》在什么时候被写成？", "由越南革命家潘佩珠于二十世纪初期写成。", "二十世纪初期"),
        # Both dates see the question's words in the clause after them: the one whose own clause holds them.
        ("学校什么时候获“中国百强中学”称号？", "1992年被列为中国名校，2005年获“中国百强中学”称号。", "2005年"),
    ],
)
def test_spans_in_encyclopedia_sentences(question, sentence, answer):
    assert span(question, sentence) == answer


def test_traditional_sentence_keeps_its_characters():
    assert span("渝萬高鐵何時開工？", "１１月９日，渝萬高鐵正式開工建設。") == "１１月９日"


@pytest.mark.parametrize(
    "question, sentence, expected",
    [
        ("联赛共有几支球队？", "联赛共有16支球队参加。", "16支"),
        ("馆里有多少枚古钱币？", "馆里收藏古钱币3000枚。", "3000枚"),
        ("村里有几口水井？", "村里共有4口水井。", "4口"),
        ("图书馆藏书多少册？", "图书馆藏书12万册。", "12万册"),
    ],
)
def test_every_classifier_counts_as_a_unit(question, sentence, expected):
    assert span(question, sentence) == expected


def test_one_list_of_classifiers_feeds_question_units_and_answer_spans():
    from bot.answer.units import CLASSIFIER_WORDS, COUNTERS, UNITS

    for word in CLASSIFIER_WORDS:
        assert word in UNITS.split("|") and word in COUNTERS.split("|"), word


def test_one_item_widens_to_the_whole_list_it_is_in():
    text = "五月艾分布于越南、老挝、缅甸等地，生长于路旁。"
    start = text.index("老挝")
    assert text[slice(*whole_list(text, start, start + 2))] == "越南、老挝、缅甸"
    # Outside any list the span stays as it is.
    start = text.index("路旁")
    assert whole_list(text, start, start + 2) == (start, start + 2)
    # The first item keeps the start it was marked with; the list's own start is a guess (`分布于越南`).
    text = "此种植物分布于越南、老挝、缅甸、台湾岛、泰国、尼泊尔、菲律宾等地。"
    start = text.index("越南")
    assert text[slice(*whole_list(text, start, start + 2))] == "越南、老挝、缅甸、台湾岛、泰国、尼泊尔、菲律宾"


def test_a_list_takes_the_readers_edges_in_its_first_and_last_items():
    # Two items: the list's edges are guesses (`推动威科赛乐、博赛特铝新`); the reader's edges inside them are kept.
    text = "推动威科赛乐、博赛特铝新材料等一批重大项目尽快达产投产。"
    [stretch] = enumeration_spans(text)
    start, end = text.index("威科"), text.index("等")
    assert text[slice(*with_reader_edges(text, stretch, start, end))] == "威科赛乐、博赛特铝新材料"
    # A span of the last item alone keeps the list's start; one reaching past the item (`等`) keeps the list's end.
    start = text.index("博赛特")
    assert with_reader_edges(text, stretch, start, end) == (stretch[0], end)
    assert with_reader_edges(text, stretch, text.index("威科"), text.index("项目")) == (text.index("威科"), stretch[1])
    # A start inside a word is no surer than the list's (`以权谋私` -> `权谋私`).
    text = "他被控涉嫌以权谋私、滥用职权、诈骗等罪名。"
    [stretch] = enumeration_spans(text)
    assert with_reader_edges(text, stretch, text.index("权谋私"), stretch[1])[0] == stretch[0]
    # An earlier start or a shorter end says less than the list's guesses: the list's bounds are kept.
    text = "10月23日，万州、达州、开州、梁平、云阳5地在万州召开会议。"
    [stretch] = enumeration_spans(text)
    assert text[slice(*stretch)] == "万州、达州、开州、梁平、云阳"
    assert with_reader_edges(text, stretch, stretch[0], text.index("召开")) == stretch
    assert with_reader_edges(text, stretch, text.index("23日"), stretch[1] - 1) == stretch
    # A last item not ended by what ends a list: the reader's longer end is no surer (`信息流各类要素`).
    text = "万州统筹人流、物流、资金流、信息流各类要素，加快构建体系。"
    [stretch] = enumeration_spans(text)
    assert with_reader_edges(text, stretch, stretch[0], text.index("，")) == stretch


def test_a_relative_date_is_the_last_date_before_it_as_precise():
    before = "1943年1月7日，他抵达重庆。9月，联盟成立。"
    assert resolve_relative_date(before, "同月") == "9月"
    assert resolve_relative_date(before, "同年") == "1943年"
    assert resolve_relative_date(before, "当天") == "1943年1月7日"
    assert resolve_relative_date("他抵达重庆。", "同月") is None  # no date before it
    assert resolve_relative_date(before, "9月") is None  # no relative date


@pytest.mark.parametrize(
    ("text", "year"),
    [
        ("1943年1月7日", "1943年"),
        ("一九六一年九月十日", "一九六一年"),
        ("公元前221年秋", "公元前221年"),
        ("2010年", "2010年"),
        ("12月5日", "12月5日"),  # no year to cut to: as it is
    ],
)
def test_a_date_is_cut_to_its_year_for_a_question_asking_a_year(text, year):
    start, end = year_only(text, 0, len(text))
    assert text[start:end] == year


@pytest.mark.parametrize(
    ("text", "span", "shown"),
    [
        ("世界上第一张报纸是《泰晤士报》，创刊于1785年。", "泰晤士报》", "《泰晤士报》"),  # a title mark given its partner
        ("最佳影片是《日出》。", "《日出", "《日出》"),
        ("他被称为“疯狂科学家”。", "“疯狂科学家", "“疯狂科学家”"),
        ("三大品牌（讴歌、雷克萨斯和英菲尼迪），均有售。", "讴歌、雷克萨斯和英菲尼迪），", "讴歌、雷克萨斯和英菲尼迪"),  # a parenthesis left out
        ("收购了《太阳报》。随后", "《太阳报》。", "《太阳报》"),  # clause punctuation at the edge goes
        ("，协议投资1153亿元，", "，协议投资1153亿元，", "协议投资1153亿元"),
        ("他说“好”与“坏”", "“好”与“坏”", "“好”与“坏”"),  # balanced: as it is
        ("他说“好”与“坏”", "“好”与“坏", "“好”与“坏”"),  # the lone one is the last quote, not the first
        ("他说“好”与“坏”", "好”与“坏”", "“好”与“坏”"),
        ("设立（含A）", "设立（含A）", "设立（含A）"),
        ("“", "“", "“"),  # nothing would be left: as it is
        ("读者须按原价的三倍赔偿。", "的三倍赔偿", "三倍赔偿"),  # the particle 的 ties it to what stands before
        ("他乘的士前往。", "的士", "的士"),  # a word, not the particle
        ("的", "的", "的"),
    ],
)
def test_an_answer_has_no_lone_quote_or_clause_punctuation_at_its_edges(text, span, shown):
    start = text.index(span)
    assert text[slice(*tidy_edges(text, start, start + len(span)))] == shown


def test_a_number_of_another_unit_than_the_one_asked_is_told_apart():
    money = analyse("签约多少钱")
    assert other_unit(money, "43个") and other_unit(money, "签约项目43个")
    assert not other_unit(money, "1153亿元") and not other_unit(money, "43个，协议投资1153亿元")
    assert not other_unit(money, "43")  # a bare number carries no unit to disagree
    assert not other_unit(money, "万达开三地")
    days = analyse("暴雨期间停课几天？")
    assert other_unit(days, "16日") and other_unit(days, "8月15日") and not other_unit(days, "两天")
    assert not other_unit(analyse("工期几年"), "3年")  # a count of years is no calendar date


@pytest.mark.parametrize(
    ("text", "span", "shown"),
    [
        ("长江干流万州段水质保持Ⅱ类，全区", "保持Ⅱ", "保持Ⅱ类"),
        ("协议投资1153亿元，涉及", "53亿元", "1153亿元"),
        ("推动年出栏150万头生态猪", "150", "150万头"),  # 150 is not 150万头
        ("覆盖率分别达53.5%、68%", "53.5%", "53.5%"),  # whole already: as it is
        ("11月9日，渝万高铁正式开工", "渝万高铁", "渝万高铁"),
    ],
)
def test_an_answer_does_not_cut_a_number_from_its_unit(text, span, shown):
    start = text.index(span)
    assert text[slice(*whole_quantities(text, start, start + len(span)))] == shown


COVER = "长江干流万州段水质保持Ⅱ类，全区森林覆盖率和长江两岸森林覆盖率分别达53.5%、68%，建成50余公里消落带生态绿廊"


@pytest.mark.parametrize(
    ("span", "question", "shown"),
    [
        ("53.5%", "长江两岸森林覆盖率是多少", "68%"),  # the second thing named: the second figure
        ("68%", "全区森林覆盖率是多少？", "53.5%"),
        ("53.5%", "全区森林覆盖率是多少", "53.5%"),  # already the named one's
        ("68%", "森林覆盖率是多少", "68%"),  # names neither alone: as the reader marked it
        ("53.5%", "万州森林覆盖率多少", "53.5%"),
        ("50余公里", "长江两岸森林覆盖率是多少", "50余公里"),  # not one of the figures
    ],
)
def test_a_figure_of_a_respectively_sentence_is_the_named_things(span, question, shown):
    start = COVER.index(span)
    assert COVER[slice(*respective(COVER, start, start + len(span), question))] == shown


def test_respectively_needs_as_many_figures_as_things():
    text = "尽管爱迪生和特斯拉分别在1915年和1937年收到了38份潜在标书中的一份"  # three figures, two names
    start = text.index("1915年")
    assert respective(text, start, start + 5, "特斯拉在哪一年收到标书") == (start, start + 5)


def test_a_question_asking_which_organisations_gets_all_the_names_in_the_run():
    text = "四川港投集团与重庆市万州汽车运输（集团）有限责任公司、重庆万商实业集团物流有限公司共同投资合作共建的重庆三峡物流集团有限公司揭牌。"
    start = text.index("万商实业")
    shown = text[slice(*whole_organisations(text, start, start + 12, "重庆三峡物流集团由哪些公司共同投资"))]
    assert shown == "四川港投集团与重庆市万州汽车运输（集团）有限责任公司、重庆万商实业集团物流有限公司"
    # A preposition before the first name goes; the span's part past the names (共同主办的…) too.
    text = "由四川省国资委、重庆市国资委、万州区人民政府共同主办的川东北地区一体化发展活动走进万州。"
    start = text.index("重庆市")
    end = text.index("一体化")
    assert text[slice(*whole_organisations(text, start, end, "哪些单位主办了活动"))] == "四川省国资委、重庆市国资委、万州区人民政府"
    # A span opening with the preposition itself (the enumeration's start, 由…) loses it as well.
    start = text.index("由")
    assert text[slice(*whole_organisations(text, start, start + 9, "哪些单位主办了活动"))] == "四川省国资委、重庆市国资委、万州区人民政府"
    # Outside any run of names: as it is.
    start = text.index("走进")
    assert whole_organisations(text, start, start + 2, "哪些单位主办了活动") == (start, start + 2)
    # ... even where it opens with a character that could be a preposition (和平 is a name, not 和 + 平).
    text = "和平村、幸福村获评示范村。"
    assert whole_organisations(text, 0, 7, "哪些单位获评示范村") == (0, 7)


def test_a_bare_figure_is_no_reason_and_a_reason_keeps_its_words_whole():
    assert holds_bare_figure("3.6%，") and holds_bare_figure("3.6%，主要受海外市场需求放缓影响")
    assert not holds_bare_figure("主要受海外市场需求放缓影响") and not holds_bare_figure("受台风影响停航3天")
    text = "古镇始建于北宋元丰年间，因传说有白鹿在河边鸣叫而得名。"
    start, end = whole_words(text, text.index("白鹿"), text.index("叫"))
    assert text[start:end].endswith("鸣叫") and "，" not in text[start:end]
    assert whole_words(text, text.index("北宋"), text.index("年间") + 2) == (text.index("北宋"), text.index("年间") + 2)


@pytest.mark.parametrize(
    ("question", "answer", "clash"),
    [
        ("龙沙镇生态猪循环养殖项目总投资多少钱？", "50万头", True),
        ("How long is the railway in kilometres?", "50分钟", True),
        ("停课几天", "16日", True),  # a calendar date counts no days
        ("三峡综合物流枢纽初期投资多少钱？", "15亿元", False),
        ("林永康有几个子女？", "3名", False),  # any classifier answers 个
        ("人类视网膜中共有多少个视杆细胞?", "1.25亿视杆细胞", False),  # 亿 is no unit
        ("签约多少钱", "签约项目43个", True),
        ("万州有什么特产", "50万头", False),  # asks no unit
        ("一张借书证最多能借几本书？", "10册", False),
        ("万州有多少人口", "1000余万", False),
        ("学校有多少人", "300名", False),
        ("报销单据多久之内要交", "10个工作日内", False),  # a duration counted with 个
    ],
)
def test_an_answer_of_another_measure_than_the_one_asked(question, answer, clash):
    assert unit_clash(analyse(question), answer) is clash


def test_a_sentence_of_another_numbered_thing_than_the_one_asked():
    third = "报告显示，公司第三季度实现营业收入42.6亿元，同比增长18.3%。"
    assert qualifier_clash("远帆科技第四季度营业收入多少", third)
    assert not qualifier_clash("远帆科技第三季度营业收入多少", third)
    assert not qualifier_clash("远帆科技营业收入多少", third)  # the question names none
    assert not qualifier_clash("第二季度营业收入多少", "全年营业收入115.8亿元。")  # the sentence names none
    assert not qualifier_clash("鹿鸣古镇被列入第六批什么名单", "2014年，鹿鸣古镇被列入第六批中国历史文化名镇名单。")
    # The sentence may name the asked one by 该/本/此/这 and its neighbours by number.
    assert not qualifier_clash("巴黎第四区的地理位置在哪里？", "该区位于塞纳河的右岸，西部与第一区接邻；北部毗邻第三区。")
    assert not qualifier_clash("1740年腓特烈入侵西里西亚，争的是哪个王位？", "1741年，奥地利王位继承战争爆发。")  # years set a scene
