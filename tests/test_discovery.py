"""Discovery rules: host scope, link scores, report titles and look-alikes, challenge stubs."""

import random
import re
from pathlib import Path

import pytest
from scrapy.http import HtmlResponse

from govcrawl.cms import generic
from govcrawl.discovery import (
    PortalScope,
    attachment_format,
    clean_text,
    has_report_tables,
    html_has_report_tables,
    is_document_body,
    is_look_alike,
    is_download_link,
    is_report_title,
    is_truncated_report_title,
    link_score,
    looks_like_challenge,
    meta_refresh_target,
    registered_domain,
    script_redirect_target,
    report_list_evidence,
    report_title_year,
)

DATA = Path(__file__).parent / "data" / "cms"

# (title, year or None when it is not a report)
TITLES = [
    ("常州市机关事务管理局2019年政府信息公开工作年度报告", 2019),
    ("2020年梅河口市商务局政府信息公开工作年度报告", 2020),
    ("淮安市人民政府2024年政府信息公开工作年度报告", 2024),
    ("南充市科学技术局 2019 年 政府信息公开工作年度报告", 2019),
    ("宜兴市2022年度政府信息公开工作年度报告", 2022),
    ("樟树市人民政府2021年政府信息公开年度报告", 2021),
    ("平潭综合实验区管委会2023年政府信息公开工作年报", 2023),
    ("政府信息公开工作年度报告（2018）", 2018),
    ("《常州市2023年政府信息公开工作年度报告》解读", None),
    ("图解：淮安市2023年政府信息公开工作年度报告", None),
    ("一图读懂南充市2023年政府信息公开工作年度报告", None),
    ("南充市科学技术局2022年部门决算", None),
    ("南充市2024年政务公开工作要点", None),
    ("关于报送2023年政府信息公开工作年度报告的通知", None),
    ("关于做好2021年政府信息公开工作年度报告编制发布工作的通知", None),
    ("常州市2023年政府信息公开工作年度报告第三方评估结果", None),
    ("政府信息公开指南", None),
    ("2023年度报告", None),
]


@pytest.mark.parametrize("title, year", TITLES)
def test_report_titles_and_look_alikes(title, year):
    assert report_title_year(title) == year
    assert is_report_title(title) is (year is not None)


def test_look_alike_words():
    assert is_look_alike("关于印发某某方案的通知")
    assert not is_look_alike("常州市2023年政府信息公开工作年度报告")


@pytest.mark.parametrize(
    "host, domain",
    [
        ("www.jiangsu.gov.cn", "jiangsu.gov.cn"),
        ("jgswj.changzhou.gov.cn", "changzhou.gov.cn"),
        ("www.gov.cn", "www.gov.cn"),  # gov.cn is a public suffix: the State Council is not every gov.cn
        ("WWW.Beijing.GOV.CN.", "beijing.gov.cn"),
        ("127.0.0.1", "127.0.0.1"),
        ("localhost", "localhost"),
    ],
)
def test_registered_domain(host, domain):
    assert registered_domain(host) == domain


def test_portal_scope_keeps_registered_domain():
    scope = PortalScope(["https://www.changzhou.gov.cn/"])
    assert scope.allows("http://www.changzhou.gov.cn/zfxxgk/index.html")
    assert scope.allows("https://jgswj.changzhou.gov.cn/art/1.html")
    assert scope.allows("http://changzhou.gov.cn/")
    assert not scope.allows("https://www.jiangsu.gov.cn/")
    assert not scope.allows("https://evilchangzhou.gov.cn/")
    assert not scope.allows("mailto:x@changzhou.gov.cn")


def test_state_council_scope_is_not_all_of_gov_cn():
    scope = PortalScope(["https://www.gov.cn/zhengce/xxgk/"])
    assert scope.allows("https://www.gov.cn/zhengce/xxgk/gknb/index.htm")
    assert not scope.allows("https://www.jiangsu.gov.cn/")
    assert not scope.allows("https://gov.cn/")


def test_local_scope_is_the_host():
    scope = PortalScope(["http://127.0.0.1:8123/index.html"])
    assert scope.allows("http://127.0.0.1:9999/other")  # same host, any port
    assert not scope.allows("http://127.0.0.2/")


def test_link_scores_rank_report_lists_first():
    annual = link_score("http://a.gov.cn/zfxxgk/ndbg/", "政府信息公开年报")
    disclosure = link_score("http://a.gov.cn/zfxxgk/", "政府信息公开")
    public_affairs = link_score("http://a.gov.cn/zwgk/", "政务公开")
    assert annual > disclosure > public_affairs > 0
    assert link_score("http://a.gov.cn/xxgk/nb/index.html", "") > 0  # URL alone
    assert link_score("http://a.gov.cn/news/", "新闻动态") == 0
    assert link_score("http://a.gov.cn/jd/", "政策解读") == 0
    assert link_score("http://a.gov.cn/search/?q=年报", "搜索") == 0
    assert link_score("http://a.gov.cn/logo.png", "年报") == 0
    assert link_score("http://a.gov.cn/about.html", "关于我们") == 0


