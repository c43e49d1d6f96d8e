"""Choosing the answer sentence, and the question forms and spans it relies on (issue 4, CMRC 2018)."""

from __future__ import annotations

import re
from dataclasses import replace

from bot.answer.abstain import Evidence, decide
from bot.answer.extract import extract
from bot.answer.pipeline import Wenda
from bot.answer.question import OTHER, QUANTITY, TIME, YES_NO, analyse, content_words, mend_words
from bot.answer.sentence import choose_sentence, focus, in_context, sentences_of
from bot.ingest.passages import Passage
from bot.search.index import Hit, Index
from bot.search.lexical import make_bm25


def choose(wenda, question: str, hits: list[Hit]):
    info = analyse(question)
    return choose_sentence(wenda.index, wenda.embedder, info, content_words(info.content), hits)


def text_hit(doc: str, title: str, text: str) -> Hit:
    """A hit on a hand-made passage holding all of `text`."""
    return Hit(Passage(doc, title, "", 0, len(text), text), 0.9, 9.0, 1.0)


def fish_passage(start: int, text: str, doc: str = "fish.txt", title: str = "蓝线裸顶鲷") -> Passage:
    return Passage(doc, title, "", start, start + len(text), text)


def test_a_neighbouring_window_of_the_same_article_competes_and_the_title_counts(wenda, settings):
    # The best window names the fish; the next window of the same article says what it eats, calling it 本鱼.
    best = fish_passage(0, "蓝线裸顶鲷，又称蓝线白𫚭，为辐鳍鱼纲鲈形目龙占鱼科的其中一个种。本鱼栖息在岩礁附近的沙质海域。")
    neighbour = fish_passage(44, "本鱼栖息在岩礁附近的沙质海域。属肉食性，以甲壳类、头足类和小鱼为食。")
    other = fish_passage(0, "黄鳍紫鱼以其他鱼类为食。", doc="other.txt", title="黄鳍紫鱼")
    hits = [Hit(best, 0.92, 9.0, 1.0), Hit(neighbour, 0.90, 6.0, 0.5), Hit(other, 0.88, 5.0, 0.4)]
    sentence, span, hit, cover = choose(wenda, "蓝线裸顶鲷以什么为食？", hits)
    assert sentence == "属肉食性，以甲壳类、头足类和小鱼为食。"
    assert hit.passage is neighbour
    # The sentence does not repeat the fish's name, but the document's title names it: not "not found".
    assert cover >= settings.model_copy(update={"reader": "rules"}).thresholds()["min_sentence_coverage"]


def test_another_articles_passage_lends_no_sentence_however_well_it_ranks(wenda):
    best = fish_passage(0, "蓝线裸顶鲷，为辐鳍鱼纲鲈形目龙占鱼科的其中一个种。")
    other = fish_passage(0, "蓝线裸顶鲷以甲壳类为食。", doc="other.txt", title="鱼类")
    for runner_up in (Hit(other, 0.8, 2.0, 0.3), Hit(other, 0.9, 8.0, 0.95)):
        assert choose(wenda, "蓝线裸顶鲷以什么为食？", [Hit(best, 0.9, 9.0, 1.0), runner_up])[2].passage is best


def test_typed_span_is_looked_for_where_it_can_still_decide(wenda):
    """The span bonus is only computed for sentences it could lift to the top, and the chosen one always."""
    passage = fish_passage(0, "蓝线裸顶鲷，为辐鳍鱼纲鲈形目龙占鱼科的其中一个种。体长可达80公分。")
    sentence, span, _, _ = choose(wenda, "蓝线裸顶鲷的体长有多少公分？", [Hit(passage, 0.9, 9.0, 1.0)])
    assert sentence == "体长可达80公分。" and span is not None and span.text == "80公分"


def test_why_questions_ask_for_a_reason_not_a_time():
    assert analyse("符泳练水的时间是其他泳手的一半，为什么却拥有非凡的成绩？").kind == OTHER
    assert analyse("渝万高铁何时开工？").kind == TIME


def test_how_long_in_time_wants_a_duration():
    info = analyse("《中朝友好合作互助条约》有效期是多长时间？")
    assert re.search(info.unit, "二十年") and not re.search(info.unit, "米")
    found = extract(info, "《中朝友好合作互助条约》有效期二十年，如一方要求修改或终止。", content_words(info.content))
    assert found is not None and found.text == "二十年"


