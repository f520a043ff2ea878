"""A seeded fake government web: portals that differ by seed along every axis discovery must survive.

``generate_portal(seed)`` builds one portal (a :class:`Site` to serve on
127.0.0.1) and its gold: the exact report URLs with their tables.  The
portal's *looks* are drawn from the seed, one value per axis:

* ``family`` — how the report column lists its entries: TRS
  ``createPageHTML`` pages, Hanweb ``<datastore>`` + ``dataproxy.jsp``,
  gkmlpt's JSON API, generic ``?page=N`` with 下一页, generic ``index_N``
  with numbered pages and 尾页, a script that fills an empty ``<ul>`` from a
  JSON endpoint named in the page (``js_endpoint``), or from one it computes
  (``js_computed``: only a browser finds it), or a list in an ``<iframe>``;
* ``charset`` — UTF-8, GBK bytes labelled gb2312, or GBK with the charset
  only in ``<meta>``;
* ``script`` — Simplified, Traditional, or Traditional with ``<ruby>``
  pinyin in every text (link texts and titles included);
* ``link_style`` — how list entries show titles: plain, date prefix,
  ``[年报]`` tag, cut with ``…`` and the full title only in ``title=``, split
  into ``<span>``s, or cut with ``…`` and no ``title=`` at all;
* ``column`` — whether the report column's URL says ``ndbg``/``gknb`` or is
  a neutral ``/col/c123/``;
* ``link_target`` — entries link with ``href``, or with ``href="javascript:void(0)"``
  and an ``onclick="window.open('…')"``;
* ``year_columns`` — the column lists years (``2023年度`` …), each year a list
  of its own (static-page families);
* ``column_label`` — what names the column on its own page: the ``<title>``,
  only the breadcrumb (the ``<title>`` is the site's name), or only the
  ``<meta name="ColumnName">`` tag that the national guidelines for
  government websites require.

Per report, where the numbers live cycles through ``PLACEMENTS``: a page
with the tables (each text layout of ``render``), a page with a PDF or DOCX
attachment, a PDF linked straight from the list, a download servlet without
file extension answering ``application/octet-stream`` with
``Content-Disposition``, an attachment link whose text is only 附件1 /
点击下载, and an attachment shown through pdf.js (``viewer.html?file=…pdf``).
Some report pages print 三 and 四 in pieces.  Every portal has navigation around its lists (header, sidebar,
footer, department links) and noise that must not become items: 解读, 通知,
news about a report (…编制培训会), 部门决算, 工作要点, 图解, 征求意见稿.

Gold (``World.expected``): ``{path: {"tables", "format", "year", "source"}}``
where ``path`` is the item's ``url`` (the report page, or the PDF linked
straight from a list).  ``World.parents`` maps every page to the pages that
link to it, so a test can print the path the crawl should have taken.

Whenever a real portal surprises the crawler, add its look here, not a
special case to the spider.
"""

from __future__ import annotations

import html as htmlmod
import json
import random
import re
from dataclasses import dataclass, field
from urllib.parse import quote

from govcrawl.demo import render
from govcrawl.demo.server import JPAGE_PATH, Site
from govcrawl.demo.site import TRS_PAGER_JS, PdfLook, docx_report, encode, hanweb_record, pdf_report

FAMILIES = ("trs", "hanweb", "gkmlpt", "generic_next", "generic_last", "js_endpoint", "js_computed", "iframe")
CHARSETS = ("utf-8", "gb2312", "meta_only")
SCRIPTS = ("simplified", "traditional", "ruby")
LINK_STYLES = ("plain", "date_prefix", "tag_prefix", "title_attr", "spans", "truncated")
COLUMNS = ("named", "neutral")
COLUMN_LABELS = ("title", "breadcrumb", "meta")
PLACEMENTS = ("html", "text_layout", "pdf_attachment", "docx_attachment", "pdf_direct", "octet_stream",
              "generic_attachment_text", "pdf_viewer")
LINK_TARGETS = ("href", "onclick")
YEAR_COLUMNS = (False, True)
NOISE = ("解读", "通知", "news", "决算", "工作要点", "图解", "征求意见")
AXES = {"family": FAMILIES, "charset": CHARSETS, "script": SCRIPTS, "link_style": LINK_STYLES, "column": COLUMNS,
        "column_label": COLUMN_LABELS, "link_target": LINK_TARGETS, "year_columns": YEAR_COLUMNS}

# Families whose lists are static pages a year sub-column can repeat.
YEAR_COLUMN_FAMILIES = ("trs", "generic_last", "generic_next")

CITIES = ("安澜", "白沙", "宝丰", "长宁", "崇义", "大理", "德化", "东阳", "凤台", "富源", "固始", "广丰", "海安",
          "合浦", "鹤山", "洪雅", "华容", "怀远", "黄梅", "惠来", "建德", "江华", "金溪", "靖安", "开化", "兰溪",
          "乐平", "丽水", "临澧", "龙游", "芦溪", "罗田", "眉山", "南丰", "宁乡", "平江", "浦城", "齐河", "庆元",
          "如皋", "瑞金", "沙县", "上高", "邵武", "石门", "寿宁", "泰和", "桐庐", "万载", "温岭", "武宁", "仙居",
          "湘阴", "新干", "兴国", "修水", "宣城", "宜丰", "永丰", "余干", "玉山", "岳西", "云和", "漳浦", "资溪")
