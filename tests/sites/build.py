"""Rebuild the fake government web under tests/sites/ and its expected results.

    .venv/bin/python tests/sites/build.py

Writes one directory per portal (raw bytes in their real encodings +
``manifest.json`` with headers, redirects and Hanweb jpage records) and
``expected.json``: per portal, the exact report URLs (paths) with their
tables, format, year and the document the tables come from.  The committed
files are the source of truth for the tests; this script only exists so the
web can be regenerated (it is deterministic: fixed seeds).

Portals:

* ``trs`` — 示例市人民政府, TRS WCM style, GBK bytes declared gb2312: homepage →
  政府信息公开 → 政府信息公开年报 paginated by ``createPageHTML(3, i, ...)``
  over index.html/index_1.html/index_2.html; one report linked from two list
  pages; look-alike noise; a 301 from an old report URL; a 404 link; an
  off-site link (``localhost`` instead of ``127.0.0.1``); a DOCX attachment
  report; a PDF attachment report (the real 淮安市 2024 report); one report
  and one list page served without a charset in Content-Type.
* ``hanweb`` — 示范县人民政府, Hanweb jpage: the first page's ``<datastore>``
  data island holds 4 of 11 records, the rest come from
  ``/module/web/jpage/dataproxy.jsp``; reports in Traditional characters with
  ``<ruby>`` pinyin, and in cell-per-line / pipe layouts.
* ``generic`` — 示例省教育厅, no known CMS: GBK pages declared only in
  ``<meta>`` (no charset in any Content-Type), a list paged by ``?page=N``
  with 下一页 links, one report at a query URL (``detail.jsp?id=``).
* ``jslist`` — 测试区人民政府: the report list is an empty ``<ul id="list">``
  filled by ``fetch('/api/ndbg.json')`` — only a browser sees the links.
"""

from __future__ import annotations

import json
import random
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from govcrawl.demo import render  # noqa: E402
from govcrawl.demo.server import Site  # noqa: E402
from govcrawl.demo.site import (  # noqa: E402
    ListEntry, Report, generic_portal, hanweb_portal, hanweb_record, js_list_portal, publish, save_site, text_page, trs_portal,
)

REAL = HERE.parent.parent.parent / "shared" / "real"
NOISE_TEXT = ["本文不是年度报告，只是与年度报告有关的信息。", "数据：全年主动公开信息1234条，依申请公开56件。"]


def tables(rng: random.Random, fmt: str, blanks: bool = False) -> dict:
    return render.random_tables(rng, fmt, blanks=blanks)


