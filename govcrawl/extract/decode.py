"""Bytes -> text for downloaded pages: which charset a body really is in.

Owns ``decode_body``.  Chinese government sites routinely lie about their
charset (``utf-8`` in the header over a GBK body, ``gb2312`` labels on pages
using GBK-only characters, no label at all), so every declaration is only a
candidate: each candidate decoding is scored for how plausible its Chinese
text looks and the best one wins.  Nothing here raises; doubts end up in
``Decoded.warnings``.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from charset_normalizer import from_bytes


@dataclass
class Decoded:
    text: str
    encoding: str
    warnings: list[str] = field(default_factory=list)


# Order matters: the UTF-32-LE BOM starts with the UTF-16-LE one.
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
    (b"\x84\x31\x95\x33", "gb18030"),
)

# Every GB2312/GBK label is decoded as its superset: pages labelled gb2312
# use GBK-only characters (镕, 喆, 堃 ...) all the time, as browsers know.
_LABEL_ALIASES = {
    **dict.fromkeys(
        ("gb2312", "gbk", "x-gbk", "gb_2312-80", "gb_2312", "gb2312-80", "cp936",
         "ms936", "windows-936", "csgb2312", "chinese", "euc-cn", "euccn",
         "iso-ir-58", "csiso58gb231280", "gb18030", "gb-18030"),
        "gb18030"),
    **dict.fromkeys(
        ("big5", "big-5", "cn-big5", "x-x-big5", "csbig5", "big5-hkscs",
         "big5hkscs", "cp950", "ms950"),
        "big5hkscs"),
    # WHATWG: these labels mean windows-1252 on the web.
    **dict.fromkeys(("iso-8859-1", "latin1", "latin-1", "l1", "us-ascii", "ascii",
                     "iso8859-1", "windows-1252"), "cp1252"),
}

# Python text codecs that no web page is ever really written in.
_NOT_CHARSETS = frozenset(("idna", "punycode", "unicode-escape", "raw-unicode-escape", "undefined",
                           "mbcs", "oem", "charmap"))

_CHARSET_PARAM = re.compile(rb"""charset\s*=\s*["']?\s*([A-Za-z0-9_.:+-]+)""", re.I)
_META_CHARSET = re.compile(
    rb"""<meta\b[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9_.:+-]+)""", re.I | re.S)
_XML_ENCODING = re.compile(rb"""<\?xml\b[^>]*?encoding\s*=\s*["']([A-Za-z0-9_.:+-]+)""", re.I)
_META_SCAN_BYTES = 4096

# Scoring looks at a prefix: enough to judge any charset, cheap on 50 MB bodies.
_SCORE_CHARS = 200_000
# ... and within it at the first this many scored characters: a mean over 8k
# characters does not move with more, while counting all of a 0.5 MB page's
# prose costs more than decoding it.
_SCORE_SAMPLE = 8_192
_SCORE_WINDOW = 16_384  # the first stretch of text searched for them; doubled while too few
_DETECT_BYTES = 256_000
# A declaration is kept unless an alternative is clearly more plausible.
_DECLARED_BONUS = 0.15
# Mainland sites almost never serve Big5 unannounced, while GBK text with
# pinyin letters can pass as Big5 hanzi: an undeclared Big5 must win clearly.
_UNDECLARED_PRIOR = {"big5hkscs": -0.3}


