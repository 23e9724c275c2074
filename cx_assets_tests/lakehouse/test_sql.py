"""The SQL text helpers, evaluated in DuckDB."""

from __future__ import annotations

import contextlib
from datetime import date

import duckdb
import pandas as pd
import pytest

from cx_assets.lakehouse import sql
from cx_assets_tests.row_order import ORDER_SENSITIVE, results_in_every_order

D1, D2, D3 = date(2024, 1, 5), date(2024, 1, 6), date(2024, 1, 7)


@pytest.fixture
def con():
    connection = duckdb.connect()
    connection.execute(
        "CREATE TABLE facts AS SELECT unnest([?, ?, ?]::DATE[]) AS date", [D1, D2, D3]
    )
    yield connection
    connection.close()


def test_a_quote_in_a_string_literal_is_doubled(con):
    literal = sql.string_literal("it's '; DROP TABLE facts; --")
    assert literal == "'it''s ''; DROP TABLE facts; --'"
    assert con.execute(f"SELECT {literal}").fetchone()[0] == "it's '; DROP TABLE facts; --"


def test_none_is_the_null_literal(con):
    assert con.execute(f"SELECT {sql.string_literal(None)}").fetchone()[0] is None


def test_number_and_date_literals(con):
    assert con.execute(f"SELECT {sql.number_literal(8)}").fetchone()[0] == 8.0
    assert con.execute(f"SELECT {sql.date_literal(D1)}").fetchone()[0] == D1


def test_identifiers_are_quoted():
    assert sql.quote_identifier("crm_interactions") == '"crm_interactions"'
    assert sql.qualified("silver", "t") == '"silver"."t"'


@pytest.mark.parametrize("name", ['t"; DROP TABLE facts; --', "Upper", "1st", "a-b", ""])
def test_an_unsafe_identifier_is_refused(name):
    with pytest.raises(ValueError, match="not a safe SQL identifier"):
        sql.quote_identifier(name)
    with pytest.raises(ValueError, match="not a safe SQL identifier"):
        sql.qualified("silver", name)


def test_days_relation_holds_the_days(con):
    rows = con.execute(f"SELECT date FROM {sql.days_relation([D3, D1])} ORDER BY date").fetchall()
    assert rows == [(D1,), (D3,)]


def test_no_days_is_a_relation_without_rows(con):
    assert con.execute(f"SELECT count(*) FROM {sql.days_relation([])}").fetchone()[0] == 0


def test_in_days_keeps_only_those_days(con):
    predicate = sql.in_days([D1, D3])
    rows = con.execute(f"SELECT date FROM facts WHERE {predicate} ORDER BY date").fetchall()
    assert rows == [(D1,), (D3,)]


def test_in_days_of_no_days_is_false(con):
    assert sql.in_days([]) == "FALSE"
    assert con.execute(f"SELECT count(*) FROM facts WHERE {sql.in_days([])}").fetchone()[0] == 0


def test_in_days_refuses_an_unsafe_column():
    with pytest.raises(ValueError, match="not a safe SQL identifier"):
        sql.in_days([D1], "date; --")


def test_in_days_param_binds_one_parameter_a_day(con):
    query = f"SELECT date FROM facts WHERE {sql.in_days_param(2)} ORDER BY date"
    assert con.execute(query, [D2, D3]).fetchall() == [(D2,), (D3,)]
    no_days = f"SELECT date FROM facts WHERE {sql.in_days_param(0)}"
    assert con.execute(no_days, []).fetchall() == []


def test_in_files_keeps_the_named_files_quoted_or_everything():
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE t AS "
        "SELECT * FROM (VALUES ('a.jsonl'), ('it''s.jsonl'), ('c.csv')) AS v(source_file)"
    )
    predicate = sql.in_files(["it's.jsonl", "c.csv"])
    kept = con.execute(f"SELECT source_file FROM t WHERE {predicate} ORDER BY 1").fetchall()
    assert kept == [("c.csv",), ("it's.jsonl",)]
    assert con.execute(f"SELECT count(*) FROM t WHERE {sql.in_files(None)}").fetchone() == (3,)