def build_trs(rng: random.Random) -> tuple[Site, dict]:
    site = Site()
    cs = "gb2312"
    d = "/zfxxgk/ndbg"
    meta = lambda i, day, pub: {"index_no": f"014109971/{day[:4]}-0000{i}", "publisher": pub,  # noqa: E731
                                "published_date": day, "created_date": day}
    huaian = json.loads((REAL / "huaian_2024.gold.json").read_text("utf-8"))
    reports = {
        "T1": Report(f"{d}/202401/t20240115_1001.html", "示例市人民政府2023年政府信息公开工作年度报告", 2023, "2021",
                     tables(rng, "2021"), charset=cs, meta=meta(1, "2024-01-15", "示例市人民政府办公室")),
        "T2": Report(f"{d}/202301/t20230118_1002.html", "示例市发展和改革委员会2022年政府信息公开工作年度报告", 2022,
                     "2021", tables(rng, "2021"), charset=cs, meta=meta(2, "2023-01-18", "示例市发展和改革委员会")),
        "T3": Report(f"{d}/202502/t20250210_1003.html", huaian["title"], 2024, "2021", huaian["tables"], charset=cs,
                     attachment=f"{d}/202502/P020250210384512345678.pdf",
                     attachment_body=(REAL / "huaian_2024.pdf").read_bytes()),
        "T4": Report(f"{d}/202201/t20220120_1004.html", "示例市财政局2021年政府信息公开工作年度报告", 2021, "2021",
                     tables(rng, "2021"), charset=cs, attachment=f"{d}/202201/P020220120567890123456.docx"),
        "T5": Report(f"{d}/202101/t20210125_1005.html", "示例市人民政府2020年政府信息公开工作年度报告", 2020, "2019",
                     tables(rng, "2019"), charset=cs, header_charset=None,
                     meta=meta(5, "2021-01-25", "示例市人民政府办公室")),
        "T6": Report(f"{d}/202001/t20200115_1006.html", "示例市人民政府2019年政府信息公开工作年度报告", 2019, "2019",
                     tables(rng, "2019"), charset=cs),
        "T7": Report(f"{d}/202101/t20210128_1007.html", "示例市教育局2020年政府信息公开工作年度报告", 2020, "2019",
                     tables(rng, "2019", blanks=True), charset=cs),
    }
    for r in reports.values():
        publish(site, r)
    old_t6 = f"{d}/202001/t20200110_0999.html"
    site.redirect(old_t6, reports["T6"].path, 301)
    missing = f"{d}/202101/t20210120_1404.html"
    offsite = "/offsite/202401/t20240120_9001.html"
    publish(site, Report(offsite, "示例市水利局2023年政府信息公开工作年度报告", 2023, "2021", tables(rng, "2021"),
                         charset=cs))
    noise = {
        f"{d}/202401/t20240116_1101.html": "示例市人民政府2023年政府信息公开工作年度报告解读",
        f"{d}/202401/t20240117_1102.html": "图解：示例市2023年政府信息公开工作年报",
        f"{d}/202406/t20240620_1103.html": "示例市2023年部门决算",
        f"{d}/202404/t20240410_1104.html": "示例市2024年政务公开工作要点",
        f"{d}/202312/t20231201_1105.html": "关于报送2023年度政府信息公开工作年度报告的通知",
    }
    for path, title in noise.items():
        text_page(site, path, title, NOISE_TEXT, charset=cs)

    def entry(path: str, title: str, date: str) -> ListEntry:
        # TRS writes links relative to the list page.
        return ListEntry(title, "." + path.removeprefix(d) if path.startswith(d + "/") else path, date)

    R = reports
    n = list(noise.items())
    pages = [
        [entry(R["T3"].path, R["T3"].title, "2025-02-10"), entry(*n[3], "2024-04-10"),
         entry(R["T1"].path, R["T1"].title, "2024-01-15"), entry(*n[0], "2024-01-16"), entry(*n[1], "2024-01-17"),
         entry(R["T2"].path, R["T2"].title, "2023-01-18")],
        [entry(*n[4], "2023-12-01"), entry(R["T1"].path, R["T1"].title, "2024-01-15"),
         entry(R["T4"].path, R["T4"].title, "2022-01-20"), entry(*n[2], "2024-06-20"),
         entry(R["T5"].path, R["T5"].title, "2021-01-25")],
        [entry(R["T7"].path, R["T7"].title, "2021-01-28"),
         entry(missing, "示例市统计局2020年政府信息公开工作年度报告", "2021-01-20"),
         ListEntry("示例市水利局2023年政府信息公开工作年度报告", f"http://localhost:@@PORT@@{offsite}", "2024-01-20"),
         entry(old_t6, R["T6"].title, "2020-01-10")],
    ]
    list_paths = trs_portal(site, site_title="示例市人民政府", pages=pages, charset=cs,
                            header_charsets={f"{d}/index_2.html": None})
    expected = {
        "name": "示例市人民政府", "render": 0, "start": "/",
        "reports": {r.path: r.expected() for r in reports.values()},
        "absent": sorted([old_t6, missing, *noise]),
        "offsite": [offsite],
        "must_request": list_paths,
    }
    return site, expected


def build_hanweb(rng: random.Random) -> tuple[Site, dict]:
    site = Site()
    meta = {"index_no": "11320800MB1234567X/2024-00012", "publisher": "示范县人民政府办公室",
            "published_date": "2024-01-20", "created_date": "2024-01-19"}
    R = {
        "H1": Report("/art/2024/1/20/art_1234_3001.html", "示范县人民政府2023年政府信息公开工作年度报告", 2023, "2021",
                     tables(rng, "2021"), meta=meta, traditional=True),
        "H2": Report("/art/2023/1/16/art_1234_3002.html", "示范县教育局2022年政府信息公开工作年度报告", 2022, "2021",
                     tables(rng, "2021"), layout="cell_per_line"),
        "H3": Report("/art/2022/1/25/art_1234_3003.html", "示范县财政局2021年政府信息公开工作年度报告", 2021, "2021",
                     tables(rng, "2021"), layout="pipe"),
        "H4": Report("/art/2021/1/22/art_1234_3004.html", "示范县卫生健康局2020年政府信息公开工作年度报告", 2020, "2019",
                     tables(rng, "2019"), traditional=True),
        "H5": Report("/art/2020/1/19/art_1234_3005.html", "示范县交通运输局2019年政府信息公开工作年度报告", 2019, "2019",
                     tables(rng, "2019")),
        "H6": Report("/art/2023/2/1/art_1234_3006.html", "示范县人民政府2022年政府信息公开工作年度报告", 2022, "2021",
                     tables(rng, "2021"), layout="cell_per_line_spaced"),
    }
    for r in R.values():
        publish(site, r)
    noise = {
        "/art/2024/1/18/art_1234_3101.html": "示范县召开2024年政务公开工作会议",
        "/art/2024/1/21/art_1234_3102.html": "示范县2023年政府信息公开工作年度报告解读",
        "/art/2023/1/17/art_1234_3103.html": "图解：示范县2022年政府信息公开工作年报",
        "/art/2021/12/1/art_1234_3104.html": "关于做好2021年度政府信息公开工作年度报告编制发布工作的通知",
        "/art/2020/9/1/art_1234_3105.html": "示范县2020年部门决算公开",
    }
    for path, title in noise.items():
        text_page(site, path, title, NOISE_TEXT)
    n = list(noise)
    order = [("H1", R["H1"]), n[0], n[1], ("H2", R["H2"]), ("H3", R["H3"]), n[2], ("H4", R["H4"]), n[3],
             ("H5", R["H5"]), n[4], ("H6", R["H6"])]
    records = []
    for item in order:
        if isinstance(item, tuple):
            r = item[1]
            records.append(hanweb_record(r.path, r.title, f"{r.year + 1}-01-20"))
        else:
            records.append(hanweb_record(item, noise[item], "2024-01-01"))
    col = hanweb_portal(site, site_title="示范县人民政府", records=records, perpage=4, first=4)
    expected = {
        "name": "示范县人民政府", "render": 0, "start": "/",
        "reports": {r.path: r.expected() for r in R.values()},
        "absent": sorted(noise),
        "offsite": [],
        "must_request": [col, "/module/web/jpage/dataproxy.jsp"],
        # Records 5..11 exist only behind dataproxy.jsp.
        "behind_dataproxy": [R[k].path for k in ("H3", "H4", "H5", "H6")],
    }
    return site, expected


