"""CRM assets materialized on small hand-made landing files in a temporary data root."""

from __future__ import annotations

import json

import duckdb
import pyarrow.parquet as pq
import pytest
from dagster import AssetCheckSeverity, AssetKey

from cx_assets.crm.assets import NOISE_RATIO, RESOLVED_LINKAGE_SHARE
from cx_assets.lakehouse.checks import NON_EMPTY, RECONCILES_WITH_BRONZE
from cx_assets_tests.conftest import Domain, check_results

pytestmark = pytest.mark.long_module

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


def evaluations(result):
    return check_results(result)


def test_a_day_flows_from_landing_to_gold(lake):
    land_day(lake)
    result = lake.materialize(EVERYTHING, day=DAY)
    assert result.success

    noise = lake.gold("crm_noise_summary").set_index("category")
    assert noise.loc["read_receipt", "count"] == 1
    assert noise.loc["mass_email", "count"] == 1
    assert noise.loc["valid", "count"] == 3
    assert noise.loc["noise_total", "pct"] == pytest.approx(40.0)

    friction = lake.gold("crm_friction_heuristics")
    assert friction["interaction_id"].tolist() == [1]
    assert friction[["urgency_score", "failure_score", "escalation_score", "friction_score"]].iloc[
        0
    ].tolist() == [1, 1, 0, 2]

    linkage = lake.gold("crm_contact_linkage").iloc[0]
    assert (linkage.direct_count, linkage.via_person_count, linkage.unresolved_count) == (3, 2, 0)

    volumetrics = lake.gold("crm_cx_volumetrics")
    assert volumetrics[["owner_id", "company_id", "total_interactions"]].values.tolist() == [
        [1, 10, 3]
    ]
    assert volumetrics["neediness_ratio"].iloc[0] == pytest.approx(3 / 1000.0)
    assert len(lake.gold("crm_temporal_heat")) == 168
    assert lake.gold("crm_churn_risk")["company_id"].tolist() == [10]
    assert len(lake.gold("crm_segmentation_matrix")) == 4
    velocity = lake.gold("crm_sales_velocity").iloc[0]
    assert (velocity.owner_id, velocity.open_deals, velocity.win_rate) == (1, 0, 1.0)

    results = evaluations(result)
    assert all(e.passed for key, e in results.items() if e.severity == AssetCheckSeverity.ERROR)


def test_bad_records_are_quarantined_and_good_ones_kept(lake):
    land_day(lake)
    good = json.dumps(interaction(20, 10), ensure_ascii=False)
    missing_owner = {k: v for k, v in interaction(21, 10).items() if k != "OwnerId"}
    wrong_type = {**interaction(22, 10), "ContactId": "dez"}
    lines = [good, '{"Id": 23, "ContactId": ', json.dumps(missing_owner), json.dumps(wrong_type)]
    lines.append(json.dumps(interaction(24, 10)))
    lake.land(
        "crm", "interactions", DAY, "extra.jsonl", ("\ufeff" + "\n".join(lines) + "\n").encode()
    )

    result = lake.materialize(EVERYTHING, day=DAY)
    assert result.success

    silver_ids = set(
        lake.query("SELECT interaction_id FROM silver.crm_interactions")["interaction_id"]
    )
    assert {20, 24} <= silver_ids and not {21, 22, 23} & silver_ids

    quarantined = lake.quarantine("crm_interactions").sort_values("line_number")
    assert quarantined["source_file"].str.endswith("crm/interactions/2024-01-05/extra.jsonl").all()
    assert quarantined["line_number"].tolist() == [2, 3, 4]
    assert quarantined["reason"].tolist() == [
        "invalid JSON: Expecting value (column 25)",  # cut off after the colon
        'missing required field "OwnerId"',
        'field "ContactId" is not an integer',
    ]
    assert quarantined["raw"].iloc[0] == '{"Id": 23, "ContactId": '

    reconciliation = evaluations(result)[("silver/crm_interactions", RECONCILES_WITH_BRONZE)]
    assert reconciliation.passed
    assert reconciliation.metadata["by_day"].value[DAY] == {
        "bronze": 10, "silver": 7, "quarantine": 3, "unaccounted": 0
    }  # fmt: skip


