"""govcrawl: find 政府信息公开工作年度报告 on government portals and extract their tables."""

__version__ = "0.1.0"
