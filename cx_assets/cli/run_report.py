"""What `cx-lakehouse run` says when its run is done: the tally of checks, one line per failed
step, rows per gold table, what was quarantined, and the later days to run again."""

from __future__ import annotations

import errno
import os
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path


@dataclass
class RunTally:
    """What one run did: its check results, and the assets it wrote (a failed or
    interrupted run writes some of them, or none)."""

    passed: int = 0
    warned: int = 0
    failed: int = 0
    # A failed check's line start (severity, table and check) -> its days' descriptions.
    problems: dict[str, list[tuple[str | None, str | None]]] = field(default_factory=dict)
    written: set = field(default_factory=set)
    # Landed files its bronze steps did not read, or no step looks at: (file, why), as the
    # materializations list them (each day its own, the first `landing.IGNORED_LISTED` of them).
    ignored: set[tuple[str, str]] = field(default_factory=set)
    # How many more its bronze materializations counted without listing them.
    ignored_unlisted: int = 0
    # Landed CSV files without a column for some optional fields: (file, the fields).
    missing_columns: set[tuple[str, str]] = field(default_factory=set)
    # Landed JSON files in which no record has some optional fields while their records have
    # fields the contract does not declare, a likely rename: (file, both).
    renamed_fields: set[tuple[str, str]] = field(default_factory=set)
    # Landed CSV files whose header spells a required field otherwise, their records
    # quarantined as missing it: (file, `Column for field`, ...).
    spelled_otherwise: set[tuple[str, str]] = field(default_factory=set)
    # The fingerprint of each day's landed files its bronze steps read, by bronze asset key
    # (`landing_state.LANDING_FINGERPRINTS`): what to compare the files with once it ends.
    read_landing: dict = field(default_factory=dict)
    interrupted: bool = False  # by Ctrl-C or a stop signal, during its steps
    # The steps a failed run started (None: it succeeded, every step ran). One it did not
    # start was left out as a step before it failed (a blocking check too), or was stopped.
    steps_started: set[str] | None = None
    # What a step or the summary met of the warehouse file being damaged: the command's
    # last line, as when it is found before the run.
    damaged: str | None = None
    # What a step met of a full disk: the command's last line, as when the disk fills
    # outside the steps (`failures.disk_full`).
    full_disk: OSError | None = None
    # What a step met of a file it may not write (permissions, a read-only mount): the
    # command's last line, as when it is met outside the steps (`failures.not_writable`).
    not_writable: OSError | None = None

    def add(self, evaluation) -> None:
        from dagster import AssetCheckSeverity

        if evaluation.passed:
            self.passed += 1
            return
        label = f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
        if evaluation.severity == AssetCheckSeverity.WARN:
            self.warned += 1
            label = f"WARN  {label}"
        else:
            self.failed += 1
            label = f"ERROR {label}"
        day = getattr(evaluation, "partition", None)
        self.problems.setdefault(label, []).append((day, evaluation.description))

    def add_materialization(self, event) -> None:
        """What a step's materialization says of the landed files it read (and did not),
        beside the asset it wrote."""
        from cx_assets.lakehouse.asset_factories import IGNORED_COUNT, IGNORED_FILES
        from cx_assets.lakehouse.landing_state import LANDING_FINGERPRINTS
        from cx_assets.lakehouse.silver_report import (
            LIKELY_RENAMED_FIELDS,
            MISSING_OPTIONAL_COLUMNS,
            REQUIRED_SPELLED_OTHERWISE,
        )

        self.written.add(event.asset_key)
        metadata = event.materialization.metadata
        ignored = metadata.get(IGNORED_FILES)
        listed = [tuple(pair) for pair in (ignored.value if ignored else [])]
        self.ignored.update(listed)
        # A materialization lists the first of many (`IGNORED_COUNT`: how many in all).
        count = metadata.get(IGNORED_COUNT)
        self.ignored_unlisted += count.value - len(listed) if count else 0
        read = metadata.get(LANDING_FINGERPRINTS)
        if read is not None:
            self.read_landing.setdefault(event.asset_key, {}).update(read.value)
        missing = metadata.get(MISSING_OPTIONAL_COLUMNS)
        self.missing_columns.update(
            (name, ", ".join(fields)) for name, fields in (missing.value if missing else {}).items()
        )
        renamed = metadata.get(LIKELY_RENAMED_FIELDS)
        self.renamed_fields.update(
            (
                name,
                f"{', '.join(fields['absent'])} absent, "
                f"{', '.join(fields['undeclared'])} undeclared",
            )
            for name, fields in (renamed.value if renamed else {}).items()
        )
        spelled = metadata.get(REQUIRED_SPELLED_OTHERWISE)
        self.spelled_otherwise.update(
            (name, ", ".join(f"{column} for {field}" for column, field in columns.items()))
            for name, columns in (spelled.value if spelled else {}).items()
        )

    def add_failure(self, result) -> None:
        """What a failed run met: the steps it started (the summary marks the tables whose
        step never did), and what decides how the command ends (an interruption, a damaged
        warehouse, a full disk, a file it may not write)."""
        self.interrupted = any(is_interruption(event) for event in result.all_events)
        self.steps_started = {event.step_key for event in result.all_events if event.is_step_start}
        self.damaged = damage_met(result)
        self.full_disk = full_disk_met(result)
        self.not_writable = not_writable_met(result)

    def problem_lines(self) -> list[str]:
        """Errors first, then warnings, each by table and check: the same order every run
        (steps run two at a time, so evaluations come in either order). A check that failed
        on several days of a range is one line: its first day's description, and how many
        more days failed it (a 30-day range of a source that never landed gave 300 lines)."""
        lines = []
        for label, failures in sorted(self.problems.items()):
            failures = sorted(failures, key=lambda failure: (str(failure[0]), str(failure[1])))
            description = failures[0][1]
            detail = f" ({description})" if description else ""
            if len(failures) > 1:
                days = sorted({str(failed_day) for failed_day, _ in failures if failed_day})
                more = len(failures) - 1
                span = f", {days[0]} to {days[-1]}" if len(days) > 1 else ""
                detail += f" and {more} more day{'s' if more > 1 else ''}{span}"
            lines.append(f"{label}{detail}")
        return lines


