"""Hand-worked rows for the CRM rule tests: one row to evaluate a rule's SQL expression
over, and the day the hand-worked interactions fall on."""

from __future__ import annotations

from datetime import date

import pandas as pd

DAY = date(2024, 1, 8)


def evaluate(con, expression: str, **columns):
    """Evaluate a SQL expression over one row whose columns are `columns`."""
    frame = pd.DataFrame(
        {name: pd.Series([value], dtype=object) for name, value in columns.items()}
    )
    con.register("row_", frame)
    try:
        return con.execute(f"SELECT {expression} FROM row_").fetchall()[0][0]
    finally:
        con.unregister("row_")
