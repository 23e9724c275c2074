"""Support landing rows for hand-worked test cases: a ticket (JSON values), an agent and a
customer (CSV values are text), the days they land on and a time on one of them, and the
support assets and gold tables of the asset tests of more than one module (`test_assets`,
`test_delivery_edges`, `test_personal_data`)."""

from __future__ import annotations

from typing import Any

from cx_assets_tests.conftest import Domain

SUPPORT = Domain.named("support")
D0, D1, D2, D3 = "2024-03-03", "2024-03-04", "2024-03-05", "2024-03-06"
GOLD = (
    "support_ticket_analytics",
    "support_agent_daily",
    "support_customer_insights",
    "support_volume_forecast",
    "support_ticket_categories",
    "support_assignment_plan",
)


def t(day: str, clock: str) -> str:
    return f"{day}T{clock}"


def ticket(
    ticket_id: str,
    created_at: str,
    priority: str = "medium",
    *,
    customer: str = "C1",
    agent: str | None = None,
    first_response: str | None = None,
    resolved: str | None = None,
    status: str = "open",
    channel: str = "email",
    category: str | None = "billing",
    subject: str = "Charged twice for my order",
    description: str = "I was charged twice for the same order.",
    csat: int | None = None,
) -> dict[str, Any]:
    return {
        "ticket_id": ticket_id,
        "customer_id": customer,
        "agent_id": agent,
        "created_at": created_at,
        "first_response_at": first_response,
        "resolved_at": resolved,
        "status": status,
        "priority": priority,
        "channel": channel,
        "category": category,
        "subject": subject,
        "description": description,
        "csat_score": csat,
    }


def agent(
    agent_id: str,
    name: str = "Ana Agent",
    team: str = "Payments",
    skills: str = "billing",
    max_open: str = "10",
    hire_date: str = "2020-01-01",
) -> dict[str, str]:
    return {
        "agent_id": agent_id,
        "name": name,
        "team": team,
        "skills": skills,
        "hire_date": hire_date,
        "max_open_tickets": max_open,
    }


def customer(
    customer_id: str,
    name: str = "Maria Souza",
    email: str = "maria.souza@example.com",
    phone: str = "+1 555-123-4567",
    plan: str = "Pro",
    region: str = "NA",
    signup: str = "2023-01-01",
) -> dict[str, str]:
    return {
        "customer_id": customer_id,
        "name": name,
        "email": email,
        "phone": phone,
        "plan": plan,
        "region": region,
        "signup_date": signup,
    }
