"""govcrawl spiders.  ``portals`` (spiders/portals.py) is the one crawl: from each
portal's start page to its 政府信息公开 annual reports."""