def span(question: str, sentence: str) -> str | None:
    info = analyse(question)
    found = extract(info, sentence, content_words(info.content))
    return found.text if found else None


def test_quantities_with_a_spaced_latin_unit_or_公尺():
    assert span("巴黎第四区的土地面积是多少？", "该区土地面积1.601 km²，是巴黎市第三小的区。") == "1.601 km²"
    assert span("P. tuckeri的体长有多长？", "P. tuckeri的体长约13公尺，大于P. bennisoni。") == "13公尺"


def test_time_without_a_calendar_date():
    assert span("峡谷什么时候可能会短期关闭？", "峡谷终年可以进入，只有在春季化雪的时候可能会短期关闭。") == "春季化雪的时候"
    assert span("符泳什么时候开始成为香港五十米自由式的冠军？", "自十八岁开始至今，符泳是香港五十米自由式的冠军。") == "十八岁"
    # A date still wins over a vaguer expression, and a time word far from the question's words is none.
    assert span("渝万高铁何时开工？", "11月9日上午，渝万高铁正式开工建设。") == "11月9日"
    assert span("渝万高铁何时开工？", "冬季多雾，气温较低。") is None


def test_dates_of_the_lunar_calendar():
    assert span("白鹿庙会在什么时候举办", "每年农历三月初三，古镇都会举办白鹿庙会。") == "农历三月初三"
    assert span("中秋节是哪天？", "中秋节在农历八月十五，家家户户赏月。") == "农历八月十五"
    assert span("小年是哪天", "北方的小年是腊月二十三，南方是腊月二十四。") == "腊月二十三"


def test_decide_still_needs_a_typed_span_for_dates_and_numbers(settings):
    evidence = Evidence(TIME, True, 0.9, 0.9, sentence_coverage=0.9, typed_span=False, requires_span=True)
    assert decide(evidence, settings) == (False, "no time answer where the text talks of this")
    # Unless one sentence holds every word of the question: it answers in words (一半以上, 唐末…中).
    assert decide(replace(evidence, coverage=1.0, sentence_coverage=1.0), settings)[0] is True
    assert decide(replace(evidence, coverage=1.0, sentence_coverage=0.95), settings)[0] is False
    assert decide(replace(evidence, chinese=False, coverage=1.0, sentence_coverage=1.0), settings)[0] is False


def test_the_reader_must_be_surer_of_an_answer_that_is_not_of_the_asked_type(settings):
    # 渝万高铁全长多少公里 -> 50分钟: a reader margin that answers a typed span is too little for an untyped one.
    limits = settings.thresholds()
    assert settings.reader == "model" and limits["min_reader_margin"] < limits["min_reader_margin_untyped"]
    margin = (limits["min_reader_margin"] + limits["min_reader_margin_untyped"]) / 2
    evidence = Evidence("quantity", True, 0.9, 0.9, sentence_coverage=0.9, reader_margin=margin, typed_span=False)
    assert decide(evidence, settings) == (False, "the reader is unsure, and its answer is not the quantity asked for")
    assert decide(replace(evidence, typed_span=True), settings) == (True, "found")
    assert decide(replace(evidence, typed_span=None), settings) == (True, "found")  # the question asks no type
    assert decide(replace(evidence, reader_margin=limits["min_reader_margin_untyped"]), settings)[0] is True
    # Not for English questions (their type is read from a translation), and MIN_READER_MARGIN_UNTYPED overrides.
    assert decide(replace(evidence, chinese=False, reader_margin=max(margin, limits["min_reader_margin_foreign"])), settings)[0] is True
    assert decide(evidence, settings.model_copy(update={"min_reader_margin_untyped": margin}))[0] is True


def test_an_answer_of_another_measure_is_not_found_however_sure_the_reader(settings):
    # 总投资多少钱 -> 50万头 (margin 12): no sum of money.
    evidence = Evidence(QUANTITY, True, 0.9, 1.0, sentence_coverage=1.0, reader_margin=12.0, typed_span=False, unit_clash=True)
    assert decide(evidence, settings) == (False, "the answer is a figure of another unit than the quantity asked for")
    assert decide(replace(evidence, chinese=False), settings)[0] is False
    assert decide(replace(evidence, unit_clash=False), settings) == (True, "found")
    fourth = replace(evidence, unit_clash=False, qualifier_clash=True)  # 第四季度营业收入 from a sentence of 第三季度
    assert decide(fourth, settings) == (False, "the answer's sentence speaks of another numbered thing than the question (第三 for 第四)")


