"""Offline playground: fake government portals served on 127.0.0.1.

* ``server`` — :class:`DemoServer`, the HTTP server (request log, ETag/304,
  redirects, Hanweb dataproxy, runtime page changes).
* ``site`` — builders for TRS / Hanweb / JS-only portals, the demo portal and
  the benchmark web (``generate_bench_site``).
* ``render`` — report pages from tables (``render_report_html``).
* ``python -m govcrawl.demo`` — crawl the bundled demo portal end to end.
"""
