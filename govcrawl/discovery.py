"""How the portal spider decides where to go: scope, link scores, report titles.

Everything here is a pure function of URLs and text, so the rules can be read
and tested without a crawl:

* ``PortalScope`` — which hosts belong to one portal (the start host plus its
  registered domain, with ``gov.cn`` treated as the public suffix it is);
* ``link_score`` — how strongly a link leads toward 政府信息公开 / 年报 lists;
* ``report_title_year`` / ``is_report_title`` — recognise
  ``…2023年政府信息公开工作年度报告`` and reject look-alikes (年报解读, 图解,
  部门决算, 工作要点, 关于报送/做好…的通知, …);
* ``attachment_format`` — PDF/DOC/DOCX/WPS/RTF attachment links;
* ``looks_like_challenge`` / ``meta_refresh_target`` — anti-bot stubs and
  meta-refresh stubs that must not be parsed as pages.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from urllib.parse import unquote, urljoin, urlsplit

from govcrawl.extract.textfix import repair_text


_WHITESPACE = re.compile(r"\s+")


def _whitespace_collapsed(text: str | None) -> str:
    return _WHITESPACE.sub("", text or "")


# ---------------------------------------------------------------- host scope


@lru_cache(maxsize=4096)
def registered_domain(host: str) -> str:
    """``www.jiangsu.gov.cn`` → ``jiangsu.gov.cn``; ``www.gov.cn`` → ``www.gov.cn``.

    ``gov.cn`` is itself a public suffix, so the State Council portal does not
    swallow every government site.  IPs and single-label hosts are their own
    domain.
    """
    host = host.lower().rstrip(".")
    fast = _registered_domain_without_list(host)
    if fast is not None:
        return fast
    parts = _suffixes()(host)
    if not parts.suffix or not parts.domain:
        return host
    return f"{parts.domain}.{parts.suffix}"


def _registered_domain_without_list(host: str) -> str | None:
    """The answer for most of a crawl's hosts without the public-suffix list, else None.

    Building the list's trie costs every crawl about 0.2 s of start-up, before its first
    request.  ``*.gov.cn``: the list has ``gov.cn`` and no rule below it, so the registered
    domain is the last three labels.  An IP address is its own.  tests/test_discovery.py
    checks both against the list itself.
    """
    if host.endswith(".gov.cn"):
        labels = host.split(".")
        return ".".join(labels[-3:]) if len(labels) >= 3 and all(labels) else None
    if host[:1].isdigit() or ":" in host:
        try:
            ipaddress.ip_address(host)
        except ValueError:
            return None
        return host
    return None


@lru_cache(maxsize=1)
def _suffixes():
    # Imported on first use (a tenth of a second, with requests and urllib3): the extractor's workers
    # import this module for the title rules alone.
    import tldextract

    # Offline public-suffix data only: the crawler must never fetch the PSL itself.
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def url_host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


class PortalScope:
    """The hosts one portal's crawl may visit."""

    def __init__(self, start_urls: list[str] | tuple[str, ...]):
        self.hosts = {url_host(u) for u in start_urls if url_host(u)}
        self.domains = {registered_domain(h) for h in self.hosts}

    def allows(self, url: str) -> bool:
        if urlsplit(url).scheme not in ("http", "https"):
            return False
        host = url_host(url)
        if host in self.hosts:
            return True
        return any(host == d or host.endswith("." + d) for d in self.domains)


# ------------------------------------------------------------- normalisation


def clean_text(text: str | None) -> str:
    """The text discovery reads, repaired exactly as the extractor repairs page text.

    Link texts, ``title`` attributes, ``<title>``, headings and breadcrumbs
    arrive with the same damage as report pages (Traditional characters,
    ``報(bào)`` left by flattened ``<ruby>``, full-width forms, odd spaces), so
    they go through the extractor's own :func:`repair_text`; whitespace runs
    become one space.
    """
    if not text:
        return ""
    return _WHITESPACE.sub(" ", _repaired(text)).strip()


@lru_cache(maxsize=65536)
def _repaired(text: str) -> str:
    # Navigation links repeat on every page of a portal: repair each distinct text once.
    return repair_text(text)


