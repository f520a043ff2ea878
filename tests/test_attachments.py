"""Attachments: sniffing the kind from bytes, and Word table grids with merged cells."""

from __future__ import annotations

import io
import random
import re
import zipfile

import pytest

from govcrawl.extract.attachments import layout_from_docx, sniff_kind
from govcrawl.extract.layout import ROW_END


@pytest.mark.parametrize(
    "body, ctype, url, kind",
    [
        (b"%PDF-1.7\n...", None, "http://x/a.html", "pdf"),  # bytes beat the name
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1rest", None, "http://x/a", "doc"),
        (b"<html><body>x</body></html>", "application/octet-stream", "http://x/a.pdf", "pdf"),
        (b"<!DOCTYPE html><html>", None, "http://x/a", "html"),
        (b"\xe4\xb8\x80\xe3\x80\x81\xe6\x80\xbb\xe4\xbd\x93", "text/plain", "http://x/a.txt", "text"),
        (b"PK\x03\x04not a zip", None, "http://x/a.zip", "binary"),
    ],
)
def test_sniff_kind(body, ctype, url, kind):
    assert sniff_kind(body, ctype, url) == kind


def test_docx_merged_cells_appear_once_and_paragraphs_stay_in_order():
    import docx

    document = docx.Document()
    document.add_paragraph("二、主动公开政府信息情况")
    table = document.add_table(rows=3, cols=3)
    table.cell(0, 0).merge(table.cell(0, 2)).text = "第二十条第(五)项"
    table.cell(1, 0).text = "信息内容"
    table.cell(1, 1).merge(table.cell(1, 2)).text = "本年处理决定数量"
    table.cell(2, 0).text = "行政许可"
    table.cell(2, 1).merge(table.cell(2, 2)).text = "550"
    document.add_paragraph("三、收到和处理政府信息公开申请情况")
    out = io.BytesIO()
    document.save(out)
    layout = layout_from_docx(out.getvalue())
    assert layout.tokens == [
        "二、主动公开政府信息情况",
        "第二十条第(五)项", ROW_END,
        "信息内容", "本年处理决定数量", ROW_END,
        "行政许可", "550", ROW_END,
        "三、收到和处理政府信息公开申请情况",
    ]


def test_broken_docx_is_a_warning():
    layout = layout_from_docx(b"PK\x03\x04" + b"\x00" * 100)
    assert layout.tokens == [] and "DOCX could not be opened" in layout.warnings[0]


def _rewrite_document_xml(body: bytes, rewrite) -> bytes:
    """The DOCX with ``word/document.xml`` passed through ``rewrite`` (str → str), every other part as it was."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(body)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "word/document.xml":
                data = rewrite(data.decode("utf-8")).encode("utf-8")
            target.writestr(info, data)
    return out.getvalue()


TITLE = "某县人民政府2022年政府信息公开工作年度报告"
_MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"


def _in_content_control(xml: str) -> str:
    """Word's content controls around the first table (block level) and around every cell of the others."""
    start, end = xml.index("<w:tbl>"), xml.index("</w:tbl>") + len("</w:tbl>")
    first = '<w:sdt><w:sdtPr><w:alias w:val="表一"/></w:sdtPr><w:sdtContent>' + xml[start:end] + "</w:sdtContent></w:sdt>"
    rest = re.sub(r"<w:tc>.*?</w:tc>", lambda m: "<w:sdt><w:sdtPr/><w:sdtContent>" + m.group() + "</w:sdtContent></w:sdt>",
                  xml[end:])
    return xml[:start] + first + rest


def _title_in_a_text_box(xml: str) -> str:
    """The title paragraph's run replaced by a text box holding it, with the VML fallback Word writes beside it."""
    box = f"<w:txbxContent><w:p><w:r><w:t>{TITLE}</w:t></w:r></w:p></w:txbxContent>"
    run = (f'<w:r><mc:AlternateContent xmlns:mc="{_MC}"><mc:Choice Requires="wps"><w:drawing>{box}</w:drawing>'
           f"</mc:Choice><mc:Fallback><w:pict>{box}</w:pict></mc:Fallback></mc:AlternateContent></w:r>")
    assert f"<w:r><w:t>{TITLE}</w:t></w:r>" in xml
    return xml.replace(f"<w:r><w:t>{TITLE}</w:t></w:r>", run, 1)


