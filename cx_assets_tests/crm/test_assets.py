"""CRM assets materialized on small hand-made landing files in a temporary data root: a day
flowing from landing to gold, bad records quarantined, re-runs, re-deliveries and days with
no files, the checks' warnings, and the gold files and metadata analysts read."""

from __future__ import annotations

import json

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest
from dagster import AssetCheckSeverity, AssetKey

from cx_assets.crm.assets import (
    NOISE_RATIO,
    RESOLVED_LINKAGE_SHARE,
    crm_churn_risk,
    crm_contact_linkage,
    crm_cx_volumetrics,
    crm_friction_heuristics,
    crm_noise_summary,
    crm_sales_velocity,
    crm_segmentation_matrix,
    crm_temporal_heat,
)
from cx_assets.crm.dimensions import crm_companies
from cx_assets.crm.silver import crm_contact_versions, crm_deal_versions, crm_interactions
from cx_assets.lakehouse.checks import NO_COLUMN_EMPTIED, NON_EMPTY, RECONCILES_WITH_BRONZE
from cx_assets_tests.conftest import Lake, check_results
from cx_assets_tests.crm.landing_rows import (
    CRM,
    DAY,
    EVERYTHING,
    NEXT_DAY,
    company,
    deal,
    interaction,
    land_day,
)
from cx_assets_tests.instance import in_memory_instance
from cx_assets_tests.steps import building

pytestmark = pytest.mark.long_module

# A test of some tables runs them and what they read, not the domain's every step (a CRM
# day's all 21 about 2 s of CPU, silver interactions and their inputs 0.7 s); the tests of
# the whole day, and of a source that never delivered, run everything.
INTERACTIONS = building(CRM, crm_interactions)


def evaluations(result):
    return check_results(result)


@pytest.fixture(scope="module")
def day_run(tmp_path_factory):
    """land_day's day materialized once for the tests that only read what it built (each
    built it again, a CRM day about 2.5 s of CPU); a test that changes the lakehouse, or
    runs more in it, builds its own."""
    lake = Lake(tmp_path_factory.mktemp("crm_day") / "data")
    land_day(lake)
    yield lake, lake.materialize(EVERYTHING, day=DAY)
    lake.instance.dispose()


def test_a_day_flows_from_landing_to_gold(day_run):
    lake, result = day_run
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
    assert set(results) == {(key.asset_key.to_user_string(), key.name) for key in CRM.check_keys}
    failed = {key: e.description for key, e in results.items() if not e.passed}
    assert failed == {}


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

    result = lake.materialize(EVERYTHING, selection=INTERACTIONS, day=DAY)
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

    versions = building(CRM, crm_contact_versions, crm_deal_versions)
    assert lake.materialize(EVERYTHING, selection=versions, day=DAY).success

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


def contact_id_spelled_otherwise(*numbers: int) -> list[dict]:
    """Interactions `numbers` of the day with `ContactId` sent as `contactId`."""
    return [
        {("contactId" if key == "ContactId" else key): value
         for key, value in interaction(n, 10).items()}
        for n in numbers
    ]  # fmt: skip


def spelled_otherwise_in_silver(result) -> dict:
    """silver/crm_interactions' `files_spelling_required_columns_otherwise` in `result`."""
    (materialization,) = [
        event.materialization
        for event in result.get_asset_materialization_events()
        if event.asset_key.to_user_string() == "silver/crm_interactions"
    ]
    return materialization.metadata["files_spelling_required_columns_otherwise"].value


def test_a_json_file_that_spelled_a_required_field_otherwise_is_named_with_it(lake):
    """An export sending `contactId` for `ContactId`: every record was quarantined as
    `missing required field "ContactId"`, naming nowhere the key the user delivered. The
    silver step names the file and both names once (from its first such record); the
    records are still quarantined, the key not guessed."""
    land_day(lake)
    renamed = contact_id_spelled_otherwise(30, 31)
    lake.land_jsonl("crm", "interactions", DAY, renamed, name="renamed.jsonl")

    result = lake.materialize(EVERYTHING, selection=INTERACTIONS, day=DAY)

    assert result.success
    spelled = spelled_otherwise_in_silver(result)
    assert spelled == {f"landing/crm/interactions/{DAY}/renamed.jsonl": {"contactId": "ContactId"}}
    assert len(lake.quarantine("crm_interactions")) == 2


