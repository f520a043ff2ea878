"""How the portal spider decides where to go: scope, link scores, report titles.

Everything here is a pure function of URLs and text, so the rules can be read
and tested without a crawl:

* ``PortalScope`` — which hosts belong to one portal (the start host plus its
  registered domain, with ``gov.cn`` treated as the public suffix it is);
* ``link_score`` — how strongly a link leads toward 政府信息公开 / 年报 lists;
* ``report_title_year`` / ``is_report_title`` — recognise
  ``…2023年政府信息公开工作年度报告`` and reject look-alikes (年报解读, 图解,
  部门决算, 工作要点, 关于报送/做好…的通知, …);
* ``attachment_format`` — PDF/DOC/DOCX/WPS attachment links;
* ``looks_like_challenge`` / ``meta_refresh_target`` — anti-bot stubs and
  meta-refresh stubs that must not be parsed as pages.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import unquote, urljoin, urlsplit

import tldextract

# Offline public-suffix data only: the crawler must never fetch the PSL itself.
_SUFFIXES = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def _whitespace_collapsed(text: str | None) -> str:
    return re.sub(r"\s+", "", text or "")


# ---------------------------------------------------------------- host scope


@lru_cache(maxsize=4096)
def registered_domain(host: str) -> str:
    """``www.jiangsu.gov.cn`` → ``jiangsu.gov.cn``; ``www.gov.cn`` → ``www.gov.cn``.

    ``gov.cn`` is itself a public suffix, so the State Council portal does not
    swallow every government site.  IPs and single-label hosts are their own
    domain.
    """
    host = host.lower().rstrip(".")
    parts = _SUFFIXES(host)
    if not parts.suffix or not parts.domain:
        return host
    return f"{parts.domain}.{parts.suffix}"


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


def is_look_alike(text: str) -> bool:
    flat = _whitespace_collapsed(text)
    if flat.startswith("关于") and ("的通知" in flat or "的函" in flat):
        return True
    return any(word in flat for word in LOOK_ALIKE_WORDS)


def report_title_year(text: str | None) -> int | None:
    """The year of a report title, or None when ``text`` is not one.

    >>> report_title_year("常州市机关事务管理局2019年政府信息公开工作年度报告")
    2019
    >>> report_title_year("2019年政府信息公开工作年度报告解读") is None
    True
    """
    flat = _whitespace_collapsed(text)
    if not _REPORT_NAME.search(flat) or is_look_alike(flat):
        return None
    year = _YEAR_RE.search(flat)
    if year:
        return int(year.group(1))
    # "政府信息公开工作年度报告（2023）" — year in brackets, no 年
    bare = re.search(r"(?<!\d)((?:19|20)\d{2})(?!\d)", flat)
    return int(bare.group(1)) if bare else None


def is_report_title(text: str | None) -> bool:
    return report_title_year(text) is not None


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
    flat = _whitespace_collapsed(text)
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
    if in_report_list and _YEAR_ONLY.match(flat):
        score += 6
    return score


def is_report_list_context(url: str, title: str | None) -> bool:
    """Is this page (by URL or title) a list of annual reports?"""
    flat = _whitespace_collapsed(title)
    if re.search(r"年度报告|年报", flat) and not is_look_alike(flat):
        return True
    return bool(re.search(r"ndbg|gknb|xxgknb|/nb(?:/|_|\.|$)", url, re.I))


# ------------------------------------------------------------ attachments

ATTACHMENT_FORMATS = ("pdf", "docx", "doc", "wps")
_ATTACHMENT_RE = re.compile(r"\.(pdf|docx|doc|wps)(?:$|[?#])", re.I)


def attachment_format(url: str) -> str | None:
    """``pdf``/``doc``/``docx``/``wps`` when the URL names such a file."""
    parts = urlsplit(url)
    match = _ATTACHMENT_RE.search(parts.path)
    if match:
        return match.group(1).lower()
    # Download servlets hide the name in a query value: ...?file=a.pdf
    match = re.search(r"=[^&]*\.(pdf|docx|doc|wps)(?:&|$)", parts.query, re.I)
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


def looks_like_challenge(body: bytes, status: int = 200) -> bool:
    """A WAF / anti-bot interstitial rather than the page asked for.

    Known markers anywhere in a small page, or a tiny page (< 2 KB) whose only
    job is a script that sets cookies or navigates (``document.cookie`` /
    ``document.location`` / ``window.location``), or a 412 answered with JS.
    """
    head = body[:65536].decode("utf-8", "replace")
    if len(body) <= 32768 and any(marker in head for marker in CHALLENGE_MARKERS):
        return True
    lowered = head.lower()
    has_script = "<script" in lowered
    if status == 412 and has_script:
        return True
    if len(body) < _SMALL_BODY and has_script:
        if script_redirect_target(body, "http://x/") is not None:
            return False  # a plain "go to the real homepage" stub, followed like a meta refresh
        return bool(
            re.search(r"document\.cookie|document\.location|window\.location|location\.href|location\.replace", lowered)
        )
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
    flat = _whitespace_collapsed(table_text)
    return sum(label in flat for label in REPORT_TABLE_LABELS) >= 2


def is_document_body(body: bytes) -> bool:
    """PDF / OLE (DOC, WPS) / ZIP (DOCX) bytes, whatever the headers claim."""
    return body[:5] == b"%PDF-" or body[:4] in (b"\xd0\xcf\x11\xe0", b"PK\x03\x04")