def _table_in_a_text_box(xml: str) -> str:
    """The first table moved into a text box of a paragraph of its own (with Word's VML fallback beside it)."""
    start, end = xml.index("<w:tbl>"), xml.index("</w:tbl>") + len("</w:tbl>")
    box = f"<w:txbxContent>{xml[start:end]}<w:p/></w:txbxContent>"
    paragraph = (f'<w:p><w:r><mc:AlternateContent xmlns:mc="{_MC}"><mc:Choice Requires="wps"><w:drawing>{box}'
                 f"</w:drawing></mc:Choice><mc:Fallback><w:pict>{box}</w:pict></mc:Fallback></mc:AlternateContent></w:r></w:p>")
    return xml[:start] + paragraph + xml[end:]


def _table_in_a_text_box_in_a_content_control(xml: str) -> str:
    """The paragraph holding the table's text box, itself inside a block-level content control."""
    boxed = _table_in_a_text_box(xml)
    start = boxed.index('<w:p><w:r><mc:AlternateContent')
    end = boxed.index("</mc:AlternateContent></w:r></w:p>", start) + len("</mc:AlternateContent></w:r></w:p>")
    return boxed[:start] + "<w:sdt><w:sdtPr/><w:sdtContent>" + boxed[start:end] + "</w:sdtContent></w:sdt>" + boxed[end:]


@pytest.mark.parametrize("wrap", [_in_content_control, _title_in_a_text_box, _table_in_a_text_box,
                                  _table_in_a_text_box_in_a_content_control])
def test_docx_content_in_content_controls_and_text_boxes_reads_as_plain(wrap):
    """A table (or its cells) in content controls reads as if they were not there; a text box's text counts once,
    and a table in a text box is a table."""
    from govcrawl.demo.render import random_tables
    from govcrawl.demo.site import docx_report
    from govcrawl.extract import extract_document

    tables = random_tables(random.Random(5), "2021", blanks=True)
    plain = docx_report(tables, fmt="2021", title=TITLE)
    wrapped = _rewrite_document_xml(plain, wrap)
    assert wrapped != plain
    assert layout_from_docx(wrapped).tokens == layout_from_docx(plain).tokens
    item = extract_document(wrapped, "http://127.0.0.1/r.docx")
    assert item["tables"] == tables and item["title"] == TITLE and item["warnings"] == []