# ----------------------------------------------------------- report titles

_YEAR = r"((?:19|20)\d{2})\s*年"
_REPORT_NAME = re.compile(
    r"政府信息公开(?:工作)?(?:年度报告|年报|工作报告)|政务公开工作年度报告|信息公开(?:工作)?年度报告"
)
_YEAR_RE = re.compile(_YEAR)
# Pages that carry the words of a report title without being one.
LOOK_ALIKE_WORDS = (
    "解读",
    "图解",
    "一图",
    "图读",
    "读懂",
    "决算",
    "预算",
    "工作要点",
    "要点",
    "通知",
    "报送",
    "征集",
    "评估",
    "意见",
    "问答",
    "答记者问",
    "视频",
    "专题",
    "考核",
    "指南",
    "英文",
)
# A title that *is* a report ends with the report's name; news *about* a report
# (召开…年度报告编制培训会, 关于报送…的通知, …解读) does not.
_TITLE_END = re.compile(
    r"(?:政府信息公开|政务公开|信息公开)(?:和政务公开)?(?:工作)?(?:的|情况)?(?:年度报告|年报|工作报告|报告)$"
)
# Words before the report's name that make a headline about the report, not the report.
_HEADLINE_VERBS = re.compile(r"召开|发布|印发|报送|做好|编制|转发|部署|培训|审议|通过|公布|关于报送|组织|开展|完成")
# Notes after the title that leave it the same report: （图片版）, (全文), （2023年度）, 【PDF】 …
_EDITION_NOTE = re.compile(
    r"[(（\[【]\s*(?:(?:19|20)\d{2}\s*年?度?|图片版|文字版|全文|正文|全本|修订版|更正版|更新版|PDF版?|pdf版?|"
    r"word版?|WORD版?|附件|下载|简版|完整版)\s*[)）\]】]$"
)
# List decorations around a title: [2024-01-15], 2024.01.15, 【年报】, 1. ,·, …, trailing dates.
_DATE = r"(?:19|20)\d{2}[-./年]\d{1,2}(?:[-./月]\d{1,2}日?)?"
_LEADING_DECOR = re.compile(rf"^(?:[\[【(（]\s*(?:{_DATE}|[^\]】)）]{{1,6}})\s*[\]】)）]|{_DATE}|\d{{1,3}}[.、]|[·•>»\-:：|\s])+")
_TRAILING_DECOR = re.compile(rf"(?:[\[【(（]\s*{_DATE}\s*[\]】)）]|{_DATE}|[\s·•|]|(?:new|NEW|置顶|最新))+$")
# Site suffixes and prefixes of a page <title>: "…年度报告_XX市人民政府", "…-XX县发改局", "XX网 | …".
_TITLE_PARTS = re.compile(r"\s*(?:_+|\s[-–—|]+\s|[|｜]|——|--|-(?=[^\d]))\s*")


def is_look_alike(text: str) -> bool:
    flat = _whitespace_collapsed(text)
    if flat.startswith("关于") and ("的通知" in flat or "的函" in flat):
        return True
    return any(word in flat for word in LOOK_ALIKE_WORDS)


def title_core(text: str | None) -> str:
    """The title itself: repaired, list decorations and a page ``<title>``'s site name cut away.

    A page title is split at its separators (``_``, `` - ``, ``|``); the
    part naming a report wins, else the longest part.
    """
    flat = clean_text(text)
    if not flat:
        return ""
    parts = [p for p in _TITLE_PARTS.split(flat) if p.strip()] or [flat]
    named = [p for p in parts if _REPORT_NAME.search(_whitespace_collapsed(p))]
    core = named[0] if named else max(parts, key=len)
    core = _LEADING_DECOR.sub("", core)
    core = _TRAILING_DECOR.sub("", core)
    return _whitespace_collapsed(core).strip("。.…")


