"""What the user typed: a mistake in it is said in one line, and the command exits 2."""

from __future__ import annotations

import re
from datetime import date


class UsageError(Exception):
    """A mistake the user can fix; printed as one line."""


def parse_day(text: str, option: str) -> date:
    """A day written YYYY-MM-DD, as the message says (Python also reads `20240105` and
    `2024-W01-5`, which the docs never promise)."""
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{option} {text!r} is not a date in YYYY-MM-DD form") from None
