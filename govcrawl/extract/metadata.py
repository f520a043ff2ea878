"""Report metadata: title, reporting agency, year covered, and the page's provenance block.

Owns ``extract_metadata``: it reads the metadata block that TRS/Hanweb/gkmlpt
pages print above a document in every label/value layout seen on real pages
(``索 引 号:`` with the value in one cell, label and value in neighbouring
cells, grids of 2, 4 or 6 cells per row such as ``索引号 | … | 分类 | …``,
definition lists), bylines (``时间:... | 来源:...``), the ``<meta
name="ArticleTitle|PubDate|ContentSource">`` tags, and the report's title.
The title is chosen by evidence: the document's own title (名称 cell, heading,
ArticleTitle, first report-title line) before the page ``<title>``, with site
suffixes and markdown marks removed.  Input text must
already be repaired (``textfix.repair_text``): Simplified, ASCII colons and
brackets, plain spaces.  Nothing is guessed silently: every fallback leaves a
warning.
"""

from __future__ import annotations

import html as html_lib
import re
from collections import Counter
from datetime import date

from govcrawl.extract.textfix import SPACE_NEXT_TO_CJK, repair_text

PROVENANCE_KEYS = ("index_no", "publisher", "doc_no", "category", "created_date", "published_date")

# Per field, labels in order of preference.
_FIELD_LABELS = {
    "index_no": ("索引号", "索取号"),
    "publisher": ("发布机构", "发布单位", "发文机关", "发文单位", "信息来源", "来源"),
    "doc_no": ("发文字号", "文件编号", "文号"),
    "category": ("法定主动公开分类", "主题分类", "信息分类", "分类"),
    "created_date": ("生成日期", "成文日期"),
    "published_date": ("公开日期", "发布日期", "发布时间", "时间"),
    "title": ("信息名称", "文件名称", "名称", "标题"),
}
# Labels we do not use but must recognise, so that a value stops where they begin
# ("法定主动公开分类: 公开方式:主动公开" has an empty category).
_OTHER_LABELS = (
    "公开方式", "公开范围", "公开时限", "公开形式", "公开属性", "废止日期", "有效性", "时效性",
    "效力状态", "生效日期", "失效日期", "实施日期", "内容概述", "内容摘要", "摘要", "关键词",
    "关键字", "主题词", "体裁分类", "组配分类", "服务对象分类", "主题", "所属机构",
    "浏览次数", "访问次数", "阅读次数", "点击数", "作者", "责任编辑", "编辑", "字号", "字体",
    "文种", "您当前的位置", "当前位置", "更新时间", "更新日期", "有效期", "分享到",
)
# Two-character labels also occur inside longer words (统计时间, 数据来源): they
# only count when no Han character precedes them.
_GENERIC_LABELS = frozenset(lab for lab in (*_OTHER_LABELS, *sum(_FIELD_LABELS.values(), ()))
                            if len(lab) <= 2)

_LABEL_FIELD = {lab: fld for fld, labels in _FIELD_LABELS.items() for lab in labels}
_ALL_LABELS = sorted({*_LABEL_FIELD, *_OTHER_LABELS}, key=len, reverse=True)


def _label_pattern(label: str) -> str:
    # Labels are often spaced out to align a table: "索 引 号".
    first, rest = re.escape(label[0]), [re.escape(c) for c in label[1:]]
    # Each alternative starts with its first character, so that the regex engine
    # passes over an alternative in one comparison; the look-behind comes after it.
    if label in _GENERIC_LABELS:
        first += rf"(?<![\u4e00-\u9fff]{first})"
    return r"[ \t]*".join([first, *rest])


