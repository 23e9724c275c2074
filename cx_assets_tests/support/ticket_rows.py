"""Hand-worked tickets for the support rule tests: a `tickets` table of them in DuckDB, and
their ticket analytics as of AS_OF, computed with the very SQL the asset runs."""

from __future__ import annotations

import pandas as pd

from cx_assets.support import rules

AS_OF = "2024-03-02 00:00:00+00"  # the end of the latest materialized day, 2024-03-01


def ticket_table(con, rows: list[dict]) -> str:
    frame = pd.DataFrame(
        [
            {
                "ticket_id": None,
                "customer_id": "C1",
                "agent_id": "A1",
                "created_at": None,
                "first_response_at": None,
                "resolved_at": None,
                "status": "open",
                "priority": "medium",
                "channel": "email",
                "category": "billing",
                "csat_score": None,
                **row,
            }
            for row in rows
        ]
    )
    con.register("ticket_rows", frame)
    con.execute(
        """CREATE OR REPLACE TABLE tickets AS SELECT * REPLACE (
               CAST(created_at AS TIMESTAMPTZ) AS created_at,
               CAST(first_response_at AS TIMESTAMPTZ) AS first_response_at,
               CAST(resolved_at AS TIMESTAMPTZ) AS resolved_at,
               CAST(csat_score AS BIGINT) AS csat_score)
           FROM ticket_rows"""
    )
    return "tickets"


def ticket_analytics(con, rows: list[dict]) -> pd.DataFrame:
    table = ticket_table(con, rows)
    sql = rules.ticket_analytics_sql(table, f"TIMESTAMPTZ '{AS_OF}'")
    return con.execute(sql).df().set_index("ticket_id")
