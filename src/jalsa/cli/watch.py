"""`jalsa watch`: probe the platforms, run a vantage agent or the server's own prober, list
incidents, import OONI measurements."""

from __future__ import annotations

import asyncio
import socket
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import httpx
import typer
from rich.table import Table

from jalsa.cli.common import open_store
from jalsa.cli.watch_ooni import (
    FingerprintsOption,
    OoniPaths,
    fail_if_unread,
    import_ooni,
    known_fingerprints,
    nothing_read,
    report_skipped,
    unread_files,
)
from jalsa.config import get_settings
from jalsa.errors import UserError
from jalsa.terminal import console, err, incidents_table
from jalsa.watch.agent import (
    OUTBOX_FILE,
    Agent,
    Baselines,
    Outbox,
    load_targets,
    on_grid,
    probe_config,
    probe_round,
    summary_line,
)
from jalsa.watch.record import DEFAULT_TARGETS, Measurement, Observations, Target, Vantage

if TYPE_CHECKING:
    from jalsa.watch.probe import ProbeConfig

watch_app = typer.Typer(
    help="Disruption watch: probes of the platforms, vantage agents, incidents.",
    no_args_is_help=True,
)

TargetsOption = Annotated[
    Path | None,
    typer.Option(
        "--targets",
        help="TOML or JSON file: [[targets]] host, platform (path, port, sample_url), and an "
        "optional [probe] table of probe settings. Default: the platforms' main hosts.",
    ),
]


def _targets(path: Path | None) -> tuple[list[Target], ProbeConfig]:
    if path is None:
        return list(DEFAULT_TARGETS), probe_config()
    targets, overrides = load_targets(path)
    return targets, probe_config(overrides)


def _every(value: float | None) -> float:
    every = value if value is not None else get_settings().watch_round_seconds
    if every < 1:
        raise UserError("--every must be at least 1 second")
    return every


# -- probe -------------------------------------------------------------------------------------


@watch_app.command("probe")
def probe_cmd(
    target: Annotated[str, typer.Argument(help="Host to probe, e.g. x.com (or host:port).")],
    platform: Annotated[str | None, typer.Option(help="Its platform (default: guessed).")] = None,
    control_from: Annotated[
        str | None,
        typer.Option(help="A jalsa server URL whose control helper observes it too."),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(envvar="JALSA_TOKEN", help="API token for --control-from (or JALSA_TOKEN)."),
    ] = None,
    targets_file: TargetsOption = None,
) -> None:
    """Probe one target once and show every step and the verdict with its reason."""
    _, config = _targets(targets_file)
    chosen = _parse_target(target, platform)
    control = asyncio.run(_control_for(chosen, control_from, token)) if control_from else None
    vantage = Vantage(name=socket.gethostname())
    [measured] = asyncio.run(
        probe_round(
            [chosen],
            vantage,
            config,
            datetime.now(UTC),
            controls={chosen.host: control} if control else None,
        )
    )
    console.print(steps_table(measured))
    verdict = measured.verdict
    colour = "green" if verdict.method == "ok" else "yellow" if verdict.method == "down" else "red"
    console.print(
        f"verdict: [bold {colour}]{verdict.method}[/bold {colour}] — {verdict.reason} "
        f"(control: {verdict.control})",
        highlight=False,
    )


def _parse_target(text: str, platform: str | None) -> Target:
    host, _, port = text.strip().removeprefix("https://").split("/")[0].partition(":")
    if not host:
        raise UserError("give a host to probe, e.g. x.com")
    known = next((t for t in DEFAULT_TARGETS if t.host == host), None)
    try:
        return Target(
            host=host,
            platform=platform or (known.platform if known else "other"),
            port=int(port) if port else 443,
        )
    except ValueError:
        raise UserError(f"cannot read the port in {text!r}") from None


async def _control_for(
    target: Target, server: str | None, token: str | None
) -> Observations | None:
    if not token:
        raise UserError("--control-from needs --token (or JALSA_TOKEN): an API token")
    async with httpx.AsyncClient(
        base_url=str(server).rstrip("/"),
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    ) as client:
        try:
            response = await client.post(
                "/api/watch/control", json={"targets": [target.model_dump(mode="json")]}
            )
        except httpx.HTTPError as exc:
            err.print(f"no control: {server} cannot be reached ({type(exc).__name__})")
            return None
    if response.status_code in (401, 403):
        raise UserError(f"the server refused the token ({response.status_code})")
    if response.status_code != 200:
        err.print(f"no control: the server answered {response.status_code}")
        return None
    item = response.json()[0]
    if item.get("observations") is None:
        err.print(f"no control: {item.get('error')}")
        return None
    return Observations.model_validate(item["observations"])


