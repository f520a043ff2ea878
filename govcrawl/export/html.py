"""The HTML report: one self-contained file people open in a browser.

Sections: summary, requests and their outcomes by year (in total and for the
agencies with the most requests), coverage per portal, reports with failed
checks, cross-report check failures, late publications, removals.

Self-contained means the page loads nothing: styles are inline, charts are
matplotlib SVG embedded in the page (no JavaScript at all), and the only
URLs are the links to the reports themselves.  Chart text is ASCII (years,
numbers, outcome names), so no CJK font is needed to draw them; agency names
are in the HTML captions around the charts.

Coverage: the years *expected* of an agency are every year from its first to
its last report in the export (a gap in between is a missing report; a removed
report counts as missing, since it is no longer published).  We do
not expect 2019 … last year of everyone: the export cannot know when a body
was created, merged or started publishing, and would report false gaps.
"""

from __future__ import annotations

import html
import io
import re
from collections import defaultdict
from datetime import date, datetime, timezone

from govcrawl.export.merge import MergedReport
from govcrawl.export.tables import OUTCOME_GROUPS, report_year, request_figures

TOP_AGENCIES = 12
MAX_ROWS = 200
OUTCOME_COLOURS = {
    "granted": "#2b8a3e", "partially_granted": "#94d82d", "denied": "#e03131",
    "unavailable": "#f08c00", "not_processed": "#7048e8", "other": "#868e96",
}

CSS = """
body{font-family:"Noto Sans CJK SC","WenQuanYi Zen Hei","Microsoft YaHei",sans-serif;margin:2em;color:#222;max-width:1200px}
h1{font-size:1.6em}h2{border-bottom:2px solid #ccc;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;font-size:.9em;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#f1f3f5}td.n{text-align:right}td.nw{white-space:nowrap}.bad{color:#c92a2a}.note{color:#666;font-size:.9em}
.summary td{font-size:1.1em}.charts{display:flex;flex-wrap:wrap;gap:1em}
figure.chart{margin:0;border:1px solid #eee;padding:.5em}figure.chart figcaption{font-weight:bold;margin-bottom:.3em}
figure.chart svg{display:block;height:auto}
"""


def _e(value) -> str:
    return "" if value is None else html.escape(str(value))


def _link(url: str, text: str | None = None) -> str:
    return f'<a href="{_e(url)}">{_e(text or url)}</a>'


def _table(headers: list[str], rows: list[list[str]], *, total: int | None = None, more: str = "") -> str:
    """An HTML table from already-escaped cells; rows past MAX_ROWS are counted, not shown."""
    total = len(rows) if total is None else total
    head = "".join(f"<th>{h}</th>" for h in headers)
    body = "".join("<tr>" + "".join(rows_cell for rows_cell in row) + "</tr>" for row in rows[:MAX_ROWS])
    note = (f'<p class="note">{total - MAX_ROWS} more not shown{more}.</p>' if total > MAX_ROWS else "")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{note}"


def _td(value, cls: str = "") -> str:
    return f'<td class="{cls}">{value}</td>' if cls else f"<td>{value}</td>"


# ------------------------------------------------------------------ charts
def _svg(figure, chart_id: str) -> str:
    """The figure as an inline <svg> element: no XML prologue, no DOCTYPE, no namespace URLs,
    every id (and reference to it) prefixed with ``chart_id`` so that ids stay unique in the page."""
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Creator": None, "Date": None, "Format": None, "Type": None})
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg"):]
    # HTML parses inline SVG into the right namespaces by itself; the declarations only add URLs.
    svg = re.sub(r'\s+xmlns(:\w+)?="[^"]*"', "", svg)
    svg = re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.S)
    svg = re.sub(r'\bid="', f'id="{chart_id}-', svg)
    return re.sub(r'(url\(#|href="#)', rf"\g<1>{chart_id}-", svg)


