"""`DayRows`: a whole-history asset whose rows belong to days replaces only the days it
names, in the warehouse and as `date=D/` folders of gold Parquet; `days=None` replaces the
whole table and removes day folders no longer in it. `rows_of_changed_days` names them."""

from __future__ import annotations

import json
import shutil
from datetime import date

import pandas as pd
import pandera.pandas as pandera
import pyarrow.parquet as pq
import pytest
from pandera.engines.pandas_engine import Date
from pandera.typing import Series

from cx_assets.lakehouse.assets import lake_asset
from cx_assets.lakehouse.by_day import rows_of_changed_days
from cx_assets.lakehouse.gold_io_manager import GoldIOManager
from cx_assets.lakehouse.io_managers import LAYER_STORAGE, DayRows
from cx_assets.lakehouse.schemas import LakeModel

D1, D2, D3 = date(2024, 3, 1), date(2024, 3, 2), date(2024, 3, 3)
# What the asset returns on its next run (set by each test).
NEXT: dict[str, DayRows] = {}


@lake_asset("gold", group="day_rows_test", partitioned=False)
def by_created_day(context) -> DayRows:
    """Rows that belong to days, whatever the test says."""
    return NEXT["rows"]


def _rows(*rows: tuple) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["date", "ticket_id", "value"])


def _stored(lake) -> list[tuple]:
    frame = lake.query("SELECT date, ticket_id, value FROM gold.by_created_day ORDER BY 2")
    return [(str(day)[:10], ticket, value) for day, ticket, value in frame.itertuples(index=False)]


def test_only_the_named_days_are_replaced(lake):
    NEXT["rows"] = DayRows(_rows((D1, "a", 1), (D2, "b", 1)), [D1, D2])
    lake.materialize([by_created_day])
    folder = lake.layout.gold_dir / "by_created_day"
    day_1 = folder / f"date={D1}" / "data.parquet"
    written = day_1.stat().st_mtime_ns

    # Day 2 changed (b updated, c added), day 3 has no rows: day 1 is left alone.
    NEXT["rows"] = DayRows(_rows((D2, "b", 2), (D2, "c", 1)), [D2, D3])
    result = lake.materialize([by_created_day])

    assert _stored(lake) == [("2024-03-01", "a", 1), ("2024-03-02", "b", 2), ("2024-03-02", "c", 1)]
    assert day_1.stat().st_mtime_ns == written
    assert pd.read_parquet(folder / f"date={D2}")["value"].tolist() == [2, 1]
    assert pq.read_table(folder / f"date={D3}" / "data.parquet").num_rows == 0
    assert "date" not in pq.read_schema(day_1).names
    (event,) = result.asset_materializations_for_node("gold__by_created_day")
    assert event.metadata["dagster/row_count"].value == 3  # the whole table, not the days


def test_no_days_named_replace_the_whole_table_and_drop_old_day_folders(lake):
    NEXT["rows"] = DayRows(_rows((D1, "a", 1), (D2, "b", 1)), [D1, D2])
    lake.materialize([by_created_day])
    NEXT["rows"] = DayRows(_rows((D3, "z", 9)))
    lake.materialize([by_created_day])
    assert _stored(lake) == [("2024-03-03", "z", 9)]
    folders = sorted(p.name for p in (lake.layout.gold_dir / "by_created_day").iterdir())
    assert folders == [f"date={D3}"]


def test_old_day_folders_go_only_once_the_new_days_are_in_place(lake, monkeypatch):
    """A reader of the folder (the command centre, a BI refresh) never sees the table short
    of days it is about to have: a forecast moving on a day read 13 of its 14 days, or
    failed on a folder its listing held, when the old days were removed first."""
    from cx_assets.lakehouse import parquet

    NEXT["rows"] = DayRows(_rows((D1, "a", 1), (D2, "b", 1)), [D1, D2])
    lake.materialize([by_created_day])
    folder = lake.layout.gold_dir / "by_created_day"
    seen_while_writing = []
    publish = parquet.publish

    def watched(table, target):
        seen_while_writing.append(sorted(p.name for p in folder.iterdir()))
        return publish(table, target)

    monkeypatch.setattr(parquet, "publish", watched)
    NEXT["rows"] = DayRows(_rows((D2, "b", 2), (D3, "z", 9)))  # day 1 leaves the table
    lake.materialize([by_created_day])

    assert seen_while_writing == [[f"date={D1}", f"date={D2}"]] * 2
    assert sorted(p.name for p in folder.iterdir()) == [f"date={D2}", f"date={D3}"]


