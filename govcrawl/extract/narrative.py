"""Key figures a report states in its prose (``全年共收到政府信息公开申请749件``).

Owns ``prose_figures(text, year)``: the figures of the report year that the
text states plainly, each with the clause that states it, for the
``narrative_matches_tables`` check.  Reading is deliberately cautious: a
figure counts only when it has a unit (``件/条/起/宗/例`` – table rows have
none), its clause names what it counts, and nothing marks it as a part
(``其中``, ``含``, ``代表``), a comparison (``同比``, ``较上年``) or another
year.  A zero said in words counts (``未收到政府信息公开申请``, ``未发生行政复议``).
A figure left out is not compared; a wrong figure would be a false alarm.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from govcrawl.extract.textfix import SPACE_NEXT_TO_CJK

# What each figure is, as the spec names it (checks.py maps these to table cells).
NEW_REQUESTS, HANDLED, CARRIED_FORWARD, REVIEWS, LAWSUITS = (
    "new_requests", "total_handled", "carried_forward", "review", "litigation")

_CLAUSE_END = re.compile(r"[，,：:（(）)]")
_UNITS = "件条起宗例"  # what a figure in prose is counted in
_NEGATIONS = "未没无"  # what every plain-zero phrase below starts its negation with
# A number not inside another; the look-behinds follow its first digit so that the
# regex engine jumps from digit to digit instead of trying every position.
_FIGURE = re.compile(rf"(\d(?<![\d.]\d)(?<!\d,\d)(?:\d{{0,2}}(?:,\d{{3}})+|\d{{0,6}}))[{_UNITS}]")
# A year the sentence is about; a date ("2024年1月20日") only says when something happened.
_YEAR = re.compile(r"((?:19|20)\d{2})年(?!\d{1,2}月)")

# In the words before a figure (its clause, from the previous figure on).
_PART_OR_COMPARISON = re.compile(r"其中|含|包括|代表|同比|较上年|比上年|较去年|比去年|增长|增加|减少|下降|上升|平均")
_REVIEW = re.compile(r"行政复议")
_LAWSUIT = re.compile(r"行政诉讼")
_CARRIED_OVER = re.compile(r"上一?年度?结转|结转上一?年")
_CARRIED_FORWARD = re.compile(r"(?:结转|顺延|转入|转)(?:到|至|入)?下一?年度?")
_RECEIVED = re.compile(r"收到|受理|新收|接收|接到|收悉")
_HANDLED = re.compile(r"办结|答复|办理完毕|处理完毕|办理")
# A request for government information, not any 申请 (行政许可申请 is another matter).
_REQUEST = re.compile(r"公开申请|依申请|申请公开|信息公开.{0,6}申请")
# "未收到政府信息公开申请", "未发生行政复议和行政诉讼", "无行政诉讼": a plain zero.  The verb is
# required ("未经复议直接起诉" is a column, "无一例…被纠错" says nothing about the count).
_NO_REQUESTS = re.compile(r"(?:未|没有)(?:收到|受理|接到|接收|新收)[^\d，,；;。]{0,10}?(?:公开申请|依申请|申请公开)")
_NONE = r"(?:(?:未|没有)(?:发生|产生|引发|引起|出现|收到|接到|被)[^\d，,；;。、]{0,14}?|无)"
_NO_REVIEWS = re.compile(rf"{_NONE}行政复议")
_NO_LAWSUITS = re.compile(rf"{_NONE}(?:行政复议[和与及、或])?行政诉讼")
# A character each of the three holds: a clause without one states no zero.
_NEGATION = re.compile(f"[{_NEGATIONS}]")
# A character a sentence that states a figure holds (a unit, or a negation for a zero).
_MAY_STATE = re.compile(f"[{_UNITS}{_NEGATIONS}]")


@dataclass(frozen=True)
class Figure:
    key: str  # NEW_REQUESTS, HANDLED, CARRIED_FORWARD, REVIEWS or LAWSUITS
    value: int
    clause: str  # the words that state it, for the check's detail


# A PDF wraps prose at the page width ("答\n复 3050 件"): a line of 15 characters or
# more that does not end a sentence continues on the next, unless that is a
# heading ("一、", "(二)", "3.").  Shorter lines are headings or table cells.
# The pattern starts with the line break and looks behind from there: the regex
# engine then jumps from line break to line break instead of trying every position.
_WRAPPED_LINE_BREAK = re.compile(
    r"\n(?<=[^\n]{14}[^\n。！？!?；;]\n)"
    r"(?![ \t]*(?:[一二三四五六七八九十]+[、.]|[(（][一二三四五六七八九十\d]+[)）]|\d+[、.](?!\d)))")
# Every figure's clause names requests, reviews, lawsuits or the next year: other
# sentences (most of them: table cells, headings) are not read further.
_RELEVANT = re.compile(r"申请|复议|诉讼|下一?年")
_SENTENCE_END = re.compile(r"[。！？!?；;\n]")


def _spaced_sentences(text: str) -> list[str]:
    """The sentences that may state a figure, as the text spaces them.

    What ``[s for s in _SENTENCE_END.split(joined) if _RELEVANT.search(s)]``
    gives, found from the relevant words outward: pages of other prose are
    passed over by one regex scan instead of being split into sentences.
    """
    joined = _WRAPPED_LINE_BREAK.sub("", "\n".join([ln.strip() for ln in text.splitlines()]))
    sentences: list[str] = []
    done = 0  # the text before this is read (it is 0 or just after a sentence end)
    while m := _RELEVANT.search(joined, done):  # the next relevant word after the sentences taken
        start = _sentence_start(joined, done, m.start())
        end_mark = _SENTENCE_END.search(joined, m.end())
        end = end_mark.start() if end_mark else len(joined)
        sentences.append(joined[start:end])
        done = end + 1
    return sentences


def _sentence_start(text: str, lo: int, pos: int) -> int:
    """Just after the last sentence end in ``text[lo:pos]``, or ``lo``; searched backwards in growing windows."""
    window = 64
    while True:
        begin = max(lo, pos - window)
        last = None
        for last in _SENTENCE_END.finditer(text, begin, pos):
            pass
        if last is not None:
            return last.end()
        if begin == lo:
            return lo
        window *= 4


def _kind(before: str, after: str, sentence: str) -> str | None:
    """What the figure between ``before`` and ``after`` (its clause) counts, if the clause says so plainly."""
    if _PART_OR_COMPARISON.search(before):
        return None
    review, lawsuit = _REVIEW.search(before), _LAWSUIT.search(before)
    if review and lawsuit:
        return None  # "行政复议、行政诉讼0件": one figure for both, neither alone
    if review or lawsuit:
        return REVIEWS if review else LAWSUITS
    if _CARRIED_OVER.search(before):
        return None
    if _CARRIED_FORWARD.search(before) or _CARRIED_FORWARD.match(after):
        return CARRIED_FORWARD
    if not (_REQUEST.search(before) or _REQUEST.search(after) or _REQUEST.search(sentence)):
        return None
    if _RECEIVED.search(before):
        return NEW_REQUESTS
    if _HANDLED.search(before):
        return HANDLED
    return None


def _zeros(sentence: str) -> list[Figure]:
    """What the sentence says did not happen: no requests received, no reviews, no lawsuits."""
    found = []
    for clause in _CLAUSE_END.split(sentence):
        if not _NEGATION.search(clause) or _FIGURE.search(clause) or _PART_OR_COMPARISON.search(clause):
            continue
        for key, pattern in ((NEW_REQUESTS, _NO_REQUESTS), (REVIEWS, _NO_REVIEWS), (LAWSUITS, _NO_LAWSUITS)):
            if pattern.search(clause):
                found.append(Figure(key, 0, clause))
    return found


def prose_figures(text: str, year: int | None = None) -> list[Figure]:
    """Figures of the report year the prose states about requests, reviews and lawsuits."""
    figures: list[Figure] = []
    for spaced in _spaced_sentences(text or ""):
        if not _MAY_STATE.search(spaced):
            continue  # most sentences are table rows: no unit, no negation, no figure
        sentence = SPACE_NEXT_TO_CJK.sub("", spaced)
        years = {int(y) for y in _YEAR.findall(sentence)}
        if year is not None and years - {year}:
            continue  # about another year, or comparing with one
        figures += _zeros(sentence)
        clause_start = 0
        for m in _FIGURE.finditer(sentence):
            ends = list(_CLAUSE_END.finditer(sentence, clause_start, m.start()))
            if ends:
                clause_start = ends[-1].end()
            nxt = _CLAUSE_END.search(sentence, m.end())
            clause_end = nxt.start() if nxt else len(sentence)
            before, after = sentence[clause_start:m.start()], sentence[m.end():clause_end]
            kind = _kind(before, after, sentence)
            if kind:
                figures.append(Figure(kind, int(m.group(1).replace(",", "")), sentence[clause_start:clause_end]))
            clause_start = m.end()
    return figures