def test_year_links_count_only_inside_a_report_list():
    assert link_score("http://a.gov.cn/p/2023.html", "2023年") == 0
    assert link_score("http://a.gov.cn/p/2023.html", "2023年", in_report_list=True) > 0


def test_report_list_context():
    assert report_list_evidence("http://a.gov.cn/zfxxgk/ndbg/index.html", title="")
    assert report_list_evidence("http://a.gov.cn/col/col1/index.html", title="政府信息公开年报_某市")
    assert report_list_evidence("http://a.gov.cn/col/col1/index.html", title="年报解读") is None
    assert report_list_evidence("http://a.gov.cn/", title="某市人民政府") is None


def test_lookalike_fixture_links():
    body = (DATA / "lookalike_titles.html").read_bytes()
    response = HtmlResponse(url="http://www.nanchong.gov.cn/xxgk/", body=body, encoding="utf-8")
    links = generic.list_links(response)
    reports = [link.url for link in links if is_report_title(link.text)]
    assert reports == ["http://www.nanchong.gov.cn/zfxxgk/ndbg/1.html"]
    lists = sorted((link_score(link.url, link.text), link.url) for link in links if link_score(link.url, link.text) > 0
                   and not is_report_title(link.text))
    assert lists[-1][1] == "http://www.nanchong.gov.cn/zfxxgk/ndbg/"
    followed = {url for _, url in lists}
    assert "http://www.nanchong.gov.cn/news/" not in followed
    assert "http://www.nanchong.gov.cn/jd/" not in followed


@pytest.mark.parametrize(
    "url, fmt",
    [
        ("http://a.gov.cn/xxgk/P020240115.pdf", "pdf"),
        ("http://a.gov.cn/u/2023年报.DOCX", "docx"),
        ("http://a.gov.cn/u/report.doc?v=1", "doc"),
        ("http://a.gov.cn/u/report.wps", "wps"),
        ("http://a.gov.cn/u/report.RTF", "rtf"),
        ("http://a.gov.cn/download.jsp?filename=nb.pdf&id=3", "pdf"),
        ("http://a.gov.cn/art/2024/1/1/art_1.html", None),
        ("http://a.gov.cn/pdf/index.html", None),
    ],
)
def test_attachment_format(url, fmt):
    assert attachment_format(url) == fmt