# One group for the label, whichever alternative matched: its text without spaces is the label.
_LABEL_ALT = "(?P<label>" + "|".join(map(_label_pattern, _ALL_LABELS)) + ")"
_LABEL_FIRST_CHARS = frozenset(label[0] for label in _ALL_LABELS)
_LABEL_COLON = re.compile(rf"(?:{_LABEL_ALT})[ \t]*[:：]")
_LABEL_ALONE = re.compile(rf"^[ \t]*(?:{_LABEL_ALT})[ \t]*[:：]?[ \t|]*$")
# A label filling a whole cell of a grid row ("索引号 014…/2024-00002 分类 信息公开年报"):
# cells are joined by spaces (HTML/Word grids) or separated by "|" (text tables).
_LABEL_CELL = re.compile(rf"(?:^|(?<=[ \t|]))(?:{_LABEL_ALT})[ \t]*[:：]?(?=[ \t|]|$)")
_GRID_ROW_START = re.compile(r"^[ \t|]*")
# A value also ends where a label we do not know begins: " 字体:[大 中 小]".
_UNKNOWN_LABEL = re.compile(r"(?:[ \t]|\|)+[\u4e00-\u9fff]{2,8}[ \t]*:")

_HEAD_LINES = 60
_MAX_VALUE_CHARS = 80
_TITLE_SCAN_LINES = 80

_DATE = re.compile(r"((?:19|20)\d{2})[ \t]*[-/.年][ \t]*(\d{1,2})[ \t]*[-/.月][ \t]*(\d{1,2})")
# Every real wording: …工作年度报告, …年度报告 (no 工作), 年度…工作报告, …年报.
_REPORT = r"政[府务](?:信息)?公开(?:工作)?(?:年度报告|年度工作报告|工作报告|年报)"
_NOT_TITLE_CHARS = r",。;!?《》“”、:"
_TITLE_LINE = re.compile(
    rf"^[^{_NOT_TITLE_CHARS}]{{0,60}}?(?:19|20)\d{{2}}[ \t]*年度?[^{_NOT_TITLE_CHARS}]{{0,40}}?{_REPORT}"
    rf"(?:[ \t]*[(（][^()（）]{{0,10}}[)）])?[ \t]*$"
    rf"|^[^{_NOT_TITLE_CHARS}]{{2,60}}?{_REPORT}[ \t]*[(（][ \t]*(?:19|20)\d{{2}}[ \t]*年?度?[ \t]*[)）]$")
_TITLE_STARTS_WITH_YEAR = re.compile(r"^[ \t]*(?:19|20)\d{2}[ \t]*年")
_AGENCY_LINE = re.compile(
    r"^[\u4e00-\u9fff()]{2,30}"
    r"(?:政府|局|委员会|委|办公室|办|厅|院|署|会|中心|所|站|队|馆|处|镇|乡|街道|办事处|区|县|市|州|盟|旗|公司|集团|部)$")
_AGENCY_IN_TITLE = re.compile(
    rf"^(?P<pre>.*?)(?:19|20)\d{{2}}年度?(?P<post>.*?){_REPORT}"
    rf"|^(?P<pre2>.+?){_REPORT}[(（]?(?:19|20)\d{{2}}")
_YEAR_IN_TITLE = re.compile(r"((?:19|20)\d{2})[ \t]*年")
_STATS_PERIOD = re.compile(r"统计(?:期限|时限|区间|时间|期间)[^0-9\n]{0,8}((?:19|20)\d{2})[ \t]*年")
# Years inside 《...》 and 〔...〕 are names of other documents, not the period covered.
_QUOTED = re.compile(r"《[^《》\n]{0,80}》|〔[^〔〕\n]{0,10}〕|\[[^\[\]\n]{0,10}\]")
_BODY_YEAR = re.compile(r"((?:19|20)\d{2})[ \t]*年(?![ \t]*\d{1,2}[ \t]*月)")


