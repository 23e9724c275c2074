"""The person names a run's deal and interaction steps mask titles with: computed once for
both while the bronze contacts stay the same, again once they change."""

import json
from datetime import UTC, date, datetime

import pyarrow as pa
import pytest

from cx_assets.crm import silver, silver_rules
from cx_assets.lakehouse import parquet
from cx_assets.lakehouse.bronze_stream import BRONZE_SCHEMA
from cx_assets.lakehouse.bronze_views import bronze_files_state, create_bronze_view
from cx_assets.lakehouse.io_managers import TableRef
from cx_assets.lakehouse.resources import Lake
from cx_assets.lakehouse.settings import DataLayout
from cx_assets.lakehouse.warehouse import Warehouse

DAY = date(2024, 1, 3)


def land_bronze_contacts(lake: Lake, warehouse: Warehouse, day: date, names: list[str]) -> None:
    """A bronze contacts file for `day`, a person of company 1 per name, written as the
    bronze IO manager writes one (in-flight, then renamed into place)."""
    raws = [
        json.dumps({"Id": 100 + n, "Name": name, "TypeId": 1, "CompanyId": 1})
        for n, name in enumerate(names)
    ]
    rows = len(raws)
    table = pa.table(
        {
            "date": pa.array([day] * rows, pa.date32()),
            "source_file": [f"landing/crm/contacts/{day}/contacts.jsonl"] * rows,
            "line_number": pa.array(range(1, rows + 1), pa.int64()),
            "ingested_at": pa.array([datetime(2024, 1, 4, tzinfo=UTC)] * rows),
            "raw": raws,
            "record": pa.nulls(rows, pa.string()),
            "read_error": pa.nulls(rows, pa.string()),
        },
        schema=BRONZE_SCHEMA,
    )
    bronze_dir = lake.layout.bronze_dir
    parquet.publish_stream(
        pa.RecordBatchReader.from_batches(BRONZE_SCHEMA, table.to_batches()),
        bronze_dir / "crm_contacts",
        [day],
    )
    with warehouse.connect() as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS bronze")
        create_bronze_view(con, "crm_contacts", bronze_dir)


@pytest.fixture
def lakehouse(tmp_path):
    lake = Lake(data_dir=str(tmp_path))
    warehouse = Warehouse(path=str(DataLayout(tmp_path).warehouse_path))
    return lake, warehouse


@pytest.fixture
def queries(monkeypatch):
    """How many times the person names were computed from the contacts."""
    computed = []
    original = silver_rules.person_names_sql

    def counted(contacts: str) -> str:
        computed.append(contacts)
        return original(contacts)

    monkeypatch.setattr(silver_rules, "person_names_sql", counted)
    return computed


def names_of(table: pa.Table | None) -> set[str]:
    return set() if table is None else set(table.column("person_name").to_pylist())


def test_steps_reading_the_same_contacts_share_one_computation_of_the_names(lakehouse, queries):
    lake, warehouse = lakehouse
    contacts = TableRef("bronze", "crm_contacts", date(2024, 1, 1), DAY)
    assert silver._person_names(warehouse, lake, contacts) is None  # nothing landed yet
    land_bronze_contacts(lake, warehouse, DAY, ["Ana Souza"])

    first = silver._person_names(warehouse, lake, contacts)
    again = silver._person_names(warehouse, lake, contacts)
    assert again is first and len(queries) == 1
    assert names_of(first) == {"Ana Souza", "Ana", "Souza"}

    # Other rows read (another step's window) are computed for themselves.
    earlier = TableRef("bronze", "crm_contacts", date(2024, 1, 1), date(2024, 1, 2))
    assert names_of(silver._person_names(warehouse, lake, earlier)) == set()
    assert len(queries) == 2


def test_names_are_computed_again_once_the_bronze_contacts_change(lakehouse, queries):
    lake, warehouse = lakehouse
    contacts = TableRef("bronze", "crm_contacts", date(2024, 1, 1), date(2024, 1, 4))
    land_bronze_contacts(lake, warehouse, DAY, ["Ana Souza"])
    state = bronze_files_state(lake.layout.bronze_dir, "crm_contacts")
    assert names_of(silver._person_names(warehouse, lake, contacts)) == {
        "Ana Souza",
        "Ana",
        "Souza",
    }

    # The day delivered again, with another person: its file is replaced.
    land_bronze_contacts(lake, warehouse, DAY, ["Bia Lima"])
    assert bronze_files_state(lake.layout.bronze_dir, "crm_contacts") != state
    assert names_of(silver._person_names(warehouse, lake, contacts)) == {"Bia Lima", "Bia", "Lima"}

    # A day added.
    land_bronze_contacts(lake, warehouse, date(2024, 1, 4), ["Caio Reis"])
    assert names_of(silver._person_names(warehouse, lake, contacts)) == {
        "Bia Lima",
        "Bia",
        "Lima",
        "Caio Reis",
        "Caio",
        "Reis",
    }
    assert len(queries) == 3
