"""Dataset export: govcrawl's JSON Lines feeds → tables people analyse.

``python -m govcrawl.export FEED.jsonl… --out DIR [--html report.html]``

One module per job, pure functions over the feed's dicts (no Scrapy):

* ``feeds``  – read JSON Lines files, directories and globs; bad lines reported and skipped;
* ``merge``  – the union of several runs: one record per report, latest ``fetched_at`` wins,
  removals applied;
* ``tables`` – flattening: the report rows, the tidy cell table, one wide table per section;
* ``checks`` – checks across reports (year-to-year carry-over, publication deadline,
  two reports for one agency and year);
* ``write``  – CSV (optionally with a BOM for Excel), Parquet and DuckDB outputs;
* ``html``   – the self-contained HTML report with SVG charts.
"""
