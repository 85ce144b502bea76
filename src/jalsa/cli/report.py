"""`jalsa report`: the post-event report of an event, with its provenance file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from jalsa.cli.common import opened
from jalsa.conversation.analysis import Voices
from jalsa.errors import UserError
from jalsa.report.build import build_report
from jalsa.report.render import FORMATS, provenance, render
from jalsa.terminal import err


def _writable(path: Path) -> None:
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise UserError(f"cannot write {path}: the folder {folder} does not exist")
    if path.is_dir():
        raise UserError(f"cannot write {path}: it is a folder; name a file")


def report_cmd(
    event: Annotated[str, typer.Argument(help="Event slug or id.")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="html, pdf, json or csv.")] = "html",
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="File to write (default: report-EVENT.FORMAT)."),
    ] = None,
    claim: Annotated[
        list[str],
        typer.Option(help="A claimed figure to check, e.g. '4 million views on Facebook'."),
    ] = [],  # noqa: B006
    voice: Annotated[
        list[str], typer.Option(help="Share of voice: NAME=#hashtag,phrase,... (repeatable).")
    ] = [],  # noqa: B006
) -> None:
    """The post-event report: audience, conversation, disruptions, claims checked, a press
    draft. Every figure has its definition and source; beside the report goes its provenance
    file (every figure with where it came from, as JSON)."""
    if fmt not in FORMATS:
        raise UserError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    voices = Voices.parse(voice) if voice else None
    with opened() as (store, settings), err.status("computing the report"):
        report = build_report(store, settings, event, claims=claim, voices=voices)
        data = render(report, fmt)
    path = output or Path(f"report-{report.event.slug}.{fmt}")
    _writable(path)
    trail = path.with_name(path.name + ".provenance.json")
    path.write_bytes(data)
    trail.write_text(provenance(report), encoding="utf-8")
    figures = report.figures()
    missing = sum(1 for _, f in figures if f.value is None)
    err.print(
        f"wrote {path} ({len(figures)} figures, {missing} not measured) and its sources to {trail}",
        highlight=False,
    )
