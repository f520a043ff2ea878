"""Text repair: what turns a page's text into the clean Simplified text we match on.

Owns the damage real pages carry after decoding: ``<ruby>`` markup and the
``字(zì)`` pinyin it leaves behind when flattened, Traditional characters,
full-width ASCII and exotic spaces.  ``repair_text`` is the one call the rest
of the code uses; ``squash`` makes labels comparable (``索 引 号`` -> ``索引号``).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import opencc

# pypinyin is imported on first use (``_readings``): its dictionary is ~55 MiB of Python objects
# in every process that imports it (crawler, fork server, each extraction worker), and only
# pages with ``字(zì)`` readings after Han characters ever need it.

_RUBY_ANNOTATION = re.compile(
    r"<rtc\b[^>]*>.*?</rtc\s*>"
    r"|<rp\b[^>]*>.*?</rp\s*>"
    # </rt> may be omitted in HTML: the annotation then ends at the next ruby tag.
    r"|<rt\b[^>]*>.*?(?:</rt\s*>|(?=<(?:rt|rp|rb|/ruby)\b))",
    re.I | re.S)
_RUBY_WRAPPER = re.compile(r"</?(?:ruby|rb)\b[^>]*>|</rt\s*>|</rp\s*>", re.I)
# Where either pattern can match: a ruby, rb, rt, rp or rtc tag, opening or closing.
_RUBY_TAG = re.compile(r"</?r(?:uby|tc|t|p|b)\b", re.I)

_HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_PINYIN_CHARS = "a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜüńňǹḿê\u0300-\u036f"
# A bracket holding only lowercase pinyin syllables, right after a Han char.
# The pattern starts with the bracket, so the regex engine jumps from bracket to
# bracket; the Han char before it is checked by a lookbehind once one is found.
_READING = re.compile(
    rf"[(（](?<=[{_HAN}][(（])[ \t]*([{_PINYIN_CHARS}]{{1,8}}(?:[ \t]+[{_PINYIN_CHARS}]{{1,8}}){{0,7}})[ \t]*[)）]")
_HAN_RE = re.compile(rf"[{_HAN}]")

_SPACES = "\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u200b\u202f\u205f\u3000\ufeff"
_NORMALIZED = {
    **{chr(cp): chr(cp - 0xFEE0) for cp in range(0xFF01, 0xFF5F)},
    **{ch: " " for ch in _SPACES},
}
# A substitution touches only the characters to change; str.translate looks up every
# character of the text in the table, three times slower on a page of Chinese prose.
_NORMALIZABLE = re.compile(f"[\uff01-\uff5e{_SPACES}]")
_ANY_SPACE = re.compile(rf"[\s{_SPACES}]+")


def strip_ruby_html(html: str) -> str:
    """Drop ``<rt>``/``<rp>``/``<rtc>`` with their content; keep the base text of ``<ruby>``."""
    if _RUBY_TAG.search(html) is None:
        return html  # most pages have no ruby, and the substitutions' scans cost
    return _RUBY_WRAPPER.sub("", _RUBY_ANNOTATION.sub("", html))


def _toneless(syllable: str) -> str:
    decomposed = unicodedata.normalize("NFD", syllable)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).replace("v", "u")


@lru_cache(maxsize=1)
def _converter() -> opencc.OpenCC:
    # Building the converter loads dictionaries from disk: do it once, on first use.
    return opencc.OpenCC("t2s")


@lru_cache(maxsize=65536)
def _readings(char: str) -> frozenset[str]:
    """Every reading of ``char``, toned and toneless ('dāng', 'dang', ...)."""
    from pypinyin import pinyin

    found = pinyin(char, heteronym=True, errors="ignore")
    if not found:
        simplified = _converter().convert(char)
        if simplified != char:
            found = pinyin(simplified, heteronym=True, errors="ignore")
    toned = {unicodedata.normalize("NFC", r) for group in found for r in group}
    return frozenset(toned | {_toneless(r) for r in toned})


def _is_reading(char: str, syllable: str) -> bool:
    syllable = unicodedata.normalize("NFC", syllable)
    readings = _readings(char)
    return syllable in readings or _toneless(syllable) in readings


def _drop_reading(m: re.Match) -> str:
    syllables = m.group(1).split()
    start = m.start()
    if start < len(syllables):
        return m.group(0)
    bases = m.string[start - len(syllables):start]
    if len(bases) != len(syllables) or not all(_HAN_RE.match(c) for c in bases):
        return m.group(0)
    if all(_is_reading(c, s) for c, s in zip(bases, syllables)):
        return ""
    return m.group(0)


def strip_pinyin(text: str) -> str:
    """``當(dāng)`` -> ``當``, only where the bracket really holds the reading of the char(s) before it."""
    if "(" not in text and "（" not in text:
        return text  # str's search for a character is many times faster than the pattern's scan
    return _READING.sub(_drop_reading, text)


# Characters OpenCC's t2s changes only inside a phrase (深沈 -> 深沉, 答覆 -> 答复), never alone,
# so probing single characters cannot find them: from TSPhrases (OpenCC 1.1-1.4).
_PHRASE_ONLY_TRADITIONAL = "哩坏沈甦瞭藉衹覆"
# The blocks t2s has single-character entries in (radicals, CJK symbols, CJK, compatibility ideographs).
_PROBED_BLOCKS = ((0x2E80, 0x2FDF), (0x3000, 0x33FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF))


@lru_cache(maxsize=1)
def _may_change() -> re.Pattern:
    """Any character t2s may change: a line without one converts to itself.

    Found by asking the converter itself, once (a few ms), so the set follows
    the installed OpenCC's dictionaries.  Every character past the BMP counts
    (CJK extensions hold Traditional forms; pages rarely have any).
    """
    chars = [chr(cp) for first, last in _PROBED_BLOCKS for cp in range(first, last + 1)]
    converted = _converter().convert("\n".join(chars)).split("\n")
    if len(converted) != len(chars):  # never expected; then every CJK character counts
        return re.compile(r"[\u2e80-\ufaff\U00010000-\U0010ffff]")
    changing = {c for c, out in zip(chars, converted) if out != c} | set(_PHRASE_ONLY_TRADITIONAL)
    klass = "".join(re.escape(c) for c in sorted(changing))
    return re.compile(f"[{klass}\U00010000-\U0010ffff]")


def to_simplified(text: str) -> str:
    """Traditional -> Simplified with OpenCC's phrase-aware ``t2s``.

    Only the lines holding a character t2s may change go through OpenCC (in
    one call); on a Simplified page that is none.  No t2s phrase spans a line
    break, so converting lines apart gives what converting the whole would.
    """
    if not text:
        return text
    may_change = _may_change()
    if may_change.search(text) is None:
        return text
    if "\n" not in text:
        return _converter().convert(text)
    lines = text.split("\n")
    todo = [n for n, line in enumerate(lines) if may_change.search(line)]
    if len(todo) * 2 > len(lines):
        return _converter().convert(text)
    converted = _converter().convert("\n".join(lines[n] for n in todo)).split("\n")
    if len(converted) != len(todo):
        return _converter().convert(text)
    for n, line in zip(todo, converted):
        lines[n] = line
    return "\n".join(lines)


def normalize(text: str) -> str:
    """Full-width ASCII (U+FF01-U+FF5E) -> ASCII; every kind of space -> ' '."""
    # One str.replace per distinct character: a page of prose has thousands of
    # full-width commas but only a handful of distinct characters to replace.  Each
    # replacement is one character, so the text before a found one is done.
    pos = 0
    while (m := _NORMALIZABLE.search(text, pos)) is not None:
        ch = m.group()
        text = text.replace(ch, _NORMALIZED[ch])
        pos = m.start()
    return text


def repair_text(text: str) -> str:
    """strip_pinyin -> to_simplified -> normalize: the one repair the rest of the code uses."""
    return normalize(to_simplified(strip_pinyin(text)))


_CJK = r"\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef"
# Spaces that PDF and Word copies put between Chinese characters ("政 府 信 息"), not between words.
SPACE_NEXT_TO_CJK = re.compile(rf"(?<=[{_CJK}])[ \t]+|[ \t]+(?=[{_CJK}])")


def squash(text: str) -> str:
    """Remove all whitespace of every kind, for label matching."""
    return _ANY_SPACE.sub("", text)