def test_a_contact_type_or_deal_status_the_contract_does_not_know_is_quarantined_by_its_field(
    lake,
):
    """Seen in an audit: `"TypeId": 3` was quarantined as "column 'contact_type' failed
    not_nullable", naming neither the field delivered nor what it may be."""
    land_day(lake)
    lake.land_jsonl("crm", "contacts", DAY, [{**company(30), "TypeId": 3}], name="odd.jsonl")
    lake.land_jsonl("crm", "deals", DAY, [deal(31, 10), {**deal(32, 10), "StatusId": 9}],
                    name="odd.jsonl")  # fmt: skip

    assert lake.materialize(EVERYTHING, day=DAY).success

    contacts = lake.quarantine("crm_contacts")
    assert contacts[["line_number", "reason"]].values.tolist() == [
        [1, 'field "TypeId" is neither 1 (person) nor 2 (company)']
    ]
    deals = lake.quarantine("crm_deals")
    assert deals[["line_number", "reason"]].values.tolist() == [
        [2, 'field "StatusId" is not 1 (open), 2 (won) or 3 (lost)']
    ]
    deal_ids = lake.query("SELECT deal_id FROM silver.crm_deal_versions")["deal_id"].tolist()
    assert 31 in deal_ids and 32 not in deal_ids


def test_rerunning_a_day_gives_the_same_result(lake):
    land_day(lake)
    lake.materialize(EVERYTHING, day=DAY)
    first = {
        t: lake.gold(t)
        for t in ("crm_noise_summary", "crm_friction_heuristics", "crm_cx_volumetrics")
    }
    lake.materialize(EVERYTHING, day=DAY)
    for table, frame in first.items():
        assert lake.gold(table).equals(frame), table
    assert lake.query("SELECT count(*) AS n FROM silver.crm_interactions")["n"][0] == 5
    assert lake.query("SELECT count(*) AS n FROM gold.crm_noise_summary")["n"][0] == 5


def test_a_redelivered_file_replaces_its_earlier_content(lake):
    land_day(lake)
    lake.materialize(PARTITIONED, day=DAY)
    land_day(lake, interactions=[interaction(1, 10), interaction(7, 10)])
    lake.materialize(PARTITIONED, day=DAY)
    ids = lake.query("SELECT interaction_id FROM silver.crm_interactions ORDER BY 1")
    assert ids["interaction_id"].tolist() == [1, 7]
    assert lake.gold("crm_friction_heuristics").empty


def test_a_day_without_files_gives_empty_tables_and_a_warning(lake):
    land_day(lake)
    result = lake.materialize(EVERYTHING, day=DAY, last_day=NEXT_DAY)  # nothing landed on the 6th
    assert result.success
    non_empty = evaluations(result)[("bronze/crm_interactions", NON_EMPTY)]
    assert not non_empty.passed and non_empty.severity == AssetCheckSeverity.WARN

    noise = lake.query("SELECT * FROM gold.crm_noise_summary WHERE date = DATE '2024-01-06'")
    assert sorted(noise["category"]) == sorted(
        ["read_receipt", "delivery_receipt", "mass_email", "noise_total", "valid"]
    )
    assert (noise["count"] == 0).all() and noise["pct"].isna().all()
    for table in ("crm_noise_summary", "crm_friction_heuristics", "crm_contact_linkage"):
        assert (lake.layout.gold_dir / table / f"date={NEXT_DAY}" / "data.parquet").exists(), table


def test_whole_history_tables_are_as_of_the_latest_materialized_day(lake):
    """Contract 4.1: a day whose files never came is materialized (empty), so the rollups
    move to it and a company's silence grows by that day."""
    land_day(lake)
    lake.materialize(EVERYTHING, day=DAY)
    before = lake.gold("crm_churn_risk").set_index("company_id").loc[10]
    lake.materialize(EVERYTHING, day=NEXT_DAY)  # nothing landed on the 6th

    after = lake.gold("crm_churn_risk").set_index("company_id").loc[10]
    assert str(before.as_of_date)[:10] == DAY and str(after.as_of_date)[:10] == NEXT_DAY
    silence = after.days_since_last_healthy_interaction - before.days_since_last_healthy_interaction
    assert silence == pytest.approx(1.0)
    assert after.churn_risk_score > before.churn_risk_score
    for table in ("crm_segmentation_matrix", "crm_companies"):
        assert {str(day)[:10] for day in lake.gold(table)["as_of_date"]} == {NEXT_DAY}, table