def test_report_tables_and_document_bodies():
    assert has_report_tables("本年新制作数量 本年新公开数量 … 自然人 商业企业 … （一）予以公开")
    assert not has_report_tables("发布日期 标题 浏览次数")
    assert is_document_body(b"%PDF-1.7\n")
    assert is_document_body(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")
    assert is_document_body(b"PK\x03\x04rest")
    assert not is_document_body(b"<html>")


CHALLENGES = [
    (b"<html><script>document.cookie='__jsl_clearance=1;path=/';location.href=location.pathname</script></html>", 521),
    (b"<html><head><title>\xe5\xae\x89\xe5\x85\xa8\xe9\xaa\x8c\xe8\xaf\x81</title></head><body>...</body></html>", 200),
    (b"<html><script>var _waf_token='x';</script></html>", 200),
    (b"<html><script src='/a.js'></script><script>x()</script></html>", 412),
    (b"<html><script>document.cookie='a=1';window.location='/real/page.html'</script></html>", 200),
]


@pytest.mark.parametrize("body, status", CHALLENGES)
def test_challenge_pages_recognised(body, status):
    assert looks_like_challenge(body, status)


def test_ordinary_pages_are_not_challenges():
    page = ("<html><head><title>政府信息公开</title><script>var a=1;</script></head><body>"
            + "<p>正文</p>" * 500 + "</body></html>").encode()
    assert not looks_like_challenge(page, 200)
    assert not looks_like_challenge(b"<html><body>short page, no script</body></html>", 200)
    assert not looks_like_challenge(b"<html><script>var x = 1;</script></html>", 200)


@pytest.mark.parametrize(
    "tag, target",
    [
        (b'<meta http-equiv="refresh" content="0;url=/xxgk/index.html">', "http://a.gov.cn/xxgk/index.html"),
        (b"<META HTTP-EQUIV='Refresh' CONTENT='0; URL=http://b.gov.cn/'>", "http://b.gov.cn/"),
        (b'<meta content="1;URL=\'nb/\'" http-equiv="refresh">', "http://a.gov.cn/x/nb/"),
        (b'<meta http-equiv="refresh" content="300">', None),  # reloads itself
        (b'<meta http-equiv="refresh" content="600;url=/other">', None),  # too slow to be a stub
        (b'<meta charset="utf-8">', None),
    ],
)
def test_meta_refresh_target(tag, target):
    assert meta_refresh_target(b"<html><head>" + tag + b"</head></html>", "http://a.gov.cn/x/") == target


@pytest.mark.parametrize(
    "body, target",
    [
        (b'<html><script>window.location.href="/col/col1/index.html";</script></html>', "http://a.gov.cn/col/col1/index.html"),
        (b"<script>location.replace('http://www.a.gov.cn/')</script>", "http://www.a.gov.cn/"),
        (b"<script>document.cookie='k=v';location.href='/x'</script>", None),  # a challenge
        (b"<script>location.href=location.pathname+'?t=1'</script>", None),  # computed: needs JS
        (b"<html>" + b"x" * 4000 + b"<script>location.href='/x'</script></html>", None),  # a real page
    ],
)
def test_script_redirect_stub(body, target):
    assert script_redirect_target(body, "http://a.gov.cn/") == target
    if target:
        assert not looks_like_challenge(body, 200)


# ------------------------------------------------------- normalisation of what discovery reads

@pytest.mark.parametrize("raw, clean", [
    ("年報", "年报"),
    ("政府信息公開工作年度報告", "政府信息公开工作年度报告"),
    ("年報(bào)告", "年报告"),  # a <ruby> flattened to text: the reading goes, the character stays
    ("２０２３年\u3000政府信息公开\u00a0年报", "2023年 政府信息公开 年报"),
    ("  淮安市\n\t2024年  ", "淮安市 2024年"),
])
def test_clean_text_repairs_like_the_extractor(raw, clean):
    assert clean_text(raw) == clean


def test_anchor_text_drops_ruby_readings_and_joins_spans():
    html = ("<ul><li><a href='/a.html'>淮安市2023年政府信息公開工作年度<ruby>報<rp>(</rp><rt>bào</rt><rp>)</rp>"
            "</ruby>告</a></li><li><a href='/b.html'><span>淮安市</span><span>2022年度</span>"
            "<span>政府信息公开工作年度报告</span></a></li></ul>")
    response = HtmlResponse("https://www.huaian.gov.cn/ndbg/", body=html.encode(), encoding="utf-8")
    texts = [clean_text(link.text) for link in generic.list_links(response)]
    assert is_report_title(texts[0]) and "bào" not in texts[0]
    assert report_title_year(texts[1]) == 2022


# (title as a list or page shows it, year or None when it is not the report itself)
TITLES_SEEN_ON_PAGES = [
    ("[2024-01-15] 淮安市2023年政府信息公开工作年度报告", 2023),
    ("【年报】淮安市2023年度政府信息公开工作年度报告", 2023),
    ("淮安市2023年政府信息公开工作年度报告 2024-01-15", 2023),
    ("淮安市2023年政府信息公开工作年度报告_淮安市人民政府", 2023),
    ("沭阳县发改局2023年政府信息公开工作年度报告-沭阳县发改局", 2023),
    ("2023年度政府信息公开工作报告 - 中国宿迁", 2023),
    ("淮安市2023年政府信息公开工作年度报告（图片版）", 2023),
    ("淮安市教育局关于2022年度政府信息公开工作的报告", 2022),
    ("淮安市2023年政府信息公開工作年度報告", 2023),
    # news *about* a report, and the other look-alikes: never the report itself
    ("市政务公开办召开2023年度政府信息公开工作年度报告编制培训会", None),
    ("我市发布2023年政府信息公开工作年度报告", None),
    ("淮安市2023年政府信息公开工作年度报告（征求意见稿）", None),
    ("淮安市2023年政府信息公开工作年度报告解读", None),
    ("图解：淮安市2023年政府信息公开工作年度报告", None),
    ("淮安市2024年政务公开工作要点", None),
    ("淮安市教育局2023年部门决算", None),
    ("关于报送2023年度政府信息公开工作年度报告的通知", None),
    ("政府信息公开工作年度报告_淮安市人民政府", None),  # the column, not a report
]


@pytest.mark.parametrize("title, year", TITLES_SEEN_ON_PAGES)
def test_a_report_title_is_the_report_not_news_about_it(title, year):
    assert report_title_year(title) == year


@pytest.mark.parametrize("text, truncated", [
    ("淮安市人民政府2023年政府信息…", True),
    ("2023年淮安市教育局政府信息公开工...", True),
    ("淮安市人民政府2023年度政府信息公开工作年度报告", False),  # whole, not cut
    ("淮安市人民政府召开2023年…", False),
    ("淮安市2023年政府信息公开工作年度报告解读…", False),
    ("淮安市人民政府…", False),
])
def test_truncated_report_titles(text, truncated):
    assert is_truncated_report_title(text) is truncated


@pytest.mark.parametrize("url, text, download", [
    ("https://x.gov.cn/module/download/downfile.jsp?classid=0&filename=12", "点击下载", True),
    ("https://x.gov.cn/attach/0/abc", "附件1", True),
    ("https://x.gov.cn/art/1.html", "附件1", True),
    ("https://x.gov.cn/u/P0202401.pdf", "淮安市2023年报", True),
    ("https://x.gov.cn/art/2.html", "淮安市2023年政府信息公开工作年度报告.pdf", True),
    ("https://x.gov.cn/col/col1/index.html", "政务公开", False),
])
def test_download_links(url, text, download):
    assert is_download_link(url, text) is download


def test_report_list_evidence_names_its_reason():
    assert "URL" in report_list_evidence("https://x.gov.cn/zfxxgk/ndbg/index.html")
    assert "title" in report_list_evidence("https://x.gov.cn/col/c1/", title="政府信息公开年報_某市")
    assert "breadcrumb" in report_list_evidence("https://x.gov.cn/col/c1/", title="某市",
                                                headings=["当前位置：首页 > 政府信息公开 > 年度报告"])
    assert "link" in report_list_evidence("https://x.gov.cn/col/c1/", link_text="信息公开年报")
    assert report_list_evidence("https://x.gov.cn/col/c1/", title="淮安市2023年政府信息公开工作年度报告") is None
    assert report_list_evidence("https://x.gov.cn/col/c1/", title="年报解读") is None


def _tables_text_reference(html: str) -> str:
    """The text of a page's tables as the spider first read it: every lazy ``<table…</table>`` match, tags as spaces."""
    tables = re.findall(r"<table\b.*?</table\s*>", html, re.I | re.S)
    return re.sub(r"<[^>]*>", " ", " ".join(tables))


def test_html_has_report_tables_reads_the_tables_only_and_agrees_with_the_plain_reading():
    page = ("<p>本报告所列予以公开、自然人……</p><table><tr><td>本年新<b>制作</b></td><td>1</td></tr></table>"
            "<TABLE class=x><tr><td>自 然 人</td></tr><table><tr><td>不予公开</td></tr></table></TABLE>")
    assert html_has_report_tables(page)  # 本年新制作 (split by a tag) in one table, 自然人 (spaced) in the next
    assert not html_has_report_tables("<p>予以公开 自然人 行政复议</p><table><tr><td>标题</td></tr></table>")
    assert not html_has_report_tables("<table><tr><td>予以公开</td><td>自然人")  # never closed: no table text
    assert not html_has_report_tables("<tablet>予以公开 自然人</tablet>")
    # every way tables open, nest, close (or not) and hold labels: the same answer as the plain reading
    rng = random.Random(11)
    parts = ["<table>", "<TABLE border=1>", "</table>", "</TABLE >", "</table\n>", "<tablex>", "<td>", "</td>",
             "<p>", "</p>", "予以公开", "自然人", "行政复议", "本年新", "制作", "不予公开", " ", "\n", "标题", "<", ">",
             # labels inside a tag are no table text, though they stand in the HTML as they are
             "<td title='予以公开'>", "<span class=自然人>", "<b 行政复议", "<!-- 不予公开 -->"]
    for _ in range(20000):
        page = "".join(rng.choice(parts) for _ in range(rng.randint(0, 30)))
        assert html_has_report_tables(page) == has_report_tables(_tables_text_reference(page)), page


def test_registered_domains_read_without_the_suffix_list_agree_with_it():
    """``*.gov.cn`` hosts and IP addresses are answered without building the public-suffix list (0.2 s of every
    start-up); on thousands of generated hosts the answers are the list's own, and other hosts still go to it."""
    import random

    from govcrawl.discovery import _registered_domain_without_list, _suffixes

    rng = random.Random(3)
    label = lambda: "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789-") for _ in range(rng.randint(1, 12)))  # noqa: E731
    hosts = [".".join([label() for _ in range(rng.randint(0, 4))] + ["gov", "cn"]).lstrip(".") for _ in range(3000)]
    hosts += [".".join(str(rng.randint(0, 255)) for _ in range(4)) for _ in range(500)]
    hosts += [":".join(f"{rng.randint(0, 0xffff):x}" for _ in range(8)) for _ in range(200)] + ["::1", "fe80::1"]
    hosts += ["gov.cn", "www.gov.cn", "a..gov.cn", "1example.com", "2024.beijing.gov.cn", "1.2.3", "12:30.example.com"]
    answered = 0
    for host in hosts:
        fast = _registered_domain_without_list(host)
        parts = _suffixes()(host)
        expected = host if not parts.suffix or not parts.domain else f"{parts.domain}.{parts.suffix}"
        if fast is not None:
            answered += 1
            assert fast == expected, host
        assert registered_domain(host) == expected, host
    assert answered > 3000  # all but the bare gov.cn ones and the odd hosts
