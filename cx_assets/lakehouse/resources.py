"""The resources every asset, check and sensor shares, built from one data root."""

from __future__ import annotations

from pathlib import Path

from dagster import ConfigurableResource

from cx_assets.lakehouse.gold_io_manager import GoldIOManager
from cx_assets.lakehouse.io_managers import (
    LAYER_STORAGE,
    BronzeParquetIOManager,
    WarehouseIOManager,
)
from cx_assets.lakehouse.model_store import ModelStoreIOManager
from cx_assets.lakehouse.settings import DataLayout, Settings
from cx_assets.lakehouse.warehouse import Warehouse


class Lake(ConfigurableResource):
    """The data root: landing files in, quarantine and gold Parquet out."""

    data_dir: str

    @property
    def layout(self) -> DataLayout:
        return DataLayout(Path(self.data_dir))


def build_resources(data_dir: Path) -> dict[str, object]:
    root = str(data_dir)
    warehouse = Warehouse(
        path=str(DataLayout(data_dir).warehouse_path),
        run_wait_seconds=Settings.from_env().run_wait_seconds,
    )
    storage = {
        "bronze": BronzeParquetIOManager(warehouse=warehouse, data_dir=root),
        "silver": WarehouseIOManager(warehouse=warehouse),
        "gold": GoldIOManager(warehouse=warehouse, data_dir=root),
        "model": ModelStoreIOManager(data_dir=root),
    }
    return {
        "lake": Lake(data_dir=root),
        "warehouse": warehouse,
        **{LAYER_STORAGE[layer]: io_manager for layer, io_manager in storage.items()},
    }
