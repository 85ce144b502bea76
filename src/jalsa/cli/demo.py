"""`jalsa demo`: the options; the demo itself is `jalsa.demo`."""

from __future__ import annotations

from typing import Annotated

import typer


def demo_cmd(
    minutes: Annotated[
        float | None,
        typer.Option(help="Compress the rally into N real minutes, then exit (for scripts)."),
    ] = None,
    scenario: Annotated[
        str | None, typer.Option(help="Scenario file or built-in name (default: 17 Dec 2023).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Dashboard port (default 8080).")] = None,
) -> None:
    """Run a simulated rally end to end: simulator, tracker, dashboard, live table, summary.
    Without --minutes the rally takes 4 minutes and the dashboard stays open until Ctrl-C."""
    from jalsa.demo.run import run  # the simulator and the web app load only for the demo

    run(minutes, scenario, port)
