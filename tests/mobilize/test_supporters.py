from __future__ import annotations

import csv
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from jalsa.errors import UserError
from jalsa.mobilize.supporters import (
    PURPOSES,
    consented,
    find_supporter,
    is_opted_out,
    opt_out,
    segment_query,
)
from jalsa.mobilize.supporters_import import ImportReport, import_csv
from jalsa.store.models import Consent, OptOut, Supporter

ALI = "+923001234567"
SARA = "+923012345678"


def write(tmp_path: Path, text: str, name: str = "list.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def supporters(store: Any) -> dict[str, Supporter]:
    with store.session() as session:
        return {s.phone: s for s in session.scalars(select(Supporter))}


def consents(store: Any) -> dict[tuple[str, str], tuple[datetime, str]]:
    with store.session() as session:
        rows = session.execute(
            select(Supporter.phone, Consent.purpose, Consent.given_at, Consent.source).join(
                Supporter, Supporter.id == Consent.supporter_id
            )
        )
        return {(phone, purpose): (at, source) for phone, purpose, at, source in rows}


def assert_adds_up(report: ImportReport) -> None:
    assert report.new + report.updated + report.duplicates + report.invalid == report.rows


LIST = """Phone,Name,City,Language,Tags,Consent,Consent Source,Consent_At,opt_out,notes
0300-1234567,Ali,Lahore,urdu,volunteer;Youth,reminders;general,signup form,2026-11-01 18:00,,x
0301 2345678,Sara,Karachi,English,donor|youth,reminders,signup form,2026-11-02T10:00:00+05:00,no,
"""


def test_import_reads_every_column(store: Any, tmp_path: Path) -> None:
    report = import_csv(store, write(tmp_path, LIST))
    assert (report.rows, report.new, report.invalid) == (2, 2, 0)
    assert report.ignored_columns == ["notes"]
    assert report.without_consent == {"reminders": 0, "general": 1}
    assert_adds_up(report)
    ali, sara = supporters(store)[ALI], supporters(store)[SARA]
    assert (ali.name, ali.city, ali.language, ali.tags) == (
        "Ali",
        "Lahore",
        "ur",
        ["volunteer", "youth"],
    )
    assert (sara.language, sara.tags) == ("en", ["donor", "youth"])
    given = consents(store)
    # "2026-11-01 18:00" is Karachi time (UTC+5); an offset in the cell is honoured.
    assert given[ALI, "reminders"] == (datetime(2026, 11, 1, 13, 0, tzinfo=UTC), "signup form")
    assert given[ALI, "general"][0] == datetime(2026, 11, 1, 13, 0, tzinfo=UTC)
    assert given[SARA, "reminders"][0] == datetime(2026, 11, 2, 5, 0, tzinfo=UTC)
    assert (SARA, "general") not in given


def test_importing_twice_stores_each_supporter_once(store: Any, tmp_path: Path) -> None:
    path = write(tmp_path, LIST)
    import_csv(store, path)
    again = import_csv(store, path)
    assert (again.new, again.updated, again.duplicates) == (0, 2, 0)
    assert len(supporters(store)) == 2
    assert len(consents(store)) == 3
    assert supporters(store)[ALI].tags == ["volunteer", "youth"]


def test_repeats_merge_later_values_union_tags_and_keep_the_earliest_consent(
    store: Any, tmp_path: Path
) -> None:
    text = (
        "phone,name,city,tags,consent,consent_source,consent_at\n"
        "03001234567,Ali,Lahore,volunteer,reminders,form A,2026-11-01 18:00\n"
        "0301 2345678,Sara,,,,,\n"
        "+92 300 1234567,,Multan,driver,reminders;general,form B,2026-10-01 09:00\n"
        "923001234567,Ali Khan,,volunteer,general,form C,2026-11-05 09:00\n"
    )
    # Chunks of two rows: the last repeat is found in the store, not in its chunk.
    report = import_csv(store, write(tmp_path, text), chunk_rows=2)
    assert (report.rows, report.new, report.duplicates, report.updated) == (4, 2, 2, 0)
    ali = supporters(store)[ALI]
    assert (ali.name, ali.city, ali.tags) == ("Ali Khan", "Multan", ["volunteer", "driver"])
    given = consents(store)
    assert given[ALI, "reminders"] == (datetime(2026, 10, 1, 4, 0, tzinfo=UTC), "form B")
    assert given[ALI, "general"][1] == "form B"
    # A later import with a later consent keeps the earlier one; an earlier one replaces it.
    later = "phone,consent,consent_source,consent_at\n03001234567,general,form D,2026-12-01\n"
    import_csv(store, write(tmp_path, later, "later.csv"))
    assert consents(store)[ALI, "general"][1] == "form B"
    earlier = "phone,consent,consent_source,consent_at\n03001234567,general,form E,2026-01-01\n"
    import_csv(store, write(tmp_path, earlier, "earlier.csv"))
    assert consents(store)[ALI, "general"][1] == "form E"


def test_consent_needs_a_time_and_a_source(store: Any, tmp_path: Path) -> None:
    text = (
        "phone,consent,consent_source,consent_at\n"
        "03001234567,all,,2026-11-01 18:00\n"
        "03012345678,reminders,form,\n"
        "03023456789,none,form,2026-11-01 18:00\n"
        "03034567890,all,form,2026-11-01 18:00\n"
    )
    report = import_csv(store, write(tmp_path, text))
    assert report.new == 4
    assert report.without_consent == {"reminders": 3, "general": 3}
    assert set(consents(store)) == {("+923034567890", p) for p in PURPOSES}


def test_without_a_consent_column_consent_is_for_the_default_purposes(
    store: Any, tmp_path: Path
) -> None:
    text = "phone,consent_at\n03001234567,2026-11-01 18:00\n"
    report = import_csv(
        store, write(tmp_path, text), default_purposes=("reminders",), source="rally signup"
    )
    assert report.without_consent == {"reminders": 0, "general": 1}
    assert consents(store)[ALI, "reminders"][1] == "rally signup"


def test_the_opt_out_registry_overrides_a_later_import_with_consent(
    store: Any, tmp_path: Path
) -> None:
    with store.session() as session:
        opt_out(session, ALI, "sms", "STOP")
    text = "phone,consent,consent_source,consent_at,opt_out\n03001234567,all,form,2026-11-01,no\n"
    report = import_csv(store, write(tmp_path, text))
    assert (report.new, report.opted_out) == (1, 1)
    assert report.without_consent == {"reminders": 0, "general": 0}
    assert consents(store) == {}
    with store.session() as session:
        supporter = find_supporter(session, ALI)
        assert supporter is not None
        assert is_opted_out(session, ALI)
        assert not consented(session, supporter.id, "reminders")
        entry = session.get(OptOut, ALI)
        assert entry is not None and (entry.source, entry.detail) == ("sms", "STOP")


def test_opt_out_in_the_file_goes_to_the_registry(store: Any, tmp_path: Path) -> None:
    text = "phone,consent,consent_source,consent_at,opt_out\n03001234567,all,form,2026-11-01,yes\n"
    report = import_csv(store, write(tmp_path, text, "crm.csv"))
    assert report.opted_out == 1
    with store.session() as session:
        entry = session.get(OptOut, ALI)
        assert entry is not None
        assert (entry.source, entry.detail) == ("import", "crm.csv line 2")
        # The first entry is kept: opting out again changes nothing.
        assert opt_out(session, ALI, "manual").source == "import"


def test_consented_is_per_purpose(store: Any, tmp_path: Path) -> None:
    import_csv(store, write(tmp_path, LIST))
    with store.session() as session:
        sara = find_supporter(session, SARA)
        assert sara is not None
        assert consented(session, sara.id, "reminders")
        assert not consented(session, sara.id, "general")
        assert find_supporter(session, "+923339999999") is None
        with pytest.raises(ValueError, match="unknown purpose"):
            consented(session, sara.id, "marketing")


BAD_ROWS = (
    "phone,name,language,timezone,consent_at,opt_out\n"
    "03001234567,Ali,ur,,,\n"
    "\n"  # a blank line still counts as a line
    '03012345678,"Sara\nKhan",en,,,\n'  # a quoted cell across two lines
    "042-35761234,Landline,,,,\n"
    "0300123,Short,,,,\n"
    "03023456789,Lang,punjabi,,,\n"
    "03034567890,Zone,,Mars/Base,,\n"
    "03045678901,When,,,yesterday,\n"
    "03056789012,Opt,,,,maybe\n"
    "03067890123,Too,many,,,,,extra\n"
    "03078901234,Fine,en,Asia/Dubai,2026-11-01,\n"
)


def test_rejects_keep_their_line_numbers_and_reasons(store: Any, tmp_path: Path) -> None:
    rejects = tmp_path / "out" / "rejects.csv"
    report = import_csv(store, write(tmp_path, BAD_ROWS), rejects=rejects)
    assert (report.rows, report.new, report.invalid) == (10, 3, 7)
    assert_adds_up(report)
    assert supporters(store)["+923012345678"].name == "Sara\nKhan"
    assert supporters(store)["+923078901234"].timezone == "Asia/Dubai"
    with rejects.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["rejected_line", "rejected_reason", "phone", "name", "language",
                       "timezone", "consent_at", "opt_out"]  # fmt: skip
    assert [(int(r[0]), r[1]) for r in rows[1:]] == [
        (6, "not a mobile number"),
        (7, "too short"),
        (8, "unknown language 'punjabi': ur or en"),
        (9, "unknown time zone 'Mars/Base': an IANA name such as Asia/Karachi"),
        (10, "cannot read consent_at 'yesterday': write it as YYYY-MM-DD HH:MM"),
        (11, "opt_out must be yes or no, not 'maybe'"),
        (12, "8 cells but 6 column names (a separator inside a value needs quotes)"),
    ]
    assert rows[1][2:] == ["042-35761234", "Landline", "", "", "", ""]
    assert [r.line for r in report.first_rejects] == [6, 7, 8, 9, 10, 11, 12]
    assert report.rejects_file == rejects


def test_a_fixed_rejects_file_imports_again(store: Any, tmp_path: Path) -> None:
    rejects = tmp_path / "rejects.csv"
    import_csv(store, write(tmp_path, BAD_ROWS), rejects=rejects)
    fixed = rejects.read_text(encoding="utf-8").replace("punjabi", "ur")
    report = import_csv(store, write(tmp_path, fixed, "fixed.csv"))
    assert report.ignored_columns == []  # rejected_line and rejected_reason are expected
    assert report.new == 1
    assert supporters(store)["+923023456789"].name == "Lang"


def test_a_clean_import_writes_no_rejects_file(store: Any, tmp_path: Path) -> None:
    rejects = tmp_path / "rejects.csv"
    report = import_csv(store, write(tmp_path, LIST), rejects=rejects)
    assert report.rejects_file is None and not rejects.exists()


def test_semicolons_and_excel_bom(store: Any, tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes("\ufeffMobile;Name;Tags\r\n0300 1234567;Ali;a|b\r\n".encode())
    report = import_csv(store, path)
    assert report.new == 1
    assert supporters(store)[ALI].tags == ["a", "b"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"\n \n", "is empty"),
        (b"name,city\nAli,Lahore\n", "has no phone column"),
        (b"phone,name\n03001234567,Ali\n03012345678,J\xe9r\xf4me\n", "line 3 has bytes that"),
        (b"PK\x03\x04rest of a zip", "Excel workbook"),
        ("phone\n03001234567\n".encode("utf-16"), "UTF-16"),
    ],
)
def test_a_malformed_file_is_one_clear_error_and_imports_nothing(
    store: Any, tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(UserError, match=message) as caught:
        import_csv(store, path)
    assert str(path) in str(caught.value)
    assert supporters(store) == {}


def test_progress_counts_every_byte(store: Any, tmp_path: Path) -> None:
    path = write(tmp_path, LIST)
    seen: list[int] = []
    import_csv(store, path, progress=seen.append)
    assert sum(seen) == path.stat().st_size


SEGMENT_LIST = """phone,city,constituency,language,tags
03001111111,Lahore,NA-125,ur,volunteer;youth
03002222222,lahore,NA-126,en,donor
03003333333,Karachi,NA-240,ur,youth
03004444444,Multan,NA-155,en,
03005555555,Lahore,NA-125,ur,driver|youth
"""


def test_segments_filter_in_the_database_and_page_by_id(store: Any, tmp_path: Path) -> None:
    import_csv(store, write(tmp_path, SEGMENT_LIST))

    def phones(segment: dict[str, list[str]], **paging: Any) -> list[str]:
        with store.session() as session:
            return [s.phone[-1] for s in session.scalars(segment_query(segment, **paging))]

    assert phones({}) == ["1", "2", "3", "4", "5"]
    assert phones({"city": ["LAHORE"]}) == ["1", "2", "5"]
    assert phones({"tags": ["youth", "Donor"]}) == ["1", "2", "3", "5"]
    assert phones({"city": ["Lahore"], "tags": ["youth"], "language": ["urdu"]}) == ["1", "5"]
    assert phones({"constituency": ["na-125", "NA-240"], "tags": []}) == ["1", "3", "5"]
    assert phones({"tags": ["nobody"]}) == []
    # Keyset paging: the next page starts after the last id of this one.
    with store.session() as session:
        first = session.scalars(segment_query({"tags": ["youth"]}, limit=2)).all()
        rest = session.scalars(segment_query({"tags": ["youth"]}, after_id=first[-1].id)).all()
    assert [s.phone[-1] for s in [*first, *rest]] == ["1", "3", "5"]
    with pytest.raises(UserError, match="unknown segment field 'ward'"):
        segment_query({"ward": ["7"]})


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="needs Linux /proc")
def test_a_large_file_imports_in_flat_memory(sqlite_url: str, tmp_path: Path) -> None:
    """200,000 rows in about 6 MB: held in memory at once they would take 50 MB or more
    (a list of cells per row); streamed in chunks, the process grows by a few MB.

    Measured as the process's resident memory, sampled every few milliseconds while the
    import runs: tracemalloc would make the import about five times slower (minutes)."""
    from jalsa.store import Store

    rows = 200_000
    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8") as f:
        f.write("phone,name,city\n")
        for i in range(rows):
            f.write(f"0300{i:07d},Supporter {i},Lahore\n")
    store = Store(sqlite_url)
    import_csv(store, write(tmp_path, LIST))  # warm up: imports, caches, metadata
    peak, done = _rss_bytes(), threading.Event()
    baseline = peak

    def sample() -> None:
        nonlocal peak
        while not done.wait(0.005):
            peak = max(peak, _rss_bytes())

    sampler = threading.Thread(target=sample)
    sampler.start()
    started = time.perf_counter()
    try:
        report = import_csv(store, path)
    finally:
        done.set()
        sampler.join()
    seconds = time.perf_counter() - started
    assert report.new == rows
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(Supporter)) == rows + 2
    store.dispose()
    grown = (max(peak, _rss_bytes()) - baseline) / 1e6
    assert grown < 25, f"memory grew by {grown:.0f} MB importing {rows:,} rows in {seconds:.0f} s"