def print_changed_since_read(changed: list[tuple[str, str, list[str]]]) -> None:
    """Name the days whose landed files changed after the run's bronze steps read them
    (`RunPlan.landing_changed_since_read`): a file still being written (copied in place by
    `cp` or an SFTP upload) was read as far as it had been written, and nothing else would
    say so. Each with the command that runs the day again."""
    from cx_assets.lakehouse.partitions import run_command

    for source, day, names in changed:
        more = f" and {len(names) - 3} more" if len(names) > 3 else ""
        print(
            f"landed files changed after the run read them (still being written?): {source} "
            f"{day}, {', '.join(names[:3])}{more}. Once they are whole, run the day again "
            f"with:\n  {run_command(day, select=f'group:{source}')}"
        )


def print_later_days(stale: list, first_day: str) -> None:
    """Name the later days an earlier run built from what this run has just rebuilt (see
    `lakehouse/staleness.py`), with the command that brings them up to date: those days
    again with this run's, as one range. This run builds only its own days, as asked."""
    from cx_assets.lakehouse.partitions import day_span

    for later in stale:
        span = day_span(later.days)
        days = f"1 day, {span}" if len(later.days) == 1 else f"{len(later.days)} days from {span}"
        print(
            f"later days out of date: {later.group}, {days}: "
            f"{', '.join(later.tables)} read these days, and an earlier run built them. "
            f"Bring them up to date with:\n  {later.command(first_day)}"
        )


def print_earlier_days(earlier: list, last_day: str) -> None:
    """Name the days before the run's that its tables read of a table never built for them,
    though their files landed (`lakehouse/staleness.py`): read as days with no rows. The
    command builds them and the run's days again, as one range."""
    from cx_assets.lakehouse.partitions import day_span

    for found in earlier:
        span = day_span(found.days)
        if len(found.days) == 1:
            days, were, them = f"1 day, {span},", "was", "it"
        else:
            days, were, them = f"{len(found.days)} days from {span}", "were", "them"
        as_days = "as a day" if len(found.days) == 1 else "as days"
        print(
            f"earlier days not built: {found.group}, {days} landed but {were} never built, "
            f"and {', '.join(found.tables)} read {them} {as_days} with no rows. "
            f"Build {them} with:\n  {found.command(last_day)}"
        )


def print_readers_left_out(left_out) -> None:
    """Name the tables the selection left out that read what this run rebuilt on its days,
    built before it (`lakehouse/staleness.py`), with the run that rebuilds them."""
    from cx_assets.lakehouse.partitions import day_span

    if left_out is None:
        return
    span = day_span(left_out.days)
    print(
        f"left out of date by the selection: {', '.join(left_out.tables)} of {span} read "
        f"{', '.join(left_out.rebuilt)}, rebuilt by this run after them. Bring them up to "
        f"date with:\n  {left_out.command()}"
    )


