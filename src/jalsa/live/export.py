"""`jalsa export`: the whole sample timeline of an event as CSV, JSON or Parquet.

Every row carries the metric's unit and the JSON carries each metric's definition and source, so
an exported file can be read without jalsa."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import pyarrow as pa
import pyarrow.parquet as pq

from jalsa import csvsafe
from jalsa.errors import UserError
from jalsa.platforms.registry import CONNECTORS, get_metric
from jalsa.store import Store
from jalsa.store.repo import get_event, iter_samples
from jalsa.timeutil import local

FORMATS = ("csv", "json", "parquet")
COLUMNS = (
    "event",
    "stream_id",
    "kind",
    "platform",
    "external_id",
    "label",
    "metric",
    "unit",
    "observed_at_utc",
    "observed_at_local",
    "value",
    "fetched_at_utc",
)
_SCHEMA = pa.schema(
    [(c, pa.int64() if c in ("stream_id", "value") else pa.string()) for c in COLUMNS]
)


def _rows(store: Store, event_ref: str) -> tuple[dict[str, Any], Iterator[dict[str, Any]]]:
    with store.session() as session:
        event = get_event(session, event_ref)
        header = {
            "slug": event.slug,
            "name": event.name,
            "starts_at": event.starts_at.isoformat(),
            "ends_at": event.ends_at.isoformat(),
            "timezone": event.timezone,
            "hashtags": event.hashtags,
        }

    def generate() -> Iterator[dict[str, Any]]:
        with store.session() as session:
            event = get_event(session, event_ref)
            for stream, sample in iter_samples(session, event):
                connector = CONNECTORS.get(stream.kind)
                yield {
                    "event": event.slug,
                    "stream_id": stream.id,
                    "kind": stream.kind,
                    "platform": connector.platform if connector else stream.kind,
                    "external_id": stream.external_id,
                    "label": stream.label,
                    "metric": sample.metric,
                    "unit": get_metric(sample.metric).unit,
                    "observed_at_utc": sample.observed_at.isoformat(),
                    "observed_at_local": local(sample.observed_at, event.timezone).isoformat(),
                    "value": sample.value,
                    "fetched_at_utc": sample.fetched_at.isoformat(),
                }

    return header, generate()


def export(
    store: Store,
    event_ref: str,
    fmt: str,
    output: Path | None,
    progress: Callable[[int], None] | None = None,
) -> tuple[Path | None, int]:
    """Write the timeline; `output` None means standard output (CSV and JSON only).
    Returns where it went and how many samples were written."""
    if fmt not in FORMATS:
        raise UserError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if fmt == "parquet" and output is None:
        raise UserError("Parquet cannot go to standard output; pass --output FILE")
    header, rows = _rows(store, event_ref)
    tick = progress or (lambda n: None)
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "parquet":
        assert output is not None
        return output, _write_parquet(output, rows, tick)
    with (
        output.open("w", encoding="utf-8", newline="") if output else _stdout(sys.stdout)
    ) as handle:
        count = (_write_csv if fmt == "csv" else _write_json)(handle, header, rows, tick)
    return output, count


class _stdout:
    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream

    def __enter__(self) -> IO[str]:
        return self.stream

    def __exit__(self, *exc: object) -> None:
        self.stream.flush()


def _write_csv(
    handle: IO[str],
    header: dict[str, Any],
    rows: Iterator[dict[str, Any]],
    tick: Callable[[int], None],
) -> int:
    writer = csvsafe.DictWriter(handle, fieldnames=COLUMNS)
    writer.writeheader()
    count = 0
    for row in rows:
        writer.writerow(row)
        count += 1
        if count % 10_000 == 0:
            tick(count)
    tick(count)
    return count


def _write_json(
    handle: IO[str],
    header: dict[str, Any],
    rows: Iterator[dict[str, Any]],
    tick: Callable[[int], None],
) -> int:
    """One JSON document, written incrementally so a long timeline never sits in memory."""
    used: set[str] = set()
    handle.write('{"event": ' + json.dumps(header, ensure_ascii=False) + ', "samples": [')
    count = 0
    for row in rows:
        handle.write(("," if count else "") + "\n" + json.dumps(row, ensure_ascii=False))
        used.add(row["metric"])
        count += 1
        if count % 10_000 == 0:
            tick(count)
    definitions = {
        name: {
            "label": get_metric(name).label,
            "unit": get_metric(name).unit,
            "kind": get_metric(name).kind.value,
            "definition": get_metric(name).definition,
            "source": get_metric(name).source,
        }
        for name in sorted(used)
    }
    handle.write('\n], "metrics": ' + json.dumps(definitions, ensure_ascii=False, indent=1))
    handle.write(', "sample_count": ' + str(count) + "}\n")
    tick(count)
    return count


def _write_parquet(
    output: Path, rows: Iterator[dict[str, Any]], tick: Callable[[int], None]
) -> int:
    count = 0
    with pq.ParquetWriter(output, _SCHEMA) as writer:
        batch: list[dict[str, Any]] = []
        for row in rows:
            batch.append(row)
            if len(batch) == 50_000:
                writer.write_table(pa.Table.from_pylist(batch, schema=_SCHEMA))
                count += len(batch)
                tick(count)
                batch = []
        if batch or count == 0:
            writer.write_table(pa.Table.from_pylist(batch, schema=_SCHEMA))
            count += len(batch)
    tick(count)
    return count