def test_a_yes_or_no_question_needs_no_span_where_one_sentence_holds_all_its_words(settings):
    # 万州有没有机场: no span answers it, so the reader's margin is low (−8.3); …机场的扩建升级… holds 万州 and 机场.
    limits = settings.thresholds()
    below = limits["min_reader_margin"] - 2
    evidence = Evidence(YES_NO, True, 0.87, 1.0, sentence_coverage=1.0, reader_margin=below)
    assert decide(evidence, settings) == (True, "found: the sentence holds every word of the question")
    # A word missing (重庆明天会下雨吗), another type, or an English question: the margin decides, as for any other.
    assert decide(replace(evidence, sentence_coverage=0.9), settings) == (False, "the reader finds no answer in the passages")
    assert decide(replace(evidence, kind=OTHER), settings)[0] is False
    assert decide(replace(evidence, chinese=False, reader_margin=limits["min_reader_margin_foreign"] - 2), settings)[0] is False


def test_a_sentence_leaning_on_the_one_before_is_shown_with_it(wenda):
    # 因此 what? The reason is the sentence before; the answer stays the sentence that was chosen.
    passage = Passage("baobab.txt", "猴面包树", "", 0, 60,
                      "猴面包树的果实长约15至20厘米。维生素C含量是单个橙子的三倍。因此它有时也被称为笨蛋水果。")
    hit = Hit(passage, 0.9, 9.0, 1.0)
    sentence, _, _, _ = choose(wenda, "为什么称猴面包树为笨蛋水果？", [hit])
    assert sentence == "因此它有时也被称为笨蛋水果。"
    assert in_context(wenda.index, sentence, hit) == "维生素C含量是单个橙子的三倍。因此它有时也被称为笨蛋水果。"
    # A sentence that stands on its own stays alone, and so does an article's first.
    assert in_context(wenda.index, "维生素C含量是单个橙子的三倍。", hit) == "维生素C含量是单个橙子的三倍。"
    first = Hit(Passage("b.txt", "B", "", 0, 20, "这种蔬菜有可能改善营养。它很常见。"), 0.9, 9.0, 1.0)
    assert in_context(wenda.index, "这种蔬菜有可能改善营养。", first) == "这种蔬菜有可能改善营养。"


def test_the_shipped_answer_to_a_sentence_opening_with_此前_names_the_event_before(wenda):
    answer = wenda.answer("牧润养殖场给村民兑现了多少分红？")
    assert answer.found and answer.answer == "24.6万元"
    assert answer.sentence.startswith("10月30日，四川港航投资集团") and answer.sentence.endswith("首次分红金24.6万元。")


LONG_ARTICLE = (
    "阿若憍陈如是佛教五比丘之一，是释迦牟尼僧团第一位证阿罗汉果的僧侣，为僧团中最长老，常居上座。"
    "憍陈如是他的姓，为婆罗门的姓氏之一，又称憍陈那、憍怜、拘邻，意译为火器，为释迦牟尼母族的亲戚。"
    "汉地古代译师，如竺法护，认为可意译为初知、已知、了教、了本际、知本际，在唐代后，被认为是误译。"
    "阿若是他的名字，意译为初解、胜解，佛陀成道后先至鹿野苑为五比丘说法，他在五人之中最早开悟。"
    "因此被称为阿若，也被称为阿若憍陈如，这个称呼在汉译佛经里十分常见，历代注疏都沿用这一说法。"
    "他后来离开僧团；独自在雪山修行十二年，最后在雪山入灭，遗体由山神火化。"
    "有本生经故事说他的前生是杀佛前生忍辱仙人的歌利王。"
)


