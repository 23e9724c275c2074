"""An input's partition window, stated where the input is declared so the SQL reads only
what the graph shows: `same_day`, `with_days_before`, `all_days` (every partition of a
date-grained upstream) and `whole_table` (an upstream that is not partitioned). Each takes
the upstream asset, or its key as a list of names.
"""

import contextlib
import warnings
from collections.abc import Iterator, Sequence

from dagster import (
    AllPartitionMapping,
    AssetIn,
    AssetKey,
    AssetsDefinition,
    BetaWarning,
    PreviewWarning,
    TimeWindowPartitionMapping,
)


@contextlib.contextmanager
def early_access_api() -> Iterator[None]:
    """Silence Dagster's preview and beta warnings around the two such APIs used on purpose
    (partitioned check specs in `assets.py`; `allow_nonexistent_upstream_partitions` here),
    both pinned with Dagster itself in pyproject.toml and covered by tests. Left on, they printed 37 times
    each time the definitions were loaded: by `dagster dev`, the daemon, every run process
    and `dagster asset materialize`."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PreviewWarning)
        warnings.simplefilter("ignore", BetaWarning)
        yield


def _key(upstream: AssetsDefinition | Sequence[str]) -> AssetKey:
    return upstream.key if isinstance(upstream, AssetsDefinition) else AssetKey(list(upstream))


def same_day(upstream: AssetsDefinition | Sequence[str]) -> AssetIn:
    """The upstream's partitions of the same days as the step."""
    return AssetIn(key=_key(upstream), partition_mapping=TimeWindowPartitionMapping())


def with_days_before(upstream: AssetsDefinition | Sequence[str], days: int) -> AssetIn:
    """The step's days plus the `days` before them (days before the first partition are
    simply absent)."""
    with early_access_api():
        mapping = TimeWindowPartitionMapping(
            start_offset=-days, end_offset=0, allow_nonexistent_upstream_partitions=True
        )
    return AssetIn(key=_key(upstream), partition_mapping=mapping)


def reads_its_own_days(mapping: object) -> bool:
    """Whether an input of this partition mapping reads the step's own days, alone
    (`same_day`) or with days before them (`with_days_before`); `all_days` reads whatever
    has been built."""
    return (
        isinstance(mapping, TimeWindowPartitionMapping)
        and mapping.start_offset <= 0 <= mapping.end_offset
    )


def all_days(upstream: AssetsDefinition | Sequence[str]) -> AssetIn:
    """Every partition of a date-grained upstream (whole history, or as of a day)."""
    return AssetIn(key=_key(upstream), partition_mapping=AllPartitionMapping())


def whole_table(upstream: AssetsDefinition | Sequence[str]) -> AssetIn:
    """An upstream that is not partitioned: all of it."""
    return AssetIn(key=_key(upstream))
