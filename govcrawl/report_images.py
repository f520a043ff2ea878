"""The pictures of a report page published as images (``…年度报告（图片版）``).

Some bodies paste the whole report, or just its tables, as images into the
article.  ``content_image_urls`` picks those images out of a report page:
the ``<img>`` elements of the article body, in page order, without the
site's furniture (logos, banners, QR codes, icons, share buttons) and
without pictures the page itself says are small.  The spider fetches them
(``parse_report``) and the extractor reads them by OCR.

Scrapy-free apart from taking a response-like object with ``.xpath`` and
``.urljoin``, so it is tested on plain HTML.
"""

from __future__ import annotations

import re

# Article containers of the CMS families we crawl (TRS_Editor, Hanweb's zoom, gkmlpt's article-content, …).
_CONTENT = (
    "//*[contains(@class,'TRS_Editor') or contains(@class,'trs_editor') or contains(@id,'zoom') "
    "or contains(@class,'article') or contains(@class,'content') or contains(@id,'content') "
    "or contains(@class,'zwnr') or contains(@class,'detail') or contains(@class,'main-txt')]"
)
_FURNITURE = re.compile(
    r"logo|icon|banner|qrcode|qr_?code|ewm|erweima|share|btn|button|arrow|bg[_.-]|spacer|blank|"
    r"weixin|wechat|weibo|print|close|search|nav|foot|head|gh\.png|jiucuo|dzjg|conac|red_?star",
    re.I,
)
_IMAGE_URL = re.compile(r"\.(png|jpe?g|gif|bmp|tiff?|webp)(?:$|[?#])", re.I)
MIN_SIDE = 120  # a picture of a table is wider and taller than this; icons and bullets are not


def _small(img) -> bool:
    for attr in ("width", "height"):
        value = (img.attrib.get(attr) or "").strip().lower().removesuffix("px")
        if value.isdigit() and int(value) < MIN_SIDE:
            return True
    return False


def content_image_urls(response, limit: int = 20) -> list[str]:
    """Absolute URLs of the article's images in page order, at most ``limit``, each once.

    The article is the smallest content container holding an image, else
    the whole ``<body>`` minus header, navigation and footer.
    """
    containers = response.xpath(_CONTENT)
    holders = [c for c in containers if c.xpath(".//img")]
    if holders:
        # The innermost holder: an outer "content" wrapper also holds the sidebar's pictures.
        scope = min(holders, key=lambda c: len(c.xpath(".//img")))
        images = scope.xpath(".//img")
    else:
        images = response.xpath(
            "//body//img[not(ancestor::header or ancestor::nav or ancestor::footer "
            "or ancestor::*[contains(@class,'header') or contains(@class,'footer') or contains(@class,'nav')])]"
        )
    urls: list[str] = []
    for img in images:
        src = (img.attrib.get("data-src") or img.attrib.get("data-original") or img.attrib.get("src") or "").strip()
        if not src or src.startswith("data:") or _FURNITURE.search(src) or _small(img):
            continue
        url = response.urljoin(src)
        if not url.startswith(("http://", "https://")) or url in urls:
            continue
        if not _IMAGE_URL.search(url) and "image" not in src.lower() and "img" not in src.lower():
            # servlet URLs (getImage.jsp?id=…) say "image" somewhere; anything else is not a picture
            continue
        urls.append(url)
        if len(urls) >= limit:
            break
    return urls