def test_a_source_that_never_delivered_still_builds_every_table(lake):
    result = lake.materialize(EVERYTHING, day=DAY)
    assert result.success
    assert len(lake.gold("crm_temporal_heat")) == 168
    assert lake.gold("crm_churn_risk").empty
    assert lake.gold("crm_segmentation_matrix")["company_count"].sum() == 0


def test_companies_are_resolved_as_of_the_interaction_day(lake):
    land_day(lake, interactions=[interaction(1, 11)])
    # on the next day the person moves to company 12
    lake.land_jsonl("crm", "contacts", NEXT_DAY, [company(12), person(11, 12)])
    lake.land_jsonl("crm", "interactions", NEXT_DAY, [interaction(2, 11, day=NEXT_DAY)])
    lake.materialize(PARTITIONED, day=DAY, last_day=NEXT_DAY)
    lake.materialize(PARTITIONED, day=DAY)  # re-running the earlier day does not see the move
    rows = lake.query(
        "SELECT interaction_id, company_id, linkage FROM silver.crm_interactions ORDER BY 1"
    )
    assert rows.values.tolist() == [[1, 10, "via_person"], [2, 12, "via_person"]]
    lake.materialize(EVERYTHING, selection=CRM.whole_history)
    current = lake.query("SELECT company_id FROM silver.crm_contacts WHERE contact_id = 11")
    assert current["company_id"].tolist() == [12]


def test_linkage_and_noise_bands_warn_without_failing_the_run(lake):
    unknown = [interaction(i, 999) for i in range(1, 5)]
    noisy = [interaction(10 + i, 10, subject="Lida: x") for i in range(6)]
    land_day(lake, interactions=[*unknown, *noisy, interaction(30, 10)])
    result = lake.materialize(EVERYTHING, day=DAY)
    assert result.success
    results = evaluations(result)
    linkage = results[("gold/crm_contact_linkage", RESOLVED_LINKAGE_SHARE)]
    noise = results[("gold/crm_noise_summary", NOISE_RATIO)]
    assert not linkage.passed and linkage.severity == AssetCheckSeverity.WARN
    assert not noise.passed and noise.severity == AssetCheckSeverity.WARN
    assert linkage.metadata["ratio_by_day"].value[DAY] == pytest.approx(7 / 11)
    assert noise.metadata["ratio_by_day"].value[DAY] == pytest.approx(6 / 11)


def test_gold_parquet_is_what_analysts_expect(lake):
    land_day(lake)
    lake.materialize(EVERYTHING, day=DAY)
    partition_file = (
        lake.layout.gold_dir / "crm_friction_heuristics" / f"date={DAY}" / "data.parquet"
    )
    schema = pq.read_schema(partition_file)
    assert "date" not in schema.names
    assert str(schema.field("occurred_at").type) == "timestamp[us, tz=UTC]"
    assert [p.name for p in partition_file.parent.iterdir()] == ["data.parquet"]
    assert (lake.layout.gold_dir / "crm_cx_volumetrics" / "data.parquet").exists()

    con = duckdb.connect()
    rows = con.execute(
        "SELECT date, category, count FROM read_parquet(?, hive_partitioning = true) "
        "WHERE category = 'valid'",
        [str(lake.layout.gold_dir / "crm_noise_summary" / "**" / "*.parquet")],
    ).fetchall()
    con.close()
    assert [(str(r[0]), r[1], r[2]) for r in rows] == [(DAY, "valid", 3)]


def test_no_customer_personal_data_outside_bronze(lake):
    contacts = [company(10), person(11, 10)]
    titled = interaction(3, 11, title=f"Tarefa: ligar para {PERSON_NAME.upper()} (joana)")
    land_day(lake, interactions=[interaction(1, 10), interaction(2, 11), titled], contacts=contacts)
    lake.materialize(EVERYTHING, day=DAY)
    title = lake.query("SELECT title FROM silver.crm_interactions WHERE interaction_id = 3")
    assert title["title"].tolist() == ["Tarefa: ligar para [name] ([name])"]
    tables = lake.query(
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_schema IN ('silver', 'gold')"
    )
    assert len(tables) > 10
    for schema, table in tables.values:
        text = lake.query(f'SELECT * FROM "{schema}"."{table}"').astype(str).to_csv()
        for secret in (PERSON_NAME, PERSON_EMAIL, PERSON_PHONE, "98888"):
            assert secret not in text, (schema, table, secret)
    for path in lake.layout.gold_dir.rglob("*.parquet"):
        assert PERSON_EMAIL.encode() not in path.read_bytes()