def _edited_docx(tables: dict, fmt: str, rng: random.Random) -> bytes:
    """The report as Word leaves it after editing: runs cut anywhere, spell-check marks between them, tracked
    insertions around runs and tracked deletions of numbers beside them, long labels broken by a line break or
    into two paragraphs, blank cells holding "-" or a space."""
    import docx
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    from govcrawl.demo import render

    def marked(tag: str) -> object:
        element = OxmlElement(tag)
        element.set(qn("w:id"), str(rng.randrange(1000)))
        element.set(qn("w:author"), "审核")
        return element

    document = docx.Document()
    document.add_heading(TITLE, level=1)
    document.add_paragraph("一、总体情况")
    document.add_paragraph(render.INTRO)
    blank = rng.choice(["-", " ", "/"])
    for key, grid in render.grids(tables, fmt).items():
        document.add_paragraph(render.T.SECTION_TITLES[key])
        placed, n_rows, n_cols = render.place(grid)
        table = document.add_table(rows=n_rows, cols=n_cols)
        cells = table._cells
        for r, c, rowspan, colspan, text in placed:
            cell = cells[r * n_cols + c]
            if rowspan > 1 or colspan > 1:
                cell = cell.merge(cells[(r + rowspan - 1) * n_cols + c + colspan - 1])
            paragraph = cell.paragraphs[0]
            if not text:
                paragraph.add_run(blank)
                continue
            pieces = [text]
            if len(text) > 12:
                cut = rng.randrange(len(text) // 3, 2 * len(text) // 3)
                pieces = [text[:cut], text[cut:]]
            for n, piece in enumerate(pieces):
                if n and rng.random() < 0.5:
                    paragraph = cell.add_paragraph()
                elif n:
                    paragraph.add_run().add_break()
                cuts = sorted(rng.sample(range(1, len(piece)), min(len(piece) - 1, 2))) if len(piece) > 1 else []
                for a, b in zip([0, *cuts], [*cuts, len(piece)]):
                    run = paragraph.add_run(piece[a:b])._r
                    if rng.random() < 0.3:
                        proof = OxmlElement("w:proofErr")
                        proof.set(qn("w:type"), "spellStart")
                        run.addprevious(proof)
                    if rng.random() < 0.3:  # a number deleted with track changes on: not in the document
                        deleted, deleted_run, gone = marked("w:del"), OxmlElement("w:r"), OxmlElement("w:delText")
                        gone.text = "9"
                        deleted_run.append(gone)
                        deleted.append(deleted_run)
                        run.addnext(deleted)
                    if rng.random() < 0.3:  # inserted with track changes on: in the document
                        inserted = marked("w:ins")
                        run.addprevious(inserted)
                        inserted.append(run)
    document.add_paragraph("五、存在的主要问题及改进情况")
    document.add_paragraph("无。")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


@pytest.mark.parametrize("seed", range(4))
def test_docx_as_word_leaves_it_after_editing_reads_back(seed):
    from govcrawl.demo.render import random_tables
    from govcrawl.extract import extract_document

    rng = random.Random(f"edited-{seed}")
    fmt = "2021" if seed % 2 else "2019"
    tables = random_tables(rng, fmt, blanks=True)
    body = _edited_docx(tables, fmt, rng)
    xml = zipfile.ZipFile(io.BytesIO(body)).read("word/document.xml").decode("utf-8")
    assert "<w:delText>9</w:delText>" in xml and "<w:ins " in xml and "<w:br/>" in xml
    item = extract_document(body, "http://127.0.0.1/r.docx")
    assert item["tables"] == tables and item["warnings"] == []


class _GbkNamed(zipfile.ZipInfo):
    """A member named in GBK without the zip's UTF-8 flag, as Chinese Windows tools write them."""

    def _encodeFilenameFlags(self):
        return self.filename.encode("gb18030"), self.flag_bits & ~0x800


def _zip(members: list[tuple[str, bytes]], *, gbk: bool = True, encrypted: bool = False) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members:
            info = _GbkNamed(name) if gbk else zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    body = bytearray(out.getvalue())
    if encrypted:  # each member's flags say "encrypted": a reader needs a password (zipfile writes none)
        for signature, at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
            start = body.find(signature)
            while start >= 0:
                body[start + at] |= 0x1
                start = body.find(signature, start + 4)
    return bytes(body)


@pytest.fixture(scope="module")
def zip_parts():
    from govcrawl.demo.render import random_tables
    from govcrawl.demo.site import docx_report, pdf_report

    tables = random_tables(random.Random("zip-report"), "2021", blanks=True)
    title = "某县2023年政府信息公开工作年度报告"
    other = random_tables(random.Random("zip-other"), "2019")
    return {"tables": tables, "pdf": pdf_report(tables, fmt="2021", title=title),
            "docx": docx_report(other, fmt="2019", title="附件"), "other": other, "title": title}


def test_zip_of_attachments_reads_the_member_named_as_the_report(zip_parts):
    from govcrawl.extract import extract_document

    name = "2023年政府信息公开工作年度报告（正文）.pdf"
    body = _zip([("说明.txt", "请下载附件".encode("gbk")), ("附件/附件2-统计表.docx", zip_parts["docx"]),
                 (name, zip_parts["pdf"]), ("附件/image001.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 64)])
    assert sniff_kind(body, "application/zip", "http://127.0.0.1/nb.zip") == "zip"
    assert len(zip_parts["docx"]) > len(zip_parts["pdf"])  # the name decides, not the size
    item = extract_document(body, "http://127.0.0.1/nb.zip", {"Content-Type": "application/zip"})
    assert item["provenance"]["reader"] == "pdf"
    assert item["tables"] == zip_parts["tables"]
    assert f"read {name} from a zip (2 other document(s) in it not read)" in item["warnings"]


def test_zip_without_a_report_name_reads_its_largest_document(zip_parts):
    from govcrawl.extract import extract_document

    body = _zip([("a.txt", b"x"), ("2.docx", zip_parts["docx"]), ("1.html", b"<html><p>x</p></html>")], gbk=False)
    item = extract_document(body, "http://127.0.0.1/download?id=7")
    assert item["provenance"]["reader"] == "docx"
    assert item["tables"] == zip_parts["other"]


@pytest.mark.parametrize("members, warning", [
    ([("photo.jpg", b"\xff\xd8\xff\xe0")], "none a document"),
    ([("年度报告.pdf", b"\x00" * (51 * 1024 * 1024))], "not read"),  # a zip bomb: 51 MB of zeros, 50 KB packed
    ([("年度报告.doc", _zip([("年度报告.pdf", b"%PDF-1.4")]))], "not a document"),  # a zip in the zip
    ([("年度报告.pdf", b"%PDF-1.4 encrypted")], "could not be unpacked"),  # flagged encrypted below
])
def test_zip_that_holds_no_readable_report_is_a_warning(members, warning):
    from govcrawl.extract import extract_document

    body = _zip(members, encrypted=warning == "could not be unpacked")
    assert len(body) < 200_000
    item = extract_document(body, "http://127.0.0.1/nb.zip")
    assert item["tables"] == {} and any(warning in w for w in item["warnings"]), item["warnings"]