@pytest.mark.parametrize("left_out", ["Date", "ContactId"])
def test_a_json_file_spelling_a_field_otherwise_is_named_after_a_record_missing_one(lake, left_out):
    """Found in an audit: the file's first record quarantined as missing a required field
    was the only one read for the spelling, so one record without its `Date`, or truly
    without `ContactId`, ahead of records sending `contactId` hid the rename, and its
    records were said as missing `ContactId` nowhere. The first few records of each
    missing field are read."""
    land_day(lake)
    without = {key: value for key, value in interaction(29, 10).items() if key != left_out}
    renamed = contact_id_spelled_otherwise(30, 31)
    lake.land_jsonl("crm", "interactions", DAY, [without, *renamed], name="renamed.jsonl")

    result = lake.materialize(EVERYTHING, selection=INTERACTIONS, day=DAY)

    spelled = spelled_otherwise_in_silver(result)
    assert spelled == {f"landing/crm/interactions/{DAY}/renamed.jsonl": {"contactId": "ContactId"}}
    assert len(lake.quarantine("crm_interactions")) == 3


def test_rerunning_a_day_gives_the_same_result(lake):
    land_day(lake)
    tables = building(CRM, crm_noise_summary, crm_friction_heuristics, crm_cx_volumetrics)
    lake.materialize(EVERYTHING, selection=tables, day=DAY)
    first = {
        t: lake.gold(t)
        for t in ("crm_noise_summary", "crm_friction_heuristics", "crm_cx_volumetrics")
    }
    lake.materialize(EVERYTHING, selection=tables, day=DAY)
    for table, frame in first.items():
        assert lake.gold(table).equals(frame), table
    assert lake.query("SELECT count(*) AS n FROM silver.crm_interactions")["n"][0] == 5
    assert lake.query("SELECT count(*) AS n FROM gold.crm_noise_summary")["n"][0] == 5


def test_a_redelivered_file_replaces_its_earlier_content(lake):
    land_day(lake)
    friction = building(CRM, crm_friction_heuristics)
    lake.materialize(EVERYTHING, selection=friction, day=DAY)
    land_day(lake, interactions=[interaction(1, 10), interaction(7, 10)])
    lake.materialize(EVERYTHING, selection=friction, day=DAY)
    ids = lake.query("SELECT interaction_id FROM silver.crm_interactions ORDER BY 1")
    assert ids["interaction_id"].tolist() == [1, 7]
    assert lake.gold("crm_friction_heuristics").empty


def test_a_day_delivered_without_its_interactions_content_warns(lake):
    """Noise and friction read `Content`, which silver does not keep: a day whose export lost
    every interaction's Content (null or "") dropped its friction words and content-found
    delivery receipts and passed every check (seen re-delivering a generated day so: its
    friction interactions 171 a day to 52, nothing said). Its length is kept, and
    no_column_emptied sees it gone, naming the field delivered (`Content`) beside the
    column (`content_bytes`), which the export does not have."""
    before = "2024-01-04"
    land_day(lake, day=before, interactions=[
        interaction(i, 10, day=before, content="Temos um problema") for i in range(1, 26)
    ])  # fmt: skip
    land_day(lake, interactions=[
        interaction(100 + i, 10, content=None if i % 2 else "") for i in range(1, 26)
    ])  # fmt: skip
    result = lake.materialize(EVERYTHING, selection=INTERACTIONS, day=before, last_day=DAY)
    assert result.success
    emptied = evaluations(result)[("silver/crm_interactions", NO_COLUMN_EMPTIED)]
    assert not emptied.passed and emptied.severity == AssetCheckSeverity.WARN
    assert list(emptied.metadata["emptied_by_day"].value) == [DAY]
    assert list(emptied.metadata["emptied_by_day"].value[DAY]) == ["content_bytes"]
    assert emptied.description.startswith(f"{DAY}: content_bytes (from Content) null in all 25")
    lengths = lake.query(
        "SELECT date, content_bytes FROM silver.crm_interactions WHERE interaction_id IN (1, 101)"
    )
    assert sorted(lengths["content_bytes"].tolist(), key=pd.isna)[0] == len("Temos um problema")
    assert lengths["content_bytes"].isna().sum() == 1