def test_titles_have_the_names_of_their_companys_people_masked(lake):
    """Seen in an audit: only the title of an interaction on a person had that person's
    name masked; a title on the company, or on a colleague, and deal titles kept names."""
    contacts = [
        company(10),
        person(11, 10),  # Joana Cliente
        person(12, 10, name="Zélia Quaresma", email="z@cliente.com.br", phone="+55 11 97777-1234"),
        company(20),
        person(21, 20, name="Outra Pessoa", email="o@outra.com", phone="+55 11 96666-1234"),
    ]  # fmt: skip
    interactions = [
        interaction(1, 10, title="Falar com Joana Cliente"),
        interaction(2, 11, title="Ligação: zelia e JOANA"),  # an accent left out
        interaction(3, 10, title="Reunião com Outra Pessoa"),  # another company's person
        interaction(4, 12, title="E-mail enviado."),
        interaction(5, 12, title="Retorno da joana cliênte"),  # an accent added
    ]
    land_day(lake, interactions=interactions, contacts=contacts)
    titled = {**deal(100, 10), "Title": "Proposta para Joana Cliente e Zélia Quaresma"}
    lake.land_jsonl("crm", "deals", DAY, [titled, {**deal(101, 20), "Title": "Zélia"}])

    assert lake.materialize(EVERYTHING, day=DAY).success

    titles = lake.query("SELECT interaction_id, title FROM silver.crm_interactions ORDER BY 1")
    assert titles.values.tolist() == [
        [1, "Falar com [name]"],
        [2, "Ligação: [name] e [name]"],
        # Another company's person, named in full (seen in an audit: kept in silver).
        [3, "Reunião com [name]"],
        [4, "E-mail enviado."],
        [5, "Retorno da [name]"],
    ]
    deals = lake.query("SELECT deal_id, title FROM silver.crm_deals ORDER BY 1")
    # A first name alone is looked for only among the title's own company's people.
    assert deals.values.tolist() == [[100, "Proposta para [name] e [name]"], [101, "Zélia"]]


def test_a_full_name_is_masked_whoever_the_title_is_on(lake):
    """Seen in an audit: silver kept the full names of a person of no company, and of
    anyone named on a contact never delivered, since only the title's own contact's (and
    its company's) people were looked for."""
    contacts = [
        company(10),
        person(11, None, name="Maria Souza", email="m@x.com", phone="+55 11 95555-1234"),
        person(12, 10),  # Joana Cliente
    ]  # fmt: skip
    interactions = [
        interaction(1, 10, title="Ligação com Maria Souza"),
        interaction(2, 999, title="Reunião com MARIA SOUZA e Joana Cliente"),
        interaction(3, 10, title="Maria pediu retorno"),  # a first name alone: not hers
        interaction(4, 10, title="Souza Maria"),  # the two words, not her name
    ]
    land_day(lake, interactions=interactions, contacts=contacts)

    assert lake.materialize(EVERYTHING, day=DAY).success

    titles = lake.query("SELECT interaction_id, title FROM silver.crm_interactions ORDER BY 1")
    assert titles.values.tolist() == [
        [1, "Ligação com [name]"],
        [2, "Reunião com [name] e [name]"],
        [3, "Maria pediu retorno"],
        [4, "Souza Maria"],
    ]


def test_materializations_carry_schema_and_row_count(lake):
    land_day(lake)
    result = lake.materialize(EVERYTHING, day=DAY)
    for event in result.get_asset_materialization_events():
        metadata = event.materialization.metadata
        key = event.asset_key.to_user_string()
        assert "dagster/row_count" in metadata, key
        assert metadata["dagster/column_schema"].value.columns, key
    friction = next(
        e.materialization.metadata
        for e in result.get_asset_materialization_events()
        if e.asset_key == AssetKey(["gold", "crm_friction_heuristics"])
    )
    columns = {c.name: c for c in friction["dagster/column_schema"].value.columns}
    assert friction["dagster/row_count"].value == 1
    assert "Sum of the three scores" in columns["friction_score"].description