def steps_table(m: Measurement) -> Table:
    """Each step the probe took, what it got, how long it took."""
    table = Table("Step", "Where", "Result", "Seconds", title=f"{m.target} ({m.platform})")
    o = m.observations
    for d in o.dns:
        result = ", ".join(d.answers) or d.failure or d.rcode or "no answer"
        table.add_row(f"DNS ({d.transport})", d.resolver, result, f"{d.seconds:.2f}")
    for t in o.tcp:
        table.add_row(
            "TCP", f"{t.ip}:{t.port}", "connected" if t.ok else str(t.failure), f"{t.seconds:.2f}"
        )
    for s in o.tls:
        where = f"{s.ip} SNI {s.sni}" + (" (control name)" if s.control_sni else "")
        if s.ok:
            result = "handshake ok, " + (
                "certificate valid" if s.cert_valid else "certificate NOT valid"
            )
        else:
            result = str(s.failure)
        table.add_row("TLS", where, result, f"{s.seconds:.2f}")
    for h in o.http:
        if h.failure:
            result = h.failure
        else:
            result = f"{h.status} {h.title or ''} {h.body_length or 0} bytes".strip()
            if h.blockpage:
                result += f" — block page: {h.blockpage}"
        table.add_row("HTTP", h.url, result, f"{h.seconds:.2f}")
    if o.throughput is not None:
        rate = o.throughput.bits_per_second
        result = o.throughput.failure or (
            f"{o.throughput.bytes:,} bytes, {rate / 1e6:.2f} Mbit/s" if rate else "no data"
        )
        table.add_row("Throughput", o.throughput.url, result, f"{o.throughput.seconds:.2f}")
    return table


# -- agent and server prober -------------------------------------------------------------------


@watch_app.command("agent")
def agent_cmd(
    server: Annotated[str, typer.Option(help="The jalsa server, e.g. https://jalsa.example.org")],
    token: Annotated[str, typer.Option(envvar="JALSA_TOKEN", help="An API token (jls_...).")],
    name: Annotated[str, typer.Option(help="This vantage's name, e.g. lahore-ptcl-1.")],
    city: Annotated[str, typer.Option(help="The city it probes from.")],
    network: Annotated[str, typer.Option(help="The ISP or mobile operator (or ASN).")],
    every: Annotated[float | None, typer.Option(help="Seconds between rounds.")] = None,
    targets: TargetsOption = None,
    data_dir: Annotated[
        Path | None, typer.Option(help="Where the outbox lives (default: DATA_DIR/agent).")
    ] = None,
    rounds: Annotated[int | None, typer.Option(hidden=True)] = None,
) -> None:
    """Probe every round and report to the server; measurements wait in a local outbox while
    the server cannot be reached, and go up later, oldest first."""
    chosen, config = _targets(targets)
    folder = data_dir or get_settings().data_dir / "agent"
    outbox = Outbox(folder / OUTBOX_FILE)
    agent = Agent(
        server=server,
        token=token,
        vantage=Vantage(name=name, city=city, network=network),
        outbox=outbox,
        targets=chosen,
        probe=config,
        every=_every(every),
        console=console,
    )
    console.print(
        f"vantage {name} ({city}, {network}): {len(chosen)} targets every {agent.every:g} s, "
        f"reporting to {server}; outbox {outbox.path}",
        highlight=False,
    )
    try:
        asyncio.run(agent.run(rounds=rounds))
    except KeyboardInterrupt:
        pass
    finally:
        waiting = outbox.count_pending()
        outbox.close()
    console.print(f"stopped; {waiting} measurements waiting in the outbox", highlight=False)


@watch_app.command("run")
def run_cmd(
    name: Annotated[
        str | None, typer.Option(help="This vantage's name (default: host name).")
    ] = None,
    city: Annotated[str, typer.Option(help="The city the server is in.")] = "",
    network: Annotated[str, typer.Option(help="The server's network (ISP or ASN).")] = "",
    every: Annotated[float | None, typer.Option(help="Seconds between rounds.")] = None,
    targets: TargetsOption = None,
    rounds: Annotated[int | None, typer.Option(hidden=True)] = None,
) -> None:
    """Probe from the jalsa host itself every round, storing straight into the store and
    feeding the incident detector: for a team that runs only the server."""
    from jalsa.watch.service import WatchService

    settings = get_settings()
    chosen, config = _targets(targets)
    vantage = Vantage(name=name or socket.gethostname(), city=city, network=network)
    service = WatchService(open_store(settings), settings, probe_config=config)
    console.print(
        f"probing {len(chosen)} targets every {_every(every):g} s as vantage {vantage.name}",
        highlight=False,
    )
    try:
        asyncio.run(_serve_rounds(service, chosen, vantage, config, _every(every), rounds))
    except KeyboardInterrupt:
        console.print("stopped")


