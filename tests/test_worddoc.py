"""Legacy Word 97–2003 documents (``.doc``): tables read as a DOCX's are, from files an independent writer made.

The documents come from the seeded generators (random tables of both templates,
blank cells, merged cells), saved as DOCX in several looks and converted to
``.doc`` by LibreOffice; then taken apart and written again as Word's fast
saves leave them (``govcrawl.demo.word97.rebuild``).
"""

from __future__ import annotations

import io
import quopri
import random
import re
import struct

import docx
import pytest
from docx.oxml import OxmlElement
from docx.oxml.ns import qn

from govcrawl.demo import render
from govcrawl.demo.render import HtmlLook, random_tables, render_report_html
from govcrawl.demo.site import docx_report, docx_sections
from govcrawl.extract import extract_document, worddoc
from govcrawl.extract.attachments import layout_from_doc, layout_from_docx, sniff_kind
from govcrawl.extract.rtf import layout_from_rtf
from govcrawl.demo import word97 as word97_files
from tests.test_attachments import _edited_docx


def _field(paragraph, code: str, result: str) -> None:
    """A Word field (``{ code }`` showing ``result``) at the end of the paragraph."""
    for kind in ("begin", "instr", "separate", "result", "end"):
        if kind == "result":
            paragraph.add_run(result)
            continue
        run = paragraph.add_run()
        if kind == "instr":
            element = OxmlElement("w:instrText")
            element.set(qn("xml:space"), "preserve")
            element.text = code
        else:
            element = OxmlElement("w:fldChar")
            element.set(qn("w:fldCharType"), kind)
        run._r.append(element)


def _nested_docx(tables: dict, fmt: str, title: str) -> bytes:
    """The report inside a one-cell layout table, under a title, an index number in a hyperlink and a PAGE field."""
    document = docx.Document()
    document.add_heading(title, level=1)
    _field(document.add_paragraph("索引号:"), ' HYPERLINK "http://127.0.0.1/1" ', "11320000-2023-001")
    page = document.add_paragraph("第")
    _field(page, " PAGE ", "1")
    page.add_run("页")
    outer = document.add_table(rows=1, cols=1)
    cell = outer.cell(0, 0)
    cell.paragraphs[0].text = "一、总体情况"
    cell.add_paragraph(render.INTRO)
    docx_sections(cell, tables, fmt)
    cell.add_paragraph("")  # a cell ends with a paragraph, not a table
    document.add_paragraph("五、存在的主要问题及改进情况")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


LOOKS = ("plain", "edited", "nested")
CASES = [(seed, LOOKS[seed % 3]) for seed in range(9)]


def _case_docx() -> tuple[list[bytes], list[dict]]:
    """For each case: the DOCX, and the tables it holds."""
    bodies, golds = [], []
    for seed, look in CASES:
        rng = random.Random(f"word97-{seed}")
        # Nested: the 2021 template only (LibreOffice takes ~50 s to lay the 2019 one out in a cell).
        fmt = "2021" if seed % 2 or look == "nested" else "2019"
        tables = random_tables(rng, fmt, blanks=seed % 4 != 0)
        title = f"某县{seed}局2023年政府信息公开工作年度报告"
        if look == "plain":
            bodies.append(docx_report(tables, fmt=fmt, title=title))
        elif look == "edited":
            bodies.append(_edited_docx(tables, fmt, rng))
        else:
            bodies.append(_nested_docx(tables, fmt, title))
        golds.append(tables)
    return bodies, golds


@pytest.fixture(scope="module")
def word97_docs():
    """For each case: (the .doc LibreOffice wrote, the tables it holds, the DOCX it was made from)."""
    bodies, golds = _case_docx()
    return list(zip(word97_files.soffice_docs(bodies), golds, bodies))


@pytest.fixture(scope="module")
def rtf_docs():
    """For each case: (the RTF LibreOffice wrote, the tables it holds)."""
    bodies, golds = _case_docx()
    return list(zip(word97_files.soffice_convert(bodies, "rtf", "rtf"), golds))


