"""`schema_sql`: each kind of Pandera check, rendered as SQL, gives on hand-worked rows the
reasons Pandera gives, the casts give the model's types, and what cannot be rendered
exactly is refused (the caller then validates with Pandera itself).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd
import pandera.pandas as pa
import pytest
from pandera.engines.pandas_engine import Date
from pandera.typing import Series

from cx_assets.lakehouse.schema_sql import Untranslatable, model_sql
from cx_assets_tests.lakehouse.sql_reasons import pandera_reasons, relation, sql_reasons


class Everything(pa.DataFrameModel):
    at_least: Series[int] = pa.Field(ge=1)
    above: Series[float] = pa.Field(gt=0.5, nullable=True)
    at_most: Series[pd.Int64Dtype] = pa.Field(le=10, lt=11, nullable=True)
    ranged: Series[float] = pa.Field(in_range={"min_value": 0, "max_value": 1}, nullable=True)
    kind: Series[str] = pa.Field(isin=["a", "b"], notin=["c"])
    code: Series[str] = pa.Field(str_matches=r"^[A-Z]", str_length={"min_value": 2}, nullable=True)
    key: Series[int] = pa.Field(unique=True, ne=7)
    flag: Series[bool] = pa.Field()
    day: Series[Date] = pa.Field()
    at: Series[pd.DatetimeTZDtype] = pa.Field(dtype_kwargs={"unit": "us", "tz": "UTC"})

    class Config:
        coerce = True
        strict = "filter"


GOOD = {
    "at_least": 1, "above": 0.75, "at_most": 10, "ranged": 0.0, "kind": "a", "code": "AB",
    "key": 1, "flag": True, "day": date(2024, 1, 5), "at": datetime(2024, 1, 5, tzinfo=UTC),
}  # fmt: skip
TYPES = {
    "at_least": "BIGINT", "above": "DOUBLE", "at_most": "BIGINT", "ranged": "DOUBLE",
    "kind": "VARCHAR", "code": "VARCHAR", "key": "BIGINT", "flag": "BOOLEAN", "day": "DATE",
    "at": "TIMESTAMPTZ",
}  # fmt: skip


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({}, None),
        ({"at_least": 0}, "column 'at_least' failed greater_than_or_equal_to(1)"),
        ({"above": 0.5}, "column 'above' failed greater_than(0.5)"),
        ({"above": None}, None),  # nullable: no check runs on a null
        ({"above": float("nan")}, None),  # a NaN is a null, as in pandas
        (
            {"at_most": 11},
            "column 'at_most' failed less_than(11); column 'at_most' failed "
            "less_than_or_equal_to(10)",
        ),
        ({"ranged": 1.5}, "column 'ranged' failed in_range(0, 1)"),
        ({"kind": "z"}, "column 'kind' failed isin(['a', 'b'])"),
        ({"kind": "c"}, "column 'kind' failed isin(['a', 'b']); column 'kind' failed notin(['c'])"),
        ({"code": "aB"}, "column 'code' failed str_matches('^[A-Z]')"),
        ({"code": "A"}, "column 'code' failed str_length(2, None)"),
        ({"key": 7}, "column 'key' failed not_equal_to(7)"),
        # Pandera's coercion of a null to int64 or bool fails too, and it says so.
        (
            {"at_least": None},
            "column 'at_least' failed coerce_dtype('int64'); column 'at_least' failed not_nullable",
        ),
        (
            {"flag": None},
            "column 'flag' failed coerce_dtype('bool'); column 'flag' failed "
            "dtype('bool'); column 'flag' failed not_nullable",
        ),
        ({"kind": None}, "column 'kind' failed not_nullable"),
        ({"day": None}, "column 'day' failed not_nullable"),
        ({"at": None}, "column 'at' failed not_nullable"),
    ],
)
def test_each_kind_of_check_on_a_hand_worked_row(con, change, reason):
    table = relation(con, TYPES, [{**GOOD, **change}])
    assert sql_reasons(con, Everything, table).get(0) == reason
    assert pandera_reasons(con, Everything, table).get(0) == reason


class MoreChecks(pa.DataFrameModel):
    """The checks `Everything` leaves out, each on a column of its own."""

    same: Series[int] = pa.Field(eq=3)
    inner: Series[str] = pa.Field(str_contains=r"b+c")  # re.search: anywhere in the text
    head: Series[str] = pa.Field(str_matches=r"[ab]x")  # re.match: at the start, not the end
    prefix: Series[str] = pa.Field(str_startswith="ab")
    suffix: Series[str] = pa.Field(str_endswith="yz")
    exact: Series[str] = pa.Field(str_length={"exact_value": 3})
    short: Series[str] = pa.Field(str_length={"max_value": 3})
    open_range: Series[float] = pa.Field(
        in_range={"min_value": 0, "max_value": 1, "include_min": False, "include_max": False}
    )
    measured: Series[float] = pa.Field(le=10)
    maybe: Series[float] = pa.Field(le=10, nullable=True)

    class Config:
        coerce = True
        strict = "filter"


MORE_GOOD = {
    "same": 3, "inner": "abbcd", "head": "bxyz", "prefix": "abc", "suffix": "xyz",
    "exact": "abc", "short": "abc", "open_range": 0.5, "measured": 10.0, "maybe": 10.0,
}  # fmt: skip
MORE_TYPES = {
    "same": "BIGINT", "inner": "VARCHAR", "head": "VARCHAR", "prefix": "VARCHAR",
    "suffix": "VARCHAR", "exact": "VARCHAR", "short": "VARCHAR", "open_range": "DOUBLE",
    "measured": "DOUBLE", "maybe": "DOUBLE",
}  # fmt: skip


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({}, None),
        # eq: only the value itself passes.
        ({"same": 4}, "column 'same' failed equal_to(3)"),
        # str_contains is re.search: a match inside the text passes, no match fails.
        ({"inner": "xbc"}, None),
        ({"inner": "acb"}, "column 'inner' failed str_contains('b+c')"),
        # str_matches is re.match: anchored at the start (`xbx` fails) but not at the end.
        ({"head": "xbx"}, "column 'head' failed str_matches('[ab]x')"),
        ({"head": "ax"}, None),
        # str_startswith / str_endswith: the text's own ends, not the other one.
        ({"prefix": "cab"}, "column 'prefix' failed str_startswith('ab')"),
        ({"suffix": "yzx"}, "column 'suffix' failed str_endswith('yz')"),
        # str_length's exact value: longer and shorter both fail.
        ({"exact": "abcd"}, "column 'exact' failed str_length(3)"),
        ({"exact": "ab"}, "column 'exact' failed str_length(3)"),
        # str_length's max_value is inclusive: 3 passes (the good row), 4 fails.
        ({"short": "abcd"}, "column 'short' failed str_length(None, 3)"),
        # in_range with include_min/include_max False: both ends excluded.
        ({"open_range": 0.0}, "column 'open_range' failed in_range(0, 1)"),
        ({"open_range": 1.0}, "column 'open_range' failed in_range(0, 1)"),
        # A NaN is a null, as in pandas: a non-nullable column fails `not_nullable` (where
        # DuckDB's NaN, larger than any number, would fail `le`); a nullable one is skipped.
        ({"measured": float("nan")}, "column 'measured' failed not_nullable"),
        ({"maybe": float("nan")}, None),
    ],
)
def test_each_other_kind_of_check_on_a_hand_worked_row(con, change, reason):
    table = relation(con, MORE_TYPES, [{**MORE_GOOD, **change}])
    assert sql_reasons(con, MoreChecks, table).get(0) == reason
    assert pandera_reasons(con, MoreChecks, table).get(0) == reason


def test_every_row_sharing_a_unique_value_fails(con):
    rows = [{**GOOD, "key": 1}, {**GOOD, "key": 1}, {**GOOD, "key": 2}]
    table = relation(con, TYPES, rows)
    expected = {
        0: "column 'key' failed field_uniqueness",
        1: "column 'key' failed field_uniqueness",
    }
    assert sql_reasons(con, Everything, table) == expected
    assert pandera_reasons(con, Everything, table) == expected


def test_nulls_of_a_unique_column_are_not_duplicates_of_each_other(con):
    # Pandera's uniqueness skips nulls: two null keys fail `not_nullable` (and the int64
    # coercion), never `field_uniqueness`.
    rows = [{**GOOD, "key": None}, {**GOOD, "key": None}, {**GOOD, "key": 2}]
    table = relation(con, TYPES, rows)
    null_key = "column 'key' failed coerce_dtype('int64'); column 'key' failed not_nullable"
    assert sql_reasons(con, Everything, table) == {0: null_key, 1: null_key}
    assert pandera_reasons(con, Everything, table) == {0: null_key, 1: null_key}


def test_casts_give_the_models_types_in_its_order(con):
    types = {**TYPES, "at_least": "INTEGER", "above": "FLOAT"}
    table = relation(con, types, [GOOD])
    source = {name: kind for name, kind, *_ in con.execute(f"DESCRIBE {table}").fetchall()}
    rendered = model_sql(Everything, source)
    described = con.execute(f"DESCRIBE SELECT {rendered.casts} FROM {table}").fetchall()
    assert [(name, kind) for name, kind, *_ in described] == [
        (name, kind.replace("TIMESTAMPTZ", "TIMESTAMP WITH TIME ZONE"))
        for name, kind in TYPES.items()
    ]


class Sums(pa.DataFrameModel):
    """A gold table's shape: a sum of counts (HUGEINT in DuckDB) and money or shares from
    decimal literals (DECIMAL)."""

    calls: Series[int] = pa.Field(ge=1)
    maybe_calls: Series[pd.Int64Dtype] = pa.Field(le=10, nullable=True)
    cost: Series[float] = pa.Field(ge=0, nullable=True)
    pct: Series[float] = pa.Field(in_range={"min_value": 0, "max_value": 100})

    class Config:
        coerce = True
        strict = "filter"


SUMS_TYPES = {
    "calls": "HUGEINT", "maybe_calls": "HUGEINT", "cost": "DECIMAL(21,1)", "pct": "DECIMAL(38,10)",
}  # fmt: skip
SUMS_GOOD = {"calls": 3, "maybe_calls": 10, "cost": "12.5", "pct": "99.9999999999"}


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({}, None),
        ({"calls": 0}, "column 'calls' failed greater_than_or_equal_to(1)"),
        (  # pandas reads a HUGEINT as float64, which a null keeps: its dtype fails too
            {"calls": None},
            "column 'calls' failed coerce_dtype('int64'); column 'calls' failed "
            "dtype('int64'); column 'calls' failed not_nullable",
        ),
        ({"maybe_calls": 11}, "column 'maybe_calls' failed less_than_or_equal_to(10)"),
        ({"maybe_calls": None}, None),
        ({"cost": "-0.1"}, "column 'cost' failed greater_than_or_equal_to(0)"),
        ({"cost": None}, None),
        ({"pct": "100.0000000001"}, "column 'pct' failed in_range(0, 100)"),
        ({"pct": "100.0000000000"}, None),
        ({"pct": None}, "column 'pct' failed not_nullable"),
    ],
)
def test_sums_and_decimals_are_checked_as_pandera_checks_their_floats(con, change, reason):
    table = relation(con, SUMS_TYPES, [SUMS_GOOD, {**SUMS_GOOD, **change}, SUMS_GOOD])
    expected = {} if reason is None else {1: reason}
    assert sql_reasons(con, Sums, table) == expected
    assert pandera_reasons(con, Sums, table) == expected


def test_a_decimal_is_checked_as_the_double_pandas_reads_not_as_written(con):
    # Pandera checks the float64 pandas reads: 100.00000000000000000001 is read as 100.0,
    # inside in_range(0, 100), though the DECIMAL itself is above 100.
    types = {**SUMS_TYPES, "pct": "DECIMAL(38,20)"}
    table = relation(con, types, [{**SUMS_GOOD, "pct": "100.00000000000000000001"}])
    assert sql_reasons(con, Sums, table) == {}
    assert pandera_reasons(con, Sums, table) == {}


def test_sums_and_decimals_are_cast_to_the_values_pandas_reads(con):
    rows = [SUMS_GOOD, {**SUMS_GOOD, "maybe_calls": None, "cost": "0.3", "pct": "33.3333333333"}]
    table = relation(con, SUMS_TYPES, rows)
    source = {name: kind for name, kind, *_ in con.execute(f"DESCRIBE {table}").fetchall()}
    rendered = model_sql(Sums, source)
    cast = con.execute(f"SELECT {rendered.casts} FROM {table} ORDER BY row_id").df()
    read = con.execute(f"SELECT * FROM {table} ORDER BY row_id").df()
    assert [kind for _, kind, *_ in con.execute(f"DESCRIBE SELECT {rendered.casts} FROM {table}").fetchall()] == [
        "BIGINT", "BIGINT", "DOUBLE", "DOUBLE",
    ]  # fmt: skip
    assert cast["calls"].tolist() == [3, 3]
    assert cast["cost"].tolist() == read["cost"].tolist() == [12.5, 0.3]
    assert cast["pct"].tolist() == read["pct"].tolist()


# TYPES as DESCRIBE names them: rendered as they are, so a refusal below is the change's.
DESCRIBED = {**TYPES, "at": "TIMESTAMP WITH TIME ZONE"}


@pytest.mark.parametrize(
    ("model_change", "source_types"),
    [
        ("dataframe_check", DESCRIBED),
        ("custom_check", DESCRIBED),
        (None, {**DESCRIBED, "at_least": "DOUBLE"}),  # pandas truncates 1.5 where SQL rounds
        (None, {**DESCRIBED, "key": "DECIMAL(18,1)"}),  # only a DOUBLE takes a DECIMAL as is
        (None, {**DESCRIBED, "at": "TIMESTAMP"}),  # a naive time: Pandera's coercion decides
    ],
)
def test_what_cannot_be_rendered_exactly_is_refused(model_change, source_types):
    model_sql(Everything, DESCRIBED)  # the unchanged model and types render
    model = Everything
    if model_change == "dataframe_check":

        class model(Everything):
            @pa.dataframe_check
            def ordered(cls, frame: pd.DataFrame) -> pd.Series:
                return frame["at_least"] <= frame["key"]

    elif model_change == "custom_check":

        class model(Everything):
            @pa.check("kind")
            def not_blank(cls, kind: pd.Series) -> pd.Series:
                return kind.str.len() > 0

    with pytest.raises(Untranslatable):
        model_sql(model, source_types)
