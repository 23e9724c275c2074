"""Calls transcript records for the calls asset tests of more than one module: the
definitions they run, the gold tables they read, the day the records fall on, a record
builder, and a hand-worked day of calls, each commented with what the rules make of it
(`landed` in conftest.py lands it; test_assets.py checks its gold; test_plots.py charts
two of them)."""

from __future__ import annotations

from cx_assets_tests.conftest import Domain

DAY = "2024-01-05"
CALLS = Domain.named("calls")
EVERYTHING = CALLS.everything
GOLD_TABLES = ("calls_performance", "calls_agent_daily", "calls_kpis_daily")


def call(call_id: str, text: str, *, agent: str = "Dana Reyes", **extra) -> dict:
    record = {
        "call_id": call_id,
        "agent_name": agent,
        "timestamp": "2024-01-05T10:00:00",
        "transcript_text": text,
        "duration_seconds": 300,
        "customer_id": f"CUST-{call_id}",
    }
    record.update(extra)
    return record


# Dana: A converted, $1,299.99 upsell, 2 positive → positive 1.0
CALL_A = call(
    "A",
    "Agent: Hi, this is Dana. I can upgrade you to our premium plan for $1,299.99. "
    "Customer: Okay, I'll take it! That's great, thanks.",
    timestamp="2024-01-05T09:00:00",
)
# Dana: B not converted; two upsell sentences $49.99 + $5; the $45 bill does not count; neutral
CALL_B = call(
    "B",
    "Agent: The extended warranty is $49.99. Customer: Hmm, I can't decide. "
    "Agent: And the streaming add-on is $5 a month! Your current bill is $45.",
    timestamp="2024-01-05T09:30:00Z",
)
# Dana: D converted (let's → let us); frustrated, disappointed vs excellent → -1/3
CALL_D = call(
    "D",
    "Customer: I'm frustrated   and disappointed,\nbut the agent was excellent. "
    "Let's proceed with the purchase.",
    timestamp="2024-01-05T11:00:00+00:00",
)
# Sam (array element 1): near misses only; unacceptable → negative -1.0
CALL_E = call(
    "E",
    "Customer: I'm not ready to sign up yet. I won't take it at that price. This is unacceptable.",
    agent="Sam Ortiz",
    timestamp="2024-01-05T12:00:00",
)
# Sam (array element 2): converted (count me in); great → positive 1.0
CALL_F = call(
    "F",
    "customer:   count   me   in!\n\nagent: great.",
    agent="Sam Ortiz",
    timestamp="2024-01-05T13:00:00",
)
# Sam (single-object .json): no duration, +02:00 offset; thanks → positive; the $20 balance
# is in a sentence without an upsell word
CALL_G = {
    key: value
    for key, value in call(
        "G",
        "Agent: Your balance is $20. Customer: Thanks, bye.",
        agent="Sam Ortiz",
        timestamp="2024-01-05T16:00:00+02:00",
    ).items()
    if key != "duration_seconds"
}
BAD_JSON_LINE = '{"call_id": "C", "agent_name": "Dana Reyes", oops'
