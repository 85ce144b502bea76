"""The `jalsa` command. Thin: parse, call the area packages, print.

This root holds the Typer app, the error handling every command shares, and the one table of
commands; each family of commands has its own module, which never imports this one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer
from typer.core import TyperGroup

from jalsa.cli import (
    conversation,
    demo,
    doctor,
    events,
    inbox,
    metrics,
    report,
    serve,
    sim,
    sms,
    supporters,
    track,
    users,
    watch,
)
from jalsa.errors import UserError
from jalsa.terminal import err


class _Group(TyperGroup):
    """Turns a UserError anywhere below into one message and a non-zero exit code."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except UserError as exc:
            err.print(f"[bold red]error:[/bold red] {exc}", highlight=False)
            raise typer.Exit(exc.exit_code) from None


app = typer.Typer(
    cls=_Group,
    help="jalsa: command center for virtual rallies. `jalsa demo` shows everything offline.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

# Every command, in the order `jalsa --help` lists them: a function is one command, a Typer app a
# group of subcommands.
COMMANDS: tuple[tuple[str, Callable[..., Any] | typer.Typer], ...] = (
    ("metrics", metrics.metrics_list),
    ("track", track.track),
    ("export", track.export_cmd),
    ("demo", demo.demo_cmd),
    ("doctor", doctor.doctor),
    ("ingest", conversation.ingest_cmd),
    ("compact", conversation.compact_cmd),
    ("trends", conversation.trends_cmd),
    ("analyze", conversation.analyze_cmd),
    ("collect", conversation.collect_cmd),
    ("report", report.report_cmd),
    ("serve", serve.serve),
    ("event", events.event_app),
    ("stream", events.stream_app),
    ("sim", sim.sim_app),
    ("user", users.user_app),
    ("watch", watch.watch_app),
    ("inbox", inbox.inbox_app),
    ("supporters", supporters.supporters_app),
    ("sms", sms.sms_app),
)


def _add_commands() -> None:
    for name, command in COMMANDS:
        if isinstance(command, typer.Typer):
            app.add_typer(command, name=name)
        else:
            app.command(name)(command)


_add_commands()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
