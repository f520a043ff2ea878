"""``govcrawl.demo.site.generate_bench_site``: the benchmark web's attachment share, its gold, its cache."""

from __future__ import annotations

import functools
import re
from collections import Counter
from pathlib import PurePosixPath

import pytest

from govcrawl.demo import site as site_module
from govcrawl.demo.site import bench_report_kinds, cached_bench_site, generate_bench_site
from govcrawl.extract import extract_document


def _kind(path: str, gold: dict) -> str:
    source = gold["source"]
    if source == path:
        return "pdf_list" if path.endswith(".pdf") else "html"
    return PurePosixPath(source).suffix.lstrip(".")


@pytest.fixture(scope="module")
def web():
    return generate_bench_site(24, n_portals=2, per_page=5, seed=3, attachment_share=0.5, pdf_fonts="mixed")


def test_share_of_attachment_reports_and_their_kinds(web):
    kinds = Counter(_kind(path, gold) for _, _, expected in web for path, gold in expected.items())
    assert kinds == {"html": 12, "pdf": 6, "docx": 3, "pdf_list": 3}
    assert Counter(bench_report_kinds(1000, 1 / 3, seed=0))["html"] == 667


def test_gold_sources_are_served_and_linked(web):
    for _, site, expected in web:
        list_hrefs = set()
        for path in site.paths():
            if re.fullmatch(r"/zfxxgk/ndbg/index(_\d+)?\.html", path):
                list_hrefs |= set(re.findall(r'href="\./([^"]+)"', site.lookup(path).body.decode("utf-8")))
        for path, gold in expected.items():
            assert path.removeprefix("/zfxxgk/ndbg/") in list_hrefs, path  # every report is on a list page
            source = site.lookup(gold["source"])
            assert source is not None, gold["source"]
            magic = {".pdf": b"%PDF-", ".docx": b"PK"}.get(PurePosixPath(gold["source"]).suffix, b"<!DOCTYPE")
            assert source.body.startswith(magic), gold["source"]
            if gold["source"] != path:  # an attachment behind a report page, in the same folder
                page = site.lookup(path).body.decode("utf-8")
                assert f'href="{PurePosixPath(gold["source"]).name}"' in page


def test_attachments_hold_the_gold_tables(web):
    for _, site, expected in web:
        for path, gold in expected.items():
            if gold["source"] == path and path.endswith(".html"):
                continue
            item = extract_document(site.lookup(gold["source"]).body, "http://127.0.0.1" + gold["source"])
            assert item["tables"] == gold["tables"], gold["source"]
            assert (item["format"], item["year"]) == (gold["format"], gold["year"]), gold["source"]


def test_pdf_fonts_embedded_named_or_mixed(web):
    """Real reports' PDFs carry subsets of their fonts; "cid" PDFs only name theirs (a reader substitutes one)."""
    pdfs = [site.lookup(gold["source"]).body for _, site, expected in web for gold in expected.values()
            if gold["source"].endswith(".pdf")]
    embedded = [b"/FontFile2" in body for body in pdfs]
    assert len(pdfs) == 9 and embedded.count(True) == 5 and embedded.count(False) == 4  # "mixed": every other one
    assert all(b"STSong-Light" in body for body, sub in zip(pdfs, embedded) if not sub)
    (_, site, expected), = generate_bench_site(6, n_portals=1, per_page=6, seed=3, attachment_share=1.0)
    assert all(b"/FontFile2" in site.lookup(gold["source"]).body
               for gold in expected.values() if gold["source"].endswith(".pdf"))  # the default: embedded
    with pytest.raises(ValueError, match="pdf_fonts"):
        generate_bench_site(2, pdf_fonts="type3")


def test_deterministic_by_seed_and_html_only_on_request():
    first, again = (generate_bench_site(8, n_portals=1, per_page=4, seed=5, attachment_share=0.25)
                    for _ in range(2))
    (_, site1, expected1), (_, site2, expected2) = first[0], again[0]
    assert expected1 == expected2
    assert {p: site1.lookup(p).body for p in site1.paths()} == {p: site2.lookup(p).body for p in site2.paths()}
    (_, site, expected), = generate_bench_site(8, n_portals=1, per_page=4, seed=5, attachment_share=0.0)
    assert all(gold["source"] == path for path, gold in expected.items())
    assert not [p for p in site.paths() if p.endswith((".pdf", ".docx"))]


def test_cached_web_is_the_built_web(tmp_path, monkeypatch):
    params = dict(n_portals=2, per_page=4, seed=1, attachment_share=0.5)
    built = cached_bench_site(8, cache_dir=tmp_path, **params)
    assert len(list(tmp_path.glob("web-8-*/web.json"))) == 1

    @functools.wraps(site_module.generate_bench_site)
    def no_building(*args, **kwargs):
        raise AssertionError("built again instead of loaded")

    monkeypatch.setattr(site_module, "generate_bench_site", no_building)
    loaded = cached_bench_site(8, cache_dir=tmp_path, seed=1, n_portals=2, per_page=4, attachment_share=0.5)
    for (name1, site1, expected1), (name2, site2, expected2) in zip(built, loaded, strict=True):
        assert (name1, expected1) == (name2, expected2)
        assert site1.paths() == site2.paths()
        for path in site1.paths():
            a, b = site1.lookup(path), site2.lookup(path)
            assert (a.body, a.headers, a.status) == (b.body, b.headers, b.status), path


def test_html_looks_mark_tables_up_as_their_editor_does_and_the_default_is_the_old_markup():
    import random as _random

    from govcrawl.demo.render import HtmlLook, random_tables, render_report_html

    tables = random_tables(_random.Random(5), "2021", blanks=True)
    page = render_report_html(tables, fmt="2021", title="某县2022年政府信息公开工作年度报告")
    assert render_report_html(tables, fmt="2021", title="某县2022年政府信息公开工作年度报告", look=HtmlLook()) == page
    marks = {"word": ("MsoNormal", "<o:p>", "supportMisalignedColumns"), "wps": ('lang="EN-US"',),
             "excel": ("<col ", "x:num"), "cms": ("word-break",)}
    for editor, expected in marks.items():
        look = HtmlLook(editor=editor, header="th", blank="&nbsp;", split_runs=True, wrap_labels=True, wrapper="div")
        marked = render_report_html(tables, fmt="2021", title="某县2022年政府信息公开工作年度报告", look=look)
        assert all(mark in marked for mark in expected) and "<thead>" in marked and "overflow-x" in marked, editor
    with pytest.raises(ValueError, match="editor"):
        HtmlLook(editor="frontpage")


def test_pdf_looks_refuse_borders_and_fills_they_cannot_draw():
    from govcrawl.demo.site import PdfLook

    for bad in ({"borders": "dotted"}, {"fills": "grey"}):
        with pytest.raises(ValueError, match="borders must be"):
            PdfLook(**bad)
