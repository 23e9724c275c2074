"""Trained models' storage (`ModelStoreIOManager`): one joblib file per model asset, per day
when partitioned, under `models/<name>/[date=D/]model.joblib`."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Any

from dagster import ConfigurableIOManager, Failure, InputContext, OutputContext

from cx_assets.lakehouse import durable, parquet
from cx_assets.lakehouse.io_managers import output_dates
from cx_assets.lakehouse.partitions import window_dates
from cx_assets.lakehouse.settings import DataLayout

MODEL_FILE = "model.joblib"


def read_stored_model(path: Path) -> Any | None:
    """The model stored at `path`, or None when there is none yet."""
    if not path.exists():
        return None
    import joblib  # here, not above: 0.2 s every run would pay, and only models use it

    return joblib.load(path)


def model_path(layout: DataLayout, name: str, day: date | None = None) -> Path:
    """Where the model of the asset `name` (of `day`, when partitioned) is stored."""
    folder = layout.models_dir / name
    if day is not None:
        folder = parquet.partition_folder(folder, day)
    return folder / MODEL_FILE


def has_stored_model(layout: DataLayout, name: str) -> bool:
    """Whether a model of the asset `name` is stored (of any day, when partitioned)."""
    unpartitioned = model_path(layout, name)
    return unpartitioned.exists() or any(unpartitioned.parent.glob(f"*/{MODEL_FILE}"))


class ModelStoreIOManager(ConfigurableIOManager):
    """Trained models, one joblib file per asset (per partition when partitioned), written to
    an in-flight name and renamed into place. A partitioned input loads the model of the last
    day of its window (the newest model the reader may use)."""

    data_dir: str

    def _path(self, name: str, day: date | None) -> Path:
        return model_path(DataLayout(Path(self.data_dir)), name, day)

    def handle_output(self, context: OutputContext, obj: Any) -> None:
        if obj is None:
            return
        dates = output_dates(context)
        path = self._path(context.asset_key.path[-1], dates[-1] if dates else None)
        path.parent.mkdir(parents=True, exist_ok=True)
        in_flight = path.with_name(f"_{MODEL_FILE}.{os.getpid()}.tmp")
        import joblib

        try:
            with durable.naming(in_flight):
                joblib.dump(obj, in_flight)
        except BaseException:
            in_flight.unlink(missing_ok=True)  # half a model, on a disk that may be full
            raise
        durable.replace(in_flight, path)
        context.add_output_metadata({"model_path": str(path), "model_bytes": path.stat().st_size})

    def load_input(self, context: InputContext) -> Any:
        day = None
        if context.has_asset_partitions:
            day = window_dates(context.asset_partitions_time_window)[-1]
        path = self._path(context.asset_key.path[-1], day)
        model = read_stored_model(path)
        if model is None:
            # Said as of a table never built (`io_managers._require_table`), by the key as
            # Dagster's CLI takes it, not its repr.
            raise Failure(
                f"{context.asset_key.to_user_string()} was never built: materialize it first, "
                f"or together with this asset (no trained model at {path})"
            )
        return model