def report_title_year(text: str | None) -> int | None:
    """The year of a report title, or None when ``text`` is not one.

    The title must *be* a report's title: it ends with the report's name
    (after list decorations, site suffixes and edition notes such as
    （图片版） are cut), carries a year, and what comes before the name is a
    body and a year, not a headline about the report.

    >>> report_title_year("常州市机关事务管理局2019年政府信息公开工作年度报告")
    2019
    >>> report_title_year("2019年政府信息公开工作年度报告解读") is None
    True
    >>> report_title_year("市政务公开办召开2023年度政府信息公开工作年度报告编制培训会") is None
    True
    """
    core = title_core(text)
    stripped = core
    while True:  # "…年度报告（图片版）（2023年）"
        cut = _EDITION_NOTE.sub("", stripped)
        if cut == stripped:
            break
        stripped = cut
    end = _TITLE_END.search(stripped)
    if not end or is_look_alike(core):
        return None
    before = stripped[: end.start()]
    if _HEADLINE_VERBS.search(before.replace("关于", "")) or before.count("关于") > 1:
        return None
    year = _YEAR_RE.search(core)
    if year:
        return int(year.group(1))
    # "政府信息公开工作年度报告（2023）" — year in brackets, no 年
    bare = re.search(r"(?<!\d)((?:19|20)\d{2})(?!\d)", core)
    return int(bare.group(1)) if bare else None


def is_report_title(text: str | None) -> bool:
    return report_title_year(text) is not None


_REPORT_NAME_WORDS = ("政府信息公开工作年度报告", "政府信息公开年度报告", "政务公开工作年度报告", "信息公开工作年度报告")
_ELLIPSIS = re.compile(r"(?:…+|\.{2,}|。{2,})$")


def is_truncated_report_title(text: str | None) -> bool:
    """A list entry cut short: ``淮安市人民政府2023年政府信息…`` (no ``title=`` to tell the rest).

    It has a year and ends, before the ellipsis, with the start of a
    report's name.
    """
    flat = _whitespace_collapsed(clean_text(text))
    if not _ELLIPSIS.search(flat):
        return False
    head = _ELLIPSIS.sub("", flat)
    if not _YEAR_RE.search(head) or is_look_alike(head) or _HEADLINE_VERBS.search(head):
        return False
    tail = head[_YEAR_RE.search(head).end():]
    tail = re.sub(r"^度", "", tail)
    # after the year: an optional body name, then the start of the report's name (at least 政府/政务/信息)
    return any(
        tail.endswith(name[:k]) for name in _REPORT_NAME_WORDS for k in range(2, len(name) + 1)
    )


# ----------------------------------------------------------- link scoring

# (pattern, weight) over anchor text; the most specific words weigh most.
_TEXT_WEIGHTS = (
    (re.compile(r"年度报告|年报"), 8),
    (re.compile(r"政府信息公开"), 6),
    (re.compile(r"信息公开"), 5),
    (re.compile(r"政务公开"), 4),
    (re.compile(r"法定主动公开|主动公开"), 2),
)
# (pattern, weight) over the URL path; real portals name these folders alike.
_URL_WEIGHTS = (
    (re.compile(r"ndbg|gknb|xxgknb|zfxxgknb|gzbg|/nb(?:/|_|\.|$)|_nb\b|nbnb", re.I), 8),
    (re.compile(r"zfxxgk", re.I), 6),
    (re.compile(r"xxgk", re.I), 5),
    (re.compile(r"zwgk|gkml|gongkai", re.I), 3),
)
# Links that lead away from reports however the words look.
_DEAD_ENDS = re.compile(
    r"解读|图解|新闻|招聘|登录|注册|English|无障碍|关怀版|长者|网站地图|RSS|互动|留言|信箱|"
    r"政策文件|会议|领导|机构|在线|办事|服务|投诉|举报|依申请公开申请|申请表"
)
_DEAD_END_URL = re.compile(
    r"\.(?:jpg|jpeg|png|gif|bmp|css|js|zip|rar|mp4|mp3|xls|xlsx)(?:$|\?)|"
    r"login|search|sousuo|english|/en/|mailbox|weibo|wechat|/gkmlpt/content/",
    re.I,
)
_YEAR_ONLY = re.compile(r"^\s*(?:19|20)\d{2}\s*年?度?\s*$")


