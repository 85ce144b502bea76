"""The report in its formats: JSON (the whole report), CSV (one row per figure), HTML (one file
that works offline: its style sheet inlined, its chart an inline SVG), PDF (the same HTML, laid
out by WeasyPrint on this machine, no outside host), and the provenance file (every figure with
its source, machine-readable)."""

from __future__ import annotations

import io
import json
import re
from datetime import datetime
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from jalsa import csvsafe
from jalsa.errors import UserError
from jalsa.report.build import Report
from jalsa.report.charts import timeline_svg
from jalsa.report.figures import Figure
from jalsa.timeutil import show

FORMATS = ("html", "pdf", "json", "csv")
CSV_COLUMNS = (
    "section",
    "key",
    "label",
    "value",
    "unit",
    "at",
    "low",
    "high",
    "not_measured",
    "definition",
    "data",
    "endpoint",
    "rule",
    "since",
    "until",
    "count",
    "count_of",
)


def plain(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:,.0f}" if float(value).is_integer() or abs(value) >= 100 else f"{value:,.2f}"


def number(figure: Figure) -> str:
    """A figure's value as the report prints it: shares as percentages."""
    if figure.value is None:
        return "not measured"
    if figure.unit.startswith("share"):
        return f"{figure.value:.1%}"
    return plain(figure.value)


def anchor(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "-", key)


def _env() -> Environment:
    env = Environment(
        loader=PackageLoader("jalsa.report", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["number"] = number
    env.filters["plain"] = plain
    env.filters["anchor"] = anchor
    env.filters["local"] = lambda value, tz, fmt="%Y-%m-%d %H:%M %Z": show(value, tz, fmt)
    return env


ENV = _env()


def style_sheet() -> str:
    return (resources.files("jalsa.web") / "static" / "report.css").read_text(encoding="utf-8")


def to_html(report: Report, *, web: dict[str, str] | None = None) -> str:
    """The report page: one file that works offline (its style sheet inlined). `web`: the web
    app's page instead, which links /static/report.css (its CSP allows no inline style) and
    carries the claims form and the download links (`download`: the API address with the
    query, `claims` and `voices`: the form's text)."""
    bands = [
        (d.window_start, d.window_end, f"{d.incident.method}: {', '.join(d.incident.platforms)}")
        for d in report.disruption.incidents
    ]
    chart = timeline_svg(report.audience.timeline, bands, report.event.timezone)
    return ENV.get_template("report.html").render(
        r=report,
        chart=chart,
        figures=report.figures(),
        inline_css=None if web else style_sheet(),
        web=web,
    )


def to_pdf(report: Report) -> bytes:
    try:
        from weasyprint import HTML
    except OSError as exc:  # Pango missing: a system library, not a pip package
        raise UserError(
            f"cannot make PDFs here ({exc}); install Pango (apt-get install libpango-1.0-0 "
            "libpangoft2-1.0-0) or use --format html"
        ) from None
    pdf: bytes = HTML(string=to_html(report)).write_pdf()
    return pdf


def to_json(report: Report) -> str:
    return report.model_dump_json(indent=2) + "\n"


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return "" if value is None else value


def to_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csvsafe.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for section, f in report.figures():
        s = f.source
        writer.writerow(
            _cell(v)
            for v in (
                section,
                f.key,
                f.label,
                f.value,
                f.unit,
                f.at,
                f.low,
                f.high,
                f.not_measured,
                f.definition,
                s.data,
                s.endpoint,
                s.rule,
                s.since,
                s.until,
                s.count,
                s.count_of,
            )
        )
    return out.getvalue()


def provenance(report: Report) -> str:
    """Every figure with where it came from, and which data (the digest)."""
    return (
        json.dumps(
            {
                "event": report.event.slug,
                "jalsa_version": report.jalsa_version,
                "digest": report.digest,
                "data_until": _cell(report.data_until) or None,
                "figures": [
                    {"section": section, **f.model_dump(mode="json")}
                    for section, f in report.figures()
                ],
            },
            indent=2,
            ensure_ascii=False,
        )
        + "\n"
    )


def render(report: Report, fmt: str) -> bytes:
    """The report as the bytes of one of FORMATS (pdf, html, json, csv)."""
    if fmt == "pdf":
        return to_pdf(report)
    if fmt == "html":
        return to_html(report).encode()
    if fmt == "json":
        return to_json(report).encode()
    if fmt == "csv":
        return to_csv(report).encode()
    raise UserError(f"unknown report format {fmt!r}; use one of {', '.join(FORMATS)}")
