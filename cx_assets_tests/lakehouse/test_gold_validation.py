"""`query_validated` checks gold rows in SQL and casts them there to the types Pandera
coerces to: the frame it returns must be the frame Pandera's whole validation returns, for
every gold table of the four domains and for each kind of column, and rows breaking the
model must fail the step with Pandera's reasons."""

from __future__ import annotations

import sys
from datetime import date

import pandas as pd
import pandera.pandas as pa
import pytest
from pandera.engines.pandas_engine import Date
from pandera.typing import Series

from cx_assets.lakehouse import derived
from cx_assets.lakehouse.derived import query_validated, validate_derived
from cx_assets.lakehouse.validation import SchemaViolation
from cx_assets.synthetic import generator, sources
from cx_assets.synthetic.landing_writer import GenerationRequest
from cx_assets_tests.conftest import Domain, Lake

DAY = date(2024, 1, 3)


def _pandera_path(warehouse, sql: str, model) -> pd.DataFrame:
    """What `query_validated` returned before: the query's frame through Pandera."""
    with warehouse.connect() as con:
        return validate_derived(model, con.execute(sql).df())


def test_every_gold_frame_is_the_one_pandera_returns(tmp_path, monkeypatch):
    lake = Lake(tmp_path / "data")
    request = GenerationRequest(
        landing_dir=lake.layout.landing_dir, start=DAY, days=1, scale=0.02, seed=11,
        show_progress=False,
    )  # fmt: skip
    for source in sources():
        generator(source)(request)

    compared: list[str] = []
    in_sql: list[str] = []
    model_sql = derived.model_sql

    def translated(model, types, **kwargs):
        rendered = model_sql(model, types, **kwargs)
        in_sql.append(model.__name__)
        return rendered

    def compared_with_pandera(warehouse, sql, model):
        frame = query_validated(warehouse, sql, model)
        pd.testing.assert_frame_equal(frame, _pandera_path(warehouse, sql, model))
        compared.append(model.__name__)
        return frame

    monkeypatch.setattr(derived, "model_sql", translated)
    for name, module in list(sys.modules.items()):
        # (`sys.modules` may hold None: a module recorded as absent, such as geopandas)
        if name.startswith("cx_assets.") and (
            getattr(module, "query_validated", None) is query_validated
        ):
            monkeypatch.setattr(module, "query_validated", compared_with_pandera)

    try:
        for name in sources():
            domain = Domain.named(name)
            result = lake.materialize(
                domain.everything, selection=domain.partitioned, day=DAY.isoformat()
            )
            assert result.success, name
            assert lake.materialize(domain.everything, selection=domain.whole_history).success
    finally:
        lake.instance.dispose()
    # every domain's gold went through the comparison, most of it validated in SQL
    assert len(set(compared)) >= 20, sorted(set(compared))
    assert len(set(compared) & set(in_sql)) >= 15, sorted(set(compared) - set(in_sql))
    # sums of counts (HUGEINT) and decimal arithmetic (DECIMAL) among them
    assert {
        "LeakageActionRecommendation", "LeakageDailySummary", "LeakageSavingsModel",
        "LeakageSegmentDrilldown", "SegmentationMatrix",
    } <= set(compared) & set(in_sql)  # fmt: skip


class Share(pa.DataFrameModel):
    team: Series[str] = pa.Field(unique=True)
    share: Series[float] = pa.Field(ge=0, le=1)

    class Config:
        coerce = True
        strict = "filter"


def test_rows_breaking_the_model_fail_with_pandera_s_reasons(lake):
    # d and e break one check alike: its reason counts both rows, the most frequent first.
    sql = (
        "SELECT * FROM (VALUES ('a', 0.5), ('b', 1.5), ('b', 0.2), ('c', -1.0), ('d', 2.0), "
        "('e', 3.0)) AS t(team, share)"
    )
    warehouse = lake.resources["warehouse"]
    with pytest.raises(ValueError) as in_sql:
        query_validated(warehouse, sql, Share)
    with pytest.raises(ValueError) as in_pandera:
        _pandera_path(warehouse, sql, Share)
    assert str(in_sql.value) == str(in_pandera.value)
    assert "column 'share' failed less_than_or_equal_to(1)" in str(in_sql.value)
    assert str(in_sql.value).startswith(
        "5 rows break Share: {\"column 'share' failed less_than_or_equal_to(1)\": 2, "
    )


def test_a_missing_column_is_named(lake):
    with pytest.raises(SchemaViolation, match=r"^Share: column 'share' is missing$"):
        query_validated(lake.resources["warehouse"], "SELECT 'a' AS team", Share)


class EveryKind(pa.DataFrameModel):
    day: Series[Date]
    seen_at: Series[pd.DatetimeTZDtype] = pa.Field(dtype_kwargs={"unit": "us", "tz": "UTC"})
    count: Series[int]
    big_or_none: Series[pd.Int64Dtype] = pa.Field(nullable=True)
    flag: Series[bool]
    flag_or_none: Series[pd.BooleanDtype] = pa.Field(nullable=True)
    text_or_none: Series[str] = pa.Field(nullable=True)
    nothing: Series[str] = pa.Field(nullable=True)
    share: Series[float] = pa.Field(nullable=True)

    class Config:
        coerce = True
        strict = "filter"


def test_each_kind_of_column_comes_out_as_pandera_coerces_it(lake):
    """Nullable integers past 2**53 keep every digit, nullable booleans stay nullable, and
    a text column with no value still has its type."""
    sql = f"""
        SELECT * FROM (VALUES
            (DATE '2024-01-03', TIMESTAMPTZ '2024-01-03 10:00:00+00', 1, {2**62 + 1}, TRUE,
             NULL::BOOLEAN, 'a', NULL::VARCHAR, 0.5::DOUBLE, 'dropped'),
            (DATE '2024-01-04', TIMESTAMPTZ '2024-01-04 23:59:59.123456+00', 2, NULL, FALSE,
             TRUE, NULL, NULL, NULL, 'dropped')
        ) AS t(day, seen_at, count, big_or_none, flag, flag_or_none, text_or_none, nothing, share,
               extra)
    """
    warehouse = lake.resources["warehouse"]
    with warehouse.connect() as con:
        types = {name: kind for name, kind, *_ in con.execute(f"DESCRIBE {sql}").fetchall()}
    derived.model_sql(EveryKind, types)  # translates: checked and cast in SQL, not by Pandera

    frame = query_validated(warehouse, sql, EveryKind)

    pd.testing.assert_frame_equal(frame, _pandera_path(warehouse, sql, EveryKind))
    assert frame["big_or_none"].tolist()[0] == 2**62 + 1
    assert str(frame["flag_or_none"].dtype) == "boolean"
