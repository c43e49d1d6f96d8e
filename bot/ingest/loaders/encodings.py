"""Bytes -> text for files that do not say their encoding: BOM, strict UTF-8, GB18030 or Big5 by plausibility
(see bot/ingest/loaders/dispatch.py for why charset-normalizer is only a tie-breaker)."""

from __future__ import annotations

import codecs
import functools
import logging
import re
from pathlib import Path

from bot.ingest.loaders.common import fail

log = logging.getLogger(__name__)


# A candidate decoding is accepted only if at least this share of its
# non-ASCII characters is plausible Chinese (see plausibility).  Measured on
# 1-5 line snippets of the corpus: right decodings score >= 0.96, wrong
# GB18030/Big5 decodings <= 0.77.
PLAUSIBLE = 0.85


# Scores closer than this count as a tie (then charset-normalizer's guess,
# then GB18030, wins).
TIE = 0.02


# Only this many characters are scored (decoding is always strict over the
# whole file).
_SCORE_SAMPLE = 200_000


BOMS: tuple[tuple[bytes, str, str], ...] = (
    # (bom, codec that consumes it, reported name); UTF-32 before UTF-16
    (codecs.BOM_UTF8, "utf-8-sig", "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32", "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32", "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16", "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16", "utf-16"),
)


# The legacy families tried, each with its codecs in order of preference.
LEGACY_FAMILIES: dict[str, tuple[str, ...]] = {
    "gb18030": ("gb18030",),
    "big5": ("big5", "cp950", "big5hkscs"),
}


_FAMILY_OF_CODEC = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "gb18030": "gb18030",
    "cp936": "gb18030",
    "euc_cn": "gb18030",
    "hz": "gb18030",
    "big5": "big5",
    "big5hkscs": "big5",
    "cp950": "big5",
}


@functools.lru_cache(maxsize=1)
def _common_chars() -> frozenset[str] | None:
    """The ~3500 most frequent simplified characters and their traditional forms.

    Frequencies: jieba's dictionary (word frequency summed per character),
    restricted to GB2312 characters (the dictionary holds some mojibake
    entries).  Traditional forms: every traditional character whose
    simplification (OpenCC's TSCharacters table) is one of them.  Built once,
    lazily (about a second); None if jieba or OpenCC is missing.
    """
    try:
        from importlib import resources

        jieba_dict = resources.files("jieba").joinpath("dict.txt").read_text("utf-8")
        ts_table = resources.files("opencc").joinpath("dictionary", "TSCharacters.txt").read_text("utf-8")
    except (ImportError, OSError) as exc:  # pragma: no cover - depends on the install
        log.warning(
            "loaders: no character frequency list (%s); encoding detection degraded",
            exc,
        )
        return None

    freq: dict[str, int] = {}
    for line in jieba_dict.splitlines():
        parts = line.split(" ", 2)
        if len(parts) < 2 or not parts[1].isdigit():
            continue
        n = int(parts[1])
        for ch in parts[0]:
            freq[ch] = freq.get(ch, 0) + n

    def in_gb2312(ch: str) -> bool:
        try:
            ch.encode("gb2312")
        except UnicodeEncodeError:
            return False
        return True

    simplified: set[str] = set()
    for ch in sorted(freq, key=freq.__getitem__, reverse=True):
        if "\u4e00" <= ch <= "\u9fff" and in_gb2312(ch):
            simplified.add(ch)
            if len(simplified) == 3500:
                break
    traditional: set[str] = set()
    for line in ts_table.splitlines():
        trad, _, simp = line.partition("\t")
        if trad and any(s in simplified for s in simp.split()):
            traditional.add(trad)
    return frozenset(simplified | traditional)


def _is_good_symbol(o: int) -> bool:
    """Punctuation and symbols that ordinary Chinese text uses."""
    return (
        0x3000 <= o <= 0x303F  # CJK symbols and punctuation 、。「」《》
        or 0xFF01 <= o <= 0xFF5E  # fullwidth forms ，！（）
        or 0x2010 <= o <= 0x2027  # ‐–—‘’“”…
        or 0x2030 <= o <= 0x205E  # ‰′″※
        or 0x2100 <= o <= 0x218F  # ℃ № Ⅰ Ⅱ
        or 0x2460 <= o <= 0x24FF  # ①②⑴⒈
        or o in (0x00B7, 0x00D7, 0x00F7, 0x00B0, 0x00B1, 0x00A7)  # ·×÷°±§
    )


def plausibility(text: str) -> float:
    """Share of the non-ASCII characters that look like ordinary Chinese text.

    Common characters and Chinese punctuation count 1, other CJK ideographs
    0.5, anything else (kana, Hangul, Greek, box drawing, private use,
    compatibility ideographs, Latin-1 letters...) 0.  ASCII and whitespace are
    not counted.  Returns 1.0 for pure ASCII.
    """
    common = _common_chars()
    good = rare = bad = 0
    for ch in text[:_SCORE_SAMPLE]:
        o = ord(ch)
        if o < 0x80 or ch.isspace():
            continue
        if 0x4E00 <= o <= 0x9FFF:
            if common is None or ch in common:
                good += 1
            else:
                rare += 1
        elif 0x3400 <= o <= 0x4DBF or 0x20000 <= o <= 0x3FFFF:
            rare += 1  # CJK extension A, B and later
        elif _is_good_symbol(o):
            good += 1
        else:
            bad += 1
    total = good + rare + bad
    return (good + 0.5 * rare) / total if total else 1.0