DEPARTMENTS = ("人民政府", "人民政府办公室", "教育局", "财政局", "生态环境局", "卫生健康委员会", "交通运输局", "自然资源局",
               "住房和城乡建设局", "市场监督管理局", "民政局", "司法局", "农业农村局", "审计局", "统计局")
TITLE_WORDINGS = (
    "{agency}{year}年政府信息公开工作年度报告",
    "{agency}{year}年度政府信息公开工作年度报告",
    "{year}年{agency}政府信息公开工作年度报告",
    "{agency}{year}年政府信息公开年度报告",
    "{agency}{year}年度政府信息公开工作报告",
)
COLUMN_NAMES = ("政府信息公开年报", "政府信息公开工作年度报告", "年度报告", "信息公开年报", "政府信息公开年度报告")
RUBY = {"报": "bào", "开": "kāi", "县": "xiàn", "请": "qǐng", "年": "nián", "政": "zhèng"}


@dataclass
class World:
    """One generated portal: the site to serve, its start path, its gold, and how it looks."""

    seed: int
    name: str
    site: Site
    start: str
    looks: dict
    expected: dict = field(default_factory=dict)
    parents: dict = field(default_factory=dict)
    placements: dict = field(default_factory=dict)  # report path → placement
    noise: list = field(default_factory=list)       # paths that must never become items

    def path_to(self, path: str) -> list[str]:
        """The shortest way from the start page down to ``path`` (breadth-first over the links)."""
        children: dict[str, list[str]] = {}
        for child, parents in self.parents.items():
            for parent in parents:
                children.setdefault(parent, []).append(child)
        previous = {self.start: None}
        queue = [self.start]
        while queue:
            page = queue.pop(0)
            if page == path:
                break
            for child in children.get(page, []):
                if child not in previous:
                    previous[child] = page
                    queue.append(child)
        if path not in previous:
            return [path]
        chain = [path]
        while previous[chain[-1]] is not None:
            chain.append(previous[chain[-1]])
        return chain[::-1]


