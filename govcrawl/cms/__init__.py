"""CMS families: what each publishing platform's list pages look like.

Each module here knows one platform and exposes the same three functions:

* ``detect(response) -> bool`` — is this page served by that platform?
* ``list_links(response) -> list[Link]`` — document links the platform hides
  from plain ``<a>`` parsing (data islands, script arrays); ``[]`` when none;
* ``next_pages(response, max_pages) -> list[Request]`` — the list's other
  pages, at most ``max_pages`` in all (callback/meta are set by the spider).

The portal spider asks every family in ``FAMILIES`` and unions the answers;
``generic`` always applies, so plain ``<a>`` links and 下一页 links are never
lost.  Add a platform by adding a module and listing it here.
"""

from __future__ import annotations

from types import ModuleType

from scrapy.http import Response

from govcrawl.cms import generic, gkmlpt, hanweb, jsonapi, trs

FAMILIES: tuple[ModuleType, ...] = (trs, hanweb, gkmlpt, jsonapi, generic)


def families_for(response: Response) -> list[ModuleType]:
    """The CMS families whose list conventions this page follows."""
    return [family for family in FAMILIES if family.detect(response)]