@pytest.mark.parametrize("case", range(len(CASES)), ids=[f"{look}-{seed}" for seed, look in CASES])
def test_word97_document_reads_its_tables(word97_docs, case):
    body, tables, _ = word97_docs[case]
    seed, look = CASES[case]
    assert sniff_kind(body, None, "http://127.0.0.1/r.doc") == "doc"
    paragraphs, _ = worddoc._read(body)
    # The file shows what the case is about, so that a change of writer cannot make it pass vacuously.
    assert any(p.row_end and any(p.merged) for p in paragraphs)  # merged cells
    if look == "edited":
        word = word97_files.streams(body)["WordDocument"]
        assert "9" in word.decode("utf-16-le", errors="ignore")
        ccp, _, _, (fc, lcb) = worddoc._fib(word)
        assert worddoc._deleted_runs(word97_files.streams(body)["1Table"][fc:fc + lcb], word)  # tracked deletions
    if look == "nested":
        assert max(p.depth for p in paragraphs) == 2
    item = extract_document(body, "http://127.0.0.1/r.doc")
    assert item["provenance"]["reader"] == "doc"
    assert item["tables"] == tables
    assert item["warnings"] == []
    if look == "nested":  # field results kept, field codes dropped
        assert item["provenance"]["index_no"] == "11320000-2023-001"
        assert "HYPERLINK" not in " ".join(layout_from_doc(body).lines)
        assert "第1页" in layout_from_doc(body).lines


@pytest.mark.parametrize("case", [0, 1, 3, 4])  # plain and edited: a nested table is a leaf grid here, one cell in a DOCX
def test_word97_layout_is_the_docx_layout(word97_docs, case):
    """Merged cells once, cells of several paragraphs joined, text and tables in order: as from the DOCX."""
    body, _, docx_body = word97_docs[case]
    tokens = layout_from_doc(body).tokens
    # The title and the intro come before the first table; 五 after the last.
    first, second = tokens.index("一、总体情况"), tokens.index("二、主动公开政府信息情况")
    assert first < second < tokens.index("信息内容")
    assert tokens.index("五、存在的主要问题及改进情况") > tokens.index("四、政府信息公开行政复议、行政诉讼情况")
    assert tokens == layout_from_docx(docx_body).tokens


@pytest.mark.parametrize("mutation", range(2))
def test_word97_fast_saved_pieces_read_the_same(word97_docs, mutation):
    """Text in many pieces, some moved to the end of the stream, some 8-bit: the same tables."""
    compressed = moved = 0
    for case, (body, tables, _) in enumerate(word97_docs):
        rebuilt = word97_files.rebuild(body, random.Random(f"rebuild-{mutation}-{case}"))
        parts = word97_files.streams(rebuilt)
        word = parts["WordDocument"]
        ccp, (fc, lcb), _, _ = worddoc._fib(word)
        clx = parts["1Table"][fc:fc + lcb]
        assert clx[0] == 0x01  # a property block before the piece table
        pieces = worddoc._pieces(clx, word, ccp)
        assert len(pieces) > 5
        compressed += sum(piece.width == 1 for piece in pieces)
        moved += sum(piece.fc > pieces[-1].fc for piece in pieces)
        item = extract_document(rebuilt, "http://127.0.0.1/r.doc")
        assert item["tables"] == tables and item["warnings"] == [], case
    assert compressed and moved


def _with_word_stream(body: bytes, change) -> bytes:
    parts = word97_files.streams(body)
    word = bytearray(parts["WordDocument"])
    change(word)
    parts["WordDocument"] = bytes(word)
    return word97_files.compound_file(parts)


@pytest.mark.parametrize("damage, reason", [
    (lambda w: struct.pack_into("<H", w, 10, struct.unpack_from("<H", w, 10)[0] | 0x0100), "encrypted"),
    (lambda w: struct.pack_into("<H", w, 0, 0x1234), "File Information Block"),
    (lambda w: struct.pack_into("<H", w, 2, 0x0068), "Word 6/95"),
    (lambda w: struct.pack_into("<H", w, 152, 20), "too short"),  # a FIB cut short
    (lambda w: struct.pack_into("<H", w, 10, struct.unpack_from("<H", w, 10)[0] & ~0x0200), "0Table"),
])
def test_word97_file_it_cannot_follow_falls_back_to_text_runs_with_a_warning(word97_docs, damage, reason):
    body = word97_docs[0][0]
    layout = layout_from_doc(_with_word_stream(body, damage))
    assert len(layout.warnings) == 1
    assert reason in layout.warnings[0] and "table structure lost" in layout.warnings[0]
    assert "一、总体情况" in layout.lines  # its text is still read


