"""Which company a CRM interaction counts for: the linkage of each kind of contact, resolved
as of the interaction's day in the per-day tables, and as of everything delivered in the
whole-history tables (a person delivered after their interaction, or who moved company)."""

from __future__ import annotations

import pytest

from cx_assets.crm.assets import crm_churn_risk, crm_contact_linkage, crm_cx_volumetrics
from cx_assets.crm.silver import crm_contacts, crm_interactions
from cx_assets_tests.crm.landing_rows import (
    CRM,
    DAY,
    EVERYTHING,
    NEXT_DAY,
    company,
    interaction,
    land_day,
    person,
    user,
)
from cx_assets_tests.steps import building

pytestmark = pytest.mark.long_module


def days_of(*tables) -> list:
    """The per-day steps of `tables` and what they read, not the domain's every per-day
    step (its 14 each of these tests' runs took, where silver interactions need 4)."""
    return [asset for asset in building(CRM, *tables) if asset.partitions_def is not None]


def rollups_of(*tables) -> list:
    """The whole-history steps of `tables` and what they read."""
    return [asset for asset in building(CRM, *tables) if asset.partitions_def is None]


def test_companies_are_resolved_as_of_the_interaction_day(lake):
    land_day(lake, interactions=[interaction(1, 11)])
    # on the next day the person moves to company 12
    lake.land_jsonl("crm", "contacts", NEXT_DAY, [company(12), person(11, 12)])
    lake.land_jsonl("crm", "interactions", NEXT_DAY, [interaction(2, 11, day=NEXT_DAY)])
    interactions = days_of(crm_interactions)
    lake.materialize(EVERYTHING, selection=interactions, day=DAY, last_day=NEXT_DAY)
    # re-running the earlier day does not see the move
    lake.materialize(EVERYTHING, selection=interactions, day=DAY)
    rows = lake.query(
        "SELECT interaction_id, company_id, linkage FROM silver.crm_interactions ORDER BY 1"
    )
    assert rows.values.tolist() == [[1, 10, "via_person"], [2, 12, "via_person"]]
    lake.materialize(EVERYTHING, selection=rollups_of(crm_contacts))
    current = lake.query("SELECT company_id FROM silver.crm_contacts WHERE contact_id = 11")
    assert current["company_id"].tolist() == [12]


def test_linkage_of_each_kind_of_contact(lake):
    contacts = [company(10), person(11, 10), person(12, None, email="solo@x.com", phone="2")]
    interactions = [interaction(1, 10), interaction(2, 11), interaction(3, 12), interaction(4, 999)]
    land_day(lake, interactions=interactions, contacts=contacts)
    lake.materialize(EVERYTHING, selection=days_of(crm_contact_linkage), day=DAY)
    rows = lake.query(
        "SELECT interaction_id, company_id, linkage FROM silver.crm_interactions ORDER BY 1"
    )
    assert rows.astype(object).where(rows.notna(), None).values.tolist() == [
        [1, 10, "direct"],
        [2, 10, "via_person"],
        [3, None, "unresolved"],  # a person without a company
        [4, None, "unresolved"],  # a contact never delivered
    ]
    linkage = lake.gold("crm_contact_linkage").iloc[0]
    assert (linkage.direct_share, linkage.via_person_share, linkage.unresolved_share) == (
        0.25,
        0.25,
        0.5,
    )


def _volumetrics(lake) -> list[list[int]]:
    frame = lake.gold("crm_cx_volumetrics")
    return frame[["owner_id", "company_id", "total_interactions"]].values.tolist()


def test_whole_history_tables_link_a_person_delivered_after_their_interaction(lake):
    """Company 6 on day 0; an interaction on person P on day 3; P arrives on day 5 as a
    person of company 6: volumetrics count it for (owner, 6)."""
    days = ["2024-01-01", "2024-01-04", "2024-01-06"]
    lake.land_jsonl("crm", "users", days[0], [user()])
    lake.land_jsonl("crm", "contacts", days[0], [company(6)])
    lake.land_jsonl("crm", "interactions", days[1], [interaction(1, 50, day=days[1])])
    lake.land_jsonl("crm", "contacts", days[2], [person(50, 6)])
    tables = crm_cx_volumetrics, crm_churn_risk
    lake.materialize(EVERYTHING, selection=days_of(*tables), day=days[0], last_day=days[2])
    lake.materialize(EVERYTHING, selection=rollups_of(*tables))

    assert _volumetrics(lake) == [[1, 6, 1]]
    churn = lake.gold("crm_churn_risk").set_index("company_id")
    assert churn.loc[6, "valid_interactions"] == 1
    # per-day tables keep the as-of-day view: on day 3 the person was unknown
    linkage = lake.query("SELECT linkage FROM silver.crm_interactions")["linkage"].tolist()
    assert linkage == ["unresolved"]


def test_whole_history_tables_follow_a_person_who_moved_company(lake):
    """P in company 5 on day 0, company 6 on day 2; interactions on days 0 and 4: both
    count for (owner, 6)."""
    days = ["2024-01-01", "2024-01-03", "2024-01-05"]
    lake.land_jsonl("crm", "users", days[0], [user()])
    lake.land_jsonl("crm", "contacts", days[0], [company(5), company(6), person(50, 5)])
    lake.land_jsonl("crm", "interactions", days[0], [interaction(1, 50, day=days[0])])
    lake.land_jsonl("crm", "contacts", days[1], [person(50, 6)])
    lake.land_jsonl("crm", "interactions", days[2], [interaction(2, 50, day=days[2])])
    volumetrics = days_of(crm_cx_volumetrics)
    lake.materialize(EVERYTHING, selection=volumetrics, day=days[0], last_day=days[2])
    lake.materialize(EVERYTHING, selection=rollups_of(crm_cx_volumetrics))

    assert _volumetrics(lake) == [[1, 6, 2]]


def test_whole_history_tables_count_each_interaction_for_its_contacts_company_now(con):
    """The whole-history tables' resolution (`with_current_company_sql`) on hand-worked
    rows, each interaction resolved by silver as of its day to company 10: on company 10
    itself, 10; on person 11, now in company 20, 20; on person 12, who has left every
    company, none (not silver's old 10); on contact 99, never delivered, none, the
    interaction kept."""
    import pandas as pd

    from cx_assets.crm.rules import with_current_company_sql

    con.register(
        "interactions_",
        pd.DataFrame({"interaction_id": [1, 2, 3, 4], "contact_id": [10, 11, 12, 99],
                      "company_id": pd.array([10, 10, 10, None], dtype="Int64")}),
    )  # fmt: skip
    con.register(
        "contacts_",
        pd.DataFrame({"contact_id": [10, 11, 12, 20],
                      "contact_type": ["company", "person", "person", "company"],
                      "company_id": pd.array([None, 20, None, None], dtype="Int64")}),
    )  # fmt: skip
    resolved = with_current_company_sql("interactions_", "contacts_")
    rows = con.execute(f"SELECT interaction_id, company_id FROM {resolved} ORDER BY 1").fetchall()
    assert rows == [(1, 10), (2, 20), (3, None), (4, None)]
