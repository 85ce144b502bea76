"""`jalsa doctor`: what this machine has for jalsa, what is missing, and what a gap disables."""

from __future__ import annotations

import typer

from jalsa.doctor import format_report, report
from jalsa.terminal import console


def doctor() -> None:
    """Check the outside pieces jalsa uses (PostgreSQL, Chromium, Java for Spark, Kannel, the
    censor lab's tools, Urdu fonts, Pango, the moderation model): what is present, what each
    missing one disables, and how to install it. Exits 1 when something is missing."""
    results = report()
    for line in format_report(results):
        console.print(line, highlight=False, markup=False, soft_wrap=True)
    if any(not result.ok for _, result in results):
        raise typer.Exit(1)
    console.print("Everything jalsa can use is here.")