def test_day_files_do_not_describe_the_date_column_they_do_not_hold(lake):
    """The folder's name holds the day: the pandas metadata listed a `date` column too,
    which readers trusting it (fastparquet, some BI tools) would look for."""
    NEXT["rows"] = DayRows(_rows((D1, "a", 1)), [D1])
    lake.materialize([by_created_day])
    path = lake.layout.gold_dir / "by_created_day" / f"date={D1}" / "data.parquet"
    described = json.loads(pq.read_schema(path).metadata[b"pandas"])
    assert [column["name"] for column in described["columns"]] == ["ticket_id", "value"]
    assert pd.read_parquet(path).to_dict("records") == [{"ticket_id": "a", "value": 1}]


# --------------------------------------------------------------------------- crash and repair


def _parquet_rows(lake, day: date) -> list[tuple]:
    frame = pd.read_parquet(lake.layout.gold_dir / "by_created_day" / f"date={day}")
    return sorted(frame[["ticket_id", "value"]].itertuples(index=False, name=None))


def test_a_crash_after_the_warehouse_commit_is_repaired_by_the_next_run(lake, monkeypatch):
    NEXT["rows"] = DayRows(_rows((D1, "a", 1), (D2, "b", 1)), [D1, D2])
    lake.materialize([by_created_day])

    # The process dies once the warehouse has committed day 2's change, before its Parquet.
    def killed(*args, **kwargs):
        raise RuntimeError("killed")

    monkeypatch.setattr(GoldIOManager, "publish", killed)
    NEXT["rows"] = DayRows(_rows((D2, "b", 2)), [D2])
    assert not lake.materialize([by_created_day], raise_on_error=False).success
    monkeypatch.undo()
    assert _stored(lake)[1] == ("2024-03-02", "b", 2)
    assert _parquet_rows(lake, D2) == [("b", 1)]  # behind the warehouse
    assert (lake.layout.gold_journal_dir / "by_created_day.json").exists()

    # The next run finds nothing changed in day 2 (the warehouse has it) and adds day 3;
    # the journal the crash left makes it publish day 2 again, from the warehouse.
    NEXT["rows"] = DayRows(_rows((D3, "c", 1)), [D3])
    lake.materialize([by_created_day])
    assert _parquet_rows(lake, D2) == [("b", 2)]
    assert _parquet_rows(lake, D3) == [("c", 1)]
    assert not (lake.layout.gold_journal_dir / "by_created_day.json").exists()


def test_a_crash_writing_the_whole_table_is_repaired_for_every_day(lake, monkeypatch):
    """`days=None` replaces the whole table: a crash between its commit and its Parquet
    leaves a journal naming the whole table, and the next command publishes every day."""
    NEXT["rows"] = DayRows(_rows((D1, "a", 1), (D2, "b", 1)))
    lake.materialize([by_created_day])

    def killed(*args, **kwargs):
        raise RuntimeError("killed")

    monkeypatch.setattr(GoldIOManager, "publish", killed)
    NEXT["rows"] = DayRows(_rows((D1, "a", 2), (D2, "b", 2)))
    assert not lake.materialize([by_created_day], raise_on_error=False).success
    monkeypatch.undo()
    assert _parquet_rows(lake, D1) == [("a", 1)]  # behind the warehouse

    gold = lake.resources[LAYER_STORAGE["gold"]]
    assert gold.republish_left_behind() == ["by_created_day"]
    assert _parquet_rows(lake, D1) == [("a", 2)]
    assert _parquet_rows(lake, D2) == [("b", 2)]


def test_a_day_folder_deleted_by_hand_is_published_again(lake):
    NEXT["rows"] = DayRows(_rows((D1, "a", 1), (D2, "b", 1)), [D1, D2])
    lake.materialize([by_created_day])
    shutil.rmtree(lake.layout.gold_dir / "by_created_day" / f"date={D1}")
    NEXT["rows"] = DayRows(_rows((D2, "b", 3)), [D2])
    lake.materialize([by_created_day])
    assert _parquet_rows(lake, D1) == [("a", 1)]
    assert _parquet_rows(lake, D2) == [("b", 3)]


def test_a_day_file_deleted_by_hand_from_its_folder_is_published_again(lake):
    """Found restoring a data root: a day's `data.parquet` deleted (`rm`, a restore that
    left the folder) was never published again, since the table rewrites only the days
    whose rows changed and its folder was still there: the command centre and analysts
    read the table without that day's tickets for good, every run passing."""
    NEXT["rows"] = DayRows(_rows((D1, "a", 1), (D2, "b", 1)), [D1, D2])
    lake.materialize([by_created_day])
    (lake.layout.gold_dir / "by_created_day" / f"date={D1}" / "data.parquet").unlink()
    NEXT["rows"] = DayRows(_rows((D2, "b", 3)), [D2])
    lake.materialize([by_created_day])
    assert _parquet_rows(lake, D1) == [("a", 1)]
    assert _parquet_rows(lake, D2) == [("b", 3)]


# --------------------------------------------------------------------------- which days


@pytest.fixture
def con(con):
    """The session's `gold` schema, where `gold.t` is stored."""
    con.execute("CREATE SCHEMA gold")
    return con


