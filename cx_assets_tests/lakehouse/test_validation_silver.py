"""`silver_validation.validated`: a silver step's candidate rows against their model, in SQL
or with Pandera: each row is kept, quarantined by the model, or left to the domain's rule,
exactly one of the three, on hand-worked rows."""

from __future__ import annotations

import duckdb
import pandera.pandas as pa
import pytest
from pandera.typing import Series

from cx_assets.lakehouse.silver_validation import validated
from cx_assets.lakehouse.validation import SchemaViolation


class Refund(pa.DataFrameModel):
    source_file: Series[str]
    line_number: Series[int]
    refund_id: Series[str] = pa.Field(unique=True)
    amount: Series[float] = pa.Field(ge=0)

    class Config:
        coerce = True
        strict = "filter"


class CheckedRefund(Refund):
    """The same with a check over whole rows, which only Pandera states."""

    @pa.dataframe_check
    @classmethod
    def has_an_id(cls, frame):
        return frame["refund_id"].str.len() > 0


# (line, refund, amount, the domain rule's reason), in the order the query gives them.
CANDIDATES = [
    (5, "R5", 3.0, None),
    (2, "R2", -1.0, None),  # the model's: a negative amount
    (3, "R3", 1.0, "refund of an unknown order"),  # the rule's alone
    (4, "R9", 2.0, None),  # the model's: R9 twice
    (6, "R9", 2.0, None),
    (7, "R7", -5.0, "refund of an unknown order"),  # the rule's, though the model's too
    (1, "R1", 0.0, None),
]
NEGATIVE = "column 'amount' failed greater_than_or_equal_to(0)"


def candidates(con: duckdb.DuckDBPyConnection, *, rule: bool = True, amount: bool = True) -> str:
    rows = ", ".join(
        f"('r.csv', {line}, '{refund}', {value}, {'NULL' if reason is None else repr(reason)})"
        for line, refund, value, reason in CANDIDATES
    )
    columns = ["source_file", "line_number", "refund_id", "amount", "reject_reason"]
    con.execute(f"CREATE TABLE landed AS SELECT * FROM (VALUES {rows}) AS t({', '.join(columns)})")
    kept = [
        name
        for name in columns
        if (rule or name != "reject_reason") and (amount or name != "amount")
    ]
    con.execute(f"CREATE TABLE candidates AS SELECT {', '.join(kept)} FROM landed")
    return "candidates"


@pytest.mark.parametrize("model", [Refund, CheckedRefund], ids=["in SQL", "with Pandera"])
def test_each_row_is_kept_quarantined_or_the_rules_never_two(model):
    """Found by mutation testing: rows the rule rejected checked by the model too (quarantined
    twice, or kept), a model's reject kept as well, the query's order lost after the unique
    check's window: nothing tested `validated` but whole runs."""
    con = duckdb.connect()
    rows, rejects, has_rule = validated(con, candidates(con), model)

    assert has_rule
    assert rows.column_names == ["source_file", "line_number", "refund_id", "amount"]
    assert rows.to_pylist() == [
        {"source_file": "r.csv", "line_number": 5, "refund_id": "R5", "amount": 3.0},
        {"source_file": "r.csv", "line_number": 1, "refund_id": "R1", "amount": 0.0},
    ]
    found = sorted(rejects.itertuples(index=False, name=None))
    duplicate = found[1][2]
    assert duplicate.startswith("column 'refund_id' failed") and "unique" in duplicate
    assert found == [("r.csv", 2, NEGATIVE), ("r.csv", 4, duplicate), ("r.csv", 6, duplicate)]


def test_without_a_rule_every_row_is_the_models_to_judge():
    con = duckdb.connect()
    rows, rejects, has_rule = validated(con, candidates(con, rule=False), Refund)

    assert not has_rule
    assert [row["line_number"] for row in rows.to_pylist()] == [5, 3, 1]
    assert sorted(rejects["line_number"]) == [2, 4, 6, 7]


def test_a_column_the_query_does_not_give_fails_the_step_naming_it():
    """A column of the model missing from the query is the query's bug, not a record's."""
    con = duckdb.connect()
    with pytest.raises(SchemaViolation, match=r"^Refund: column 'amount' is missing$"):
        validated(con, candidates(con, amount=False), Refund)