_META_TAG = re.compile(r"<meta\b([^>]*)>", re.I)
_ATTR = re.compile(r"""([\w:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""")
_TITLE_TAG = re.compile(r"<title\b[^>]*>(.*?)</title\s*>", re.I | re.S)
_TAG = re.compile(r"<[^>]+>")
# Between a title and a site name in <title>: "…年度报告_某市人民政府", "… - 中国某某",
# "…年度报告-沭阳县发改局" (a bare hyphen only between Chinese words).
_TITLE_SEPARATORS = re.compile(
    r"\s*(?:_|\||--|—+|–|\s-\s|(?<=[\u4e00-\u9fff）)])-(?=[\u4e00-\u9fff]))\s*")
# Markdown marks around a heading line: "# 2023年…报告", "**…**".
_MARKDOWN_MARKS = re.compile(r"^[ \t]*(?:#{1,6}|>)[ \t]*|\*\*|__|[ \t]+#+[ \t]*$")

_URL_DATES = (
    re.compile(r"/t((?:19|20)\d{2})(\d{2})(\d{2})_"),
    re.compile(r"/art/((?:19|20)\d{2})/(\d{1,2})/(\d{1,2})/"),
)


def _clean_title(title: str | None) -> str | None:
    if not title:
        return None
    title = " ".join(title.split())
    title = SPACE_NEXT_TO_CJK.sub("", title).strip()
    return title or None


def _iso_date(value: str | None) -> str | None:
    if not value:
        return None
    m = _DATE.search(value)
    if not m:
        return None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3))).isoformat()
    except ValueError:
        return None