def test_not_a_compound_file_is_a_warning_never_an_error():
    body = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + "某县2023年政府信息公开工作年度报告\r".encode("utf-16-le")
    item = extract_document(body, "http://127.0.0.1/r.doc")
    assert item["tables"] == {} and item["provenance"]["reader"] is None  # no tables: no reader (the spec)
    assert "not a readable OLE2 file" in item["warnings"][0]
    assert item["title"] == "某县2023年政府信息公开工作年度报告"  # its text runs still read


def test_compound_file_without_a_word_stream_is_a_warning():
    body = word97_files.compound_file({"Workbook": b"\x09\x08" + b"\x00" * 100})
    layout = layout_from_doc(body)
    assert "no WordDocument stream" in layout.warnings[0]


def test_crawl_reads_doc_attachments_linked_from_a_page_and_from_the_list(word97_docs, rtf_docs, serve_site,
                                                                         run_crawl, tmp_path):
    """``scrapy crawl portals``: a .doc behind a report page's 附件 link, and ones linked straight from the list:
    Word 97, RTF and a web page, each named .doc."""
    from govcrawl.demo.server import Site

    html = {"Content-Type": "text/html; charset=utf-8"}
    page = "<html><head><title>{0}</title></head><body><h1>{0}</h1>{1}</body></html>".format
    (first, first_tables, _), (second, second_tables, _) = word97_docs[0], word97_docs[3]
    site = Site()
    site.add("/index.html", page("某县人民政府", '<a href="/nb/index.html">政府信息公开年报</a>'), html)
    site.add("/nb/index.html", page("政府信息公开年报", (
        '<ul><li><a href="a.html">某县财政局2023年政府信息公开工作年度报告</a></li>'
        '<li><a href="/files/b.doc">某县教育局2023年政府信息公开工作年度报告</a></li>'
        '<li><a href="/files/c.doc">某县卫健委2023年政府信息公开工作年度报告</a></li>'
        '<li><a href="/files/d.doc">某县民政局2023年政府信息公开工作年度报告</a></li>'
        '<li><a href="e.html">某县水利局2023年政府信息公开工作年度报告</a></li></ul>')), html)
    site.add("/nb/a.html", page("某县财政局2023年政府信息公开工作年度报告",
                                '<p>附件：<a href="/files/a.doc">某县财政局2023年年报.doc</a></p>'), html)
    # The page's only link reads "(正文)": the URL alone says it is a file.
    site.add("/nb/e.html", page("某县水利局2023年政府信息公开工作年度报告", '<p><a href="/files/e.rtf">(正文)</a></p>'), html)
    site.add("/files/a.doc", first, {"Content-Type": "application/msword"})
    site.add("/files/b.doc", second, {"Content-Type": "application/octet-stream"})
    rtf, rtf_tables = rtf_docs[1]
    site.add("/files/c.doc", rtf, {"Content-Type": "application/msword"})
    other_rtf, other_rtf_tables = rtf_docs[6]  # another report: the same bytes or title twice would be one
    site.add("/files/e.rtf", other_rtf, {"Content-Type": "text/rtf"})
    web_tables = random_tables(random.Random("crawl-web-doc"), "2021", blanks=True)
    web = render_report_html(web_tables, fmt="2021", title="某县民政局2023年政府信息公开工作年度报告")
    site.add("/files/d.doc", web.encode("utf-8"), {"Content-Type": "application/msword"})
    srv = serve_site(site)
    result = run_crawl([{"name": "某县", "url": srv.url("/index.html")}], tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    by_source = {item["provenance"]["source_url"].rsplit("/", 1)[-1]: item for item in result.items}
    assert set(by_source) == {"a.doc", "b.doc", "c.doc", "d.doc", "e.rtf"}
    assert by_source["a.doc"]["url"].endswith("/nb/a.html")  # the report page, the attachment in source_url
    for name, tables, reader in (("a.doc", first_tables, "doc"), ("b.doc", second_tables, "doc"),
                                 ("c.doc", rtf_tables, "doc"), ("d.doc", web_tables, "html"),
                                 ("e.rtf", other_rtf_tables, "doc")):
        item = by_source[name]
        assert item["provenance"]["reader"] == reader and item["warnings"] == [], name
        assert item["tables"] == tables, name


def test_field_codes_are_dropped_and_results_kept_nested_fields_included():
    text = ("索引号：\x13 HYPERLINK \"x\" \x14001\x15；"
            "第\x13 PAGE \x14\x13 SEQ \x142\x15\x15页；"  # a field in a field's result: shown
            "\x13 IF \x13 DATE \x142023\x15 = 1 \x14是\x15。\r")  # a field in a field's code: code
    paragraphs = worddoc._paragraphs([worddoc._Piece(0, text, 0, 2)], ([], []))
    assert [p.text for p in paragraphs] == ["索引号：001；第2页；是。"]



# --------------------------------------------------------------------------- other things posted as .doc


def _in_code_page(rtf: bytes) -> bytes:
    """The RTF as older Word writes Chinese: each character as its GBK bytes (\\'hh) under \\ansicpg936."""
    def gbk(match: re.Match) -> bytes:
        code = int(match.group(1))
        code += 65536 if code < 0 else 0
        try:
            return b"".join(b"\\'%02x" % byte for byte in chr(code).encode("gbk"))
        except UnicodeEncodeError:
            return match.group(0)

    body = re.sub(rb"\\u(-?\d+) ?\\'3f", gbk, rtf)
    return body.replace(b"\\ansi", b"\\ansi\\ansicpg936", 1)


@pytest.mark.parametrize("case", range(len(CASES)), ids=[f"{look}-{seed}" for seed, look in CASES])
@pytest.mark.parametrize("encoding", ["unicode", "gbk"])
def test_rtf_posted_as_doc_reads_its_tables(rtf_docs, case, encoding):
    """Report tools "export to Word" as RTF: tables, merges, nesting, tracked deletions, fields, both encodings."""
    body, tables = rtf_docs[case]
    seed, look = CASES[case]
    assert body.startswith(b"{\\rtf")
    assert b"\\clvmrg" in body  # merged cells
    if look == "edited":
        assert b"\\deleted" in body
    if look == "nested":
        assert b"\\nestcell" in body and b"\\nesttableprops" in body
    if encoding == "gbk":
        body = _in_code_page(body)
        assert b"\\ansicpg936" in body and b"\\'" in body
        assert not re.search(rb"\\u(2[0-9]{4}|3[0-9]{4}|-[0-9]+) ?\\'3f", body)  # the Chinese is in bytes now
    assert sniff_kind(body, "application/msword", "http://127.0.0.1/r.doc") == "rtf"
    item = extract_document(body, "http://127.0.0.1/r.doc", {"Content-Type": "application/msword"})
    assert item["provenance"]["reader"] == "doc"
    assert item["tables"] == tables
    assert item["warnings"] == []
    if look == "nested":
        assert item["provenance"]["index_no"] == "11320000-2023-001"
        assert "HYPERLINK" not in " ".join(layout_from_rtf(body).lines)


def _mht(html: str, charset: str = "gb2312") -> bytes:
    """A report page saved as a single-file web page (.mht), the HTML quoted-printable in ``charset``."""
    from email.mime.image import MIMEImage
    from email.mime.multipart import MIMEMultipart
    from email.mime.text import MIMEText

    message = MIMEMultipart("related")
    part = MIMEText(html, "html", charset)
    del part["Content-Transfer-Encoding"]
    part.set_payload(quopri.encodestring(html.encode(charset, errors="xmlcharrefreplace")).decode("ascii"))
    part["Content-Transfer-Encoding"] = "quoted-printable"
    part["Content-Location"] = "file:///C:/report.htm"
    message.attach(part)
    image = MIMEImage(b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "gif")
    image["Content-Location"] = "file:///C:/report_files/image001.gif"
    message.attach(image)
    return message.as_bytes()


@pytest.mark.parametrize("seed", range(3))
def test_web_pages_posted_as_doc_read_as_html(seed):
    """A system's "export to Word" that sends HTML as application/msword, and Word's single-file web page (.mht)."""
    rng = random.Random(f"html-doc-{seed}")
    fmt = "2021" if seed % 2 else "2019"
    tables = random_tables(rng, fmt, blanks=True)
    html = render_report_html(tables, fmt=fmt, title=f"某县{seed}局2023年政府信息公开工作年度报告",
                              look=HtmlLook.random(rng))
    word_html = html.encode("gbk", errors="xmlcharrefreplace")
    assert sniff_kind(word_html, "application/msword", "http://127.0.0.1/r.doc") == "html"
    item = extract_document(word_html, "http://127.0.0.1/r.doc", {"Content-Type": "application/msword"})
    assert (item["provenance"]["reader"], item["tables"]) == ("html", tables)

    mht = _mht(html)
    assert sniff_kind(mht, "application/msword", "http://127.0.0.1/r.doc") == "mht"
    item = extract_document(mht, "http://127.0.0.1/r.doc", {"Content-Type": "application/msword"})
    assert (item["provenance"]["reader"], item["tables"]) == ("html", tables)
    assert item["provenance"]["encoding"] in ("gb2312", "gbk", "gb18030")
    assert item["title"] == f"某县{seed}局2023年政府信息公开工作年度报告"


def test_mht_without_a_web_page_is_a_warning():
    from email.mime.multipart import MIMEMultipart
    from email.mime.text import MIMEText

    message = MIMEMultipart("related")
    message.attach(MIMEText("某县2023年政府信息公开工作年度报告", "plain", "utf-8"))
    item = extract_document(message.as_bytes(), "http://127.0.0.1/r.mht")
    assert item["tables"] == {} and any("no HTML part" in w for w in item["warnings"])


@pytest.mark.parametrize("rtf, text", [
    (rb"{\rtf1\ansi{\fonttbl{\f1\fcharset134 SimSun;}}\f1 \'c4\'b3\'cf\'d8\par}", "某县"),  # the font's code page
    (rb"{\rtf1\ansi\ansicpg936{\fonttbl{\f0\fcharset0 Arial;}}\f0 \'c4\'b3\par}", "某"),  # ANSI: the document's
    (rb"{\rtf1\ansi\uc2 \u26576\'c4\'b3\u21439 ??\par}", "某县"),  # \uN with 2 fallback characters
    (rb"{\rtf1\ansi{\*\generator x;}{\info{\title t}}a{\*\unknown b}c\~d\par}", "ac\u00a0d"),
    (b"{\\rtf1\\ansi\\ansicpg936{\\listtext\\pard\\plain \\'d2\\'bb\\'a1\\'a2\\tab}\\'d7\\'dc\\par}", "一、 总"),  # a list's number
])
def test_rtf_characters(rtf, text):
    assert layout_from_rtf(rtf).lines == [" ".join(text.split()) or text]


def test_characters_beyond_the_bmp_in_word_and_rtf():
    """𠮷 (U+20BB7) is two UTF-16 positions: the piece keeps its length, the paragraph gets the character."""
    text = "吉𠮷县2023年\r"
    raw = text.encode("utf-16-le")
    units = len(raw) // 2
    plc = struct.pack("<2i", 0, units) + struct.pack("<HIH", 0, 0, 0)
    clx = b"\x02" + struct.pack("<I", len(plc)) + plc
    pieces = worddoc._pieces(clx, raw, units)
    assert len(pieces[0].text) == units
    assert [p.text for p in worddoc._paragraphs(pieces, ([], []))] == ["吉𠮷县2023年"]
    assert layout_from_rtf(rb"{\rtf1\ansi\uc1\u21513?\u-10174?\u-8265?\par}").lines == ["吉𠮷"]
    assert layout_from_rtf(rb"{\rtf1\ansi\u-99999?\u99999999?x\par}").lines == ["x"]


def test_rtf_binary_data_is_skipped_whatever_bytes_it_holds():
    data = b"\x00{{\\par}\xff"
    rtf = b"{\\rtf1\\ansi a{\\pict\\bin" + str(len(data)).encode() + b" " + data + b"}b\\par c\\par}"
    assert layout_from_rtf(rtf).lines == ["ab", "c"]


def test_plain_text_posted_as_doc_reads_as_text():
    from govcrawl.demo.render import render_report_text

    tables = random_tables(random.Random("text-doc"), "2021", blanks=True)
    body = render_report_text(tables, fmt="2021", title="某县2023年政府信息公开工作年度报告",
                              layout="cell_per_line").encode("gbk")
    assert sniff_kind(body, "application/msword", "http://127.0.0.1/r.doc") == "text"
    item = extract_document(body, "http://127.0.0.1/r.doc", {"Content-Type": "application/msword"})
    assert (item["provenance"]["reader"], item["tables"]) == ("text", tables)
