"""What the user typed: a mistake in it is said in one line, and the command exits 2."""

from __future__ import annotations

from datetime import date


class UsageError(Exception):
    """A mistake the user can fix; printed as one line."""


def parse_day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{option} {text!r} is not a date in YYYY-MM-DD form") from None
