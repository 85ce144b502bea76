"""Commands over an event's conversation: `jalsa ingest` (files of posts), `jalsa compact`,
`jalsa trends`, `jalsa analyze` and `jalsa collect` (live from the platforms)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import duckdb
import typer
from rich.live import Live
from rich.table import Table

from jalsa.cli.common import byte_progress, open_store
from jalsa.config import get_settings
from jalsa.conversation.analysis import Analysis, Voices, analyze, minute_time
from jalsa.conversation.compaction import Merge, Policy, compact, due
from jalsa.conversation.coverage import read_counts, x_coverage
from jalsa.conversation.dataset import PostDataset
from jalsa.conversation.engines import ENGINES, open_engine
from jalsa.conversation.gather import Gathering, Plan, Totals
from jalsa.conversation.ingest import FORMATS, IngestSummary, ingest
from jalsa.conversation.sources.mapped import Mapping
from jalsa.conversation.spark_session import EXECUTOR_WAIT, SparkOptions
from jalsa.credentials import with_stored_credentials
from jalsa.errors import UserError
from jalsa.limits import MAX_LINE_BYTES, MiB
from jalsa.store.repo import get_event
from jalsa.terminal import console
from jalsa.timeutil import show


def event_dataset(event: str) -> tuple[PostDataset, str]:
    """The event's post dataset and its time zone."""
    settings = get_settings()
    store = open_store(settings)
    try:
        with store.session() as session:
            found = get_event(session, event)
            slug, tz = found.slug, found.timezone
    finally:
        store.dispose()
    return PostDataset.of_event(settings, slug), tz


def ingest_cmd(
    event: Annotated[str, typer.Argument(help="Event slug or id.")],
    paths: Annotated[list[Path], typer.Argument(help="Files of posts (.jsonl, .gz, .csv ...).")],
    fmt: Annotated[str, typer.Option("--format", help=f"One of {', '.join(FORMATS)}.")] = "auto",
    mapping: Annotated[
        list[str] | None,
        typer.Option("--map", help="FIELD=COLUMN for CSV/JSONL/Parquet files (repeat)."),
    ] = None,
    platform: Annotated[
        str | None, typer.Option(help="Platform of every post in a mapped file.")
    ] = None,
    max_line_mb: Annotated[
        float,
        typer.Option(help="Longest JSON line read, in MiB; longer ones are quarantined."),
    ] = MAX_LINE_BYTES / MiB,
) -> None:
    """Add posts to the event's dataset: new ones are kept, repeats skipped, bad lines
    quarantined with their line numbers."""
    if not 0 < max_line_mb <= 1024:
        raise UserError("--max-line-mb must be more than 0 and at most 1024")
    dataset, _ = event_dataset(event)
    mapped = Mapping.parse(mapping or [], platform) if mapping or platform else None
    total = sum(p.stat().st_size for p in paths if p.is_file())
    with byte_progress("ingesting") as bar:
        task = bar.add_task("ingest", total=total)
        summary = ingest(
            dataset,
            paths,
            fmt,
            mapped,
            lambda n: bar.advance(task, n),
            max_line=int(max_line_mb * MiB),
        )
    print_ingest(summary)
    if due(dataset, Policy()):
        _compact(dataset, everything=False)
    if summary.quarantined and not summary.posts:
        raise UserError(
            f"no posts found: all {summary.quarantined} lines or items were quarantined "
            f"({summary.quarantine_file}); is this the right --format?"
        )


def print_ingest(summary: IngestSummary) -> None:
    for f in summary.files:
        console.print(
            f"{f.path}: {f.format}, {f.lines:,} lines, {f.posts:,} posts, "
            f"{f.quarantined:,} quarantined",
            highlight=False,
        )
    mb = summary.bytes / 1e6
    rate = mb / summary.seconds if summary.seconds else 0.0
    console.print(
        f"[bold]{summary.accepted:,} new posts[/bold], {summary.duplicates:,} already there "
        f"or repeated, {summary.quarantined:,} quarantined; {mb:,.1f} MB in "
        f"{summary.seconds:.1f} s ({rate:,.0f} MB/s)",
        highlight=False,
    )
    if summary.quarantine_file:
        console.print(f"quarantine: {summary.quarantine_file}", highlight=False)


