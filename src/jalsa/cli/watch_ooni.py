"""`jalsa watch` OONI view: read OONI measurements, classify them by our rules and show our
verdict beside OONI's, without storing anything (the store import is `import-ooni`).

Wire it with `watch_app.command("ooni-compare")(import_ooni)`."""

from __future__ import annotations

from collections import Counter
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


def unread_files(paths: list[Path], read: Counter[str], problems: list[Problem]) -> list[str]:
    """What went wrong with each file that gave no measurement: it could not be read at all,
    or every record in it was skipped (another kind of file, or an API listing)."""
    said = [p.reason for p in problems if p.whole_file]
    whole = {p.path for p in problems if p.whole_file}
    for path in dict.fromkeys(str(p) for p in paths):
        if path in whole or read[path]:
            continue
        skipped = [p for p in problems if p.path == path]
        said.append(
            f"{path}: no measurement read ({len(skipped):,} skipped; the first: "
            f"{skipped[0].reason})"
            if skipped
            else f"{path}: no measurement in it"
        )
    return said


def report_skipped(problems: list[Problem], unread: list[str]) -> None:
    """The records skipped inside files that were read, then the files that gave nothing."""
    within = [p for p in problems if not p.whole_file]
    for problem in within[:10]:
        err.print(f"skipped {problem}", highlight=False)
    if len(within) > 10:
        err.print(f"… and {len(within) - 10} more skipped", highlight=False)
    for line in unread:
        err.print(f"file skipped: {line}", highlight=False)


def nothing_read(problems: list[Problem], unread: list[str]) -> str:
    """The error when no file gave a measurement: what was wrong with the first files."""
    shown = "; ".join(unread[:3]) + (f"; and {len(unread) - 3} more" if len(unread) > 3 else "")
    return f"no measurements read ({len(problems):,} skipped): {shown}; nothing imported"


def fail_if_unread(paths: list[Path], unread: list[str]) -> None:
    """Exit non-zero, after the rest was done, when a file gave no measurement."""
    if unread:
        raise UserError(
            f"{len(unread):,} of {len(set(map(str, paths))):,} file(s) gave no measurement "
            "(see above); the others were read"
        )


def import_ooni(
    paths: OoniPaths,
    fingerprints: FingerprintsOption = None,
    differing: Annotated[
        bool, typer.Option("--differing", help="List only where we differ from OONI.")
    ] = False,
) -> Summary:
    """Classify OONI measurements by jalsa's rules and show each verdict beside OONI's.
    A file that cannot be read is reported and skipped; the exit code is then non-zero."""
    known = known_fingerprints(fingerprints)
    rows: list[tuple[str, str, Comparison]] = []
    problems: list[Problem] = []
    read: Counter[str] = Counter()
    for path in paths:
        for item in import_and_compare([path], known):
            if isinstance(item, Problem):
                problems.append(item)
            else:
                measurement, comparison = item
                read[str(path)] += 1
                rows.append((measurement.target, measurement.verdict.reason, comparison))
    table = Table("target", "ours", "OONI", "agrees", "why (ours)")
    for target, reason, c in rows:
        if differing and c.agrees:
            continue
        flags = f" ({', '.join(c.ooni_flags)})" if c.ooni_flags else ""
        table.add_row(target, c.method, c.ooni + flags, "yes" if c.agrees else "no", reason)
    if rows:
        console.print(table)
    unread = unread_files(paths, read, problems)
    report_skipped(problems, unread)
    summary = summarize((c for _, _, c in rows), problems=len(problems))
    if problems and not rows:
        raise UserError(nothing_read(problems, unread))
    share = f"{summary.agreement:.0%}" if summary.agreement is not None else "-"
    console.print(
        f"{summary.measurements:,} measurements, {summary.problems:,} skipped; same category "
        f"as OONI: {summary.agreeing:,} ({share})",
        highlight=False,
    )
    fail_if_unread(paths, unread)
    return summary