def test_a_float_sum_and_mean_are_the_same_whatever_order_the_rows_come_in(con):
    values = pd.DataFrame({"x": ORDER_SENSITIVE, "kept": [True, True, True]})

    def results(aggregate: str) -> set[float]:
        rows = results_in_every_order(con, values, "v", f"SELECT {aggregate} FROM v")
        return {value for ((value,),) in rows}

    # The rows' order matters to DuckDB's own sum: the case can tell the two apart.
    assert results("sum(x)") == {(0.1 + 0.2) + 0.3, (0.3 + 0.2) + 0.1}
    in_value_order = (0.1 + 0.2) + 0.3
    assert results(sql.float_sum("x")) == {in_value_order}
    assert results(sql.float_avg("x")) == {in_value_order / 3}
    # as the rules use them: under a filter, and over an expression
    assert results(f"{sql.float_avg('x')} FILTER (WHERE kept)") == {in_value_order / 3}
    assert results(sql.float_sum("x * 2")) == {((0.1 * 2) + (0.2 * 2)) + (0.3 * 2)}


def test_a_sqlite_file_whose_path_holds_uri_characters_opens_read_only(tmp_path):
    """A data root `/tmp/a#b` opened `/tmp/a` (SQLite ends a URI's path at `#`), creating an
    empty file there, and the command centre's run history read "no such table"."""
    import sqlite3

    folder = tmp_path / "a#b?c d%41é"
    folder.mkdir()
    with contextlib.closing(sqlite3.connect(folder / "runs.db")) as writer:
        writer.execute("CREATE TABLE runs (id INTEGER)")
        writer.execute("INSERT INTO runs VALUES (1)")
        writer.commit()

    uri = sql.sqlite_read_only_uri(folder / "runs.db")
    with contextlib.closing(sqlite3.connect(uri, uri=True)) as reader:
        assert reader.execute("SELECT id FROM runs").fetchall() == [(1,)]
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            reader.execute("INSERT INTO runs VALUES (2)")
    assert sorted(path.name for path in tmp_path.iterdir()) == [folder.name]


WHITESPACE = [chr(code) for code in range(0x110000) if chr(code).isspace()]


@pytest.mark.parametrize(
    "text",
    ["", "x", " a  b ", "\u200b", "a\u200bb", *WHITESPACE, *(f"{w}v v{w}" for w in WHITESPACE)],
)
def test_whitespace_is_stripped_as_python_strips_it(con, text):
    """DuckDB's trim() leaves tabs and line breaks; a recipient written as a tab counted."""
    row = con.execute(
        f"SELECT {sql.stripped('$1')}, {sql.lstripped('$1')}, {sql.has_text('$1')}", [text]
    ).fetchone()
    assert row == (text.strip(), text.lstrip(), bool(text.strip()))


def test_every_latin_letter_variant_folds_to_its_base_letter_in_duckdb(con):
    """A name's pattern stands each letter for its `LATIN_LETTER_VARIANTS`, and the name
    searches find a name's words by `folded_sql`: a variant folded to anything else would
    match the pattern but fail the word search (the name kept). Each variant, alone and
    upper-cased, folds to its base letter; the table holds the letters of names seen kept."""
    variants = [
        (variant, base)
        for base, letters in sql.LATIN_LETTER_VARIANTS.items()
        for variant in letters
    ]
    folded = con.execute(
        f"SELECT {sql.folded_sql('v')}, {sql.folded_sql('upper(v)')} "
        "FROM unnest(?::VARCHAR[]) AS t(v)",
        [[variant for variant, _ in variants]],
    ).fetchall()
    assert folded == [(base, base) for _, base in variants]
    for letter in "šřçğıșễịłøđħŧëåö":
        assert any(letter in letters for letters in sql.LATIN_LETTER_VARIANTS.values()), letter