def _html_meta(html: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for tag in _META_TAG.finditer(html):
        attrs = {m.group(1).lower(): next(g for g in m.groups()[1:] if g is not None)
                 for m in _ATTR.finditer(tag.group(1))}
        name = attrs.get("name", "").strip().lower()
        content = attrs.get("content")
        if name and content and name not in found:
            value = " ".join(repair_text(html_lib.unescape(content)).split())
            if value:
                found[name] = value
    m = _TITLE_TAG.search(html)
    if m:
        value = " ".join(repair_text(html_lib.unescape(_TAG.sub("", m.group(1)))).split())
        if value:
            found["<title>"] = value
    return found


def _label_of(m: re.Match) -> str:
    return m.group("label").replace(" ", "").replace("\t", "")


def _clean_value(raw: str) -> str | None:
    cut = _UNKNOWN_LABEL.search(raw)
    if cut:
        raw = raw[:cut.start()]
    raw = raw.split("|")[0]
    value = " ".join(raw.split()).strip(" :")
    # Metadata values are short; anything longer is prose that happened to follow a label.
    return value if value and len(value) <= _MAX_VALUE_CHARS else None


def _labelled_values(lines: list[str]) -> dict[str, list[tuple[int, str | None]]]:
    """Field -> [(label preference, value or None)] found in ``lines``."""
    out: dict[str, list[tuple[int, str | None]]] = {}

    def add(label: str, value: str | None) -> None:
        field = _LABEL_FIELD.get(label)
        if field:
            out.setdefault(field, []).append((_FIELD_LABELS[field].index(label), value))

    for i, line in enumerate(lines):
        # A label cell or a grid row starts with a label: most lines do not start with a label's first character.
        if line.lstrip(" \t|")[:1] in _LABEL_FIRST_CHARS:
            alone = _LABEL_ALONE.match(line)
            grid = None if alone else _grid_row(line)
        else:
            alone = grid = None
        if grid is not None:
            for label, value in grid:
                add(label, value)
            continue
        if alone:
            # Table flattened one cell per line: the label cell, then its value cell
            # (unless that is the next label: the value cell was empty).
            nxt = lines[i + 1] if i + 1 < len(lines) else ""
            value = None if _LABEL_ALONE.match(nxt) or _LABEL_COLON.search(nxt) else _clean_value(nxt)
            add(_label_of(alone), value)
            continue
        # Scanning every line with the label alternation is the costly part: no colon, no match.
        matches = list(_LABEL_COLON.finditer(line)) if ":" in line or "：" in line else ()
        for j, m in enumerate(matches):
            end = matches[j + 1].start() if j + 1 < len(matches) else len(line)
            add(_label_of(m), _clean_value(line[m.end():end]))
    return out


def _grid_row(line: str) -> list[tuple[str, str | None]] | None:
    """A grid row of label cells and value cells, as (label, value) pairs; None if the line is not one.

    The row must start with a label cell without a colon; the values are the
    cells between labels (none = a blank cell).
    """
    start = _GRID_ROW_START.match(line).end()
    first = _LABEL_CELL.match(line, start)
    # "label:" rows are read by their colons (their values may follow without a space).
    if not first or ":" in first.group(0) or "：" in first.group(0):
        return None
    by_start = {m.start(): m for m in _LABEL_COLON.finditer(line, start)}
    by_start.update((m.start(), m) for m in _LABEL_CELL.finditer(line, start))
    cells = [by_start[k] for k in sorted(by_start)]
    pairs = []
    for j, m in enumerate(cells):
        end = cells[j + 1].start() if j + 1 < len(cells) else len(line)
        raw = line[m.end():end].strip(" \t|")
        pairs.append((_label_of(m), _clean_value(raw.replace("|", " ")) if raw else None))
    return pairs


def _pick(values: list[tuple[int, str | None]] | None) -> str | None:
    if not values:
        return None
    present = [(pref, i, v) for i, (pref, v) in enumerate(values) if v]
    return min(present)[2] if present else None


def _index_no(value: str | None) -> str | None:
    if not value:
        return None
    token = value.split()[0]
    return token if re.search(r"[0-9A-Za-z]", token) else None


def _report_title(value: str | None) -> str | None:
    """``value`` as a report title: markdown marks and a site name around it removed; None if it is not one."""
    if not value:
        return None
    value = _MARKDOWN_MARKS.sub("", value)
    for part in (value, *_TITLE_SEPARATORS.split(value)):
        stripped = SPACE_NEXT_TO_CJK.sub("", part.strip())
        m = _TITLE_LINE.match(stripped)
        if m and len(stripped) <= 80:
            return _clean_title(m.group(0))
    return None


def _title_from_lines(lines: list[str]) -> str | None:
    for i, line in enumerate(lines[:_TITLE_SCAN_LINES]):
        # PDFs space out titles and numbers: "2023 年", "政 府 信 息".
        stripped = SPACE_NEXT_TO_CJK.sub("", _MARKDOWN_MARKS.sub("", line).strip())
        m = _TITLE_LINE.match(stripped)
        if not m or len(stripped) > 80:
            continue
        title = m.group(0)
        if _TITLE_STARTS_WITH_YEAR.match(title) and i > 0:
            # PDFs break the title after the agency: "洪泽区人民政府\n2023 年政府信息公开...".
            prev = lines[i - 1].strip()
            labelled = _LABEL_CELL.match(prev) or _LABEL_COLON.search(prev)  # "发布机构 X" is metadata
            if not labelled and _AGENCY_LINE.match(prev.replace(" ", "")):
                title = prev + title
        return _clean_title(title)
    return None


def _title_from_html_title(value: str | None, site_name: str | None) -> str | None:
    if not value:
        return None
    if site_name:
        value = value.replace(site_name, " ")
    return _report_title(value)


def _agency(title: str | None) -> str | None:
    if not title:
        return None
    m = _AGENCY_IN_TITLE.match(title)
    if not m:
        return None
    agency = (m.group("pre") or m.group("post") or m.group("pre2") or "").strip()
    agency = re.sub(r"^关于|关于$", "", agency).strip()
    return agency if re.fullmatch(r"[\u4e00-\u9fff()·]{2,40}", agency) else None


def _agency_from_publisher(publisher: str | None) -> str | None:
    # Only a publisher that names a body ("沭阳县发展和改革局"), not a person or a website.
    if publisher and _AGENCY_LINE.match(publisher.replace(" ", "")):
        return publisher.replace(" ", "")
    return None


def _year_from_title(title: str | None) -> int | None:
    if title:
        m = _YEAR_IN_TITLE.search(title) or re.search(r"((?:19|20)\d{2})", title)
        if m:
            return int(m.group(1))
    return None


def _year_from_body(text: str, latest: int) -> int | None:
    unquoted = _QUOTED.sub(" ", text)
    counts: Counter[int] = Counter()
    first_seen: dict[int, int] = {}
    for m in _BODY_YEAR.finditer(unquoted):
        year = int(m.group(1))
        if 2000 <= year <= latest:
            counts[year] += 1
            first_seen.setdefault(year, m.start())
    if not counts:
        return None
    return max(counts, key=lambda y: (counts[y], -first_seen[y]))


def _first_lines(text: str, n: int) -> list[str]:
    """The first ``n`` non-blank lines of ``text`` (``splitlines``' lines): all that metadata reads
    of them, without splitting a 0.5 MB page into lines."""
    size = 8192
    while True:
        whole = size >= len(text)
        pieces = text.splitlines() if whole else text[:size].splitlines()[:-1]  # the last may be cut
        lines = [ln for ln in pieces if ln.strip()]
        if whole or len(lines) >= n:
            return lines[:n]
        size *= 4


def extract_metadata(
    text: str, *, html: str | None = None, url: str | None = None, document_title: str | None = None
) -> dict:
    """Title, agency, year and provenance of one report; see the module docstring.

    ``document_title`` is a title from the file's own metadata (a PDF's Title):
    used only when the text gives none and it reads as a report title.
    """
    warnings: list[str] = []
    text = text or ""
    lines = _first_lines(text, max(_HEAD_LINES, _TITLE_SCAN_LINES))
    head = lines[:_HEAD_LINES]
    meta = _html_meta(html) if html else {}
    labelled = _labelled_values(head)

    provenance = {key: _pick(labelled.get(key)) for key in PROVENANCE_KEYS}
    provenance["index_no"] = _index_no(provenance["index_no"])
    provenance["publisher"] = provenance["publisher"] or meta.get("contentsource")
    provenance["created_date"] = _iso_date(provenance["created_date"])
    published = _iso_date(provenance["published_date"]) or _iso_date(meta.get("pubdate"))
    if not published and url:
        for pattern in _URL_DATES:
            m = pattern.search(url)
            if m:
                published = _iso_date("-".join(m.groups()))
                if published:
                    warnings.append(f"published_date {published} taken from the URL")
                    break
    provenance["published_date"] = published

    # By evidence: the document's own title first (its 名称 cell, the CMS's
    # ArticleTitle, its heading line), the page <title> (site name attached)
    # last; a title that does not read as a report title only when nothing
    # does (a look-alike page keeps its name).
    own_title = _pick(labelled.get("title"))
    title = (_report_title(own_title)
             or _report_title(meta.get("articletitle"))
             or _title_from_lines(lines)
             or _title_from_lines([repair_text(document_title)] if document_title else [])
             or _title_from_html_title(meta.get("<title>"), meta.get("sitename"))
             or _clean_title(own_title)
             or _clean_title(meta.get("articletitle")))
    if title is None:
        warnings.append("no report title found")
    agency = _agency(title) or _agency_from_publisher(provenance["publisher"])

    year = _year_from_title(title)
    if year is None:
        m = _STATS_PERIOD.search(text)
        if m:
            year = int(m.group(1))
    if year is None:
        latest = date.today().year
        if published:
            latest = min(latest, int(published[:4]))
        year = _year_from_body(text, latest)
        if year is not None:
            warnings.append(f"year {year} taken from the most frequent year in the text")
    if year is None and published:
        year = int(published[:4]) - 1
        warnings.append(f"year {year} guessed as published_date year - 1")

    return {"title": title, "agency": agency, "year": year,
            "provenance": provenance, "warnings": warnings}