def test_the_best_articles_windows_lend_sentences_from_deeper_ranks(wenda):
    best = fish_passage(0, "蓝线裸顶鲷，又称蓝线白𫚭，为辐鳍鱼纲鲈形目龙占鱼科的其中一个种。本鱼栖息在岩礁附近的沙质海域。")
    others = [Hit(fish_passage(0, f"第{n}种鱼栖息在岩礁附近。", doc=f"other{n}.txt", title="鱼类"), 0.8, 3.0, 0.5) for n in range(5)]
    deep = fish_passage(44, "本鱼栖息在岩礁附近的沙质海域。属肉食性，以甲壳类、头足类和小鱼为食。")
    hits = [Hit(best, 0.92, 9.0, 1.0), *others, Hit(deep, 0.85, 2.0, 0.3)]
    sentence, _, hit, _ = choose(wenda, "蓝线裸顶鲷以什么为食？", hits)
    assert sentence == "属肉食性，以甲壳类、头足类和小鱼为食。" and hit.passage is deep
    # Another article's passage that deep lends nothing.
    stranger = fish_passage(0, "蓝线裸顶鲷以甲壳类为食。", doc="stranger.txt", title="鱼类")
    assert choose(wenda, "蓝线裸顶鲷以什么为食？", [*hits[:-1], Hit(stranger, 0.85, 8.0, 0.9)])[2].passage is not stranger


def test_the_sentence_shown_is_whole_and_leans_back_across_windows(settings, embedder):
    from bot.answer.pipeline import Wenda
    from bot.evaluate import squad_index

    index = squad_index([("monk", "阿若憍陈如", LONG_ARTICLE)], settings, embedder)
    wenda = Wenda(settings, embedder, index)
    assert len(index.passages) == 2 and index.passages[1].text.startswith("他后来离开僧团；")
    second = Hit(index.passages[1], 0.9, 1.0, 1.0, 1)
    # A clause ended by ； is shown in its whole sentence; that sentence leans on the one before it (他),
    # which only the window before holds.
    reason = "因此被称为阿若，也被称为阿若憍陈如，这个称呼在汉译佛经里十分常见，历代注疏都沿用这一说法。"
    whole = "他后来离开僧团；独自在雪山修行十二年，最后在雪山入灭，遗体由山神火化。"
    assert reason not in index.passages[1].text
    assert in_context(wenda.index, "独自在雪山修行十二年，最后在雪山入灭，遗体由山神火化。", second) == reason + whole
    assert in_context(wenda.index, "他后来离开僧团；", second) == reason + whole
    # One step back only, and the first sentence of an article has nothing before it.
    first = Hit(index.passages[0], 0.9, 1.0, 1.0, 0)
    assert in_context(wenda.index, reason, first).startswith("阿若是他的名字")
    opening = sentences_of(index.passages[0].text)[0]
    assert in_context(wenda.index, opening, first) == opening


def test_quantities_written_another_way_than_asked():
    assert span("锦地罗的全长是多少厘米？", "该种是一个小小的毛毡苔，全长通常只有2cm（0.79英尺）。") == "2cm"
    assert span("林永康有几个子女？", "林永康大学毕业，1996年加入公署，已婚，育有3名子女。") == "3名"
    assert span("目前学校男女生比例是多少？", "目前学校男女生比例约为1：7（男：女）。") == "1：7"
    assert span("万州的GDP是多少？", "目前学校男女生比例约为1：7。") is None


def test_ordinals_periods_events_and_the_parts_of_a_long_word():
    assert span("香港在DVD分区属于第几区？", "香港在DVD分区属第三区（中国大陆属第六区，英国则属第二区）；") == "第三区"
    assert span("乡里组织什么时候开始瓦解的？", "乡里组织在唐末藩镇压混战和农民大起义中瓦解。") == "唐末"
    assert span("长宗我部家何时成为丰臣家的从属势力？", "四国征伐后，长宗我部家随即成为丰臣家的从属势力。") == "四国征伐后"
    # 占地面积 asked, 占地 written.
    assert span("萱侬律占地面积多大？", "它是一个占地约两平方公里的热带植物公园。") == "两平方公里"
    # Still nothing where the clause is about something else (the parts are of words of four or more).
    assert span("渝万高铁何时开工？", "会后，各方签署了合作协议。") is None
    assert span("三峡应急医院什么时候竣工？", "三峡库区的医院很多，平日就诊的人不少。") is None


def test_a_latin_unit_is_not_the_end_of_another():
    metres = analyse("塔高多少米？").unit
    assert re.search(metres, "高13 m") and not re.search(metres, "全长5km")


def test_a_sentence_is_shown_with_the_but_that_follows_it(wenda):
    text = "MonoDevelop是一个开源集成开发环境。MonoDevelop也可以在Windows跟Mac OS X平台上执行。但并不是一开始就可以的，而是到2.2之后才正式可以。目前由Novell维护。"
    hit = text_hit("mono.txt", "MonoDevelop", text)
    assert in_context(wenda.index, "MonoDevelop也可以在Windows跟Mac OS X平台上执行。", hit) == (
        "MonoDevelop也可以在Windows跟Mac OS X平台上执行。但并不是一开始就可以的，而是到2.2之后才正式可以。"
    )
    assert in_context(wenda.index, "MonoDevelop是一个开源集成开发环境。", hit) == "MonoDevelop是一个开源集成开发环境。"


