"""The least a Dagster command costs: the bench's second floor, beside DuckDB's.

One process imports Dagster, opens the persistent instance of `$DAGSTER_HOME` (SQLite, as a
`cx-lakehouse run` does), materializes one daily partition of one asset that does nothing and
stores nothing, and leaves as `cx-lakehouse` leaves (`os._exit`, no interpreter teardown).
No pandas, Pandera or DuckDB, no definitions of ours: whatever a command over the lakehouse
costs above this is the product's own (`bench.py` reports it as the fixed cost of a source
on a day where nothing landed).
"""

from __future__ import annotations

import os
import warnings

warnings.filterwarnings("ignore")

from dagster import (  # noqa: E402 (after the filter: Dagster warns on import)
    DagsterInstance,
    DailyPartitionsDefinition,
    asset,
    materialize,
)


@asset(partitions_def=DailyPartitionsDefinition(start_date="2024-01-01"))
def nothing() -> None:
    """Returns nothing: Dagster stores no output for a `None` return annotation."""


def main() -> int:
    with DagsterInstance.get() as instance:
        result = materialize([nothing], instance=instance, partition_key="2024-01-03")
    return 0 if result.success else 1


if __name__ == "__main__":
    code = main()
    os._exit(code)