def looks_for(seed: int) -> dict:
    """The portal's look on every axis; consecutive seeds walk every value of every axis."""
    strides = {"family": 1, "charset": 5, "script": 7, "link_style": 5, "column": 3, "column_label": 2,
               "link_target": 3, "year_columns": 5}
    return {axis: values[(seed * strides[axis] + seed // len(values)) % len(values)]
            for axis, values in AXES.items()}


# ------------------------------------------------------------------ text look
class _Script:
    """Simplified → the portal's script, applied to every text node (never inside <script>/<style>)."""

    def __init__(self, script: str):
        self.script = script
        self._conv = None
        if script != "simplified":
            import opencc

            self._conv = opencc.OpenCC("s2t")

    def text(self, text: str) -> str:
        """Plain text (JSON values, <title>): Traditional where the portal writes it, never markup."""
        return self._conv.convert(text) if self._conv else text

    def _node(self, text: str) -> str:
        text = self.text(text)
        if self.script != "ruby":
            return text
        traditional_ruby = {self.text(k): v for k, v in RUBY.items()}
        return "".join(f"<ruby>{ch}<rp>(</rp><rt>{traditional_ruby[ch]}</rt><rp>)</rp></ruby>"
                       if ch in traditional_ruby else ch for ch in text)

    def page(self, page: str) -> str:
        if self.script == "simplified":
            return page
        out = []
        for part in re.split(r"(<script\b.*?</script>|<style\b.*?</style>|<title>.*?</title>|<[^>]+>)", page,
                             flags=re.S | re.I):
            if not part:
                continue
            if part.startswith("<title>"):
                out.append("<title>" + self.text(part[7:-8]) + "</title>")
            elif part.startswith("<"):
                # attribute values (title="…") are text a reader sees too: convert, no ruby
                out.append(re.sub(r'(title|alt)="([^"]*)"', lambda m: f'{m.group(1)}="{self.text(m.group(2))}"',
                                  part) if not part.lower().startswith(("<script", "<style")) else part)
            else:
                out.append(self._node(part))
        return "".join(out)


# ------------------------------------------------------------------ the builder
class _Builder:
    def __init__(self, seed: int, looks: dict | None = None):
        self.seed = seed
        self.rng = random.Random(seed * 7919 + 17)
        self.looks = dict(looks or looks_for(seed))
        city = CITIES[seed % len(CITIES)] + ("" if seed < len(CITIES) else str(seed // len(CITIES)))
        self.city = city + "市"
        self.site = Site()
        self.script = _Script(self.looks["script"])
        self.charset = self.looks["charset"]
        self.world = World(seed, f"{self.city}人民政府", self.site, "/index.html", self.looks)
        self.gk = self.rng.choice(["/zfxxgk/", "/xxgk/", "/zwgk/", "/gongkai/"])
        self.column = (self.gk + self.rng.choice(["ndbg/", "gknb/", "xxgknb/"]) if self.looks["column"] == "named"
                       else f"/col/c{self.rng.randint(100, 999)}/")
        self.column_name = self.rng.choice(COLUMN_NAMES)
        if self.looks["family"] == "hanweb":  # Hanweb names a column by its id: /col/col1234/index.html
            self.hanweb_ids = self.rng.randint(1000, 9999), self.rng.randint(10000, 99999)
            self.column = f"/col/col{self.hanweb_ids[0]}/"
        self.serial = 1000

    # -- plumbing ------------------------------------------------------
    def link(self, parent: str, child: str) -> None:
        child = child.split("#")[0]
        self.world.parents.setdefault(child, [])
        if parent not in self.world.parents[child]:
            self.world.parents[child].append(parent)

    def nav(self, here: str) -> str:
        """Header, sidebar and footer: dozens of links around every list, as on real portals."""
        header = [("/index.html", "首页"), ("/zwdt/index.html", "政务动态"), (self.gk + "index.html", "政府信息公开"),
                  ("/hdjl/index.html", "互动交流"), ("/bsfw/index.html", "办事服务"), ("/ztzl/index.html", "专题专栏"),
                  ("/zjxx/index.html", f"走进{self.city}"), ("/zcjd/index.html", "政策解读"),
                  ("/search/index.html", "站内搜索"), ("/wza/index.html", "无障碍")]
        depts = [(f"/bm/{i}/index.html", f"{self.city}{d}") for i, d in enumerate(DEPARTMENTS[2:10])]
        footer = [("/wzdt/index.html", "网站地图"), ("/lxwm/index.html", "联系我们"), ("/gywm/index.html", "关于我们"),
                  ("/yszc/index.html", "隐私声明")]
        for href, _ in header[:3]:
            self.link(here, href)
        return ('<div class="header"><ul class="nav">' + _lis(header) + "</ul></div>\n"
                '<div class="sidebar"><h3>部门网站</h3><ul>' + _lis(depts) + "</ul></div>\n"), (
                '<div class="footer"><ul>' + _lis(footer) + "</ul><p>主办单位：" + self.city
                + "人民政府办公室 网站标识码：0000000000</p></div>")

    def page(self, path: str, title: str, body: str, *, breadcrumb: str | None = None, head: str = "",
             charset: str | None = None) -> None:
        """An HTML page in the portal's charset and script, with navigation around ``body``."""
        header, footer = self.nav(path)
        crumb = (f'<div class="position">当前位置：<a href="/index.html">首页</a> &gt; {breadcrumb}</div>\n'
                 if breadcrumb else "")
        declared = {"utf-8": "utf-8", "gb2312": "gb2312", "meta_only": "gbk"}[charset or self.charset]
        text = (f'<!DOCTYPE html>\n<html><head><meta http-equiv="Content-Type" content="text/html; '
                f'charset={declared}">\n<title>{htmlmod.escape(title)}</title>{head}</head>\n<body>\n{header}'
                f"{crumb}<div class=\"main\">\n{body}\n</div>\n{footer}\n</body></html>")
        self.add_html(path, text, charset)

    def add_html(self, path: str, text: str, charset: str | None = None) -> None:
        look = charset or self.charset
        text = self.script.page(text)
        codec = "utf-8" if look == "utf-8" else "gbk"
        header = {"utf-8": "text/html; charset=utf-8", "gb2312": "text/html; charset=gb2312",
                  "meta_only": "text/html"}[look]
        self.site.add(path, encode(text, codec), {"Content-Type": header})

    def anchor(self, href: str, title: str, date: str) -> str:
        """One list entry in the portal's link style (and link mechanism: href, or a script's onclick)."""
        html = self._anchor(href, title, date)
        if self.looks["link_target"] == "onclick":
            esc = htmlmod.escape(href)
            html = html.replace(f'href="{esc}"', f'href="javascript:void(0)" onclick="window.open(\'{esc}\')"', 1)
        return html

    def _anchor(self, href: str, title: str, date: str) -> str:
        style = self.looks["link_style"]
        esc = htmlmod.escape
        if style == "date_prefix":
            return f'<li><a href="{esc(href)}" target="_blank">[{date}] {esc(title)}</a></li>'
        if style == "tag_prefix":
            return f'<li><a href="{esc(href)}" target="_blank">【年报】{esc(title)}</a><span>{date}</span></li>'
        if style == "title_attr":
            return (f'<li><a href="{esc(href)}" title="{esc(title)}" target="_blank">{esc(_cut(title))}</a>'
                    f'<span>{date}</span></li>')
        if style == "spans":
            parts = re.split(r"((?:19|20)\d{2}年度?)", title, maxsplit=1)
            spans = "".join(f"<span>{esc(p)}</span>" for p in parts if p)
            return f'<li><a href="{esc(href)}" target="_blank">{spans}</a><span class="date">{date}</span></li>'
        if style == "truncated":
            return f'<li><a href="{esc(href)}" target="_blank">{esc(_cut(title))}</a><span>{date}</span></li>'
        return f'<li><a href="{esc(href)}" title="{esc(title)}" target="_blank">{esc(title)}</a><span>{date}</span></li>'

    def next_path(self, year: int, ext: str = "html") -> str:
        self.serial += 1
        return f"{self.column}{year + 1}01/t{year + 1}0115_{self.seed}{self.serial}.{ext}"

    # -- reports -------------------------------------------------------
    def reports(self) -> list[dict]:
        """Report entries (title, href, date) for the column list; publishes their pages and files."""
        n = self.rng.randint(5, 8)
        offset = self.rng.randrange(len(PLACEMENTS))
        combos = [(d, y) for d in DEPARTMENTS for y in range(2019, 2025)]
        self.rng.shuffle(combos)
        entries = []
        for i, (dept, year) in enumerate(combos[:n]):
            placement = PLACEMENTS[(offset + i) % len(PLACEMENTS)]
            agency = self.city + dept
            title = self.rng.choice(TITLE_WORDINGS).format(agency=agency, year=year)
            fmt = "2021" if year >= 2021 else "2019"
            tables = render.random_tables(self.rng, fmt, blanks=self.rng.random() < 0.5)
            date = f"{year + 1}-01-{self.rng.randint(10, 28)}"
            href = self.publish(title, agency, year, fmt, tables, placement, date)
            entries.append({"title": title, "href": href, "date": date})
        return entries

    def pdf(self, tables: dict, fmt: str, title: str) -> bytes:
        """The report as a PDF in a look of its own (drawn apart from ``self.rng``: the rest of the world stays put)."""
        return pdf_report(tables, fmt=fmt, title=title,
                          look=PdfLook.random(random.Random(f"pdf-look-{self.seed}-{self.serial}")))

    def publish(self, title, agency, year, fmt, tables, placement, date) -> str:
        meta = {"index_no": f"{self.rng.randint(10**8, 10**9 - 1)}/{year + 1}-{self.rng.randint(1, 99999):05d}",
                "publisher": agency, "published_date": date, "created_date": date}
        if placement == "pdf_direct":
            path = self.next_path(year, "pdf")
            self.site.add(path, self.pdf(tables, fmt, title), {"Content-Type": "application/pdf"})
            self._gold(path, path, tables, fmt, year, placement)
            return path
        path = self.next_path(year)
        if placement in ("html", "text_layout"):
            layout = "html_table" if placement == "html" else self.rng.choice(render.HTML_LAYOUTS[1:])
            # some sites print 三 and 四 in pieces (row-group tables with generic headers, sub-headings)
            split = placement == "html" and self.rng.random() < 0.4
            page = render.render_report_html(tables, fmt=fmt, title=title, layout=layout, meta=meta, split=split)
            body = page.split("<body>", 1)[1].rsplit("</body>", 1)[0]
            self.page(path, self.page_title(title, agency), body, breadcrumb=f"政府信息公开 &gt; {self.column_name}")
            self._gold(path, path, tables, fmt, year, placement)
            return path
        # an article page that carries the report as a file
        stem = path.rsplit("/", 1)[0] + f"/P0{year + 1}0115{self.serial:06d}"
        if placement == "docx_attachment":
            file_path, body, ctype = stem + ".docx", docx_report(tables, fmt=fmt, title=title), \
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        elif placement == "octet_stream":
            file_path = f"/module/download/downfile.jsp?classid=0&filename={self.serial}"
            body, ctype = self.pdf(tables, fmt, title), "application/octet-stream"
        else:
            file_path, body, ctype = stem + ".pdf", self.pdf(tables, fmt, title), "application/pdf"
        headers = {"Content-Type": ctype}
        if placement == "octet_stream":
            headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(title)}.pdf"
        self.site.add(file_path, body, headers)
        ext = ".docx" if file_path.endswith(".docx") else ".pdf"
        link_path = file_path
        if placement == "pdf_viewer":  # the attachment shown in pdf.js: the link names the viewer
            link_path = f"/pdfjs/web/viewer.html?file={quote(file_path)}"
            self.site.add("/pdfjs/web/viewer.html", b"<!DOCTYPE html><html><head><title>PDF.js viewer</title>"
                          b"<script src='viewer.js'></script></head><body><div id='viewer'></div></body></html>",
                          {"Content-Type": "text/html; charset=utf-8"})
        link_text = {"generic_attachment_text": self.rng.choice(["附件1", "点击下载", "下载", "附件："]),
                     "octet_stream": self.rng.choice(["点击下载", "附件1", title + ext])}.get(placement, title + ext)
        article = (f'<div class="article"><h1>{htmlmod.escape(title)}</h1>'
                   f'<div class="TRS_Editor"><p>{htmlmod.escape(title)}全文详见附件。</p></div>'
                   f'<div class="fj">附件：<a href="{htmlmod.escape(link_path)}">{htmlmod.escape(link_text)}</a></div></div>')
        self.page(path, self.page_title(title, agency), render.meta_block(meta) + article,
                  breadcrumb=f"政府信息公开 &gt; {self.column_name}")
        self.link(path, file_path)
        self._gold(path, file_path, tables, fmt, year, placement)
        return path

    def page_title(self, title: str, agency: str) -> str:
        """The ``<title>`` of a report page: the title, often with the site's name after it."""
        return title + self.rng.choice(["", f"_{self.city}人民政府", f" - {self.city}人民政府门户网站", f"-{agency}"])

    def _gold(self, path, source, tables, fmt, year, placement) -> None:
        self.world.expected[path] = {"tables": tables, "format": fmt, "year": year, "source": source}
        self.world.placements[path] = placement

    # -- noise ---------------------------------------------------------
    def noise(self) -> tuple[list[dict], list[dict]]:
        """(entries for the report column, entries for the news column): pages that are not reports."""
        year = self.rng.randint(2020, 2024)
        agency = self.city + self.rng.choice(DEPARTMENTS)
        report = f"{agency}{year}年政府信息公开工作年度报告"
        titles = {
            "解读": f"{report}解读",
            "通知": f"关于报送{year}年度政府信息公开工作年度报告的通知",
            "news": f"市政务公开办召开{year + 1}年度政府信息公开工作年度报告编制培训会",
            "决算": f"{agency}{year}年部门决算",
            "工作要点": f"{self.city}{year}年政务公开工作要点",
            "图解": f"图解：{report}",
            "征求意见": f"{report}（征求意见稿）",
        }
        in_column, in_news = [], []
        for kind in NOISE:
            path = self.next_path(year)
            text = (f"<p>{htmlmod.escape(titles[kind])}。{self.city}认真贯彻落实《中华人民共和国政府信息公开条例》，"
                    f"全年共收到政府信息公开申请{self.rng.randint(10, 900)}件。</p>")
            if kind == "图解":
                text += '<p><img src="/images/tujie.png" alt="图解"></p>'
            self.page(path, titles[kind], f'<div class="article"><h1>{htmlmod.escape(titles[kind])}</h1>{text}</div>')
            self.world.noise.append(path)
            (in_news if kind == "news" and self.rng.random() < 0.5 else in_column).append(
                {"title": titles[kind], "href": path, "date": f"{year + 1}-01-05"})
        return in_column, in_news

    # -- the portal ----------------------------------------------------
    def build(self) -> World:
        entries = self.reports()
        noise_column, noise_news = self.noise()
        entries += noise_column
        self.rng.shuffle(entries)
        self.home(noise_news)
        self.gk_index()
        if self.looks["year_columns"] and self.looks["family"] in YEAR_COLUMN_FAMILIES:
            self.year_columns(entries)
        else:
            getattr(self, "list_" + self.looks["family"])(entries)
        return self.world

    def year_columns(self, entries: list[dict]) -> None:
        """The column lists years (2024年度, 2023年度 …); each year is a list of its own, paged as the family pages."""
        by_year: dict[str, list[dict]] = {}
        for entry in entries:
            by_year.setdefault(entry["date"][:4], []).append(entry)
        column, index = self.column, self.column + "index.html"
        years = sorted(by_year, reverse=True)
        first = "list.jsp?page=1" if self.looks["family"] == "generic_next" else "index.html"
        self._column_page(index, "<ul class=\"years\">" + "".join(
            f'<li><a href="{y}/{first}">{int(y) - 1}年度</a></li>' for y in years) + "</ul>")
        for year in years:
            self.link(index, f"{column}{year}/{first}")
            self.column = f"{column}{year}/"
            getattr(self, "list_" + self.looks["family"])(by_year[year])
        self.column = column

    def home(self, news: list[dict]) -> None:
        items = "".join(self.anchor(e["href"], e["title"], e["date"]) for e in news)
        items += self.anchor("/zwdt/202401/t20240110_1.html", f"{self.city}召开常务会议", "2024-01-10")
        for e in news:
            self.link("/index.html", e["href"])
        self.page("/index.html", f"{self.city}人民政府", f'<div class="news"><h2>政务动态</h2><ul>{items}</ul></div>')
        self.page("/zwdt/202401/t20240110_1.html", f"{self.city}召开常务会议", "<p>会议研究了近期工作。</p>")
        for path, title in (("/zwdt/index.html", "政务动态"), ("/zcjd/index.html", "政策解读"), ("/hdjl/index.html", "互动交流")):
            self.page(path, title, f"<h2>{title}</h2><p>暂无信息</p>")

    def gk_index(self) -> None:
        if self.looks["family"] == "gkmlpt":
            column_href = "/gkmlpt/index"
        elif self.looks["family"] == "generic_next" and not self.looks["year_columns"]:
            column_href = self.column + "list.jsp?page=1"
        else:
            column_href = self.column + "index.html"
        side = [(self.gk + "zn/index.html", "政府信息公开指南"), (self.gk + "zd/index.html", "政府信息公开制度"),
                (self.gk + "fdzdgknr/index.html", "法定主动公开内容"), (column_href, self.column_name),
                (self.gk + "ysqgk/index.html", "依申请公开"), ("/zcjd/index.html", "政策解读")]
        self.link(self.gk + "index.html", column_href)
        self.page(self.gk + "index.html", f"政府信息公开_{self.city}人民政府",
                  '<div class="gk_nav"><ul>' + _lis(side) + "</ul></div>", breadcrumb="政府信息公开")
        for href, title in side[:3] + side[4:5]:
            self.page(href, title, f"<h2>{title}</h2><p>{title}。</p>", breadcrumb=f"政府信息公开 &gt; {title}")

    def _column_page(self, path: str, list_html: str, *, head: str = "") -> None:
        if self.looks["column_label"] == "title":
            title, crumb = f"{self.column_name}_{self.city}人民政府", f"政府信息公开 &gt; {self.column_name}"
        elif self.looks["column_label"] == "breadcrumb":  # the site's name as <title>; the crumb tells
            title, crumb = f"{self.city}人民政府", f"政府信息公开 &gt; {self.column_name}"
        else:  # only the ColumnName meta tag of the national site guidelines names the column
            title, crumb = f"{self.city}人民政府", "政府信息公开"
            head += f'<meta name="ColumnName" content="{htmlmod.escape(self.script.text(self.column_name))}">'
        self.page(path, title, f'<div class="list">{list_html}</div>', head=head,
                  breadcrumb=crumb.replace("政府信息公开", f'<a href="{self.gk}index.html">政府信息公开</a>', 1))

    def _chunks(self, entries: list[dict]) -> list[list[dict]]:
        per_page = self.rng.randint(3, 5)
        return [entries[i:i + per_page] for i in range(0, len(entries), per_page)] or [[]]

    def _lis(self, page_path: str, entries: list[dict]) -> str:
        for e in entries:
            self.link(page_path, e["href"])
        return "<ul class=\"list_ul\">" + "".join(self.anchor(e["href"], e["title"], e["date"]) for e in entries) + "</ul>"

    # -- list families -------------------------------------------------
    def list_trs(self, entries: list[dict]) -> None:
        pages = self._chunks(entries)
        for i, chunk in enumerate(pages):
            path = self.column + ("index.html" if i == 0 else f"index_{i}.html")
            if i:
                self.link(self.column + "index.html", path)
            self._column_page(path, self._lis(path, chunk) + f'{TRS_PAGER_JS}<div class="page"><script>'
                              f'createPageHTML({len(pages)}, {i}, "index", "html");</script></div>')

    def list_generic_last(self, entries: list[dict]) -> None:
        pages = self._chunks(entries)
        for i, chunk in enumerate(pages):
            path = self.column + ("index.html" if i == 0 else f"index_{i}.html")
            numbers = " ".join(f'<a href="index{"" if n == 0 else f"_{n}"}.html">{n + 1}</a>' for n in range(len(pages)))
            pager = f'<div class="pager">{numbers} <a href="index_{len(pages) - 1}.html">尾页</a></div>' \
                if len(pages) > 1 else ""
            for n in range(1, len(pages)):
                self.link(path, self.column + f"index_{n}.html")
            self._column_page(path, self._lis(path, chunk) + pager)

    def list_generic_next(self, entries: list[dict]) -> None:
        pages = self._chunks(entries)
        for i, chunk in enumerate(pages, 1):
            path = f"{self.column}list.jsp?page={i}"
            pager = (f'<a href="list.jsp?page={i - 1}">上一页</a> ' if i > 1 else "") + f"<span>第{i}页</span>" + (
                f' <a href="list.jsp?page={i + 1}">下一页</a>' if i < len(pages) else "")
            if i < len(pages):
                self.link(path, f"{self.column}list.jsp?page={i + 1}")
            self._column_page(path, self._lis(path, chunk) + f'<div class="pager">{pager}</div>')

    def list_iframe(self, entries: list[dict]) -> None:
        frame = self.column + "list_content.html"
        self.link(self.column + "index.html", frame)
        self._column_page(self.column + "index.html",
                          f'<iframe src="list_content.html" width="100%" height="800" frameborder="0" '
                          f'scrolling="no" title="{self.column_name}"></iframe>')
        self.add_html(frame, f'<!DOCTYPE html><html><head><meta charset="{"utf-8" if self.charset == "utf-8" else "gbk"}">'
                      f"</head><body>{self._lis(frame, entries)}</body></html>")

    def list_hanweb(self, entries: list[dict]) -> None:
        columnid, unitid = self.hanweb_ids
        path = self.column + "index.html"
        records = [hanweb_record(e["href"], self.script.text(e["title"]), e["date"]) for e in entries]
        if self.looks["link_style"] != "plain":
            records = [self.script.page(self.anchor(e["href"], e["title"], e["date"])) for e in entries]
        for e in entries:
            self.link(path, e["href"])
        perpage = self.rng.randint(3, 5)
        island = "\n".join(f"<record><![CDATA[{r}]]></record>" for r in records[:perpage])
        nextgroup = (f'<a href="{JPAGE_PATH}?page=1&appid=1&webid=1&path=/&columnid={columnid}'
                     f'&unitid={unitid}&webname=x&permissiontype=0"></a>')
        body = (f'<div id="{unitid}"><script type="text/xml"><datastore>\n<nextgroup><![CDATA[{nextgroup}]]>'
                f"</nextgroup>\n<totalrecord>{len(records)}</totalrecord>\n<recordset>\n{island}\n</recordset>"
                f"</datastore></script></div>\n<script>$(function(){{$('#{unitid}').jpage({{perPage:{perpage},"
                f"totalRecord:{len(records)},proxyUrl:'{JPAGE_PATH}',groupSize:1,ajaxParam:{{col:1,appid:1,webid:1,"
                f"path:'/',columnid:{columnid},sourceContentType:1,unitid:{unitid},permissiontype:0}}}});}});</script>")
        self._column_page(path, body)
        self.site.add_jpage(columnid, records)

    def list_gkmlpt(self, entries: list[dict]) -> None:
        node = self.rng.randint(100, 999)
        per_page = self.rng.randint(3, 5)
        tree = [{"id": 1, "name": "机构职能", "children": []},
                {"id": 2, "name": "政策文件", "children": [{"id": 21, "name": "规范性文件", "children": []}]},
                {"id": 3, "name": "政府信息公开", "children": [{"id": node, "name": self.script.text(self.column_name),
                                                          "children": []}]}]
        script = (f"window._CONFIG = {{SID: '2', TREE: {json.dumps(tree, ensure_ascii=False)}, "
                  "ORIGIN: 'gkmlpt'};")
        self.page("/gkmlpt/index", f"{self.city}人民政府信息公开目录",
                  f'<div id="app"></div><script>{script}</script>', breadcrumb="政府信息公开目录")
        chunks = [entries[i:i + per_page] for i in range(0, len(entries), per_page)]
        for page, chunk in enumerate(chunks, 1):
            api = f"/gkmlpt/api/all/{node}?page={page}&sid=2"
            articles = []
            for e in chunk:
                self.link("/gkmlpt/index", e["href"])
                articles.append({"title": self.script.text(e["title"]), "url": e["href"], "date": e["date"]})
            self.site.add(api, json.dumps({"total": len(entries), "articles": articles}, ensure_ascii=False),
                          {"Content-Type": "application/json; charset=utf-8"})

    def _api_entries(self, entries: list[dict]) -> tuple[str, str, list[dict]]:
        """Field names and entry dicts as one of several real API shapes name them."""
        title_key, url_key = self.rng.choice([("title", "url"), ("docTitle", "docUrl"), ("name", "link"),
                                              ("title", "href"), ("articleTitle", "articleUrl")])
        return title_key, url_key, [{title_key: self.script.text(e["title"]), url_key: e["href"],
                                     "pubDate": e["date"]} for e in entries]

    def list_js_endpoint(self, entries: list[dict]) -> None:
        path = self.column + "index.html"
        title_key, url_key, items = self._api_entries(entries)
        style = self.rng.choice(["fetch", "xhr", "ajax", "jsonp"])
        per_page = self.rng.randint(3, 5)
        pages = [items[i:i + per_page] for i in range(0, len(items), per_page)]
        api = f"/api/column/{self.rng.randint(10, 99)}/list"
        for n, chunk in enumerate(pages, 1):
            answer = {"code": 0, "data": {"list": chunk, "pageNo": n, "pageSize": per_page,
                                          "totalPage": len(pages), "total": len(items)}}
            body = json.dumps(answer, ensure_ascii=False)
            if style == "jsonp":
                self.site.add(f"{api}?pageNo={n}&callback=listCallback", f"listCallback({body});",
                              {"Content-Type": "application/javascript"})
            else:
                self.site.add(f"{api}?pageNo={n}", body, {"Content-Type": "application/json; charset=utf-8"})
        for e in entries:
            self.link(path, e["href"])
        render_js = (f"function show(res){{var ul=document.getElementById('list');"
                     f"res.data.list.forEach(function(it){{var li=document.createElement('li');"
                     f"var a=document.createElement('a');a.href=it.{url_key};a.textContent=it.{title_key};"
                     "li.appendChild(a);ul.appendChild(li);});}")
        call = {
            "fetch": f"fetch('{api}?pageNo=1').then(function(r){{return r.json();}}).then(show);",
            "xhr": (f"var x=new XMLHttpRequest();x.open('GET','{api}?pageNo=1');"
                    "x.onload=function(){show(JSON.parse(x.responseText));};x.send();"),
            "ajax": (f"$.ajax({{url: '{api}?pageNo=1', type: 'get', dataType: 'json', success: show}});"),
            "jsonp": (f"window.listCallback=show;var s=document.createElement('script');"
                      f"s.src='{api}?pageNo=1&callback=listCallback';document.body.appendChild(s);"),
        }[style]
        # jQuery is not loaded on the fake page: a two-line stand-in lets a browser run the same call.
        shim = ("var $=window.$||{ajax:function(o){fetch(o.url).then(function(r){return r.json();})"
                ".then(o.success);}};" if style == "ajax" else "")
        self._column_page(path, f'<ul id="list"></ul><script>{shim}{render_js}{call}</script>')

    def list_js_computed(self, entries: list[dict]) -> None:
        path = self.column + "index.html"
        title_key, url_key, items = self._api_entries(entries)
        parts = ["", "data", f"c{self.rng.randint(10, 99)}", "items.json"]
        self.site.add("/".join(parts), json.dumps({"rows": items}, ensure_ascii=False),
                      {"Content-Type": "application/json; charset=utf-8"})
        for e in entries:
            self.link(path, e["href"])
        script = (f"var p={json.dumps(parts)};var api=p.join('/');"
                  "var xhr=new XMLHttpRequest();xhr.open('GET',api);xhr.onload=function(){"
                  "var ul=document.getElementById('list');JSON.parse(xhr.responseText).rows.forEach(function(it){"
                  f"var li=document.createElement('li');var a=document.createElement('a');a.href=it.{url_key};"
                  f"a.textContent=it.{title_key};li.appendChild(a);ul.appendChild(li);}});}};xhr.send();")
        self._column_page(path, f'<ul id="list"></ul><script>{script}</script>')


def _lis(links: list[tuple[str, str]]) -> str:
    return "".join(f'<li><a href="{htmlmod.escape(h)}">{htmlmod.escape(t)}</a></li>' for h, t in links)


def _cut(title: str) -> str:
    """A list entry cut the way CMS templates cut them: a few characters into the report's name, then …"""
    match = re.search(r"(?:19|20)\d{2}年度?", title)
    end = title.find("政府信息公开", match.end() if match else 0)
    cut = (end if end >= 0 else len(title) - 6) + 4
    return title[:cut] + "…"


# ------------------------------------------------------------------ scoring
@dataclass
class Score:
    """How one crawl did on one portal."""

    world: World
    found: set
    missed: list
    unexpected: list
    wrong: dict  # path → differences in tables/format/year

    @property
    def recall(self) -> float:
        return len(self.found) / len(self.world.expected) if self.world.expected else 1.0

    @property
    def precision(self) -> float:
        emitted = len(self.found) + len(self.unexpected)
        return len(self.found) / emitted if emitted else 1.0


def score(world: World, base_url: str, items: list[dict], diff) -> Score:
    """Compare the items a crawl emitted for ``world`` (served at ``base_url``) with its gold.

    ``diff(expected, actual) -> list[str]`` compares table values (the tests' tolerant diff).
    """
    by_path = {}
    unexpected = []
    for item in items:
        url = item.get("url") or ""
        if not url.startswith(base_url):
            continue
        path = url[len(base_url):]
        if path in world.expected and path not in by_path:
            by_path[path] = item
        else:
            unexpected.append(path)
    wrong = {}
    for path, item in by_path.items():
        gold = world.expected[path]
        problems = diff(gold["tables"], item.get("tables"))
        for key in ("format", "year"):
            if item.get(key) != gold[key]:
                problems.append(f"{key}: expected {gold[key]!r}, got {item.get(key)!r}")
        if problems:
            wrong[path] = problems
    missed = [path for path in world.expected if path not in by_path]
    return Score(world, set(by_path), missed, unexpected, wrong)


def explain(result: Score, requested: set[str]) -> str:
    """What was missed and the path the crawl should have taken, each step marked requested or not."""
    world = result.world
    lines = [f"seed {world.seed} ({world.name}), looks {world.looks}: recall {result.recall:.2f}, "
             f"precision {result.precision:.2f}"]
    for path in result.missed:
        lines.append(f"  missed {path} ({world.placements.get(path)}); the way there:")
        for step in world.path_to(path):
            lines.append(f"    {'requested' if step in requested else 'NOT requested'}  {step}")
        source = world.expected[path]["source"]
        if source != path:
            lines.append(f"    {'requested' if source in requested else 'NOT requested'}  {source} (the file)")
    for path in result.unexpected:
        lines.append(f"  unexpected item {path}")
    for path, problems in result.wrong.items():
        lines.append(f"  wrong values in {path}: {problems[:5]}")
    return "\n".join(lines)


def generate_portal(seed: int, looks: dict | None = None) -> World:
    """The portal of ``seed`` (``looks`` overrides axes, e.g. ``{"family": "iframe"}``)."""
    return _Builder(seed, looks).build()


def generate_world(seeds) -> list[World]:
    return [generate_portal(seed) for seed in seeds]