def test_a_sentence_that_announces_what_follows_is_shown_with_it(wenda):
    text = "浮龙是沧龙科的一属。在沧龙类中，浮龙具有数个独有特征。牠们的鳍状肢狭窄、尾鳍大。浮龙的眼睛也相当大。模式种发现于1937年。"
    hit = text_hit("plotosaurus.txt", "浮龙", text)
    assert in_context(wenda.index, "在沧龙类中，浮龙具有数个独有特征。", hit) == (
        "在沧龙类中，浮龙具有数个独有特征。牠们的鳍状肢狭窄、尾鳍大。浮龙的眼睛也相当大。"
    )
    # A sentence that says something itself stands alone.
    assert in_context(wenda.index, "浮龙的眼睛也相当大。", hit) == "浮龙的眼睛也相当大。"
    lines = "学校的班级分为下列两种类型：\n普通班：招收一般学生。\n特色班：招收有专长的学生。\n学校设有图书馆。"
    hit = text_hit("school.txt", "学校", lines)
    assert in_context(wenda.index, "学校的班级分为下列两种类型：", hit) == "学校的班级分为下列两种类型：普通班：招收一般学生。特色班：招收有专长的学生。"


def test_a_name_jieba_glued_to_its_neighbour_is_mended_against_the_corpus():
    passages = [fish_passage(0, "黄华麒早年就读圣保罗书院，及后于香港大学地理系毕业。", doc="huang.txt", title="黄华麒")]
    index = Index(passages, None, make_bm25(passages), {})
    words = content_words(analyse("黄华麒是哪个大学毕业的？").content)
    assert words[0] == "黄华麒是"  # jieba does not know the name and joins 是 to it
    assert mend_words(index, words)[0] == "黄华麒"
    # A word the corpus lacks stays whole, its absence being the evidence: nothing of 足球场 is in the text,
    # and 香港中文大学 is 香港 and 大学 with two characters more, not one.
    assert mend_words(index, ["足球场", "香港中文大学", "gdp"]) == ["足球场", "香港中文大学", "gdp"]
    # Nor is a word longer than jieba makes (a quoted title) looked into, piece by piece.
    assert mend_words(index, ["黄华麒早年就读圣保罗书院是"]) == ["黄华麒早年就读圣保罗书院是"]


def test_a_verb_jieba_glued_to_a_character_is_taken_apart():
    # 叶有 and 基是 are in no sentence; 叶 (the upper leaves) is what the answer must hold.
    assert "叶" in content_words(analyse("六耳铃的上部叶有什么特点？").content)
    assert "叶有" not in content_words(analyse("六耳铃的上部叶有什么特点？").content)
    assert "基是" not in content_words(analyse("茨柏克沃斯基是何时从微软退休的？").content)
    assert "年林" not in content_words(analyse("2016年林郁智以什么入围金马奖？").content)
    # Words jieba knows stay whole, whatever they hold.
    assert "所有" in content_words(analyse("所有的企业都搬迁了吗？").content)


def test_when_the_title_holds_every_question_word_the_asked_type_decides(wenda):
    # Every sentence is about the tree; the one naming it again says nothing of its height.
    tree = fish_passage(0, "纽西兰鸡毛松（学名：Dacrycarpus dacrydioides）是罗汉松科的植物。此树是常绿乔木，树高可达55米。", doc="tree.txt", title="纽西兰鸡毛松")
    sentence, span, _, _ = choose(wenda, "纽西兰鸡毛松有多高？", [Hit(tree, 0.9, 9.0, 1.0)])
    assert sentence == "此树是常绿乔木，树高可达55米。" and span is not None and span.text == "55米"


