"""`schema_sql`: a Pandera model's checks as SQL give the rows and reasons Pandera gives.

Hand-worked rows for each kind of check, then every model of the four domains against
Pandera itself on rows made to break each of its checks.
"""

from __future__ import annotations

import importlib
import inspect
import re
from datetime import UTC, date, datetime

import pandas as pd
import pandera.pandas as pa
import pytest
from pandera.engines.pandas_engine import Date
from pandera.typing import Series

from cx_assets.lakehouse.schema_sql import Untranslatable, model_sql, re2_pattern
from cx_assets.lakehouse.schemas import OPAQUE_ID, TRIMMED
from cx_assets.lakehouse.validation import validate


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


def relation(con, model_types: dict[str, str], rows: list[dict]) -> str:
    """A temp table of `rows` (plus `row_id`) with the given column types."""
    con.execute("DROP TABLE IF EXISTS rows_")
    columns = ", ".join(f'"{name}" {kind}' for name, kind in model_types.items())
    con.execute(f"CREATE TEMP TABLE rows_ (row_id INTEGER, {columns})")
    for row_id, row in enumerate(rows):
        values = [row.get(name) for name in model_types]
        con.execute(
            f"INSERT INTO rows_ VALUES ({', '.join('?' * (len(values) + 1))})", [row_id, *values]
        )
    return "rows_"


def sql_reasons(con, model, table: str) -> dict[int, str]:
    types = {name: kind for name, kind, *_ in con.execute(f"DESCRIBE {table}").fetchall()}
    rendered = model_sql(model, types)
    found = con.execute(f"SELECT row_id, {rendered.reason} FROM {table}").fetchall()
    return {row_id: reason for row_id, reason in found if reason is not None}


def pandera_reasons(con, model, table: str) -> dict[int, str]:
    frame = con.execute(f"SELECT * FROM {table} ORDER BY row_id").df()
    rejects = validate(model, frame).rejects
    return dict(zip(rejects["row_id"].tolist(), rejects["reason"].tolist(), strict=True))


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


# --------------------------------------------------------------------------- patterns

# Every character Python's `re` reads as whitespace in a `str` pattern, ASCII or not.
PYTHON_WHITESPACE = [chr(code) for code in range(0x3001) if chr(code).isspace()]


def _probes() -> list[str]:
    probes = ["", "a", "ab", "a@b", "(11)", "a+b", "a]b", "]", "^x", "x\n", "\nx"]
    for space in PYTHON_WHITESPACE:
        probes += [space, f"{space}a", f"a{space}", f"a{space}b", f"ab{space}{space}"]
    return probes


@pytest.mark.parametrize(
    "pattern",
    [OPAQUE_ID, TRIMMED, r"^[A-Z]", r"\s", r"^\S+$", r"^[]a]+$", r"^[^]\s]+$", r"b$", r"^a\Z"],
)
def test_a_pattern_matches_in_sql_what_it_matches_in_python(con, pattern):
    """Pandera matches with Python's `re`: Unicode whitespace, and a `$` that also matches
    before a final line break. DuckDB's RE2 must give the same verdict for every probe."""
    translated = "^(?:" + re2_pattern(pattern) + ")"
    for probe in _probes():
        in_sql = con.execute("SELECT regexp_matches(?, ?)", [probe, translated]).fetchone()[0]
        assert in_sql == bool(re.match(pattern, probe)), (pattern, probe)


def test_the_whitespace_of_python_is_more_than_ascii():
    # What makes the rewrite needed: RE2's `\s` would miss all of these.
    assert {"\x0b", "\x1c", "\x85", "\xa0", "\u2003", "\u3000"} <= set(PYTHON_WHITESPACE)


@pytest.mark.parametrize("pattern", [r"^\d+$", r"\w", r"\bx", r"[\S]"])
def test_a_pattern_read_differently_by_re2_is_left_to_pandera(pattern):
    with pytest.raises(Untranslatable):
        re2_pattern(pattern)


# --------------------------------------------------------------------------- every model

DOMAIN_SCHEMAS = ["calls", "crm", "digital", "support"]
_BAD_CANDIDATES = {
    "BIGINT": [-1, 0, -100, 1000, 7, 10**6],
    "DOUBLE": [-1.0, 0.0, 101.0, 2.0, -0.5],
    # Python reads the no-break, em and ideographic spaces, \x1c and a final line break
    # as whitespace; RE2 alone would not.
    "VARCHAR": [
        "",
        " a",
        "a ",
        "a@b.com",
        "not-an-allowed-value",
        "\xa0a",
        "a\u2003b",
        "a\x1c",
        "a\n",
        "\u3000",
    ],
}
_GOOD_CANDIDATES = {
    "BIGINT": [1, 0, 2, 5, 10],
    "DOUBLE": [0.5, 1.0, 0.0, 2.0, 10.0],
    "VARCHAR": ["a", "abc", "Ab1"],
    "BOOLEAN": [True],
    "DATE": [date(2024, 1, 5)],
    "TIMESTAMP WITH TIME ZONE": [datetime(2024, 1, 5, 10, tzinfo=UTC)],
}
_SQL_TYPE = {
    "int64": "BIGINT", "Int64": "BIGINT", "float64": "DOUBLE", "str": "VARCHAR",
    "bool": "BOOLEAN", "boolean": "BOOLEAN", "date": "DATE",
    "datetime64[us, UTC]": "TIMESTAMP WITH TIME ZONE",
}  # fmt: skip


def _models():
    for domain in DOMAIN_SCHEMAS:
        module = importlib.import_module(f"cx_assets.{domain}.schemas")
        for name, model in vars(module).items():
            if (
                inspect.isclass(model)
                and issubclass(model, pa.DataFrameModel)
                and model.__module__ == module.__name__
                and not name.startswith("_")
            ):
                yield pytest.param(model, id=f"{domain}.{name}")


def _passes(column: pa.Column, name: str, value) -> bool:
    frame = pd.DataFrame({name: [value]})
    try:
        pa.DataFrameSchema({name: column}, coerce=True).validate(frame)
    except (pa.errors.SchemaError, pa.errors.SchemaErrors):
        return False
    return True


def _breaking_rows(model) -> tuple[dict[str, str], list[dict]]:
    """One good row, then for each column a null and a value breaking each of its checks
    (where a candidate breaks it), and the good row twice for a unique column."""
    columns = model.to_schema().columns
    types = {name: _SQL_TYPE[str(column.dtype)] for name, column in columns.items()}
    good = {}
    for name, column in columns.items():
        pool = _GOOD_CANDIDATES[types[name]]
        for check in column.checks:
            if check.name == "isin":
                pool = list(check.statistics["allowed_values"])
        good[name] = next(value for value in pool if _passes(column, name, value))
    rows = [good]
    for name, column in columns.items():
        rows.append({**good, name: None})
        for candidate in _BAD_CANDIDATES.get(types[name], []):
            if not _passes(column, name, candidate):
                rows.append({**good, name: candidate})
        if column.unique:
            rows += [dict(good), dict(good)]
    return types, rows


@pytest.mark.parametrize("model", _models())
def test_sql_and_pandera_reject_the_same_rows_for_the_same_reasons(con, model):
    types, rows = _breaking_rows(model)
    table = relation(con, types, rows)
    try:
        in_sql = sql_reasons(con, model, table)
    except Untranslatable:
        pytest.skip("validated by Pandera itself")
    assert in_sql == pandera_reasons(con, model, table)
    assert len(in_sql) > 1  # the rows do break checks