class TicketRow(LakeModel):
    date: Series[Date] = pandera.Field(description="Created day.")
    ticket_id: Series[str] = pandera.Field(description="Ticket.")
    value: Series[int] = pandera.Field(description="A value of the ticket.")


def _day_rows(con, candidate: str, every_day: tuple[date, ...]) -> tuple[DayRows, list[date]]:
    """`rows_of_changed_days` of `candidate` against `gold.t`, `every_day` materialized."""
    days = " UNION ALL ".join(f"SELECT DATE '{day}' AS date" for day in every_day)
    return rows_of_changed_days(con, candidate, "gold", "t", TicketRow, days)


def _changed(con, candidate: str, every_day: tuple[date, ...]) -> tuple[list[date], list[date]]:
    """(days rewritten, days whose rows changed) of `candidate` against `gold.t`."""
    rows, changed = _day_rows(con, candidate, every_day)
    return list(rows.days), changed


def _store(con, *rows: tuple) -> None:
    con.execute("CREATE OR REPLACE TABLE gold.t (date DATE, ticket_id VARCHAR, value BIGINT)")
    for row in rows:
        con.execute("INSERT INTO gold.t VALUES (?, ?, ?)", list(row))


def _candidate(*rows: tuple) -> str:
    values = ", ".join(f"(DATE '{day}', '{ticket}', {value})" for day, ticket, value in rows)
    return f"SELECT * FROM (VALUES {values}) AS c(date, ticket_id, value)"


def test_a_ticket_moving_to_another_day_rewrites_both_days(con):
    """A re-delivery moves T's creation from D1 to D2: D1 must lose it (counted once, under
    its latest version's day), not only D2 gain it."""
    _store(con, (D1, "T", 1), (D1, "U", 1))
    rewritten, changed = _changed(con, _candidate((D1, "U", 1), (D2, "T", 1)), (D1, D2))
    assert changed == [D1, D2] and rewritten == [D1, D2]


def test_an_unchanged_day_is_left_alone_and_a_day_without_rows_is_written_empty(con):
    _store(con, (D1, "T", 1))
    rewritten, changed = _changed(con, _candidate((D1, "T", 1)), (D1, D2))
    assert changed == []
    assert rewritten == [D2]  # materialized, no rows: its empty partition


def test_only_the_changed_and_empty_days_rows_are_written_and_a_gone_unbuilt_day_removed(con):
    """D1 lost its ticket and D2 kept its own, both materialized; D3 (after the as-of day,
    say) changed its ticket; D4, never materialized, lost its only one; D5 is materialized
    with no ticket. D1 and D5 are written empty; D4 goes, folder and all."""
    d4, d5 = date(2024, 3, 4), date(2024, 3, 5)
    _store(con, (D1, "U", 1), (D2, "T", 1), (D3, "V", 1), (d4, "W", 1))

    rows, changed = _day_rows(con, _candidate((D2, "T", 1), (D3, "V", 2)), (D1, D2, d5))

    assert changed == [D1, D3, d4]
    assert (list(rows.days), list(rows.removed)) == ([D1, D3, d4, d5], [d4])
    written = rows.rows[["date", "ticket_id", "value"]].itertuples(index=False, name=None)
    assert [(str(day)[:10], ticket, value) for day, ticket, value in written] == [
        ("2024-03-03", "V", 2)
    ]


ROW_T = "SELECT DATE '2024-03-01' AS date, 'T' AS ticket_id, 1 AS value"


@pytest.mark.parametrize(
    ("stored", "candidate", "changed"),
    [
        # Nothing comparable stored (no table, or one without a column of the model): every
        # day the candidate holds.
        (None, ((D2, "U", 1), (D1, "T", 1)), [D1, D2]),
        (
            "SELECT DATE '2024-03-01' AS date, 'T' AS ticket_id",
            ((D2, "U", 1), (D1, "T", 1)),
            [D1, D2],
        ),
        # A row stored twice and computed once, or the reverse, has changed.
        (f"{ROW_T} UNION ALL {ROW_T}", ((D1, "T", 1),), [D1]),
        (ROW_T, ((D1, "T", 1), (D1, "T", 1)), [D1]),
    ],
    ids=["nothing stored", "a column missing", "a row stored twice", "a row computed twice"],
)
def test_the_changed_days_are_every_day_unless_comparable_rows_are_stored(
    con, stored, candidate, changed
):
    if stored:
        con.execute(f"CREATE TABLE gold.t AS {stored}")
    assert _changed(con, _candidate(*candidate), (D1,))[1] == changed


def test_a_computed_row_breaking_the_model_fails_the_step(con):
    with pytest.raises(ValueError, match=r"^1 rows break TicketRow: "):
        _changed(con, "SELECT DATE '2024-03-01' AS date, 'T' AS ticket_id, NULL AS value", (D1,))