def test_the_emptied_column_check_names_each_column_with_the_field_delivered():
    """The check's text in the UI: a column landed as a field spelled otherwise (`DealId`),
    or derived from one (`thread_subject_key` from `EmailSubject`, a contact's
    `email_hash` from `Email`), is named with it; one derived from several fields
    (`noise_reason`) by itself."""
    (interactions,) = [
        spec for spec in crm_interactions.check_specs if spec.name == NO_COLUMN_EMPTIED
    ]
    assert (
        "(title (from Title), deal_id (from DealId), content_bytes (from Content), direction, "
        "thread_subject_key (from EmailSubject), noise_reason, company_id)"
    ) in interactions.description
    (contacts,) = [
        spec for spec in crm_contact_versions.check_specs if spec.name == NO_COLUMN_EMPTIED
    ]
    assert "company_name (from Name), email_hash (from Email)" in contacts.description


def test_a_day_without_files_gives_empty_tables_and_a_warning(lake):
    land_day(lake)
    per_day = building(CRM, crm_noise_summary, crm_friction_heuristics, crm_contact_linkage)
    # nothing landed on the 6th
    result = lake.materialize(EVERYTHING, selection=per_day, day=DAY, last_day=NEXT_DAY)
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
    rollups = building(CRM, crm_churn_risk, crm_segmentation_matrix, crm_companies)
    land_day(lake)
    lake.materialize(EVERYTHING, selection=rollups, day=DAY)
    before = lake.gold("crm_churn_risk").set_index("company_id").loc[10]
    lake.materialize(EVERYTHING, selection=rollups, day=NEXT_DAY)  # nothing landed on the 6th

    after = lake.gold("crm_churn_risk").set_index("company_id").loc[10]
    assert str(before.as_of_date)[:10] == DAY and str(after.as_of_date)[:10] == NEXT_DAY
    silence = after.days_since_last_healthy_interaction - before.days_since_last_healthy_interaction
    assert silence == pytest.approx(1.0)
    assert after.churn_risk_score > before.churn_risk_score
    for table in ("crm_segmentation_matrix", "crm_companies"):
        assert {str(day)[:10] for day in lake.gold(table)["as_of_date"]} == {NEXT_DAY}, table

    # Dagster's history lost (a new DAGSTER_HOME) and the 5th run again: the latest day is
    # still the (empty) 6th the warehouse holds, not the one day the new instance knows.
    lake.instance.dispose()
    lake.instance = in_memory_instance()
    lake.materialize(EVERYTHING, selection=rollups, day=DAY)
    for table in ("crm_churn_risk", "crm_segmentation_matrix", "crm_companies"):
        assert {str(day)[:10] for day in lake.gold(table)["as_of_date"]} == {NEXT_DAY}, table


def test_a_source_that_never_delivered_still_builds_every_table(lake):
    result = lake.materialize(EVERYTHING, day=DAY)
    assert result.success
    assert len(lake.gold("crm_temporal_heat")) == 168
    assert lake.gold("crm_churn_risk").empty
    assert lake.gold("crm_segmentation_matrix")["company_count"].sum() == 0


