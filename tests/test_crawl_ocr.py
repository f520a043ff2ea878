"""A crawl of 图片版 reports: a report page made of table pictures and an image-only PDF.

The fake portal comes from ``govcrawl.demo.images.image_report_site``: the
spider must fetch the pictures of the page's article (not the site logo),
hand them to the extractor with the page, and the PDF's pages must be read
by OCR; both become items whose every table cell is the one drawn.
"""

from __future__ import annotations

import pytest

from govcrawl.demo.images import image_report_site

from tests.conftest import diff_values


@pytest.fixture(scope="module")
def ocr_crawl(module_serve_site, tmp_path_factory):
    from tests.conftest import crawl

    site, expected = image_report_site()
    server = module_serve_site(site)
    result = crawl([{"name": "示例县", "url": server.url("/index.html")}], tmp_path_factory.mktemp("ocr_crawl"),
                   timeout=300)
    return server, expected, result


def test_both_picture_reports_become_items_with_every_cell(ocr_crawl):
    server, expected, result = ocr_crawl
    assert result.returncode == 0, result.describe()
    by_url = {item["url"]: item for item in result.items}
    assert set(by_url) == {server.url(path) for path in expected}, result.describe()
    for path, exp in expected.items():
        item = by_url[server.url(path)]
        assert item["provenance"]["reader"] == "ocr"
        assert item["format"] == exp["format"] and item["year"] == exp["year"]
        assert diff_values(exp["tables"], item["tables"]) == [], (path, item["warnings"])
        assert all(check["ok"] is not False for check in item["checks"]), item["checks"]


def test_the_page_item_says_how_many_pictures_ocr_read(ocr_crawl):
    server, _, result = ocr_crawl
    page = next(item for item in result.items if item["url"].endswith(".html"))
    assert any(w.startswith("tables read by OCR from 3 images") for w in page["warnings"]), page["warnings"]
    assert "'govcrawl/ocr/images': 3" in result.stderr  # the three pictures of the article, not the logo
