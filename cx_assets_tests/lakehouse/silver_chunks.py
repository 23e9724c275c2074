"""The days each silver step types at once, for the tests of calls, digital and support that
show a range typing a day at a time, as one-day runs do (a range that typed all its days in
one piece held them all in memory)."""

from __future__ import annotations


def spy_on_silver_chunks(
    monkeypatch, small_days_together: bool = False
) -> list[tuple[str, tuple[str, ...]]]:
    """(bronze table, days) of every chunk a silver step types from here on, in order.
    A test's days are small: each is typed alone, as a large day is, unless
    `small_days_together` (`steps.day_chunks`)."""
    from cx_assets.lakehouse import steps

    if not small_days_together:
        monkeypatch.setattr(steps, "GROUP_ROWS", 0)

    typed: list[tuple[str, tuple[str, ...]]] = []
    chunk_of = steps._silver_chunk

    def spied(con, bronze, spec, model, select_sql, derived_frames, chunk, **kwargs):
        typed.append((bronze.table, tuple(str(day) for day in chunk)))
        return chunk_of(con, bronze, spec, model, select_sql, derived_frames, chunk, **kwargs)

    monkeypatch.setattr(steps, "_silver_chunk", spied)
    return typed