def compact_cmd(
    event: Annotated[str, typer.Argument(help="Event slug or id.")],
    everything: Annotated[
        bool,
        typer.Option("--all", help="Merge every part below the final size, not only full tiers."),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the merges as JSON.")] = False,
) -> None:
    """Merge the event's small parts into large ones (live collection does it as it goes;
    `--all` after the event). Safe beside collection, ingestion and readers."""
    dataset, _ = event_dataset(event)
    if not dataset.exists():
        raise UserError(f"event {event!r} has no posts yet; add some with `jalsa ingest`")
    before = len(dataset.parts())
    merges = _compact(dataset, everything, quiet=as_json)
    after = len(dataset.parts())
    if as_json:
        console.print_json(
            json.dumps({"parts_before": before, "parts_after": after, "merges": merges})
        )
        return
    console.print(f"{before:,} parts before, {after:,} after", highlight=False)


def _compact(dataset: PostDataset, everything: bool, quiet: bool = False) -> list[dict[str, Any]]:
    def told(what: str, merge: Merge | None) -> None:
        if quiet:
            return
        if merge is None:
            console.print(f"{what} ...", highlight=False)
            return
        console.print(
            f"{what}: {merge.posts:,} posts, {merge.bytes_in / 1e6:,.1f} MB into "
            f"{merge.bytes_out / 1e6:,.1f} MB in {merge.seconds:.1f} s",
            highlight=False,
        )

    if not quiet:
        console.print("compacting (waiting for another compaction to end, if any)", style="dim")
    threads = os.cpu_count() or 1  # a command of its own: every core (live gathering uses one)
    try:
        merges = compact(dataset, Policy(), everything=everything, threads=threads, progress=told)
    except (duckdb.Error, OSError, RuntimeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(
            f"compaction stopped: {first}. No post was lost or doubled; once the cause is "
            "fixed, run it again to finish"
        ) from None
    merges = merges or []
    if not merges and not quiet:
        console.print("nothing to merge", highlight=False)
    return [m.__dict__ for m in merges]


EngineOpt = Annotated[str, typer.Option(help=f"One of {', '.join(ENGINES)}.")]
MasterOpt = Annotated[
    str | None, typer.Option(help="Spark master URL (default: local, all cores).")
]
ConfOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--conf",
        help="A Spark setting KEY=VALUE, e.g. spark.executor.memory=4g (repeat; docs/spark.md).",
    ),
]
DatasetUrlOpt = Annotated[
    str | None,
    typer.Option(
        help="Where Spark's executors read the event's part files when not from this machine's "
        "data folder, e.g. s3a://bucket/jalsa/EVENT/posts.",
    ),
]
WaitOpt = Annotated[
    float,
    typer.Option(help="Seconds a Spark cluster has to run a first task before jalsa gives up."),
]
MemoryOpt = Annotated[
    str | None,
    typer.Option(help="DuckDB's memory limit, e.g. 5GB (default: 80% of this machine's)."),
]


def spark_options(
    engine: str,
    master: str | None,
    conf: list[str] | None,
    dataset_url: str | None,
    executor_wait: float,
) -> SparkOptions | None:
    """The Spark engine's options from the command line, or None for DuckDB (which refuses
    them: they would be silently ignored)."""
    if engine not in ENGINES:
        raise UserError(f"unknown engine {engine!r}; engines: {', '.join(ENGINES)}")
    if engine != "spark":
        given = [
            name
            for name, value in (
                ("--master", master),
                ("--conf", conf),
                ("--dataset-url", dataset_url),
            )
            if value
        ] + (["--executor-wait"] if executor_wait != EXECUTOR_WAIT else [])
        if given:
            raise UserError(f"{', '.join(given)}: only for --engine spark")
        return None
    return SparkOptions.parse(master, conf or [], dataset_url, executor_wait)


def _run(
    dataset: PostDataset,
    event: str,
    engine: str,
    spark: SparkOptions | None,
    memory_limit: str | None = None,
    **kwargs: Any,
) -> Analysis:
    if not dataset.exists():
        raise UserError(f"event {event!r} has no posts yet; add some with `jalsa ingest`")
    with dataset.snapshot() as parts:  # a compaction meanwhile removes none of them
        runner = open_engine(
            engine, parts, spill=dataset.root, memory_limit=memory_limit, spark=spark
        )
        try:
            with console.status("analysing", spinner="dots") as status:
                return analyze(runner, step=lambda title: status.update(title), **kwargs)
        finally:
            runner.close()