def link_score(url: str, text: str | None, *, in_report_list: bool = False) -> int:
    """How strongly a link leads toward 政府信息公开 annual reports (0 = don't follow).

    ``in_report_list`` says the page holding the link is itself a 年报 list,
    where bare year links ("2023年") are per-year sub-lists.
    """
    flat = _whitespace_collapsed(clean_text(text))
    if _DEAD_END_URL.search(url) or (flat and _DEAD_ENDS.search(flat)):
        return 0
    if _YEAR_RE.search(flat) and is_look_alike(flat):
        return 0  # a dated 解读/通知/决算 is one document, not a list
    score = 0
    for pattern, weight in _TEXT_WEIGHTS:
        if pattern.search(flat):
            score = max(score, weight)
    path = unquote(urlsplit(url).path + "?" + urlsplit(url).query)
    for pattern, weight in _URL_WEIGHTS:
        if pattern.search(path):
            score += weight
            break
    if in_report_list and is_year_link(flat):
        score += 6
    return score


def is_year_link(text: str | None) -> bool:
    """``2023年度``: on a report list, a per-year sub-list."""
    return bool(_YEAR_ONLY.match(text or ""))


_LIST_WORDS = re.compile(r"年度报告|年报|工作报告")
_LIST_URL = re.compile(r"ndbg|gknb|xxgknb|/nb(?:/|_|\.|$)", re.I)


def report_list_evidence(url: str, *, title: str | None = None, headings: tuple[str, ...] | list[str] = (),
                         link_text: str | None = None) -> str | None:
    """Why a page is a list of annual reports, or None when nothing says so.

    Evidence, strongest first: the URL (``/ndbg/``, ``gknb``), the page
    ``<title>``, a heading or breadcrumb on the page (``当前位置：首页 > 政府信息公开
    > 政府信息公开年报``), the text of the link that led here.  A report's own
    title is not a list's.
    """
    if _LIST_URL.search(urlsplit(url).path + "?" + urlsplit(url).query):
        return f"its URL ({urlsplit(url).path})"
    for where, texts in (("its title", [title]), ("a heading or breadcrumb", headings),
                         ("the link that led to it", [link_text])):
        for text in texts:
            flat = _whitespace_collapsed(clean_text(text))
            if flat and _LIST_WORDS.search(flat) and not is_look_alike(flat) and not is_report_title(flat):
                return f"{where} ({clean_text(text)[:60]})"
    return None


# Link texts that name a download, not a document: the report page's attachment link.
_DOWNLOAD_TEXT = re.compile(r"^(?:附件\s*\d*|点击下载|下载|下载附件|附件下载|全文下载|查看附件|原文下载|文件下载|点击查看)[:：]?$"
                            r"|\.(?:pdf|docx?|wps)$", re.I)
_DOWNLOAD_URL = re.compile(r"download|downfile|downLoad|attach|fujian|getfile|file\.(?:jsp|do|aspx?|php)|fileid=|"
                           r"/file/|/files/|/uploadfile/|/upload/", re.I)


def is_download_link(url: str, text: str | None) -> bool:
    """A link to a file whose URL may not say which kind: ``附件1``, ``点击下载``, ``…报告.pdf``, ``/download?id=``."""
    if attachment_format(url):
        return True
    flat = _whitespace_collapsed(clean_text(text))
    return bool(_DOWNLOAD_TEXT.search(flat)) or bool(_DOWNLOAD_URL.search(urlsplit(url).path + "?" + urlsplit(url).query))


# ------------------------------------------------------------ URL-space traps

_DIGITS = re.compile(r"\d+")


def url_shape(url: str) -> str:
    """The URL with every number replaced: ``/cal?date=2024-01-02`` → ``/cal?date=#-#-#``.

    A calendar or an ever-growing query makes endless URLs of one shape.
    """
    parts = urlsplit(url)
    query = "&".join(sorted(_DIGITS.sub("#", pair) for pair in parts.query.split("&") if pair))
    return f"{parts.hostname}{_DIGITS.sub('#', parts.path)}?{query}"