def outcome_chart(by_year: dict[int, dict[str, float]], chart_id: str, *, width: float = 6.4,
                  height: float = 3.2) -> str:
    """Stacked bars of the outcome groups per year, with the requests received as a line.

    Element ids (``<chart_id>-bar-<group>-<i>``, ``<chart_id>-received``) are unique in the page.
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    matplotlib.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "govcrawl", "font.size": 8})
    years = sorted(by_year)
    fig, ax = plt.subplots(figsize=(width, height))
    try:
        bottom = [0.0] * len(years)
        for group, colour in OUTCOME_COLOURS.items():
            values = [by_year[y].get(group) or 0 for y in years]
            bars = ax.bar(years, values, bottom=bottom, color=colour, label=group.replace("_", " "))
            for i, bar in enumerate(bars):
                bar.set_gid(f"bar-{group}-{i}")
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        received = [by_year[y].get("requests_received") for y in years]
        ax.plot(years, [r if r is not None else float("nan") for r in received], color="black",
                marker="o", label="requests received", gid="received")
        ax.set_xticks(years)
        ax.set_xlabel("report year")
        ax.set_ylabel("requests")
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
        fig.tight_layout()
        return _svg(fig, chart_id)
    finally:
        plt.close(fig)


def _sum_figures(reports: list[MergedReport], key) -> dict:
    """``key(report) → {year: {figure: sum}}`` over reports that have a year."""
    out: dict = defaultdict(lambda: defaultdict(lambda: defaultdict(float)))
    for report in reports:
        year = report_year(report.item)
        if year is None:
            continue
        for name, value in request_figures(report.item.get("tables")).items():
            if value is not None:
                out[key(report)][year][name] += value
    return out


def charts_section(reports: list[MergedReport]) -> str:
    totals = _sum_figures(reports, lambda r: "all").get("all")
    if not totals:
        return "<p>No report has section 三 figures.</p>"
    parts = ['<figure class="chart" data-chart="total"><figcaption>All agencies</figcaption>',
             outcome_chart(totals, "total"), "</figure>"]
    per_agency = _sum_figures(reports, lambda r: r.item.get("agency") or "(no agency)")
    ranked = sorted(per_agency.items(), key=lambda kv: -sum(y.get("requests_received", 0) for y in kv[1].values()))
    parts.append(f"<h3>The {min(TOP_AGENCIES, len(ranked))} agencies with the most requests</h3>"
                 '<div class="charts">')
    for n, (agency, by_year) in enumerate(ranked[:TOP_AGENCIES]):
        parts += [f'<figure class="chart" data-chart="agency"><figcaption>{_e(agency)}</figcaption>',
                  outcome_chart(by_year, f"agency{n}", width=4.6, height=2.4), "</figure>"]
    parts.append("</div>")
    return "\n".join(parts)


# ------------------------------------------------------------------ tables
def coverage_rows(reports: list[MergedReport]) -> list[dict]:
    """Per portal: agencies, reports, years found, agency-years expected and missing (see module doc)."""
    years: dict[str, dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))
    counts: dict[str, int] = defaultdict(int)
    for report in reports:
        portal = report.item.get("portal") or "(no portal)"
        counts[portal] += 1
        year = report_year(report.item)
        if year is not None and not report.removed:
            years[portal][report.item.get("agency") or "(no agency)"].add(year)
    rows = []
    for portal in sorted(counts):
        agencies = years.get(portal, {})
        found = sum(len(y) for y in agencies.values())
        missing = [f"{a} {y}" for a, ys in sorted(agencies.items())
                   for y in range(min(ys), max(ys) + 1) if y not in ys]
        all_years = sorted({y for ys in agencies.values() for y in ys})
        rows.append({"portal": portal, "reports": counts[portal], "agencies": len(agencies),
                     "years": f"{all_years[0]}–{all_years[-1]}" if all_years else "",
                     "expected": found + len(missing), "found": found, "missing": missing})
    return rows


def _coverage(reports) -> str:
    rows = []
    for row in coverage_rows(reports):
        share = f"{100 * row['found'] / row['expected']:.0f}%" if row["expected"] else ""
        gaps = ", ".join(row["missing"][:10]) + (" …" if len(row["missing"]) > 10 else "")
        rows.append([_td(_e(row["portal"])), _td(row["agencies"], "n"), _td(row["reports"], "n"),
                     _td(row["years"]), _td(row["expected"], "n"), _td(row["found"], "n"),
                     _td(share, "n" + (" bad" if row["missing"] else "")), _td(_e(gaps))])
    return _table(["portal", "agencies", "reports", "years found", "agency-years expected",
                   "found", "coverage", "missing"], rows)


def _failed_reports(reports) -> str:
    rows = []
    for r in reports:
        failed = [c for c in r.item.get("checks") or [] if isinstance(c, dict) and c.get("ok") is False]
        if failed:
            rows.append([_td(_e(r.item.get("agency"))), _td(_e(report_year(r.item))),
                         _td(_e(r.item.get("portal"))),
                         _td("<br>".join(f"<b>{_e(c.get('rule'))}</b>: {_e(c.get('detail'))}" for c in failed)),
                         _td(_link(r.url, "report"))])
    return _table(["agency", "year", "portal", "failed checks", ""], rows, more=" (see reports.csv)")


def _cross(results: list[dict], rules: tuple[str, ...]) -> str:
    rows = [[_td(_e(c["rule"])), _td(_e(c["agency"])), _td(_e(c["year"])), _td(_e(c["detail"])),
             _td(_link(c["url"], "report") + (" " + _link(c["other_url"], "other") if c["other_url"] else ""))]
            for c in results if c["ok"] is False and c["rule"] in rules]
    return _table(["check", "agency", "year", "evidence", ""], rows, more=" (see checks.csv)")


def _late(results: list[dict]) -> str:
    late = sorted((c for c in results if c["rule"] == "published_on_time" and c["ok"] is False),
                  key=lambda c: date.fromisoformat(c["expected"]) - date.fromisoformat(c["actual"]))
    rows = [[_td(_e(c["agency"])), _td(_e(c["year"])), _td(_e(c["expected"]), "nw"), _td(_e(c["actual"]), "nw"),
             _td((date.fromisoformat(c["actual"]) - date.fromisoformat(c["expected"])).days, "n bad"),
             _td("31 March (county-level-and-above government)" if c["expected"][5:] == "03-31" else "31 January"),
             _td(_link(c["url"], "report"))] for c in late]
    unknown = sum(1 for c in results if c["rule"] == "published_on_time" and c["ok"] is None)
    note = f'<p class="note">{unknown} reports without a publication date are not judged.</p>' if unknown else ""
    return _table(["agency", "year", "deadline", "published", "days late", "rule", ""], rows,
                  more=" (see checks.csv)") + note


def _removals(reports) -> str:
    rows = [[_td(_e(r.item.get("agency"))), _td(_e(report_year(r.item))), _td(_e(r.item.get("title"))),
             _td(_e(r.removed_at), "nw"), _td(_e(r.removed_reason)), _td(_link(r.url))]
            for r in reports if r.removed]
    return _table(["agency", "year", "title", "noticed", "reason", "url"], rows)


def render_report(reports: list[MergedReport], results: list[dict], *, bad_lines: int = 0,
                  generated: str | None = None) -> str:
    """The whole HTML document as a string."""
    generated = generated or datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    failed_reports = sum(1 for r in reports if any(
        isinstance(c, dict) and c.get("ok") is False for c in r.item.get("checks") or []))
    count = defaultdict(int)
    for c in results:
        if c["ok"] is False:
            count[c["rule"]] += 1
    summary = [
        ("reports", len(reports)), ("agencies", len({r.item.get("agency") for r in reports})),
        ("portals", len({r.item.get("portal") for r in reports})),
        ("removed", sum(r.removed for r in reports)), ("reports with failed checks", failed_reports),
        ("year-to-year carry-over mismatches", count["cross_year_carry_over"]),
        ("late publications", count["published_on_time"]),
        ("agency-years claimed twice", count["duplicate_agency_year"]), ("bad feed lines skipped", bad_lines),
    ]
    groups = ", ".join(f"<b>{g.replace('_', ' ')}</b> ({len(k)} rows)" for g, k in OUTCOME_GROUPS.items())
    body = [
        "<h1>govcrawl: 政府信息公开工作年度报告 dataset</h1>",
        f'<p class="note">Generated {_e(generated)}.</p>',
        '<table class="summary"><tbody>' + "".join(
            f"<tr><th>{name}</th><td class=\"n\">{value}</td></tr>" for name, value in summary) + "</tbody></table>",
        "<h2>Requests received and their outcomes (三、收到和处理政府信息公开申请情况)</h2>",
        f'<p class="note">总计 column of each row; outcome groups: {groups}.</p>',
        charts_section(reports),
        "<h2>Coverage per portal</h2>",
        '<p class="note">Expected: every year from an agency\'s first to its last report.</p>',
        _coverage(reports),
        "<h2>Reports with failed checks</h2>", _failed_reports(reports),
        "<h2>Checks across reports</h2>",
        _cross(results, ("cross_year_carry_over", "duplicate_agency_year")),
        "<h2>Late publications (条例第五十条)</h2>", _late(results),
        "<h2>Removed reports</h2>", _removals(reports),
    ]
    return ("<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
            "<title>govcrawl dataset report</title>"
            f"<style>{CSS}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")


def write_report(reports: list[MergedReport], results: list[dict], path: str, *, bad_lines: int = 0) -> str:
    with open(path, "w", encoding="utf-8") as out:
        out.write(render_report(reports, results, bad_lines=bad_lines))
    return path