def print_kept_on_later_days(kept: list, first_day: str) -> None:
    """Name the later days that kept a record this run's days delivered first (a day landed
    late, run after them): its copy here was quarantined as `already kept on` that day. Run
    together, the days give each record to its first delivery."""
    from cx_assets.lakehouse.partitions import day_span

    for later in kept:
        span = day_span(later.days)
        print(
            f"kept on later days: {later.group}, {', '.join(later.tables)} kept records of "
            f"these days on {span} (run before them), and quarantined this run's copies as "
            f"already kept there. Give each record to its first delivery with:\n"
            f"  {later.command(first_day)}"
        )


def failure_lines(result) -> list[str]:
    """One line per failed step: the step and the innermost error's first line (the whole
    trace is in the UI and with --verbose). The run's own failure is said only when no step
    failed (an interruption, an error before any step), as it repeats the step's error."""
    lines, run_lines = [], []
    for event in result.all_events:
        error = _innermost_error(event)
        if not (event.is_step_failure or (event.is_run_failure and error is not None)):
            continue
        said = lines if event.is_step_failure else run_lines
        where = event.step_key or "run"
        if is_interruption(event):
            said.append(f"{where}: interrupted (Ctrl-C or a stop signal) before it finished")
            continue
        said.append(f"{where}: {_first_line(error)}")
    return lines or run_lines or ["see the Dagster UI for the run's events"]


def _first_line(error) -> str:
    """An error's class and the first line of its message; for checks that blocked, the
    lines after it too, which name them (any other error's may hold values of the data)."""
    lines = [line.strip() for line in (error.message if error else "unknown error").splitlines()]
    lines = [line for line in lines if line]
    first = lines[0] if lines else ""
    blocked = error is not None and error.cls_name == "DagsterAssetCheckFailedError"
    if blocked and first.endswith(":") and len(lines) > 1:
        more = f"; and {len(lines) - 4} more lines" if len(lines) > 4 else ""
        first = f"{first} {'; '.join(lines[1:4])}{more}"
    cls_name = error.cls_name if error else ""
    if not cls_name:
        return first
    if _is_damage(error):  # what to do is the command's last line, said once
        first = first.partition(". The landing files")[0]
    return f"{cls_name}: {_without_class(first, cls_name)}"


def _without_class(message: str, cls_name: str) -> str:
    # Dagster's message of a Python error starts with its class already, with its module
    # for a class not built in (`cx_assets.lakehouse.validation.SchemaViolation: ...`).
    return re.sub(rf"^(?:[\w.]+\.)?{re.escape(cls_name)}: ", "", message)


def _innermost_error(event):
    """The error an event carries, its causes followed to the first one; None without. A
    damaged file is said by the error naming it, not by DuckDB's or Arrow's cause below it
    (a damaged Parquet file's summary line was Arrow's "Parquet magic bytes not found",
    naming neither the file nor the run that writes it anew)."""
    error = getattr(event.event_specific_data, "error", None)
    while error is not None and error.cause is not None and not _names_the_damage(error):
        error = error.cause
    return error


def _is_damage(error) -> bool:
    return error.cls_name == "WarehouseDamagedError"


def _names_the_damage(error) -> bool:
    """An error of ours naming a damaged file and what to do, above its library's cause."""
    return _is_damage(error) or error.cls_name == "DamagedParquetError"


def damage_met(result) -> str | None:
    """What the first step that met the warehouse file damaged said of it, or None."""
    for event in result.all_events:
        error = _innermost_error(event)
        if event.is_step_failure and error is not None and _is_damage(error):
            return _without_class(error.message.strip(), error.cls_name)
    return None


def full_disk_met(result) -> OSError | None:
    """The first step failure that says the disk is full, as the operating system's error
    naming the file it could not write where it says one; else None. Found in an audit:
    with Dagster's history still writable, steps a full disk failed ended in `FAILED`."""
    for event in result.all_events:
        error = _innermost_error(event)
        if not (event.is_step_failure and error is not None):
            continue
        if any(words in error.message.lower() for words in _NO_SPACE):
            named = re.search(_NAMED_FILE, error.message)
            first = _without_class(error.message.strip().splitlines()[0], error.cls_name)
            if named:
                path = named.group(1) or named.group(2)
                return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), path)
            return OSError(errno.ENOSPC, first)
    return None


