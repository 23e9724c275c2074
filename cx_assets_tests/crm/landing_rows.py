"""CRM landing rows for hand-worked test cases: a user, a company, a person, a deal and an
interaction (JSON values), a whole day of them landed, and the CRM assets and checks to
materialize it."""

from __future__ import annotations

from cx_assets_tests.conftest import Domain

CRM = Domain.named("crm")
EVERYTHING = CRM.everything
PARTITIONED = CRM.partitioned
DAY, NEXT_DAY = "2024-01-05", "2024-01-06"

PERSON_NAME, PERSON_EMAIL, PERSON_PHONE = (
    "Joana Cliente",
    "joana@cliente.com.br",
    "+55 11 98888-7777",
)


def user(user_id=1, name="Ana Gerente"):
    return {"Id": user_id, "Name": name, "Email": f"user{user_id}@empresa.com"}


def company(contact_id, owner=1):
    return {
        "Id": contact_id, "Name": f"Empresa {contact_id}", "TypeId": 2, "CompanyId": None,
        "OwnerId": owner, "Email": f"contato@empresa{contact_id}.com", "Phone": "1100000000",
        "CreateDate": "2023-06-01T09:00:00-03:00",
    }  # fmt: skip


def person(contact_id, company_id, name=PERSON_NAME, email=PERSON_EMAIL, phone=PERSON_PHONE):
    return {
        "Id": contact_id, "Name": name, "TypeId": 1, "CompanyId": company_id, "OwnerId": 1,
        "Email": email, "Phone": phone, "CreateDate": "2023-06-01T09:00:00-03:00",
    }  # fmt: skip


def deal(deal_id, company_id, status=2, amount=1000.0):
    return {
        "Id": deal_id, "ContactId": company_id, "OwnerId": 1, "Title": f"Deal {deal_id}",
        "Amount": amount, "StageId": 1, "StatusId": status,
        "CreateDate": "2023-12-01T10:00:00-03:00",
        "FinishDate": None if status == 1 else "2023-12-21T10:00:00-03:00",
    }  # fmt: skip


def interaction(interaction_id, contact_id, *, day=DAY, hour=10, title="E-mail recebido.",
                subject="Proposta", content="Olá, tudo bem?", recipients="a@x.com"):  # fmt: skip
    return {
        "Id": interaction_id, "ContactId": contact_id, "OwnerId": 1,
        "Date": f"{day}T{hour:02d}:00:00-03:00", "TypeId": 3, "Title": title,
        "Content": content, "EmailSubject": subject, "EmailRecipients": recipients,
        "DealId": None,
    }  # fmt: skip


def land_day(lake, day=DAY, interactions=None, contacts=None):
    lake.land_jsonl("crm", "users", day, [user()])
    lake.land_jsonl("crm", "contacts", day, contacts or [company(10), person(11, 10)])
    lake.land_jsonl("crm", "deals", day, [deal(100, 10)])
    lake.land_jsonl(
        "crm",
        "interactions",
        day,
        interactions
        or [
            interaction(1, 10, content="Temos um problema URGENTE"),
            interaction(2, 11, title="E-mail enviado.", subject="RE: Proposta"),
            interaction(3, 10, subject="Lida: Proposta"),
            interaction(4, 10, recipients="a@x;b@x;c@x;d@x"),
            interaction(5, 11, title="Ligação", subject=None, recipients=None),
        ],
    )
