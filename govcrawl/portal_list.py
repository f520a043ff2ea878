"""The list of portals to crawl: loading and checking ``portals.csv``.

CSV shape: header ``name,url`` plus optional ``region,level,render`` columns
(``render`` = 1 means the portal's list pages only exist after JavaScript).
Any file passed with ``-a portals=FILE`` has the same shape.  A broken file
stops the crawl before it starts with ``PortalListError`` naming the file and
line, because a silently skipped portal looks exactly like a portal without
reports.
"""

from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from scrapy.exceptions import UsageError

DEFAULT_PORTALS_CSV = Path(__file__).with_name("portals.csv")
REQUIRED_COLUMNS = ("name", "url")
OPTIONAL_COLUMNS = ("region", "level", "render")
_TRUE = {"1", "true", "yes", "y"}
_FALSE = {"", "0", "false", "no", "n"}


class PortalListError(UsageError):
    """A portal list that cannot be used; the message names file and line."""

    def __init__(self, source: str, line: int | None, message: str):
        self.source, self.line = source, line
        where = f"{source}:{line}" if line else source
        super().__init__(f"{where}: {message}", print_help=False)


def portal_list_error_without_traceback(record: logging.LogRecord) -> bool:
    """Log filter: show a PortalListError as its one-line message, not a traceback.

    Scrapy lets a spider's __init__ error escape to asyncio, which logs it with
    the whole stack; for a typo in a CSV file the file:line message is all a
    user needs.
    """
    error = record.exc_info[1] if record.exc_info else None
    if isinstance(error, PortalListError):
        record.msg, record.args = "Cannot start the crawl: %s", (str(error),)
        record.exc_info = record.exc_text = None
    return True


@dataclass(frozen=True)
class Portal:
    name: str
    url: str
    region: str | None = None
    level: str | None = None
    render: bool = False


def check_url(url: str) -> str | None:
    """The reason ``url`` cannot start a crawl, or None when it can."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return f"URL must start with http:// or https://: {url!r}"
    if not parts.hostname:
        return f"URL has no host: {url!r}"
    if any(c.isspace() for c in url):
        return f"URL contains whitespace: {url!r}"
    return None


def parse_portals(text: str, source: str = "<portals>") -> list[Portal]:
    """Portals from CSV text; raise ``PortalListError`` on the first bad line."""
    rows = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header: list[str] | None = None
    portals: list[Portal] = []
    seen: dict[str, int] = {}
    for row in rows:
        line = rows.line_num
        if not row or all(not cell.strip() for cell in row) or row[0].lstrip().startswith("#"):
            continue
        if header is None:
            header = [cell.strip().lower() for cell in row]
            missing = [c for c in REQUIRED_COLUMNS if c not in header]
            if missing:
                raise PortalListError(
                    source, line, f"header must name the columns 'name,url' (missing {', '.join(missing)}); got {row!r}"
                )
            unknown = [c for c in header if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
            if unknown:
                raise PortalListError(source, line, f"unknown column(s) {', '.join(unknown)} in header")
            continue
        if len(row) != len(header):
            raise PortalListError(source, line, f"expected {len(header)} columns ({','.join(header)}), found {len(row)}")
        record = {key: cell.strip() for key, cell in zip(header, row)}
        if not record["name"]:
            raise PortalListError(source, line, "portal name is empty")
        if not record["url"]:
            raise PortalListError(source, line, f"portal {record['name']!r} has no url")
        problem = check_url(record["url"])
        if problem:
            raise PortalListError(source, line, problem)
        render_text = record.get("render", "").lower()
        if render_text not in _TRUE | _FALSE:
            raise PortalListError(source, line, f"render must be 0 or 1, found {record['render']!r}")
        if record["name"] in seen:
            raise PortalListError(source, line, f"portal {record['name']!r} already listed on line {seen[record['name']]}")
        seen[record["name"]] = line
        portals.append(
            Portal(
                name=record["name"],
                url=record["url"],
                region=record.get("region") or None,
                level=record.get("level") or None,
                render=render_text in _TRUE,
            )
        )
    if header is None:
        raise PortalListError(source, None, "file is empty; expected a header 'name,url'")
    if not portals:
        raise PortalListError(source, None, "no portals listed")
    return portals


def load_portals(path: str | Path = DEFAULT_PORTALS_CSV) -> list[Portal]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise PortalListError(str(path), None, f"cannot read portal list: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise PortalListError(str(path), None, "portal list must be UTF-8") from None
    return parse_portals(text, str(path))


def portals_from_urls(urls: str) -> list[Portal]:
    """``-a urls=URL[,URL…]``: one ad-hoc portal per URL, named by its host."""
    portals: list[Portal] = []
    for position, url in enumerate((u.strip() for u in urls.split(",")), start=1):
        if not url:
            continue
        problem = check_url(url)
        if problem:
            raise PortalListError("-a urls", position, problem)
        name = urlsplit(url).netloc
        if any(p.name == name for p in portals):
            name = f"{name}#{position}"
        portals.append(Portal(name=name, url=url))
    if not portals:
        raise PortalListError("-a urls", None, "no URL given")
    return portals