def build_jslist(rng: random.Random) -> tuple[Site, dict]:
    site = Site()
    R = {
        "J1": Report("/xxgk/ndbg/202401/t20240112_5001.html", "测试区人民政府2023年政府信息公开工作年度报告", 2023,
                     "2021", tables(rng, "2021")),
        "J2": Report("/xxgk/ndbg/202301/t20230110_5002.html", "测试区人民政府2022年政府信息公开工作年度报告", 2022,
                     "2021", tables(rng, "2021")),
    }
    for r in R.values():
        publish(site, r)
    noise_path = "/xxgk/ndbg/202401/t20240113_5101.html"
    text_page(site, noise_path, "测试区2023年政府信息公开工作年度报告解读", NOISE_TEXT)
    entries = [ListEntry(R["J1"].title, R["J1"].path, "2024-01-12"),
               ListEntry("测试区2023年政府信息公开工作年度报告解读", noise_path, "2024-01-13"),
               ListEntry(R["J2"].title, R["J2"].path, "2023-01-10")]
    col = js_list_portal(site, site_title="测试区人民政府", entries=entries)
    expected = {
        "name": "测试区人民政府", "render": 1, "start": "/",
        "reports": {r.path: r.expected() for r in R.values()},
        "absent": [noise_path],
        "offsite": [],
        "must_request": [col, "/api/ndbg.json"],
    }
    return site, expected


def build_generic(rng: random.Random) -> tuple[Site, dict]:
    site = Site()
    cs = "gbk"
    R = {
        "G1": Report("/xxgk/ndbg/content/2024-01/20/1001.html", "示例省教育厅2023年政府信息公开工作年度报告", 2023,
                     "2021", tables(rng, "2021"), charset=cs, header_charset=None),
        "G2": Report("/xxgk/ndbg/detail.jsp?id=1002", "示例省教育厅2022年政府信息公开工作年度报告", 2022, "2021",
                     tables(rng, "2021"), charset=cs, header_charset=None, layout="pipe"),
        "G3": Report("/xxgk/ndbg/content/2020-01/15/1003.html", "示例省教育厅2019年政府信息公开工作年度报告", 2019,
                     "2019", tables(rng, "2019", blanks=True), charset=cs, header_charset=None),
    }
    for r in R.values():
        publish(site, r)
    noise = "/xxgk/ndbg/detail.jsp?id=1101"
    text_page(site, noise, "示例省2023年教育统计公报", NOISE_TEXT, charset=cs, header_charset=None)
    e = lambda r, d: ListEntry(r.title, r.path, d)  # noqa: E731
    pages = [[e(R["G1"], "2024-01-20")],
             [ListEntry("示例省2023年教育统计公报", noise, "2024-03-01"), e(R["G2"], "2023-01-18")],
             [e(R["G3"], "2020-01-15")]]
    list_paths = generic_portal(site, site_title="示例省教育厅", pages=pages, charset=cs, header_charset=None)
    expected = {
        "name": "示例省教育厅", "render": 0, "start": "/",
        "reports": {r.path: r.expected() for r in R.values()},
        "absent": [noise],
        "offsite": [],
        "must_request": list_paths,
    }
    return site, expected


def main() -> None:
    expected = {}
    # (directory, builder, seed, the Content-Type most .html files are served with)
    for name, builder, seed, html_type in (
            ("trs", build_trs, 1, "text/html; charset=gb2312"), ("hanweb", build_hanweb, 2, "text/html; charset=utf-8"),
            ("jslist", build_jslist, 3, "text/html; charset=utf-8"), ("generic", build_generic, 4, "text/html")):
        site, exp = builder(random.Random(seed))
        target = HERE / name
        if target.exists():
            shutil.rmtree(target)
        save_site(site, target, content_types={".html": html_type})
        expected[name] = exp
    (HERE / "expected.json").write_text(json.dumps(expected, ensure_ascii=False, indent=1) + "\n", "utf-8")
    print("wrote", ", ".join(expected), "and expected.json under", HERE)


if __name__ == "__main__":
    main()
