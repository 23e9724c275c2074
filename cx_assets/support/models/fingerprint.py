"""What a model was trained from, as one hash: a re-run whose inputs hash the same reuses
the stored model instead of fitting an identical one (training is deterministic: fixed
seeds, unshuffled folds). A re-delivered earlier day, or the same day run again, then costs
no fit; a new day changes the inputs and refits, and so does any change to the module that
trains (its source is part of the hash: hyperparameters live in code too)."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

import pandas as pd


@cache
def source_digest(module_file: str) -> str:
    """Hash of a module's source, so a change to how a model trains is a change of input."""
    return hashlib.sha256(Path(module_file).read_bytes()).hexdigest()


def training_fingerprint(rows: pd.DataFrame, *context: object) -> str:
    """Hash of every value of `rows` (in order, with column names and dtypes) and of the
    `context` (settings, as-of day, library version, source digest), each by `repr`."""
    digest = hashlib.sha256()
    digest.update(repr([(name, str(dtype)) for name, dtype in rows.dtypes.items()]).encode())
    digest.update(pd.util.hash_pandas_object(rows, index=False).to_numpy().tobytes())
    digest.update(repr(context).encode())
    return digest.hexdigest()