def test_linkage_and_noise_bands_warn_without_failing_the_run(lake):
    unknown = [interaction(i, 999) for i in range(1, 5)]
    noisy = [interaction(10 + i, 10, subject="Lida: x") for i in range(6)]
    land_day(lake, interactions=[*unknown, *noisy, interaction(30, 10)])
    banded = building(CRM, crm_contact_linkage, crm_noise_summary)
    result = lake.materialize(EVERYTHING, selection=banded, day=DAY)
    assert result.success
    results = evaluations(result)
    linkage = results[("gold/crm_contact_linkage", RESOLVED_LINKAGE_SHARE)]
    noise = results[("gold/crm_noise_summary", NOISE_RATIO)]
    assert not linkage.passed and linkage.severity == AssetCheckSeverity.WARN
    assert not noise.passed and noise.severity == AssetCheckSeverity.WARN
    assert linkage.metadata["ratio_by_day"].value[DAY] == pytest.approx(7 / 11)
    assert noise.metadata["ratio_by_day"].value[DAY] == pytest.approx(6 / 11)


def test_gold_parquet_is_what_analysts_expect(day_run):
    lake, _ = day_run
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


def test_materializations_carry_schema_and_row_count(day_run):
    _, result = day_run
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


def test_crm_records_timed_after_the_day_after_their_files_day_are_quarantined(lake):
    """Seen in an audit: an interaction dated 2150 was kept, and `crm_cx_volumetrics` gave
    its company a last interaction in 2150; calls, digital and support already quarantined
    such times (a clock or a year typed wrong)."""
    after = "2024-01-07T00:00:00-00:00"  # the end of the day after DAY, in UTC
    within = "2024-01-06T23:59:59-00:00"  # within the day of slack
    land_day(lake)
    lake.land_jsonl(
        "crm", "interactions", DAY,
        [{**interaction(40, 10), "Date": "2150-01-01T00:00:00-03:00"},
         {**interaction(41, 10), "Date": after},
         {**interaction(42, 10), "Date": within}],
        name="clock.jsonl",
    )  # fmt: skip
    lake.land_jsonl("crm", "deals", DAY,
                    [{**deal(43, 10), "CreateDate": after}, {**deal(44, 10), "FinishDate": after},
                     {**deal(45, 10), "FinishDate": within}], name="clock.jsonl")  # fmt: skip
    lake.land_jsonl("crm", "contacts", DAY, [{**company(46), "CreateDate": after}],
                    name="clock.jsonl")  # fmt: skip

    volumetrics = building(CRM, crm_cx_volumetrics)  # and the silver tables it reads
    assert lake.materialize(EVERYTHING, selection=volumetrics, day=DAY).success

    def rejected(dataset):
        frame = lake.quarantine(dataset)
        frame = frame[frame["source_file"].str.endswith("clock.jsonl")]
        return frame[["line_number", "reason"]].values.tolist()

    reason = 'field "{}" is after the day after its file\'s day'
    assert rejected("crm_interactions") == [[1, reason.format("Date")], [2, reason.format("Date")]]
    assert rejected("crm_deals") == [
        [1, reason.format("CreateDate")],
        [2, reason.format("FinishDate")],
    ]
    assert rejected("crm_contacts") == [[1, reason.format("CreateDate")]]
    kept = lake.query(
        "SELECT interaction_id FROM silver.crm_interactions WHERE interaction_id >= 40"
    )
    assert kept["interaction_id"].tolist() == [42]
    volumetrics = lake.gold("crm_cx_volumetrics")
    assert volumetrics["last_interaction_at"].max() < pd.Timestamp("2024-01-08", tz="UTC")


