"""The CRM dimensions `crm_managers` and `crm_companies`: the segment SQL on hand-worked rows
(and in step with the segmentation matrix), then both tables materialized from landed files
where a later delivery renames a manager and a company."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from cx_assets.crm import company_rules, dimension_rules
from cx_assets_tests.conftest import check_results
from cx_assets_tests.crm.landing_rows import CRM, company, deal, interaction, person, user

DAY1, DAY2 = "2024-01-05", "2024-01-06"


@pytest.fixture
def con():
    connection = duckdb.connect()
    yield connection
    connection.close()


def register(con, interactions, contacts, deals):
    con.register("interactions_", pd.DataFrame(interactions))
    con.register("contacts_", pd.DataFrame(contacts))
    con.register("deals_", pd.DataFrame(deals))


def hand_worked_rows(con):
    """Companies 10 (won 1000, 5 interactions), 20 (won 100, 1), 30 (nothing won, 3),
    40 (nothing at all) and 50 (known only from a person's interactions, 2). Medians: won
    over winners = 550, interactions over engaged = 2.5."""
    day = pd.Timestamp("2024-03-31").date()
    at = pd.Timestamp("2024-03-31 12:00", tz="UTC")
    interactions = [
        {"date": day, "occurred_at": at, "is_noise": False, "company_id": company_id}
        for company_id, n in ((10, 5), (20, 1), (30, 3), (50, 2))
        for _ in range(n)
    ] + [{"date": day, "occurred_at": at, "is_noise": True, "company_id": 20}] * 4  # noise
    contacts = [
        {"contact_id": c, "contact_type": "company", "company_name": f"Empresa {c}",
         "owner_id": 7, "version_date": day}
        for c in (10, 20, 30, 40)
    ] + [{"contact_id": 99, "contact_type": "person", "company_name": None, "owner_id": 7,
          "version_date": day}]  # fmt: skip
    deals = [
        {"company_id": 10, "status": "won", "amount": 1000.0},
        {"company_id": 20, "status": "won", "amount": 100.0},
        {"company_id": 30, "status": "lost", "amount": 5000.0},
    ]
    register(con, interactions, contacts, deals)


def test_each_company_gets_the_segment_of_its_value_and_engagement(con):
    hand_worked_rows(con)
    frame = con.execute(dimension_rules.companies_sql("interactions_", "contacts_", "deals_")).df()
    by_id = frame.set_index("company_id")
    assert by_id["segment"].to_dict() == {
        10: "champions",  # won 1000 ≥ 550, 5 interactions ≥ 2.5
        20: "dormant",  # 100 < 550, 1 < 2.5 (its noise does not count)
        30: "rising",  # nothing won (a lost deal is no value), 3 ≥ 2.5
        40: "dormant",  # nothing at all
        50: "dormant",  # nothing won, 2 < 2.5
    }
    assert frame["company_id"].tolist() == [10, 20, 30, 40, 50]
    assert by_id.loc[10, "name"] == "Empresa 10" and by_id.loc[10, "owner_id"] == 7
    assert by_id.loc[10, "version_date"] == pd.Timestamp("2024-03-31")
    assert pd.isna(by_id.loc[50, "name"]) and pd.isna(by_id.loc[50, "owner_id"])
    assert pd.isna(by_id.loc[50, "version_date"])  # no version of its own: no version date
    assert 99 not in by_id.index  # people are not companies


def test_companies_are_segmented_as_of_the_day_given(con):
    """As of 2024-07-15, the interactions of 2024-03-31 are 106 days old: outside the 90-day
    engagement window, so no company has any."""
    hand_worked_rows(con)
    as_of = pd.Timestamp("2024-07-15").date()
    frame = con.execute(
        dimension_rules.companies_sql("interactions_", "contacts_", "deals_", as_of_day=as_of)
    ).df()
    assert set(frame["as_of_date"]) == {pd.Timestamp(as_of)}
    assert frame["interactions_90d"].tolist() == [0, 0, 0, 0, 0]


def test_managers_are_every_user_by_id_with_their_latest_name(con):
    day = pd.Timestamp("2024-03-31").date()
    con.register(
        "users_",
        pd.DataFrame(
            {"user_id": [2, 1], "name": ["Bruno Gestor", "Ana Souza"], "version_date": [day] * 2}
        ),
    )
    managers = con.execute(dimension_rules.managers_sql("users_")).fetchall()
    assert managers == [(1, "Ana Souza", day), (2, "Bruno Gestor", day)]


def test_a_company_id_naming_a_person_takes_no_name_or_manager_from_them(con):
    """A person's `CompanyId` may point at another person (a typing slip in the CRM): the
    segmentation counts that id as a company, known only by its id. The person's own
    manager (7) is not the company's: the id has no company version to name one."""
    hand_worked_rows(con)
    day = pd.Timestamp("2024-03-31").date()
    at = pd.Timestamp("2024-03-31 12:00", tz="UTC")
    pointed_at_person = {"date": day, "occurred_at": at, "is_noise": False, "company_id": 99}
    con.register(
        "with_person_id",
        pd.concat([con.table("interactions_").df(), pd.DataFrame([pointed_at_person])]),
    )
    by_id = (
        con.execute(dimension_rules.companies_sql("with_person_id", "contacts_", "deals_"))
        .df()
        .set_index("company_id")
    )
    assert by_id.loc[99, "segment"] == "dormant"  # nothing won, 1 interaction < 2 (the median now)
    assert pd.isna(by_id.loc[99, "name"]) and pd.isna(by_id.loc[99, "owner_id"])
    assert by_id.loc[10, "owner_id"] == 7


def test_company_segments_count_as_the_segmentation_matrix_does(con):
    hand_worked_rows(con)
    per_company = con.execute(
        company_rules.company_segments_sql("interactions_", "contacts_", "deals_")
    ).df()
    matrix = con.execute(
        company_rules.segmentation_sql("interactions_", "contacts_", "deals_")
    ).df()
    counted = per_company.groupby("segment").size().reindex(matrix["segment"], fill_value=0)
    assert counted.tolist() == matrix["company_count"].tolist()
    assert per_company["won_amount"].sum() == matrix["total_won_amount"].sum()


def land(lake, day, users, contacts):
    lake.land_jsonl("crm", "users", day, users)
    lake.land_jsonl("crm", "contacts", day, contacts)
    lake.land_jsonl("crm", "deals", day, [deal(100, 10)])
    lake.land_jsonl(
        "crm", "interactions", day, [interaction(1, 10, day=day), interaction(2, 11, day=day)]
    )


def test_the_latest_version_names_managers_and_companies(lake):
    land(lake, DAY1, [user(1, "Ana Gerente"), user(2, "Bruno Gestor")],
         [company(10, owner=1), person(11, 10), company(20, owner=2)])  # fmt: skip
    renamed = {**company(10, owner=2), "Name": "Empresa Dez Renomeada"}
    land(lake, DAY2, [user(1, "Ana Souza")], [renamed])
    result = lake.materialize(CRM.everything, day=DAY1, last_day=DAY2)
    assert result.success

    managers = lake.gold("crm_managers").set_index("owner_id")
    assert managers["name"].to_dict() == {1: "Ana Souza", 2: "Bruno Gestor"}
    companies = lake.gold("crm_companies").set_index("company_id")
    assert companies.loc[10, ["name", "owner_id", "segment"]].tolist() == [
        "Empresa Dez Renomeada", 2, "champions"
    ]  # fmt: skip
    assert companies.loc[20, ["name", "owner_id", "segment"]].tolist() == [
        "Empresa 20", 2, "dormant"
    ]  # fmt: skip
    assert set(companies.index) == {10, 20}
    matrix = lake.gold("crm_segmentation_matrix").set_index("segment")["company_count"]
    assert companies["segment"].value_counts().to_dict() == matrix[matrix > 0].to_dict()
    # names here are staff and companies only: people's names never reach gold
    assert "Joana Cliente" not in companies["name"].tolist()

    checks = check_results(result)
    for table, key in (("crm_managers", "unique_key"), ("crm_companies", "unique_key")):
        assert checks[(f"gold/{table}", key)].passed
