"""The store on SQLite and PostgreSQL: schema, natural keys, idempotent writes, UTC round trips."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, select

from jalsa.errors import NotFound, UserError
from jalsa.store import Poll, Sample, Store
from jalsa.store.models import Base
from jalsa.store.repo import (
    PollRecord,
    add_stream,
    create_event,
    get_event,
    latest_samples,
    peak_samples,
    stream_totals,
    write_polls,
)

START = datetime(2023, 12, 17, 15, 0, tzinfo=UTC)


def _event(store: Store, **kw: object):  # type: ignore[no-untyped-def]
    with store.session() as s:
        args = dict(
            name="PTI virtual jalsa",
            starts_at=START,
            duration=timedelta(hours=2),
            timezone="Asia/Karachi",
            hashtags=["#PTIVirtualJalsa"],
        )
        args.update(kw)
        return create_event(s, **args)  # type: ignore[arg-type]


def _record(stream_id: int, at: datetime, value: int, **kw: object) -> PollRecord:
    fields: dict[str, object] = dict(
        stream_id=stream_id,
        scheduled_at=at,
        finished_at=at + timedelta(milliseconds=120),
        status="ok",
        detail="",
        http_status=None,
        requests=1,
        quota_units=1,
        billed_resources=0,
        cost_usd=0.0,
        samples=(("youtube.concurrent_viewers", at, value),),
    )
    fields.update(kw)
    return PollRecord(**fields)  # type: ignore[arg-type]


def test_migrations_match_the_models(store: Store) -> None:
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_migrate_twice_is_harmless(database_url: str) -> None:
    Store(database_url).dispose()
    again = Store(database_url)
    with again.session() as s:
        assert s.scalar(select(func.count()).select_from(Sample)) == 0
    again.dispose()


def test_event_by_slug_or_id_and_clear_not_found(store: Store) -> None:
    event = _event(store)
    assert event.slug == "pti-virtual-jalsa"
    with store.session() as s:
        assert get_event(s, "pti-virtual-jalsa").id == event.id
        assert get_event(s, str(event.id)).name == "PTI virtual jalsa"
        with pytest.raises(NotFound, match="jalsa event list"):
            get_event(s, "no-such-event")


@pytest.mark.parametrize(
    "alias", ["0{id}", "00{id}", "+{id}", " {id}", "{id} ", "¹", "١", "x" * 5000]
)
def test_an_event_has_one_id_spelling_and_hostile_refs_are_not_found(
    store: Store, alias: str
) -> None:
    """'¹'.isdigit() is True and int('¹') raises: it was a 500 at /api/events/¹/timeline.
    '01' was event 1 under a second name (a second dashboard feed for the same event)."""
    event = _event(store)
    with store.session() as s, pytest.raises(NotFound, match="jalsa event list"):
        get_event(s, alias.format(id=event.id))


def test_a_slug_that_reads_as_a_number_is_found_before_the_id(store: Store) -> None:
    first = _event(store)
    numeric = _event(store, slug=str(first.id + 1000))
    with store.session() as s:
        assert get_event(s, numeric.slug).id == numeric.id
        assert get_event(s, str(first.id)).id == first.id
        assert get_event(s, str(numeric.id)).id == numeric.id


def test_event_times_come_back_as_aware_utc(store: Store) -> None:
    karachi = timezone(timedelta(hours=5))
    _event(store, starts_at=datetime(2023, 12, 17, 20, 0, tzinfo=karachi))
    with store.session() as s:
        event = get_event(s, "pti-virtual-jalsa")
    assert event.starts_at == START
    assert event.starts_at.tzinfo is not None
    assert event.ends_at - event.starts_at == timedelta(hours=2)


def test_duplicate_slug_and_bad_hashtag_are_user_errors(store: Store) -> None:
    _event(store)
    with pytest.raises(UserError, match="--slug"):
        _event(store)
    with pytest.raises(UserError, match="not a hashtag"):
        _event(store, slug="other", hashtags=["#ok", "bad-tag!"])


def test_urdu_name_gets_a_usable_slug_and_hashtags_normalise(store: Store) -> None:
    event = _event(
        store, name="ورچوئل جلسہ", hashtags=["PTIVirtualJalsa, #جلسہ", "#PTIVirtualJalsa"]
    )
    assert event.slug == "event-20231217-1500"
    assert event.hashtags == ["#PTIVirtualJalsa", "#جلسہ"]
    assert event.x_query == "#PTIVirtualJalsa OR #جلسہ"


def test_adding_a_stream_twice_returns_the_same_stream(store: Store) -> None:
    event = _event(store)
    with store.session() as s:
        e = get_event(s, event.slug)
        first = add_stream(s, e, kind="youtube", external_id=" abc123 ")
        second = add_stream(s, e, kind="youtube", external_id="abc123")
    assert first.id == second.id
    with store.session() as s:
        assert len(get_event(s, event.slug).streams) == 1


def test_writing_the_same_polls_twice_stores_them_once(store: Store) -> None:
    event = _event(store)
    with store.session() as s:
        sid = add_stream(s, get_event(s, event.slug), kind="youtube", external_id="v").id
    records = [_record(sid, START + timedelta(seconds=30 * i), 1000 + i) for i in range(50)]
    for _ in range(2):
        with store.session() as s:
            write_polls(s, records)
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(Sample)) == 50
        assert s.scalar(select(func.count()).select_from(Poll)) == 50


def test_a_revised_bucket_updates_its_value(store: Store) -> None:
    event = _event(store)
    with store.session() as s:
        sid = add_stream(s, get_event(s, event.slug), kind="youtube", external_id="v").id
    with store.session() as s:
        write_polls(s, [_record(sid, START, 10)])
    with store.session() as s:
        # the same bucket twice in one batch, as an X counts poll may return
        later = _record(
            sid,
            START + timedelta(seconds=60),
            0,
            samples=(
                ("youtube.concurrent_viewers", START, 15),
                ("youtube.concurrent_viewers", START, 17),
            ),
        )
        write_polls(s, [later])
    with store.session() as s:
        values = s.scalars(select(Sample.value)).all()
    assert values == [17]


def test_latest_peak_and_spend_per_stream(store: Store) -> None:
    event = _event(store)
    with store.session() as s:
        e = get_event(s, event.slug)
        a = add_stream(s, e, kind="youtube", external_id="a").id
        b = add_stream(s, e, kind="youtube", external_id="b").id
    values_a = [5, 9, 9, 4]
    values_b = [1, 2, 3, 7]
    records = [
        _record(sid, START + timedelta(seconds=30 * i), v, quota_units=1, cost_usd=0.25)
        for sid, values in ((a, values_a), (b, values_b))
        for i, v in enumerate(values)
    ]
    with store.session() as s:
        write_polls(s, records)
        latest = {x.stream_id: (x.value, x.observed_at) for x in latest_samples(s, [a, b])}
        peaks = {x.stream_id: (x.value, x.observed_at) for x in peak_samples(s, [a, b])}
        totals = stream_totals(s, [a, b])
    assert latest[a] == (4, START + timedelta(seconds=90))
    assert latest[b] == (7, START + timedelta(seconds=90))
    assert peaks[a] == (9, START + timedelta(seconds=30))  # earliest of a tie
    assert peaks[b] == (7, START + timedelta(seconds=90))
    assert totals[a].polls == 4 and totals[a].quota_units == 4
    assert totals[a].cost_usd == pytest.approx(1.0)
    assert totals[b].last_scheduled_at == START + timedelta(seconds=90)


def test_naive_datetimes_are_refused(store: Store) -> None:
    with pytest.raises(Exception, match="naive"):
        _event(store, starts_at=datetime(2023, 12, 17, 20, 0))


def test_bad_database_url_is_a_user_error() -> None:
    with pytest.raises(UserError, match="database"):
        Store("postgresql://nobody:secret@127.0.0.1:1/none")
    with pytest.raises(UserError) as info:
        Store("postgresql://nobody:secret@127.0.0.1:1/none")
    assert "secret" not in str(info.value)


def test_healthy_statuses_agree_with_the_stream_status_rule() -> None:
    from jalsa.platforms.base import StreamStatus
    from jalsa.store.repo import HEALTHY

    healthy = {s.value for s in StreamStatus if not s.is_failure} - {StreamStatus.PENDING.value}
    assert healthy == set(HEALTHY)


def test_an_in_memory_store_opens() -> None:
    store = Store("sqlite://")
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(Sample)) == 0
    store.dispose()


def test_sqlite_connections_keep_a_small_cache_and_the_warm_one_is_reused(tmp_path: Path) -> None:
    """Ten pooled connections with SQLite's default 2 MB page cache each, used in turn, made the
    web server's memory grow with the file for hours (benchmarks/RESULTS.md, fan-out)."""
    from jalsa.store.db import CACHE_KIB

    store = Store(f"sqlite:///{tmp_path}/cache.db")
    with store.engine.connect() as first, store.engine.connect() as second:
        assert first.exec_driver_sql("PRAGMA cache_size").scalar() == -CACHE_KIB
        assert second.exec_driver_sql("PRAGMA cache_size").scalar() == -CACHE_KIB
        warm = first.connection.dbapi_connection  # returned to the pool last
    with store.engine.connect() as again:
        assert again.connection.dbapi_connection is warm
    store.dispose()


def test_the_connection_pool_is_sized_by_the_settings(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL: at most pool + overflow connections per process (5 + 5 unless set), so
    several workers and a tracker fit in the server's 100. SQLite keeps its own pool."""
    from jalsa.cli.common import open_store
    from jalsa.config import load_settings

    monkeypatch.setenv("JALSA_DATABASE_URL", database_url)
    monkeypatch.setenv("JALSA_DB_POOL_SIZE", "3")
    monkeypatch.setenv("JALSA_DB_MAX_OVERFLOW", "2")
    settings = load_settings()
    assert (settings.db_pool_size, settings.db_max_overflow) == (3, 2)
    sized = open_store(settings)
    default = Store(database_url)
    try:
        pool: Any = sized.engine.pool
        if sized.is_postgres:
            assert (pool.size(), pool._max_overflow) == (3, 2)
            plain: Any = default.engine.pool
            assert (plain.size(), plain._max_overflow) == (5, 5)
        else:
            assert pool.size() == 10
    finally:
        sized.dispose()
        default.dispose()
    monkeypatch.setenv("JALSA_DB_POOL_SIZE", "0")
    with pytest.raises(UserError, match="db_pool_size"):
        load_settings()