def test_linkage_of_each_kind_of_contact(lake):
    contacts = [company(10), person(11, 10), person(12, None, email="solo@x.com", phone="2")]
    interactions = [interaction(1, 10), interaction(2, 11), interaction(3, 12), interaction(4, 999)]
    land_day(lake, interactions=interactions, contacts=contacts)
    lake.materialize(PARTITIONED, day=DAY)
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


# --------------------------------------------------------------------------- contract 4.1, 5


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
    lake.materialize(PARTITIONED, day=days[0], last_day=days[2])
    lake.materialize(EVERYTHING, selection=CRM.whole_history)

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
    lake.materialize(PARTITIONED, day=days[0], last_day=days[2])
    lake.materialize(EVERYTHING, selection=CRM.whole_history)

    assert _volumetrics(lake) == [[1, 6, 2]]


def test_free_text_in_silver_has_contacts_masked(lake):
    land_day(
        lake,
        interactions=[
            interaction(1, 10, title="Ligar para joana@cliente.com.br ou (11) 98888-7777"),
        ],
    )
    lake.materialize(EVERYTHING, day=DAY)
    (title,) = lake.query("SELECT title FROM silver.crm_interactions")["title"]
    assert title == "Ligar para [email] ou [phone]"


def test_personal_values_are_keyed_hashes(lake, monkeypatch):
    import hashlib
    import hmac

    from cx_assets.lakehouse.privacy import DEFAULT_HASH_KEY, HASH_KEY_ENV

    monkeypatch.delenv(HASH_KEY_ENV, raising=False)
    land_day(lake)
    lake.materialize(EVERYTHING, day=DAY)
    row = lake.query("SELECT email_hash, phone_hash FROM silver.crm_contact_versions "
                     "WHERE contact_id = 11").iloc[0]  # fmt: skip
    email, digits = PERSON_EMAIL.lower().encode(), b"5511988887777"
    assert row.email_hash == hmac.new(DEFAULT_HASH_KEY.encode(), email, "sha256").hexdigest()
    assert row.phone_hash == hmac.new(DEFAULT_HASH_KEY.encode(), digits, "sha256").hexdigest()
    assert row.email_hash != hashlib.sha256(email).hexdigest()  # not enumerable without the key

    monkeypatch.setenv(HASH_KEY_ENV, "another secret")
    lake.materialize(EVERYTHING, day=DAY)
    again = lake.query("SELECT email_hash FROM silver.crm_contact_versions WHERE contact_id = 11")
    assert again["email_hash"].iloc[0] != row.email_hash


def _silver_and_quarantine(lake) -> tuple[list, list]:
    silver = lake.query(
        "SELECT interaction_id FROM silver.crm_interactions ORDER BY source_file, line_number"
    )
    quarantined = lake.query(
        f"SELECT source_file, line_number, reason FROM read_parquet("
        f"'{lake.layout.quarantine_dir}/crm_interactions/*/*.parquet') "
        "ORDER BY source_file, line_number"
    )
    return silver.to_dict("records"), quarantined.to_dict("records")


@pytest.mark.parametrize("part_rows", [2, 1_000])
def test_a_day_typed_in_parts_of_files_is_the_day_typed_at_once(lake, monkeypatch, part_rows):
    """A big day is typed a few files at a time (bounded memory). A key first delivered in
    an earlier part is still a duplicate, naming its first file and line; rows, reasons and
    quarantine are those of one pass."""
    from cx_assets.lakehouse import steps

    monkeypatch.setattr(steps, "PART_ROWS", part_rows)
    land_day(lake, interactions=[interaction(1, 10), interaction(2, 11)])
    # files are read in name order: part.jsonl (from land_day), then q, r, s
    lake.land_jsonl(
        "crm", "interactions", DAY, [interaction(3, 10), interaction(1, 11)], name="q.jsonl"
    )
    lake.land_jsonl("crm", "interactions", DAY, ["not json", interaction(4, 10)], name="r.jsonl")
    lake.land_jsonl("crm", "interactions", DAY, [interaction(3, 10)], name="s.jsonl")

    lake.materialize(EVERYTHING, day=DAY)
    silver, quarantined = _silver_and_quarantine(lake)

    assert [row["interaction_id"] for row in silver] == [1, 2, 3, 4]
    assert [(row["line_number"], row["reason"]) for row in quarantined] == [
        (2, "duplicate interaction_id (first seen at landing/crm/interactions/2024-01-05/"
            "part.jsonl:1)"),
        (1, "invalid JSON: Expecting value (column 1)"),
        (1, "duplicate interaction_id (first seen at landing/crm/interactions/2024-01-05/"
            "q.jsonl:1)"),
    ]  # fmt: skip


