"""`jalsa sim`: serve the platform simulator, and `jalsa sim posts`: generated posts of a rally
for tests and benchmarks."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from jalsa.errors import UserError
from jalsa.terminal import console

sim_app = typer.Typer(
    help="The platform simulator, and generated data for tests and benchmarks.",
    invoke_without_command=True,
)


@sim_app.callback()
def sim_cmd(
    ctx: typer.Context,
    scenario: Annotated[
        str | None, typer.Option(help="Scenario file or built-in name (default: 17 Dec 2023).")
    ] = None,
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0 picks a free one).")] = 8900,
    speed: Annotated[float, typer.Option(help="Simulated seconds per real second.")] = 1.0,
    streams: Annotated[
        int | None, typer.Option(help="Serve N synthetic streams instead (benchmarks).")
    ] = None,
    at_minute: Annotated[
        float | None,
        typer.Option(
            help="Start the simulated clock at this minute of the rally (default: "
            "the scenario's lead-in before the start)."
        ),
    ] = None,
) -> None:
    """Serve the platform simulator: the real APIs' paths and shapes, no credentials needed."""
    if ctx.invoked_subcommand is not None:
        return
    from jalsa.sim import SimServer, load_scenario, make_clock, scenario_with_streams

    if speed <= 0:
        raise UserError("--speed must be more than zero")
    chosen = load_scenario(scenario)
    if streams is not None:
        if streams < 1:
            raise UserError("--streams must be at least 1")
        chosen = scenario_with_streams(streams, chosen, faults=False)
    start = chosen.at(at_minute) if at_minute is not None else None
    server = SimServer(chosen, make_clock(chosen, speed, start=start), port=port)

    def ready(url: str) -> None:
        console.print(f"simulating [bold]{chosen.name}[/bold] at {url} (Ctrl-C stops)")
        for setting, base in server.base_urls.items():
            console.print(f"export JALSA_{setting.upper()}={base}", highlight=False)

    server.serve_forever(on_ready=ready)


# -- generated posts --------------------------------------------------------------------------

POST_FORMATS = ("parquet", "x-jsonl")


def _parse_start(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UserError(
            f"cannot read the time {text!r}; write it as ISO 8601, e.g. 2023-12-17T14:00:00Z"
        ) from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _check_writable(out: Path, as_dir: bool) -> None:
    """Fail before generating anything if the output cannot be written."""
    folder = out if as_dir else out.parent
    if not as_dir and out.is_dir():
        raise UserError(f"{out} is a directory; give a file name, or end --out with '/'")
    if as_dir and out.exists() and not out.is_dir():
        raise UserError(f"{out} is a file, not a directory; drop the trailing '/'")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create {folder}: {exc.strerror or exc}") from None
    if not os.access(folder, os.W_OK | os.X_OK) or (out.exists() and not os.access(out, os.W_OK)):
        raise UserError(f"cannot write to {out}: permission denied")


@sim_app.command("posts")
def sim_posts(
    count: Annotated[int, typer.Option(help="How many posts to generate.")],
    out: Annotated[
        str,
        typer.Option(
            help="File to write. A directory (existing, or ending with '/') gets Parquet part "
            "files of about 5 million rows, or posts-x.jsonl."
        ),
    ],
    fmt: Annotated[
        str, typer.Option("--format", help="parquet (POST_SCHEMA) or x-jsonl (X API v2 pages).")
    ] = "parquet",
    seed: Annotated[int, typer.Option(help="The same seed gives the same posts.")] = 1,
    start: Annotated[
        str | None,
        typer.Option(help="Event start, ISO 8601 (UTC if no offset); default 2023-12-17T14:00Z."),
    ] = None,
    hours: Annotated[float, typer.Option(help="Length of the event in hours.")] = 4.0,
    truth: Annotated[
        Path | None,
        typer.Option(help="Also write the ground truth (campaign accounts, bursts) as JSON."),
    ] = None,
) -> None:
    """Generate realistic X posts of a rally (with injected trend bursts and a coordinated
    campaign) for tests and benchmarks."""
    from jalsa.sim.posts.files import write_parquet
    from jalsa.sim.posts.plan import DEFAULT_START, PostSimConfig
    from jalsa.sim.posts.truth import ground_truth
    from jalsa.sim.posts.x_json import write_x_jsonl

    if count < 1:
        raise UserError(f"--count must be at least 1, not {count}")
    if fmt not in POST_FORMATS:
        raise UserError(f"unknown format {fmt!r}; choose one of {', '.join(POST_FORMATS)}")
    try:
        config = PostSimConfig(
            count=count, seed=seed, start=_parse_start(start) or DEFAULT_START, hours=hours
        )
    except ValueError as exc:
        raise UserError(f"bad input: {exc}") from None
    target = Path(out)
    as_dir = out.endswith(("/", os.sep)) or target.is_dir()
    _check_writable(target, as_dir)
    if truth is not None:
        _check_writable(truth, False)

    began = time.monotonic()
    with Progress(
        TextColumn("generating posts"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=console.is_terminal,
    ) as progress:
        task = progress.add_task("posts", total=count)

        def advance(done: int) -> None:
            progress.update(task, completed=done)

        try:
            if fmt == "parquet":
                files = write_parquet(config, target, advance, directory=as_dir)
            else:
                files = [write_x_jsonl(config, target, advance)]
            facts = ground_truth(config)
            if truth is not None:
                truth.write_text(facts.to_json() + "\n", encoding="utf-8")
        except OSError as exc:
            raise UserError(f"cannot write {exc.filename or out}: {exc.strerror or exc}") from None

    where = str(files[0]) if len(files) == 1 else f"{target} ({len(files)} files)"
    console.print(
        f"wrote {count:,} posts ({fmt}, seed {seed}) to {where} in "
        f"{time.monotonic() - began:.1f} s: {len(facts.campaign_members):,} campaign accounts, "
        f"{len(facts.bursts)} bursts" + (f"; ground truth in {truth}" if truth else ""),
        highlight=False,
        soft_wrap=True,
    )
