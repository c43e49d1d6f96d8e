"""The units and counter words numbers are written with: one table that question types, the unit a question
implies and the answer spans all read (联赛共有几支球队？ over 联赛共有16支球队参加。 needs 支 in each)."""

from __future__ import annotations

# The measures a quantity question may imply, as patterns the answer's unit must match.
LENGTH = r"米|公里|千米|厘米|毫米|公分|英里|km|cm|mm|m\b|哩|尺"
AREA = r"平方公里|平方米|平方千米|公顷|亩|km²|m²|km2"
DURATION = r"分钟|小时|天|日|周|个月|月|年|秒"
WEIGHT = r"公斤|千克|克|斤|吨|kg|g\b"
# The words a number counts things in (联赛共有16支球队): the one list question types, implied units and
# answer spans share (UNITS, below, holds them all, with the measures and currencies).
CLASSIFIER_WORDS = (
    "个", "项", "头", "只", "所", "家", "条", "座", "人", "名", "位", "种", "处", "次", "户", "辆", "架", "艘", "件",
    "台", "套", "批", "张", "类", "级", "届", "股", "层", "场", "部", "本", "篇", "口", "枚", "支", "床", "册",
)
CLASSIFIERS = "|".join(CLASSIFIER_WORDS)
COUNTERS = CLASSIFIERS + "|岁|倍|元|亿元|万元|美元|吨|公斤|千克|克|度|%|" + LENGTH + "|" + AREA + "|" + DURATION
# An asked unit the answer may write another way: 多少厘米 -> 2cm or 80公分; and 个, the general classifier,
# for which the text may use a specific one (几个孩子 -> 3名子女) when it has no 个 (CLASSIFIERS, above).
UNIT_SPELLINGS = [
    {"厘米", "公分", "cm"},
    {"米", "公尺", "m"},
    {"公里", "千米", "km"},
    {"毫米", "mm"},
    {"平方公里", "平方千米", "km²", "km2"},
    {"平方米", "m²", "m2"},
    {"公斤", "千克", "kg"},
]
# Currencies besides 元 and 美元, in the text's spellings.
CURRENCIES = "日元|日圆|港元|港币|新台币|台币|欧元|英镑|韩元|越南盾|卢布|法郎"
# Every unit an answer's number may carry (bot/answer/extract.py's QUANTITY_RE), longest spelling first.
UNITS = (
    f"{CURRENCIES}|"
    "亿元|万元|千元|美元|元|亿|万人|万|千|人次|人口|人|个月|个|项|头|只|所|家|条|座|平方公里|平方米|公里|千米|厘米|毫米|公分|公尺|英尺|英里|米|"
    "km²|km2|km|cm|mm|公顷|亩|吨|公斤|千克|克|斤|分钟|小时|天|周|年|岁|倍|%|‰|类|级|届|次|户|辆|架|艘|件|名|位|台|套|批|张|床|"
    "种|处|股|层|场|度"
)
UNITS += "".join(f"|{word}" for word in CLASSIFIER_WORDS if word not in UNITS.split("|"))  # 部, 本, 支, 枚 …
