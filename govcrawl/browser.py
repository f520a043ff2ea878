"""What the browser may fetch: only the portals' hosts.

scrapy-playwright asks ``PLAYWRIGHT_ABORT_REQUEST`` about every request the
browser makes — the page's own navigation, redirects, scripts, XHR, images.
The spider registers its portals' scopes here when it starts
(``allow_portals``); anything else is aborted and remembered in ``REFUSED``,
which the spider adds to its stats (``govcrawl/offsite/browser``).

Kept free of Twisted imports: the spider imports it before Scrapy installs
the asyncio reactor.
"""

from __future__ import annotations

from govcrawl.discovery import PortalScope

SCOPES: list[PortalScope] = []
REFUSED: list[str] = []


def allow_portals(scopes) -> None:
    SCOPES[:] = list(scopes)


def abort_offsite_request(playwright_request) -> bool:
    """True (abort) for an http(s) request outside every portal; data:/blob: URLs pass."""
    url = playwright_request.url
    if not url.startswith(("http://", "https://")):
        return False
    if any(scope.allows(url) for scope in SCOPES):
        return False
    REFUSED.append(url)
    return True