def trends_cmd(
    event: Annotated[str, typer.Argument(help="Event slug or id.")],
    engine: EngineOpt = "duckdb",
    master: MasterOpt = None,
    conf: ConfOpt = None,
    dataset_url: DatasetUrlOpt = None,
    executor_wait: WaitOpt = EXECUTOR_WAIT,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Hashtag spikes, explained: when, how far above what was expected, and who and what
    was behind each."""
    spark = spark_options(engine, master, conf, dataset_url, executor_wait)
    dataset, tz = event_dataset(event)
    result = _run(dataset, event, engine, spark, only=("tag_spikes", "spike_evidence"))
    if as_json:
        console.print_json(json.dumps({"spikes": result.spikes}, default=str))
        return
    console.print(result.as_dict()["definitions"]["tag_spikes"], style="dim", highlight=False)
    table = Table("tag", "from", "to", "posts", "peak", "expected", "score", "top accounts")
    for s in result.spikes:
        peak = s["peak"]
        table.add_row(
            "#" + s["tag"],
            show(minute_time(s["first_minute"]), tz, "%H:%M"),
            show(minute_time(s["last_minute"]), tz, "%H:%M"),
            f"{s['posts']:,}",
            f"{peak['posts']:,}",
            f"{peak['expected']:.1f}",
            f"{peak['score']:.1f}",
            ", ".join(a["text"] or a["id"] for a in s.get("top_accounts", [])),
        )
    console.print(table if result.spikes else "no spikes")


def analyze_cmd(
    event: Annotated[str, typer.Argument(help="Event slug or id.")],
    engine: EngineOpt = "duckdb",
    master: MasterOpt = None,
    voice: Annotated[
        list[str] | None,
        typer.Option(help="Share of voice: NAME=#hashtag,phrase,... (repeat)."),
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Write the whole analysis as JSON.")] = None,
    memory_limit: MemoryOpt = None,
    conf: ConfOpt = None,
    dataset_url: DatasetUrlOpt = None,
    executor_wait: WaitOpt = EXECUTOR_WAIT,
) -> None:
    """Every conversation figure with its definition: volume, authors, top hashtags, words,
    links and accounts, spikes, share of voice and signs of coordination."""
    voices = Voices.parse(voice or [])
    spark = spark_options(engine, master, conf, dataset_url, executor_wait)
    dataset = event_dataset(event)[0]
    result = _run(dataset, event, engine, spark, memory_limit, voices=voices)
    data = result.as_dict()
    coverage = x_coverage(read_counts(dataset.root), result.results["platform_minutes"])
    data["x_coverage"] = coverage
    if out:
        out.write_text(json.dumps(data, indent=2, default=str, ensure_ascii=False))
    overview = result.results["overview"][0]
    total = overview["posts"]
    console.print(
        f"[bold]{total:,} posts[/bold] by {overview['authors']:,} accounts "
        f"(HyperLogLog sketch: {overview['authors_approx']:,}, standard error "
        f"{result.sketch_error:.1%}); {overview['originals']:,} originals, "
        f"{overview['reposts']:,} reposts, {overview['replies']:,} replies, "
        f"{overview['quotes']:,} quotes. Engine: {result.engine}.",
        highlight=False,
    )
    for name in ("top_hashtags", "top_terms", "top_urls", "top_authors"):
        rows = result.results[name][:10]
        items = ", ".join(f"{r['item']} ({r['posts']:,})" for r in rows)
        console.print(f"{name.replace('_', ' ')}: {items or '-'}", highlight=False)
    for row in result.results.get("share_of_voice", []):
        console.print(
            f"share of voice {row['voice']}: {row['share']:.1%} ({row['posts']:,} posts)",
            highlight=False,
        )
    if coverage and coverage["counted"]:
        console.print(
            f"X counted {coverage['counted']:,} posts matching the query in "
            f"{len(coverage['minutes']):,} minutes; the dataset holds {coverage['collected']:,} "
            f"X posts from those minutes ({coverage['share']:.1%}).",
            highlight=False,
        )
    console.print(f"spikes: {len(result.spikes)} (see `jalsa trends`)", highlight=False)
    c = result.coordination
    if c:
        console.print(
            f"signs of coordination: {c['any']['accounts']:,} accounts, "
            f"{c['any']['share_of_posts']:.2%} of posts "
            f"(near-identical text {c['copied_text']['share_of_posts']:.2%}, inhuman rate "
            f"{c['fast_posting']['share_of_posts']:.2%}, new-account bursts "
            f"{c['new_account_burst']['share_of_posts']:.2%}); signs, not proof.",
            highlight=False,
        )
    if out:
        console.print(f"written: {out}", highlight=False)


def collect_cmd(
    event: Annotated[str, typer.Argument(help="Event slug or id.")],
    x_query: Annotated[
        str | None, typer.Option(help="X search query (default: the event's hashtags, OR-ed).")
    ] = None,
    x_stream: Annotated[
        bool, typer.Option(help="Also read X's filtered stream (its rules are yours to set).")
    ] = False,
    youtube: Annotated[
        list[str] | None, typer.Option(help="More YouTube video ids whose live chat to read.")
    ] = None,
    facebook: Annotated[
        list[str] | None, typer.Option(help="More Facebook live video or post ids.")
    ] = None,
    every: Annotated[float, typer.Option(help="Seconds between ingestions.")] = 15.0,
    minutes: Annotated[float | None, typer.Option(help="Stop after N minutes.")] = None,
) -> None:
    """Collect the event's conversation live (X search on its hashtags, the live chat of its
    YouTube streams, comments on its Facebook live videos) into its dataset; Ctrl-C stops."""
    settings = get_settings()
    store = open_store(settings)
    try:
        settings = with_stored_credentials(settings, store)
        with store.session() as session:
            found = get_event(session, event)
            plan = Plan.for_event(found, x_stream=x_stream)
            slug = found.slug
    finally:
        store.dispose()
    if x_query is not None:
        plan.x_query = x_query.strip() or None
    plan.youtube_videos += youtube or []
    plan.facebook_objects += facebook or []
    if plan.is_empty() and not plan.x_stream:
        raise UserError(
            f"nothing to collect for {event!r}: give it hashtags (jalsa event create "
            "--hashtag) or streams, or pass --x-query / --youtube / --facebook"
        )
    if every <= 0 or (minutes is not None and minutes <= 0):
        raise UserError("--every and --minutes must be more than zero")
    gathering = Gathering(PostDataset.of_event(settings, slug), plan, settings, every=every)
    totals = asyncio.run(_gather(gathering, minutes))
    console.print(
        f"[bold]{totals.posts:,} new posts[/bold], {totals.duplicates:,} repeats skipped, "
        f"{totals.quarantined:,} quarantined; see them with: jalsa trends {slug}",
        highlight=False,
    )
    if totals.last_error:
        raise UserError(totals.last_error)


async def _gather(gathering: Gathering, minutes: float | None) -> Totals:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    if minutes is not None:
        loop.call_later(minutes * 60, stop.set)
    task = asyncio.create_task(gathering.run(stop))
    if console.is_terminal:
        with Live(sources_table(gathering.totals), console=console, refresh_per_second=2) as view:
            while not task.done():
                await asyncio.sleep(0.5)
                view.update(sources_table(gathering.totals))
    else:
        gathering.on_change = _print_progress()
    return await task


def _print_progress() -> Callable[[Totals], None]:
    seen = [0]

    def show_round(totals: Totals) -> None:
        if totals.rounds != seen[0]:
            seen[0] = totals.rounds
            console.print(sources_table(totals))

    return show_round


def sources_table(totals: Totals) -> Table:
    table = Table(
        "source",
        "status",
        "pages",
        "items",
        "requests",
        "quota",
        "US$",
        "detail",
        title=f"{totals.posts:,} new posts, {totals.duplicates:,} repeats, "
        f"{totals.quarantined:,} quarantined",
    )
    for s in totals.sources.values():
        table.add_row(
            s.name,
            s.status,
            f"{s.pages:,}",
            f"{s.items:,}",
            f"{s.requests:,}",
            f"{s.quota_units:,}",
            f"{s.cost_usd:.2f}",
            s.detail[:60],
        )
    return table