def test_the_heat_maps_checks_find_a_repeated_slot_that_keeps_168_rows(lake):
    """168 rows are not the 168 slots: a slot written twice in place of another passes the
    row count, and the grain's own check finds it."""
    from dagster import AssetCheckKey, AssetSelection, Definitions, define_asset_job

    from cx_assets.lakehouse.checks import ROW_COUNT_CHECK, UNIQUE_KEY

    land_day(lake)
    assert lake.materialize(EVERYTHING, selection=building(CRM, crm_temporal_heat), day=DAY).success
    with lake.resources["warehouse"].connect() as con:
        con.execute("UPDATE gold.crm_temporal_heat SET hour = 4 WHERE day_of_week = 2 AND hour = 3")
    heat = AssetKey(["gold", "crm_temporal_heat"])
    checks = [AssetCheckKey(heat, UNIQUE_KEY), AssetCheckKey(heat, ROW_COUNT_CHECK)]
    job = define_asset_job("heat_checks", selection=AssetSelection.checks(*checks))
    definitions = Definitions(assets=EVERYTHING, jobs=[job], resources=lake.resources)
    result = definitions.resolve_job_def("heat_checks").execute_in_process(
        instance=lake.instance, raise_on_error=False
    )
    found = evaluations(result)
    assert found[("gold/crm_temporal_heat", ROW_COUNT_CHECK)].passed
    unique = found[("gold/crm_temporal_heat", UNIQUE_KEY)]
    assert not unique.passed and unique.severity == AssetCheckSeverity.ERROR


def test_a_deal_finished_before_it_was_created_is_quarantined(lake):
    """Seen in a time audit: a won deal whose `FinishDate` came before its `CreateDate` was
    kept, and its negative cycle (-20 days) pulled the manager's `avg_cycle_days` to 0 (alone,
    it made `avg_cycle_days` and `velocity_per_day` negative)."""
    land_day(lake)
    backwards = {**deal(50, 10), "CreateDate": "2023-12-21T10:00:00-03:00",
                 "FinishDate": "2023-12-01T10:00:00-03:00"}  # fmt: skip
    same_instant = {**deal(51, 10), "CreateDate": "2023-12-21T13:00:00Z",
                    "FinishDate": "2023-12-21T10:00:00-03:00"}  # fmt: skip
    lake.land_jsonl("crm", "deals", DAY, [backwards, same_instant], name="cycle.jsonl")

    velocity = building(CRM, crm_sales_velocity)
    assert lake.materialize(EVERYTHING, selection=velocity, day=DAY).success

    deals = lake.quarantine("crm_deals")
    assert deals[["line_number", "reason"]].values.tolist() == [
        [1, 'field "FinishDate" is before "CreateDate"']
    ]
    velocity = lake.gold("crm_sales_velocity").set_index("owner_id")
    # deal 100 (land_day's) won in 20 days, deal 51 at once: (20 + 0) / 2
    assert velocity.loc[1, "avg_cycle_days"] == pytest.approx(10.0)


def test_a_deal_amount_negative_or_beyond_a_trillion_is_quarantined(lake):
    """Seen in a numbers audit: a won deal of -500 was kept, its company's won amount went
    negative and `crm_companies` and `crm_segmentation_matrix` failed their checks (never
    written); two deals of 1e308 were kept, their sum overflowed, and `avg_won_amount` and
    `velocity_per_day` reached gold as infinity. 0 and an amount of exactly 1e12 are kept."""
    land_day(lake)
    lake.land_jsonl(
        "crm", "deals", DAY,
        [deal(50, 10, amount=-500.0), deal(51, 10, amount=1e308), deal(52, 10, amount=1e308),
         deal(53, 10, amount=0.0), deal(54, 10, amount=1e12), deal(55, 10, amount=1.0000001e12)],
        name="amounts.jsonl",
    )  # fmt: skip

    # the tables an amount reaches, those the audit saw fail their checks among them
    reached = building(CRM, crm_sales_velocity, crm_companies, crm_segmentation_matrix)
    assert lake.materialize(EVERYTHING, selection=reached, day=DAY).success

    deals = lake.quarantine("crm_deals")
    negative = 'field "Amount" is negative'
    too_large = 'field "Amount" is above 1e12 (a trillion)'
    assert deals[["line_number", "reason"]].values.tolist() == [
        [1, negative], [2, too_large], [3, too_large], [6, too_large],
    ]  # fmt: skip
    velocity = lake.gold("crm_sales_velocity").set_index("owner_id")
    # won: deal 100 (1000.0, land_day's), 53 (0.0) and 54 (1e12)
    assert velocity.loc[1, "avg_won_amount"] == (1000.0 + 0.0 + 1e12) / 3
    assert len(lake.gold("crm_companies")) > 0
