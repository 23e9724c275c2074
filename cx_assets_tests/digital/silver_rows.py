"""Hand-made silver digital tables (journey events, calls, members) in an in-memory DuckDB,
and the leakage calls the rules make of them: what the digital rule tests run on."""

from __future__ import annotations

from datetime import date, datetime

import duckdb
import pandas as pd

from cx_assets.digital import rules
from cx_assets.digital.rules import DigitalRules

DAY = date(2024, 1, 8)
NOON = datetime(2024, 1, 8, 12, 0, 0)


def _ts(value: datetime) -> str:
    return value.isoformat(sep=" ")


class Silver:
    """Hand-made silver tables in an in-memory DuckDB."""

    def __init__(self) -> None:
        self.con = duckdb.connect()
        self.con.execute("SET TimeZone = 'UTC'")
        self.journey_rows: list[dict] = []
        self.call_rows: list[dict] = []
        self.member_rows: list[dict] = []

    def event(
        self,
        at: datetime,
        action: str = "error",
        journey_type: str = "billing",
        member: str = "M1",
        session: str = "S1",
        code: str | None = "PAY_TIMEOUT",
        device: str = "mobile_app",
        day: date | None = None,
        file: str = "journeys.csv",
    ) -> None:
        self.journey_rows.append(
            {
                "date": day or at.date(),
                "source_file": file,
                "line_number": len(self.journey_rows) + 2,
                "member_id": member,
                "session_id": session,
                "event_at": _ts(at),
                "journey_type": journey_type,
                "action": action,
                "device_type": device,
                "error_code": code if action == "error" else None,
            }
        )

    def call(
        self,
        at: datetime,
        reason: str = "billing",
        member: str = "M1",
        call_id: str | None = None,
        sentiment: float | None = -0.5,
        day: date | None = None,
    ) -> str:
        call_id = call_id or f"C{len(self.call_rows) + 1}"
        self.call_rows.append(
            {
                "date": day or at.date(),
                "source_file": "calls.csv",
                "line_number": len(self.call_rows) + 2,
                "call_id": call_id,
                "member_id": member,
                "called_at": _ts(at),
                "call_reason": reason,
                "sentiment_score": sentiment,
                "handle_time_seconds": 300,
                "agent_id": "AGT0001",
                "resolution_status": "resolved",
            }
        )
        return call_id

    def member(
        self,
        member: str,
        plan: str,
        tenure: int,
        day: date = date(2024, 1, 1),
        line: int = 2,
        file: str = "members.csv",
    ) -> None:
        self.member_rows.append(
            {
                "date": day,
                "source_file": file,
                "line_number": line,
                "member_id": member,
                "plan_type": plan,
                "tenure_months": tenure,
            }
        )

    def _load(self) -> None:
        journeys = pd.DataFrame(
            self.journey_rows,
            columns=[
                "date",
                "source_file",
                "line_number",
                "member_id",
                "session_id",
                "event_at",
                "journey_type",
                "action",
                "device_type",
                "error_code",
            ],
        )
        calls = pd.DataFrame(
            self.call_rows,
            columns=[
                "date",
                "source_file",
                "line_number",
                "call_id",
                "member_id",
                "called_at",
                "call_reason",
                "sentiment_score",
                "handle_time_seconds",
                "agent_id",
                "resolution_status",
            ],
        )
        members = pd.DataFrame(
            self.member_rows,
            columns=[
                "date",
                "source_file",
                "line_number",
                "member_id",
                "plan_type",
                "tenure_months",
            ],
        )
        for name, frame in (("journey_frame", journeys), ("call_frame", calls)):
            self.con.register(name, frame.astype({"date": "datetime64[ns]"}))
        self.con.register("member_frame", members.astype({"date": "datetime64[ns]"}))
        self.con.execute(
            """CREATE OR REPLACE TABLE journeys AS
               SELECT date::DATE AS date, source_file, line_number::BIGINT AS line_number,
                      member_id::VARCHAR AS member_id, session_id::VARCHAR AS session_id,
                      event_at::TIMESTAMPTZ AS event_at, journey_type::VARCHAR AS journey_type,
                      action::VARCHAR AS action, device_type::VARCHAR AS device_type,
                      error_code::VARCHAR AS error_code
               FROM journey_frame"""
        )
        self.con.execute(
            """CREATE OR REPLACE TABLE calls AS
               SELECT date::DATE AS date, source_file, line_number::BIGINT AS line_number,
                      call_id::VARCHAR AS call_id, member_id::VARCHAR AS member_id,
                      called_at::TIMESTAMPTZ AS called_at, call_reason::VARCHAR AS call_reason,
                      sentiment_score::DOUBLE AS sentiment_score,
                      handle_time_seconds::BIGINT AS handle_time_seconds,
                      agent_id::VARCHAR AS agent_id, resolution_status::VARCHAR AS resolution_status
               FROM call_frame"""
        )
        category = rules.member_category_sql("plan_type", "tenure_months")
        self.con.execute(
            f"""CREATE OR REPLACE TABLE members AS
                SELECT date::DATE AS date, source_file, line_number::BIGINT AS line_number,
                       member_id::VARCHAR AS member_id, plan_type::VARCHAR AS plan_type,
                       tenure_months::BIGINT AS tenure_months, {category} AS member_category
                FROM member_frame"""
        )

    def leakage(self, days=(DAY,), config: DigitalRules = rules.DEFAULT_RULES) -> pd.DataFrame:
        self._load()
        sql = rules.leakage_calls_sql("calls", "journeys", "members", list(days), config)
        self.con.execute(f"CREATE OR REPLACE TABLE leakage AS {sql}")
        return self.con.execute("SELECT * FROM leakage ORDER BY date, called_at").df()

    def query(self, sql: str) -> pd.DataFrame:
        return self.con.execute(sql).df()
