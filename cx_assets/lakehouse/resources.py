"""The resources every asset, check and sensor shares, built from one data root."""

from __future__ import annotations

from pathlib import Path

from dagster import ConfigurableResource

from cx_assets.lakehouse.io_manager import LakehouseIOManager
from cx_assets.lakehouse.settings import DataLayout
from cx_assets.lakehouse.warehouse import Warehouse


class Lake(ConfigurableResource):
    """The data root: landing files in, quarantine and gold Parquet out."""

    data_dir: str

    @property
    def layout(self) -> DataLayout:
        return DataLayout(Path(self.data_dir))


def build_resources(data_dir: Path) -> dict[str, object]:
    layout = DataLayout(data_dir)
    warehouse = Warehouse(path=str(layout.warehouse_path))
    return {
        "lake": Lake(data_dir=str(data_dir)),
        "warehouse": warehouse,
        "io_manager": LakehouseIOManager(warehouse=warehouse, data_dir=str(data_dir)),
    }