THIRD_DAY = "2024-01-07"


def _kept_and_quarantined(lake) -> tuple[list[tuple[str, int]], list[tuple[str, int, str]]]:
    kept = lake.query("SELECT date, interaction_id FROM silver.crm_interactions ORDER BY 1, 2")
    quarantined = lake.quarantine("crm_interactions")
    return (
        [(str(day)[:10], key) for day, key in kept.itertuples(index=False)],
        sorted(
            (str(day)[:10], line, reason)
            for day, line, reason in quarantined[["date", "line_number", "reason"]].itertuples(
                index=False
            )
        ),
    )


@pytest.mark.parametrize("part_rows", [1, 1_000])
def test_an_interaction_delivered_again_on_a_later_day_is_quarantined(lake, monkeypatch, part_rows):
    """`Id` is unique (contract section 2), not only within a day: an overlapping export
    delivering interaction 1 again on later days would count it twice in whole-history
    tables. The first delivery wins; each later one is quarantined naming its day, whether
    the days run one by one, as one range, or again."""
    from cx_assets.lakehouse import steps

    monkeypatch.setattr(steps, "PART_ROWS", part_rows)
    land_day(lake, interactions=[interaction(1, 10), interaction(2, 11)])
    land_day(
        lake, day=NEXT_DAY, interactions=[interaction(3, 10, day=NEXT_DAY), interaction(1, 10)]
    )
    land_day(
        lake, day=THIRD_DAY, interactions=[interaction(1, 11), interaction(4, 10, day=THIRD_DAY)]
    )
    kept = [(DAY, 1), (DAY, 2), (NEXT_DAY, 3), (THIRD_DAY, 4)]
    repeats = [
        (NEXT_DAY, 2, f"duplicate interaction_id (first delivered on {DAY})"),
        (THIRD_DAY, 1, f"duplicate interaction_id (first delivered on {DAY})"),
    ]

    for day in (DAY, NEXT_DAY, THIRD_DAY):
        assert lake.materialize(EVERYTHING, selection=CRM.partitioned, day=day).success
    assert _kept_and_quarantined(lake) == (kept, repeats)
    assert lake.materialize(EVERYTHING, selection=CRM.whole_history).success
    volumetrics = lake.query("SELECT sum(total_interactions) AS n FROM gold.crm_cx_volumetrics")
    assert volumetrics["n"].iloc[0] == 4  # interaction 1 once

    # The range over the days already run (which finds the warehouse as the range leaves it,
    # so running it twice would only repeat this).
    assert lake.materialize(
        EVERYTHING, selection=CRM.partitioned, day=DAY, last_day=THIRD_DAY
    ).success
    assert _kept_and_quarantined(lake) == (kept, repeats)

    # The first day again: its own delivery is still the first.
    assert lake.materialize(EVERYTHING, selection=CRM.partitioned, day=DAY).success
    assert _kept_and_quarantined(lake) == (kept, repeats)


def test_days_run_out_of_order_keep_an_interaction_once(lake):
    """The later day run first keeps interaction 1; the earlier day, run after, quarantines
    its copy naming that day (no ERROR, counted once); a range over both, typed a day at a
    time, gives it back to its first delivery."""
    land_day(lake, interactions=[interaction(1, 10), interaction(2, 11)])
    land_day(lake, day=NEXT_DAY, interactions=[interaction(1, 10)])

    assert lake.materialize(EVERYTHING, selection=CRM.partitioned, day=NEXT_DAY).success
    assert lake.materialize(EVERYTHING, selection=CRM.partitioned, day=DAY).success
    assert _kept_and_quarantined(lake) == (
        [(DAY, 2), (NEXT_DAY, 1)],
        [(DAY, 1, f"duplicate interaction_id (already kept on {NEXT_DAY})")],
    )

    assert lake.materialize(
        EVERYTHING, selection=CRM.partitioned, day=DAY, last_day=NEXT_DAY
    ).success
    assert _kept_and_quarantined(lake) == (
        [(DAY, 1), (DAY, 2)],
        [(NEXT_DAY, 1, f"duplicate interaction_id (first delivered on {DAY})")],
    )