def not_writable_met(result) -> OSError | None:
    """The first step failure of a file the step may not write (Permission denied, a
    read-only file system), as the operating system's error naming it (of a file moved,
    where it went); else None. Found in an audit: a data root whose bronze folders another
    user had made failed every bronze step and ended in `FAILED`, saying nothing to do."""
    for event in result.all_events:
        error = _innermost_error(event)
        if not (event.is_step_failure and error is not None):
            continue
        for code in (errno.EACCES, errno.EPERM, errno.EROFS):
            said = os.strerror(code)
            # The other day folders of a range a bronze step could not read, after the first
            # (`landing.DayFoldersNotRead`).
            named = re.search(
                rf"{re.escape(said)}: (?:'[^']+' -> )?'([^']+)'(; and \d+ more day folders? .*)?",
                error.message,
            )
            if named:
                return OSError(code, said + (named.group(2) or ""), named.group(1))
    return None


# What the operating system, SQLite and DuckDB say of a full disk.
_NO_SPACE = ("no space left on device", "database or disk is full")
# The file a full disk's error names: the operating system's way (of a file moved, where
# it went), and DuckDB's.
_NAMED_FILE = (
    r"No space left on device: (?:'[^']+' -> )?'([^']+)'|Could not write file \"([^\"]+)\""
)


def is_interruption(event) -> bool:
    """Whether `event` is the run's failure of an interruption (Ctrl-C, a stop signal)."""
    error = _innermost_error(event)
    return error is not None and error.cls_name == "DagsterExecutionInterruptedError"


def print_summary(
    resources, instance, keys, partitioned: set, days: tuple[date, date], tally: RunTally
) -> None:
    """Rows per gold table: of the run's days for a per-day table, all of it for a
    whole-history one (whose days, like a forecast's, may lie outside the run's). A table
    the run did not write (it failed or was interrupted first) says so, and whose rows it
    holds: this run's, where its step wrote the warehouse and then failed writing the
    Parquet (the next run publishes them); an earlier run's; none, of days it was never
    written for; or rows a failed step left that no run ever materialized."""
    from cx_assets.lakehouse.partitions import dates_between
    from cx_assets.lakehouse.warehouse import WarehouseDamagedError

    gold = sorted(key for key in keys if key.path[0] == "gold")
    if gold:
        try:
            lines = _gold_rows(resources, instance, gold, partitioned, dates_between(*days), tally)
            print("gold rows:", *lines, sep="\n")
        except WarehouseDamagedError as error:
            # The command's last line says what to do, as when it is found before the run.
            print("gold rows: not counted, the warehouse file is damaged")
            tally.damaged = str(error)
    if tally.ignored:
        count = len(tally.ignored) + tally.ignored_unlisted
        shown = ", the first 5" if count > 5 else ""
        print(f"not read: {count:,} landed file{'s' if count > 1 else ''}{shown}:")
        for name, why in sorted(tally.ignored)[:5]:
            print(f"  {name}: {why}")
    if tally.missing_columns:
        _print_landed_files(
            "optional fields without a column, their records kept without a value",
            tally.missing_columns,
        )
    if tally.renamed_fields:
        _print_landed_files(
            "optional fields no record has, beside fields the contract does not declare "
            "(may be renames), their records kept without a value",
            tally.renamed_fields,
        )
    if tally.spelled_otherwise:
        _print_landed_files(
            "required fields spelled otherwise, their records quarantined as missing them",
            tally.spelled_otherwise,
        )
    print(f"checks: {tally.passed} passed, {tally.warned} warned, {tally.failed} failed")
    for problem in tally.problem_lines():
        print(f"  {problem}")


def _print_landed_files(heading: str, files: set[tuple[str, str]]) -> None:
    """`heading` and the number of landed `files` (name, what is said of it), then the first
    five of them by name."""
    count = len(files)
    shown = ", the first 5" if count > 5 else ""
    print(f"{heading}: {count} landed file{'s' if count > 1 else ''}{shown}:")
    for name, said in sorted(files)[:5]:
        print(f"  {name}: {said}")


def _gold_rows(resources, instance, gold: list, partitioned: set, days: list, tally) -> list:
    """A line per gold table: its rows, and whose they are when the run did not write it."""
    from cx_assets.lakehouse.io_managers import LAYER_STORAGE
    from cx_assets.lakehouse.warehouse_tables import count_rows, table_exists

    lines = []
    with resources["warehouse"].connect() as con:
        for key in gold:
            table = key.path[-1]
            # Its step's key (`gold__<table>`): Dagster says nothing of a step a failure left
            # out but a line in its log.
            started = tally.steps_started
            skipped = "its step did not run; " * (
                started is not None and "__".join(key.path) not in started
            )
            if not table_exists(con, "gold", table):
                lines.append(f"  {table:<34} ({skipped}never written)")
                continue
            per_day = key in partitioned
            rows = count_rows(con, "gold", table, days if per_day else None)
            note = ""
            if key not in tally.written:
                if resources[LAYER_STORAGE["gold"]].left_unpublished(table):
                    note = (
                        "  (not materialized: its step wrote the warehouse, then failed "
                        "before the Parquet; the next run publishes it)"
                    )
                elif _materialized_before(instance, key, days if per_day else None):
                    note = f"  ({skipped}not written by this run: an earlier run's)"
                elif per_day and rows == 0:  # the table holds other days, none of these
                    note = f"  ({skipped}never written for these days)"
                else:
                    note = (
                        f"  ({skipped}not materialized: rows a failed step left in the warehouse)"
                    )
            lines.append(f"  {table:<34} {rows:>10,}{note}")
    return lines