@lru_cache(maxsize=1)
def _common_hanzi() -> frozenset[str]:
    """The ~3755 GB2312 level-1 characters plus the ~5400 common Big5 ones.

    Real Chinese text is made of these almost exclusively; mis-decoded bytes
    scatter over the rare rest of the CJK blocks.
    """
    chars = set()
    for lead in range(0xB0, 0xD8):
        for trail in range(0xA1, 0xFF):
            try:
                chars.add(bytes((lead, trail)).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    for lead in range(0xA4, 0xC7):
        for trail in (*range(0x40, 0x7F), *range(0xA1, 0xFF)):
            try:
                chars.add(bytes((lead, trail)).decode("big5"))
            except UnicodeDecodeError:
                pass
    return frozenset(chars)


@lru_cache(maxsize=1)
def _common_hanzi_run() -> re.Pattern:
    """Runs of common hanzi: the characters ``plausibility`` would weigh 1.0 one by one."""
    chars = sorted(ch for ch in _common_hanzi() if not ch.isspace() and ch not in _PINYIN_LETTERS)
    return re.compile("[" + "".join(re.escape(ch) for ch in chars) + "]+")


_GOOD_PUNCT = frozenset("“”‘’…—·×÷")
# Tone-marked pinyin vowels are Latin Extended letters but legitimate in
# Chinese pages (ruby readings); they must not count as mojibake.
_PINYIN_LETTERS = frozenset("āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜüńňǹ")


def _char_weight(ch: str, common: frozenset[str]) -> float:
    """Plausibility of one non-ASCII character in a Chinese page: >0 good, <0 suspect."""
    cp = ord(ch)
    if ch in common:
        return 1.0
    if ch == "\ufffd" or 0x80 <= cp <= 0x9F or 0xE000 <= cp <= 0xF8FF or cp >= 0xF0000:
        return -5.0
    if 0x3000 <= cp <= 0x303F or 0xFF00 <= cp <= 0xFFEF or ch in _GOOD_PUNCT:
        return 1.0
    if 0xA0 <= cp <= 0x24F:
        # Latin-1 supplement / Latin extended: the signature of GBK read as cp1252/latin-1.
        return -2.0
    if 0x4E00 <= cp <= 0x9FFF:
        return -0.5  # a real but uncommon hanzi
    if unicodedata.category(ch).startswith("C"):
        return -5.0
    return -1.0  # other scripts, CJK extensions, compatibility ideographs


# What plausibility looks at: non-ASCII characters and ASCII control characters.
# Printable ASCII (most of an HTML page) scores nothing, so it is deleted before counting.
_UNSCORED = re.compile(r"[\t\n\r\f\x20-\x7e]+")
# The same characters as UTF-8 bytes: deleting them from a text's UTF-8 leaves the UTF-8 of
# what _UNSCORED leaves (every other character is encoded in bytes >= 0x80 or is a kept control
# byte), and bytes.translate runs 2-4x faster than the regex's substitution.
_UNSCORED_BYTES = bytes((0x09, 0x0A, 0x0C, 0x0D, *range(0x20, 0x7F)))


def _scored(text: str) -> str:
    """``text`` without what ``_UNSCORED`` matches."""
    try:
        return text.encode("utf-8").translate(None, _UNSCORED_BYTES).decode("utf-8")
    except UnicodeError:  # a lone surrogate (utf-7 and the like can decode to one)
        return _UNSCORED.sub("", text)


def _scored_sample(text: str) -> str:
    """The first ``_SCORE_SAMPLE`` scored characters of ``text``'s first ``_SCORE_CHARS``."""
    limit = min(len(text), _SCORE_CHARS)
    pieces: list[str] = []
    found = pos = 0
    window = _SCORE_WINDOW
    # Growing windows: a page that opens with kilobytes of ASCII markup is searched
    # further, a page of Chinese prose is not searched past what the sample needs.
    while pos < limit and found < _SCORE_SAMPLE:
        end = min(pos + window, limit)
        piece = _scored(text[pos:end])
        pieces.append(piece)
        found += len(piece)
        pos, window = end, window * 2
    sample = "".join(pieces)
    return sample[:_SCORE_SAMPLE] if found > _SCORE_SAMPLE else sample


def plausibility(text: str) -> float:
    """Mean weight of the non-ASCII characters in ``text``'s prefix, in [-5, 1].

    Pure-ASCII text scores 0.  Counting distinct characters keeps this fast,
    and a sample of the first ``_SCORE_SAMPLE`` of them is enough to judge.
    """
    sample = _scored_sample(text)
    # The common hanzi all weigh 1: counted by length in one regex pass, not one by one.
    rest = _common_hanzi_run().sub("", sample)
    n = len(sample) - len(rest)
    total = float(n)
    counts = Counter(rest)
    common = _common_hanzi()
    for ch, k in counts.items():
        if ch < "\x80":
            if ch < " ":  # a control character (tab, newlines and form feed are not scored)
                total -= 5.0 * k
                n += k
            continue
        if ch.isspace() or ch in _PINYIN_LETTERS:
            continue
        total += _char_weight(ch, common) * k
        n += k
    return total / n if n else 0.0


def _header_items(headers) -> list[tuple[str, list[bytes]]]:
    """Plain dicts, Scrapy ``Headers`` (bytes keys, list values) and the like."""
    if headers is None:
        return []
    try:
        items = list(headers.items())
    except Exception:  # noqa: BLE001 - a broken header object must not stop decoding
        return []
    out = []
    for key, value in items:
        if isinstance(key, bytes):
            key = key.decode("latin-1")
        values = value if isinstance(value, (list, tuple)) else [value]
        out.append((str(key).strip().lower(),
                    [v if isinstance(v, bytes) else str(v).encode("latin-1", "replace")
                     for v in values if v is not None]))
    return out


def _header_charset(headers) -> str | None:
    for key, values in _header_items(headers):
        if key != "content-type":
            continue
        # With repeated Content-Type headers the last one wins, as in browsers.
        for value in reversed(values):
            m = _CHARSET_PARAM.search(value)
            if m:
                return m.group(1).decode("ascii").lower()
    return None


def _meta_charset(body: bytes) -> str | None:
    head = body[:_META_SCAN_BYTES]
    m = _META_CHARSET.search(head) or _XML_ENCODING.search(head)
    return m.group(1).decode("ascii").lower() if m else None


def codec_for_label(label: str) -> str | None:
    """Python codec name for a charset label, or None if it is not a text codec."""
    label = label.strip().strip("\"'").lower()
    if label in _LABEL_ALIASES:
        return _LABEL_ALIASES[label]
    try:
        info = codecs.lookup(label)
    except LookupError:
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name in _NOT_CHARSETS:
        return None
    name = info.name
    return _LABEL_ALIASES.get(name, name)


def _detect(body: bytes) -> str | None:
    try:
        best = from_bytes(body[:_DETECT_BYTES]).best()
    except Exception:  # noqa: BLE001 - detection is only a hint
        return None
    if best is None:
        return None
    return codec_for_label(best.encoding)


@dataclass
class _Candidate:
    codec: str
    text: str
    clean: bool
    score: float


def _try(body: bytes, codec: str) -> _Candidate:
    try:
        text, clean = body.decode(codec), True
    except (UnicodeError, ValueError, LookupError):
        try:
            text = body.decode(codec, errors="replace")
        except (UnicodeError, ValueError, LookupError):
            # Exotic codecs (idna, punycode ...) fail even in replace mode.
            text = body.decode("utf-8", errors="replace")
        clean = False
    return _Candidate(codec, text, clean, plausibility(text))


def decode_body(body: bytes, headers: Mapping | None = None) -> Decoded:
    """Decode ``body``: BOM, then Content-Type, then <meta>, then detection; all verified."""
    warnings: list[str] = []
    if not body:
        return Decoded("", "utf-8", ["empty body"])
    body = bytes(body)

    for bom, codec in _BOMS:
        if body.startswith(bom):
            cand = _try(body[len(bom):], codec)
            if not cand.clean:
                warnings.append(f"undecodable bytes replaced with U+FFFD ({codec})")
            return Decoded(cand.text, codec, warnings)

    declared: list[tuple[str, str, str]] = []  # (codec, label, source)
    for source, label in (("header", _header_charset(headers)), ("meta", _meta_charset(body))):
        if not label:
            continue
        codec = codec_for_label(label)
        if source == "meta" and codec and codec.startswith(("utf-16", "utf-32")):
            # A <meta> we could read as ASCII cannot be UTF-16; browsers take it as UTF-8.
            codec = "utf-8"
        if codec is None:
            warnings.append(f"unknown charset label {label!r} ({source}) ignored")
            continue
        declared.append((codec, label, source))

    candidates: dict[str, _Candidate] = {}

    def consider(codec: str | None) -> None:
        if codec and codec not in candidates:
            candidates[codec] = _try(body, codec)

    for codec, _, _ in declared:
        consider(codec)
    # A declaration that decodes cleanly to text this plausible wins against any
    # alternative (a score is at most 1, the declaration gets the bonus): decoding
    # and scoring the whole body again as utf-8 and gb18030 could not change that.
    first = candidates[declared[0][0]] if declared else None
    if not (first and first.clean and first.score > 1.0 - _DECLARED_BONUS):
        consider("utf-8")
        consider("gb18030")

    def rank(c: _Candidate) -> float:
        if declared and c.codec == declared[0][0]:
            return c.score + _DECLARED_BONUS
        if any(c.codec == codec for codec, _, _ in declared):
            return c.score
        return c.score + _UNDECLARED_PRIOR.get(c.codec, 0.0)

    best = max(candidates.values(), key=rank)  # max keeps the first among equals
    # Detection is slow and weak on short pages: ask it only when nothing
    # declared-or-obvious reads as decent Chinese.
    if not declared or best.score < 0.5:
        consider(_detect(body))
        best = max(candidates.values(), key=rank)

    if declared and best.codec != declared[0][0]:
        for codec, label, source in declared:
            if codec != best.codec:
                warnings.append(
                    f"declared charset {label!r} ({source}) was wrong; decoded as {best.codec}")
    if not best.clean:
        warnings.append(f"undecodable bytes replaced with U+FFFD ({best.codec})")
    elif best.score < 0:
        warnings.append(f"no charset gives plausible text; best guess {best.codec}")
    return Decoded(best.text, best.codec, warnings)
