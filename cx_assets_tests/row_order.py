"""Running a query over the same rows in every order they could come in.

DuckDB adds doubles in the order rows reach an aggregate, and with more than one thread
that order changes from run to run. With one thread it is the order of the rows, so trying
every order of a few rows shows whether a query's fractional sums can change between runs.
"""

from __future__ import annotations

from itertools import permutations

import duckdb
import pandas as pd

# Added left to right, (0.1 + 0.2) + 0.3 is 0.6000000000000001 and (0.3 + 0.2) + 0.1 is 0.6.
ORDER_SENSITIVE = (0.1, 0.2, 0.3)


def results_in_every_order(
    con: duckdb.DuckDBPyConnection, rows: pd.DataFrame, view: str, query: str
) -> set[tuple]:
    """The distinct results of `query` over `rows` (registered as `view`) in each order of
    the rows, the session on one thread for the rows to be read in that order."""
    con.execute("SET threads = 1")
    results = set()
    for order in permutations(range(len(rows))):
        con.register(view, rows.iloc[list(order)].reset_index(drop=True))
        results.add(tuple(con.execute(query).fetchall()))
    con.unregister(view)
    return results
