"""`cx-lakehouse generate`: synthetic landing files. The one door into `cx_assets.synthetic`:
no pipeline module imports it (`cx_assets_tests/synthetic/test_apart.py`)."""

from __future__ import annotations

import argparse
import fcntl
import shutil
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

from cx_assets.cli.failures import BusyError
from cx_assets.cli.options import UsageError, parse_day

# Synthetic CRM ids count days from 2000-01-01; histories reach up to ten years after
# the last day (a deal left open), which keeps every written time within the years landed
# times may have (1900-2199, `lakehouse/parsing.py`) and every date computed within Python's.
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2189, 12, 31)


def generator_sources() -> list[str]:
    from cx_assets.synthetic import sources

    return sources()


def cmd_generate(args: argparse.Namespace) -> int:
    from cx_assets.lakehouse.settings import Settings
    from cx_assets.synthetic import generator
    from cx_assets.synthetic.landing_writer import GenerationRequest, one_delivery

    settings = Settings.from_env()
    start = parse_day(args.start, "--start")
    if args.days < 1:
        raise UsageError("--days must be at least 1")
    if (date.max - start).days < args.days - 1:
        raise UsageError(f"--start {start} with --days {args.days} runs past the year 9999")
    last = start + timedelta(days=args.days - 1)
    if start < FIRST_DAY or last > LAST_DAY:
        raise UsageError(
            f"synthetic days lie from {FIRST_DAY} to {LAST_DAY}, not {start} to {last}: the "
            "lakehouse reads times of the years 1900-2199, and the generated histories reach "
            "years ahead (deals decided years later)"
        )
    if not 0 < args.scale < float("inf"):  # also refuses nan
        raise UsageError("--scale must be a number greater than 0")
    known = generator_sources()
    # Given, even empty (an unset shell variable), it names the sources: never all of them.
    named = args.sources is not None
    # A source named twice is generated once, where first named.
    names = (s.strip() for s in args.sources.split(",")) if named else known
    sources = list(dict.fromkeys(name for name in names if name))
    unknown = sorted(set(sources) - set(known))
    if unknown:
        raise UsageError(f"unknown source {', '.join(unknown)}: choose from {', '.join(known)}")
    if not sources:
        raise UsageError(f"--sources names no source: choose from {', '.join(known)}")
    _require_room_for(settings.layout.landing_dir, sources, args.days, args.scale)
    request = GenerationRequest(
        landing_dir=settings.layout.landing_dir,
        start=start,
        days=args.days,
        scale=args.scale,
        seed=args.seed,
        # progress bars only on a terminal: redirected to a file they become noise
        show_progress=not args.quiet and sys.stderr.isatty(),
    )
    with one_generate_at_a_time(settings.data_dir):
        for source in sources:
            began = time.perf_counter()
            with one_delivery():  # a source's files land together, as one delivery
                counts = generator(source)(request)
            if not isinstance(counts, Mapping):  # a new source's defect, said as such
                raise TypeError(
                    f"cx_assets.synthetic.{source}'s generate(request) returned {counts!r}: "
                    "it returns the records it wrote per table, e.g. {'transcripts': 750}"
                )
            written = ", ".join(f"{table} {n:,}" for table, n in counts.items())
            print(f"{source}: {written} ({time.perf_counter() - began:.1f} s)")
    print(f"landing files are in {settings.layout.landing_dir}")
    return 0


# Held by the `generate` writing into a data root (`flock`: gone with its process).
GENERATE_LOCK = ".generate.lock"


@contextmanager
def one_generate_at_a_time(data_dir: Path) -> Iterator[None]:
    """Refuse a second `generate` into the same data root while one writes: both wrote the
    same in-flight file, their bytes interleaved, and the second's rename found it gone. A
    run may read while a generate writes (files land whole, by rename); it is not held."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(data_dir / GENERATE_LOCK, "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BusyError(
                f"another `cx-lakehouse generate` is writing into {data_dir}: wait for it "
                "to finish, then run this one"
            ) from None
        yield


def _require_room_for(landing_dir: Path, sources: Sequence[str], days: int, scale: float) -> None:
    """Refuse, before writing anything, a request whose files cannot fit on the disk (a
    mistyped `--scale 1000` would otherwise fill it and stop half-way)."""
    from cx_assets.synthetic import megabytes

    needed = sum(megabytes(source, days=days, scale=scale) for source in sources) * 2**20
    existing = next(folder for folder in (landing_dir, *landing_dir.parents) if folder.exists())
    free = shutil.disk_usage(existing).free
    if needed > free:
        raise UsageError(
            f"{days} {'day' if days == 1 else 'days'} at --scale {scale:g} "
            f"{'is' if days == 1 else 'are'} about "
            f"{_size(needed)} of landing files, "
            f"and the disk holding {landing_dir} has {_size(free)} free: lower --scale or --days"
        )


def _size(size: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if size < 1024 or unit == "TB":
            return f"{size:,.0f} {unit}" if unit == "bytes" else f"{size:,.1f} {unit}"
        size /= 1024
    raise AssertionError("not reached")
