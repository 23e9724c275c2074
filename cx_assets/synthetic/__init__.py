"""Synthetic landing data, apart from the pipeline: one subpackage per source, whose
`generate(request)` writes the files that source would deliver (contract §2) and returns the
records written per table.

The pipeline never imports this package (`cx_assets_tests/synthetic/test_apart.py` holds that
line); it reads generated files exactly as it reads real deliveries. The one door in is
`cx-lakehouse generate`. A source is found by its subpackage here, which exposes `generate`, so
adding a source edits nothing central.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the writer (and tqdm) load with a generator, not with `cx-lakehouse run`
    from cx_assets.synthetic.landing_writer import GenerationRequest

Generator = Callable[["GenerationRequest"], dict[str, int]]


def sources() -> list[str]:
    """The sources that have a generator, sorted (found without importing them, so the
    CLI starts fast)."""
    return sorted(module.name for module in pkgutil.iter_modules(__path__) if module.ispkg)


def generator(source: str) -> Generator:
    """The `generate` function of one source."""
    return _source_module(source).generate


def megabytes(source: str, *, days: int, scale: float) -> float:
    """About how many megabytes of landing files `days` days of `source` at `scale` are: a
    source whose volume grows over a range says how much `days` days are at scale 1
    (`days_megabytes(days)`); another writes DAY_MEGABYTES each day."""
    module = _source_module(source)
    if (days_megabytes := getattr(module, "days_megabytes", None)) is not None:
        return days_megabytes(days) * scale
    return module.DAY_MEGABYTES * days * scale


# What every source's subpackage defines (docs/architecture.md, "How to add a domain").
SOURCE_ATTRIBUTES = ("generate", "DAY_MEGABYTES")


def _source_module(source: str) -> ModuleType:
    module = importlib.import_module(f"{__name__}.{source}")
    if missing := [name for name in SOURCE_ATTRIBUTES if not hasattr(module, name)]:
        raise TypeError(
            f"{module.__name__} does not define {' and '.join(missing)}: a source's generator "
            "package defines generate(request) and DAY_MEGABYTES (about how many MB one day "
            "at scale 1 writes)"
        )
    return module