def _materialized_before(instance, key, days: list[date] | None) -> bool:
    """Whether a run materialized `key` (one of `days`, for a per-day table)."""
    if days is None:
        return instance.get_latest_materialization_event(key) is not None
    materialized = instance.get_materialized_partitions(key)
    return any(day.isoformat() in materialized for day in days)


def print_quarantined(
    quarantine_dir: Path, partitioned: set, first: date, last: date, *, since: float
) -> None:
    """Records of the run's days quarantined, by landed table, with the first one's file,
    line and reason: where to look, without any record's content (the file as silver shows
    it, an e-mail address or phone number in its name masked). A table whose quarantine
    of these days was written before `since` (the run failed before its silver step) says
    the records are an earlier run's."""
    import pyarrow.parquet as pq

    from cx_assets.lakehouse import parquet, quarantine
    from cx_assets.lakehouse.partitions import dates_between
    from cx_assets.lakehouse.privacy import shown_path
    from cx_assets.lakehouse.quarantine import shown_reason

    found, reasons_of = [], []
    for table in sorted(key.path[-1] for key in partitioned if key.path[0] == "bronze"):
        folders = [
            folder
            for day in dates_between(first, last)
            if (folder := parquet.partition_folder(quarantine_dir / table, day)).is_dir()
        ]
        # A clean day has a quarantine folder too, with an empty file.
        counts = [(folder, parquet.row_count(folder)) for folder in folders]
        count = sum(rows for _, rows in counts)
        if count:
            first_folder = next(folder for folder, rows in counts if rows)
            rows = pq.read_table(first_folder, columns=["source_file", "line_number", "reason"])
            in_order = rows.sort_by([("source_file", "ascending"), ("line_number", "ascending")])
            first_row = in_order.slice(0, 1).to_pylist()[0]
            # The quarantine keeps the landed name; the output shows it as silver does.
            place = f"{shown_path(first_row['source_file'])}:{first_row['line_number']}"
            earlier = any(parquet.written_before(folder, since) for folder, rows in counts if rows)
            said = f"{place}: {shown_reason(first_row['reason'])[:200]}"
            by_reason = quarantine.reasons_with_first_place(
                [folder for folder, rows in counts if rows]
            )
            found.append((table, count, f"{said}  (an earlier run's)" if earlier else said))
            reasons_of.append(by_reason)
    if found:
        total = sum(count for _, count, _ in found)
        records = "record" if total == 1 else "records"
        print(f"quarantined: {total:,} {records} of these days, in {quarantine_dir}/", end="")
        print(" (first of each):")
        for (table, count, first_one), by_reason in zip(found, reasons_of, strict=True):
            print(f"  {table:<34} {count:>10,}  {first_one}")
            _print_reasons(*by_reason)


# Of a table's reasons, the run's summary shows this many, the rest in one line.
REASONS_SHOWN = 5


def _print_reasons(reasons: list[tuple[str, int, str, int]], files: int) -> None:
    """A table's quarantined records by reason, most first, each with its first place
    (`quarantine.reasons_with_first_place`): the first record alone made a day of five
    kinds of bad record read as one, and a re-delivered file's repeats as its first bad
    line. Said when the records hold more than one reason or came from more than one file."""
    from cx_assets.lakehouse.privacy import shown_path

    if len(reasons) < 2 and files < 2:
        return
    print(f"    from {files:,} file{'s' if files > 1 else ''}, by reason:")
    for reason, count, source_file, line in reasons[:REASONS_SHOWN]:
        print(f"    {count:>10,}  {reason[:200]}  (first: {shown_path(source_file)}:{line})")
    rest = reasons[REASONS_SHOWN:]
    if rest:
        more = sum(count for _, count, _, _ in rest)
        print(
            f"    and {len(rest)} more reason{'s' if len(rest) > 1 else ''}, "
            f"{more:,} record{'s' if more > 1 else ''}"
        )