def has_repeating_path(url: str, times: int = 3) -> bool:
    """``/a/b/a/b/a/b/`` — relative links resolved against themselves, a classic crawler trap."""
    segments = [s for s in urlsplit(url).path.split("/") if s]
    for size in range(1, len(segments) // times + 1):
        for start in range(len(segments) - size * times + 1):
            chunk = segments[start:start + size]
            if all(segments[start + k * size:start + (k + 1) * size] == chunk for k in range(1, times)):
                return True
    return False


# ------------------------------------------------------------ attachments

ATTACHMENT_FORMATS = ("pdf", "docx", "doc", "wps", "rtf")  # RTF: the "export to Word" of report tools
_ATTACHMENT_RE = re.compile(r"\.(pdf|docx|doc|wps|rtf)(?:$|[?#])", re.I)


def attachment_format(url: str) -> str | None:
    """``pdf``/``doc``/``docx``/``wps``/``rtf`` when the URL names such a file."""
    parts = urlsplit(url)
    match = _ATTACHMENT_RE.search(parts.path)
    if match:
        return match.group(1).lower()
    # Download servlets hide the name in a query value: ...?file=a.pdf
    match = re.search(r"=[^&]*\.(pdf|docx|doc|wps|rtf)(?:&|$)", parts.query, re.I)
    return match.group(1).lower() if match else None


# --------------------------------------------------- challenges and stubs

CHALLENGE_MARKERS = (
    "__jsl_clearance",
    "_waf_",
    "waf_",
    "安全验证",
    "访问验证",
    "人机验证",
    "滑动验证",
    "acw_sc__v2",
    "challenge-platform",
    "yunsuo_session",
    "__tst_status",
)
_SMALL_BODY = 2048
_CHALLENGE_MARKER_BYTES = tuple(marker.encode("utf-8") for marker in CHALLENGE_MARKERS)


def looks_like_challenge(body: bytes, status: int = 200) -> bool:
    """A WAF / anti-bot interstitial rather than the page asked for.

    Known markers anywhere in a small page, or a tiny page (< 2 KB) whose only
    job is a script that sets cookies or navigates (``document.cookie`` /
    ``document.location`` / ``window.location``), or a 412 answered with JS.
    """
    # Called on every response: work on the bytes (a marker's UTF-8 bytes are in the body exactly
    # when the decoded text holds it), and lower-case and decode only the pages the script tests read.
    if len(body) > 32768 and status not in (412, 521):
        return False
    if len(body) <= 32768 and any(marker in body for marker in _CHALLENGE_MARKER_BYTES):
        return True
    if len(body) >= _SMALL_BODY and status not in (412, 521):
        return False  # an ordinary page of ordinary size: no script test applies
    lowered = body[:65536].lower()
    has_script = b"<script" in lowered
    if status in (412, 521) and has_script:
        return True
    if len(body) < _SMALL_BODY and has_script:
        if script_redirect_target(body, "http://x/") is not None:
            return False  # a plain "go to the real homepage" stub, followed like a meta refresh
        return bool(re.search(r"document\.cookie|document\.location|window\.location|location\.href|location\.replace",
                              lowered.decode("utf-8", "replace")))
    return False


_SCRIPT_REDIRECT = re.compile(
    r"""(?:window\.|document\.|self\.|top\.)?location(?:\.href)?\s*=\s*['"]([^'"]+)['"]"""
    r"""|location\.(?:replace|assign)\(\s*['"]([^'"]+)['"]"""
)


def script_redirect_target(body: bytes, base_url: str) -> str | None:
    """Where a tiny ``<script>location.href="/col/col1/index.html"</script>`` stub sends the browser.

    Many portal roots are such stubs.  A page that also sets cookies is a
    challenge, not a redirect, and a computed target (``location.pathname``)
    cannot be followed without running the script.
    """
    if len(body) >= _SMALL_BODY:
        return None
    text = body.decode("utf-8", "replace")
    if "document.cookie" in text.lower():
        return None
    match = _SCRIPT_REDIRECT.search(text)
    if not match:
        return None
    target = (match.group(1) or match.group(2)).strip()
    if not target or target.lower().startswith(("javascript:", "#")):
        return None
    return urljoin(base_url, target)


_META_TAG = re.compile(rb"<meta\b[^>]*>", re.I)
_REFRESH_CONTENT = re.compile(
    r"""^\s*(\d+(?:\.\d+)?)?\s*[;,]?\s*(?:url\s*=\s*)?['"]?([^'"]*)['"]?\s*$""", re.I
)
# Longer delays are a page that refreshes itself, not a stub standing in for another.
META_REFRESH_MAX_DELAY = 10


def meta_refresh_target(body: bytes, base_url: str) -> str | None:
    """The target of a ``<meta http-equiv="refresh" content="0;url=…">`` stub."""
    for tag in _META_TAG.findall(body[:8192]):
        text = tag.decode("latin-1")
        if not re.search(r"http-equiv\s*=\s*['\"]?refresh", text, re.I):
            continue
        content = re.search(r"content\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s>]+)", text, re.I)
        if not content:
            continue
        match = _REFRESH_CONTENT.match(content.group(1).strip("\"'"))
        if not match or not match.group(2).strip():
            continue
        if float(match.group(1) or 0) > META_REFRESH_MAX_DELAY:
            continue
        return urljoin(base_url, match.group(2).strip())
    return None


# ------------------------------------------------------------ report pages

# Labels that only the statistical tables of an annual report carry.
REPORT_TABLE_LABELS = ("予以公开", "自然人", "行政复议", "本年新制作", "本年制发", "本年新收", "不予公开")


def has_report_tables(table_text: str) -> bool:
    """Does the text of a page's ``<table>``s look like a report's statistics?"""
    return _names_report_labels(_whitespace_collapsed(table_text))


def _names_report_labels(flat: str) -> bool:
    """Two of the report tables' labels in whitespace-free text."""
    return sum(label in flat for label in REPORT_TABLE_LABELS) >= 2


_TABLE_BOUNDARY = re.compile(r"<table\b|</table\s*>", re.I)
_ANY_TAG = re.compile(r"<[^>]*>")


def html_has_report_tables(html: str) -> bool:
    """:func:`has_report_tables` of the text inside an HTML page's ``<table>``s, read without a DOM.

    Each ``<table`` up to the first ``</table>`` after it (nested tables are inside their outer
    one), tags as spaces.  Runs on every report page in the crawler's own thread, so it is kept
    cheap: the boundaries are found by one scan for the two tags, not by a lazy ``.*?`` walk,
    and tables are read in order with the answer given as soon as it is yes — on a report page
    the first table or two carry the labels, and the rest of the page is not looked at.  Most
    labels stand in the HTML as they are (:func:`_written_out`), which answers without
    flattening; the flattened text, where a label may be split by tags or spaces, is read only
    when that did not.
    """
    tables: list[tuple[int, int]] = []
    written: set[str] = set()
    for start, end in _table_spans(html):
        tables.append((start, end))
        for label in REPORT_TABLE_LABELS:
            if label not in written and _written_out(html, label, start, end):
                written.add(label)
                if len(written) >= 2:
                    return True
    flat = ""
    for start, end in tables:
        flat += _whitespace_collapsed(_ANY_TAG.sub(" ", html[start:end]))
        if _names_report_labels(flat):
            return True
    return False


def _table_spans(html: str):
    """``(start, end)`` of each ``<table`` up to the first ``</table>`` after it, in page order."""
    start = None
    for boundary in _TABLE_BOUNDARY.finditer(html):
        if boundary.group()[1] != "/":
            if start is None:
                start = boundary.start()
        elif start is not None:
            yield start, boundary.end()
            start = None


def _written_out(html: str, label: str, start: int, end: int) -> bool:
    """``label`` stands as it is in the text of the table ``html[start:end]``, outside every tag.

    Then it is in the table's flattened text too.  In a table (which ends
    with ``>``) a position is inside a tag exactly when the last ``<``
    before it comes after the last ``>``.
    """
    at = html.find(label, start, end)
    while at != -1 and html.rfind("<", start, at) > html.rfind(">", start, at):
        at = html.find(label, at + 1, end)
    return at != -1


def is_document_body(body: bytes) -> bool:
    """PDF / OLE (DOC, WPS) / ZIP (DOCX) / RTF bytes, whatever the headers claim."""
    return body[:5] in (b"%PDF-", b"{\\rtf") or body[:4] in (b"\xd0\xcf\x11\xe0", b"PK\x03\x04")