def _charset_normalizer_family(data: bytes) -> str | None:
    """charset-normalizer's guess, reduced to one of our legacy families."""
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # pragma: no cover - depends on the install
        return None
    try:
        best = from_bytes(data[:65536]).best()
    except Exception:  # noqa: BLE001 - a hint only
        return None
    guess = best.encoding if best is not None else None
    family = _FAMILY_OF_CODEC.get(guess or "")
    log.debug("loaders: charset-normalizer guesses %s", guess)
    return family


def decode_legacy(data: bytes) -> tuple[str, str] | None:
    """Decode GB18030 or Big5 bytes, choosing by plausibility; None if neither fits."""
    candidates: list[tuple[float, str, str, str]] = []  # (score, family, codec, text)
    for family, codec_names in LEGACY_FAMILIES.items():
        for name in codec_names:
            try:
                text = data.decode(name)
            except UnicodeDecodeError:
                continue
            candidates.append((plausibility(text), family, name, text))
            break
    if not candidates:
        return None
    log.debug("loaders: legacy candidates %s", [(round(c[0], 3), c[2]) for c in candidates])
    best = max(c[0] for c in candidates)
    if best < PLAUSIBLE:
        return None
    tied = [c for c in candidates if c[0] >= best - TIE]
    if len(tied) > 1:
        hint = _charset_normalizer_family(data)
        preferred = hint if any(c[1] == hint for c in tied) else "gb18030"
        tied = [c for c in tied if c[1] == preferred] or tied
    _, _, name, text = max(tied, key=lambda c: c[0])
    return text, name


_UNICODE_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def _decode_utf16_without_bom(data: bytes) -> tuple[str, str] | None:
    """Recognise BOM-less UTF-16 (the only text with NULs that we accept)."""
    if len(data) % 2:
        return None
    for name in ("utf-16-le", "utf-16-be"):
        try:
            text = data.decode(name)
        except UnicodeDecodeError:
            continue
        if _UNICODE_CONTROL.search(text):
            continue
        if any(ord(c) >= 0x80 for c in text) and plausibility(text) < PLAUSIBLE:
            continue
        return text, name
    return None


def decode_text(path: Path, data: bytes) -> tuple[str, str]:
    """Decode a text file's bytes: (text, codec name); raises UnreadableDocument."""
    for bom, codec_name, reported in BOMS:
        if data.startswith(bom):
            try:
                return data.decode(codec_name), reported
            except UnicodeDecodeError as exc:
                raise fail(
                    path,
                    f"cannot decode: starts with a {reported.upper()} byte-order mark "
                    f"but is not valid {reported.upper()} (byte {exc.start})",
                ) from exc
    if b"\x00" in data:
        decoded = _decode_utf16_without_bom(data)
        if decoded is not None:
            return decoded
        raise fail(path, "looks like a binary file (it contains NUL bytes), not text")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    decoded = decode_legacy(data)
    if decoded is None:
        reason = "cannot decode: not UTF-8, GB18030 or Big5 text"
        for name, label in (
            ("utf-8", "UTF-8"),
            ("gb18030", "GB18030"),
            ("big5", "Big5"),
        ):
            damaged = decode_with_few_errors(data, name)
            if damaged is not None and plausibility(damaged[0]) >= PLAUSIBLE:
                errors, first = damaged[1], damaged[2]
                reason += f" (it looks like {label} text damaged in {errors} place(s), first at byte {first})"
                break
        raise fail(path, reason)
    return decoded


def decode_with_few_errors(data: bytes, name: str) -> tuple[str, int, int] | None:
    """Decode with U+FFFD for invalid bytes if they sit in only a few places.

    Returns (text, number of damaged places, offset of the first) or None when
    the bytes are clean (nothing to report) or damaged in more than a handful
    of places (at most 20, and at most one per 1000 bytes).  Invalid bytes
    within 4 bytes of each other count as one place.
    """
    limit = min(20, max(2, len(data) // 1000))
    parts: list[str] = []
    pos = places = attempts = 0
    first = last_end = -1
    while True:
        try:
            parts.append(data[pos:].decode(name))
            break
        except UnicodeDecodeError as exc:
            start, end = pos + exc.start, pos + max(exc.end, exc.start + 1)
            attempts += 1
            if last_end < 0 or start > last_end + 4:
                places += 1
            if places > limit or attempts > 5 * limit:
                return None
            if first < 0:
                first = start
            last_end = end
            parts.append(data[pos:start].decode(name, "replace"))
            parts.append("\ufffd")
            pos = end
    return ("".join(parts), places, first) if places else None