def test_sentences_that_tie_go_to_the_articles_lead(settings):
    title = "雅各布·克伦贝格尔"
    lead = Passage("kellenberger.txt", title, "", 0, 30, "雅各布·克伦贝格尔（Jakob Kellenberger），生于瑞士。他曾是瑞士外交官。")
    later = Passage("kellenberger.txt", title, "", 30, 52, "克伦贝格尔先生的妻子是伊丽莎白，育有两子。")
    passages = [lead, later]
    wenda = Wenda(settings, None, Index(passages, None, make_bm25(passages), {}))
    # The later window ranks first, and no sentence holds 国籍: all tie.
    hits = [Hit(later, 0.9, 9.0, 1.0, position=1), Hit(lead, 0.88, 8.0, 0.9, position=0)]
    sentence, _, hit, _ = choose(wenda, "克伦贝格尔的国籍是什么？", hits)
    assert sentence == "雅各布·克伦贝格尔（Jakob Kellenberger），生于瑞士。" and hit.passage is lead
    # A passage the index does not hold is no lead: the better-ranked window's sentence stays first.
    copies = [Hit(replace(later), 0.9, 9.0, 1.0, position=1), Hit(replace(lead), 0.88, 8.0, 0.9, position=0)]
    assert choose(wenda, "克伦贝格尔的国籍是什么？", copies)[0] == "克伦贝格尔先生的妻子是伊丽莎白，育有两子。"


def test_a_question_word_is_present_where_a_word_of_its_group_is(settings):
    from bot.answer.synonyms import mentions

    assert mentions("清同治十二年(1873年)，卒。", "逝世") and mentions("育有3名子女。", "孩子")
    assert not mentions("清嘉庆九年(1804年)，潘仕成出生。", "逝世") and mentions("潘仕成出生。", "出生地")
    assert mentions("万州区", "万州") and not mentions("万州区", "达州")  # any other word: as it is
    # No sentence says 出生地; the one saying 生于 answers, not the lead that otherwise wins a tie.
    text = "琴娜·杜普洛是一个美国作家。她1944年生于加利福尼亚州的旧金山。她的小说被改编为电影。"
    passages = [Passage("duprau.txt", "琴娜·杜普洛", "", 0, len(text), text)]
    wenda = Wenda(settings, None, Index(passages, None, make_bm25(passages), {}))
    assert choose(wenda, "琴娜·杜普洛出生地在哪？", [Hit(passages[0], 0.9, 9.0, 1.0)])[0] == "她1944年生于加利福尼亚州的旧金山。"
    # The date of 卒 answers when the question says 逝世.
    info = analyse("潘仕成逝世的时间是？")
    found = extract(info, "清同治十二年(1873年)，卒。", content_words(info.content))
    assert found is not None and found.text == "清同治十二年(1873年)"


def test_the_reader_reads_the_part_of_a_window_around_the_sentence_with_the_question_s_words(wenda):
    text = (
        "万州区加快打造区域科技创新中心。"
        "11月9日，渝万高铁正式开工建设，万州到重庆主城的车程将缩短至50分钟。"
        "万州港新田港区二期工程已经建成投用，年吞吐能力大幅提升。"
        "三峡综合物流枢纽初期投资15亿元，先期启动四个板块项目建设。"
    )
    words = ["渝万", "高铁", "开工"]
    start, end = focus(wenda.index, text, words, 80)
    assert "11月9日，渝万高铁正式开工建设" in text[start:end] and end - start <= 80
    assert text[start:end].startswith("万州区加快打造")  # the sentence before comes first
    assert focus(wenda.index, text, words, 0) == (0, len(text))  # 0: the whole window
    assert focus(wenda.index, text, words, len(text)) == (0, len(text))  # short enough already


def test_a_short_question_far_from_every_passage_is_answered_where_all_its_words_stand_and_the_reader_is_sure(settings):
    # 续借期多长: cosine 0.833 to its passage, under MIN_DENSE; the passage and sentence hold 续借期, the reader 15天 (12.1).
    limits = settings.thresholds()
    sure = limits["min_reader_margin_untyped"]
    evidence = Evidence(QUANTITY, True, limits["min_dense"] - 0.01, 1.0, sentence_coverage=1.0, reader_margin=sure, typed_span=True)
    assert decide(evidence, settings) == (True, "found")
    far = (False, "question and passages are far apart")
    assert decide(replace(evidence, sentence_coverage=0.9), settings) == far  # a word missing
    assert decide(replace(evidence, reader_margin=sure - 0.5), settings) == far  # a less sure reader
    assert decide(replace(evidence, chinese=False, dense=limits["min_dense_foreign"] - 0.01), settings) == far
    assert decide(replace(evidence, reader_margin=None), settings) == far  # READER=rules: no margin to be sure with
