"""Silver CRM interactions as the gold rules read them, built row by row in tests."""

from __future__ import annotations

from datetime import datetime

import pandas as pd

T0 = datetime(2024, 1, 1, 12, 0, tzinfo=pd.Timestamp(0, tz="UTC").tz)


def interaction(
    interaction_id, owner_id, company_id, at, *, direction=None, subject=None, noise=False
):
    return {
        "interaction_id": interaction_id,
        "owner_id": owner_id,
        "company_id": company_id,
        "occurred_at": at,
        "direction": direction,
        "thread_subject_key": subject,
        "is_noise": noise,
        "is_friction": False,
        "date": at.date(),
    }
