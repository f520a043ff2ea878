"""TRS WCM (拓尔思) list pages: ``createPageHTML(N, i, "index", "html")``.

TRS publishes a list as static files ``index.html``, ``index_1.html`` …
``index_{N-1}.html`` and writes the pager with a script call instead of
links, so plain ``<a>`` parsing sees only page 0.  Sites vary the call:
quotes, spaces, a leading element id (``createPageHTML('page_div', N, i,
'index', 'html', total)``), a trailing record count, or variables
(``var countPage = 8; createPageHTML(countPage, currentPage, …)``).
"""

from __future__ import annotations

import re
from urllib.parse import urljoin

from scrapy import Request
from scrapy.http import Response, TextResponse
from scrapy.link import Link

_CALL = re.compile(r"createPageHTML\s*\(([^)]*)\)", re.I)
_VAR = re.compile(r"\b(?:var|let|const)?\s*([A-Za-z_$][\w$]*)\s*=\s*(\d+)(?![\d.])")
_STRING = re.compile(r"""^\s*(['"])(.*)\1\s*$""")


def detect(response: Response) -> bool:
    return isinstance(response, TextResponse) and "createpagehtml" in response.text.lower()


def list_links(response: Response) -> list[Link]:
    return []  # TRS lists are plain <a> links; only the pager is scripted


def pager(script_text: str) -> tuple[int, str, str] | None:
    """``(page_count, name, ext)`` from the first usable createPageHTML call."""
    variables = None  # read only for a call that passes one: most pass literals, and the scan is slow
    for call in _CALL.finditer(script_text):
        args = [a.strip() for a in call.group(1).split(",")]
        values: list[int | str | None] = []
        for arg in args:
            string = _STRING.match(arg)
            if string:
                values.append(string.group(2))
            elif arg.isdigit():
                values.append(int(arg))
            else:
                if variables is None:
                    variables = {name: int(value) for name, value in _VAR.findall(script_text)}
                values.append(variables.get(arg))
        # find "count, current, 'name', 'ext'" anywhere in the argument list
        for i in range(len(values) - 3):
            count, current, name, ext = values[i : i + 4]
            if (
                isinstance(count, int)
                and isinstance(current, int)
                and isinstance(name, str)
                and isinstance(ext, str)
                and re.fullmatch(r"[\w.-]+", name)
                and re.fullmatch(r"s?html?|jsp|php|aspx?", ext)
            ):
                return count, name, ext
    return None


def next_pages(response: Response, max_pages: int) -> list[Request]:
    if not isinstance(response, TextResponse):
        return []
    found = pager(" ".join(response.xpath("//script/text()").getall()) or response.text)
    if not found:
        return []
    count, name, ext = found
    last = min(count, max_pages)
    return [Request(urljoin(response.url, f"{name}_{n}.{ext}")) for n in range(1, last)]