async def _serve_rounds(
    service: Any,
    targets: list[Target],
    vantage: Vantage,
    config: ProbeConfig,
    every: float,
    rounds: int | None,
) -> None:
    from jalsa.watch.service import list_measurements

    def seed() -> Baselines:
        baselines = Baselines(vantage.name)
        with service.store.session() as session:
            for t in {t.host for t in targets}:
                baselines.add(list_measurements(session, vantage=vantage.name, target=t, limit=30))
        return baselines

    baselines = await asyncio.to_thread(seed)
    await service.start()

    async def one(at: datetime) -> None:
        measured = await probe_round(targets, vantage, config, at, baselines=baselines)
        result = await service.submit(measured)
        extra = f" · {len(result.changes)} incident changes" if result.changes else ""
        console.print(summary_line(at, measured) + extra, highlight=False)

    try:
        await on_grid(every, one, rounds=rounds)
    finally:
        await service.stop()


# -- incidents ---------------------------------------------------------------------------------


@watch_app.command("incidents")
def incidents_cmd(
    event: Annotated[str | None, typer.Option(help="Only during this event (slug or id).")] = None,
) -> None:
    """Disruption incidents, oldest first: when, what, where, how sure."""
    from jalsa.store.repo import get_event
    from jalsa.watch.store import incidents_between

    settings = get_settings()
    tz = settings.timezone
    with open_store(settings).session() as session:
        start = end = None
        if event is not None:
            found = get_event(session, event)
            start, end, tz = found.starts_at, found.ends_at, found.timezone
        rows = incidents_between(session, start, end)
    if not rows:
        console.print("no incidents" + (f" during {event}" if event else ""))
        return
    console.print(incidents_table(rows, tz, datetime.now(UTC)))


# -- OONI import -------------------------------------------------------------------------------

IMPORT_BATCH = 500


@watch_app.command("import-ooni")
def import_ooni_cmd(paths: OoniPaths, fingerprints: FingerprintsOption = None) -> None:
    """Import OONI measurements: stored like our own (importing twice stores nothing twice)
    and fed to the incident detector, oldest first. `ooni-compare` only shows them. A file
    that cannot be read is reported and skipped, the rest stored; the exit code is then 2."""
    from jalsa.watch.ooni import OoniFormatError, Problem, read_ooni
    from jalsa.watch.service import WatchService

    known = known_fingerprints(fingerprints)
    measurements: list[Measurement] = []
    problems: list[Problem] = []
    read: Counter[str] = Counter()
    for path in paths:
        try:
            items = list(read_ooni(path, known))
        except OoniFormatError as exc:  # this file, not the batch
            problems.append(Problem(str(path), None, str(exc), whole_file=True))
            continue
        for item in items:
            if isinstance(item, Problem):
                problems.append(item)
            else:
                read[str(path)] += 1
                measurements.append(item)
    unread = unread_files(paths, read, problems)
    if problems and not measurements:
        report_skipped(problems, unread)
        raise UserError(nothing_read(problems, unread))
    measurements.sort(key=lambda m: (m.round_at, m.id))  # the detector reads rounds in order
    settings = get_settings()
    service = WatchService(open_store(settings), settings)

    async def submit_all() -> tuple[int, int, int]:
        stored = duplicate = changes = 0
        await asyncio.to_thread(service.replay)
        for start in range(0, len(measurements), IMPORT_BATCH):
            result = await service.submit(measurements[start : start + IMPORT_BATCH])
            stored, duplicate = stored + result.stored, duplicate + result.duplicate
            changes += len(result.changes)
        await service.stop()
        return stored, duplicate, changes

    stored, duplicate, changes = asyncio.run(submit_all())
    report_skipped(problems, unread)
    console.print(
        f"{len(measurements):,} measurements read: {stored:,} stored, {duplicate:,} already "
        f"stored, {len(problems):,} skipped; {changes} incident changes",
        highlight=False,
    )
    fail_if_unread(paths, unread)


watch_app.command("ooni-compare")(import_ooni)
