"""`jalsa watch` OONI view: read OONI measurements, classify them by our rules and show our
verdict beside OONI's, without storing anything (the store import is `import-ooni`).

Wire it with `watch_app.command("ooni-compare")(import_ooni)`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from jalsa.errors import UserError
from jalsa.watch.fingerprints import (
    BUILTIN,
    FingerprintError,
    Fingerprints,
    load_ooni_fingerprints,
)
from jalsa.watch.ooni import (
    Comparison,
    OoniFormatError,
    Problem,
    Summary,
    import_and_compare,
    summarize,
)

console = Console()
err = Console(stderr=True)

# The arguments `ooni-compare` and `import-ooni` share.
OoniPaths = Annotated[
    list[Path], typer.Argument(help="OONI web_connectivity files: JSON, JSONL, .gz.")
]
FingerprintsOption = Annotated[
    Path | None,
    typer.Option(
        help="OONI's fingerprint database (a fingerprints_*.json file or their folder), "
        "used beside jalsa's own block-page fingerprints."
    ),
]


def known_fingerprints(path: Path | None) -> Fingerprints:
    """jalsa's own block-page fingerprints, with OONI's database at `path` if given."""
    if path is None:
        return BUILTIN
    try:
        return BUILTIN + load_ooni_fingerprints(path)
    except FingerprintError as exc:
        raise UserError(str(exc)) from None


def import_ooni(
    paths: OoniPaths,
    fingerprints: FingerprintsOption = None,
    differing: Annotated[
        bool, typer.Option("--differing", help="List only where we differ from OONI.")
    ] = False,
) -> Summary:
    """Classify OONI measurements by jalsa's rules and show each verdict beside OONI's."""
    known = known_fingerprints(fingerprints)
    rows: list[tuple[str, str, Comparison]] = []
    problems: list[Problem] = []
    try:
        for item in import_and_compare(paths, known):
            if isinstance(item, Problem):
                problems.append(item)
            else:
                measurement, comparison = item
                rows.append((measurement.target, measurement.verdict.reason, comparison))
    except OoniFormatError as exc:
        raise UserError(str(exc)) from None
    table = Table("target", "ours", "OONI", "agrees", "why (ours)")
    for target, reason, c in rows:
        if differing and c.agrees:
            continue
        flags = f" ({', '.join(c.ooni_flags)})" if c.ooni_flags else ""
        table.add_row(target, c.method, c.ooni + flags, "yes" if c.agrees else "no", reason)
    console.print(table)
    for problem in problems[:10]:
        err.print(f"skipped {problem}", highlight=False)
    if len(problems) > 10:
        err.print(f"… and {len(problems) - 10} more skipped", highlight=False)
    summary = summarize((c for _, _, c in rows), problems=len(problems))
    if problems and not rows:
        raise UserError(f"no measurements read: {len(problems):,} skipped (see above)")
    share = f"{summary.agreement:.0%}" if summary.agreement is not None else "-"
    console.print(
        f"{summary.measurements:,} measurements, {summary.problems:,} skipped; same category "
        f"as OONI: {summary.agreeing:,} ({share})",
        highlight=False,
    )
    return summary
