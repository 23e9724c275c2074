"""Files written to last through a power loss, not only through a killed process.

Every file the lakehouse publishes (bronze and quarantine Parquet, gold Parquet, models, the
gold publish journal) is written under an in-flight name and renamed into place: a killed
process leaves the old file or the new one, never half of one. A power loss is another
matter: the rename can reach the disk before the data it names, leaving an empty or
partial file where the old one was, while the warehouse, whose commits DuckDB syncs, already
holds what was built from it (every later CRM day reads every bronze contact file, so one
such file would fail them all until its day was run again). So the file's data is synced
before the rename, and the rename itself after it (its folder, and the folder's parent,
which holds a partition folder made for it). A CRM day's bronze, about 30 MB, takes ~40 ms
more; a gold table's few kilobytes under a millisecond.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# What a file system that cannot sync a file or folder answers (some FUSE and network
# mounts, for folders): nothing more can be done there, and the write is as it always was.
# Any other error (EIO: the data did not reach the disk) fails the write.
CANNOT_SYNC = (errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP)


def sync(path: Path) -> None:
    """Flush a file's data, or a folder's entries, to the disk."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    except OSError as error:
        if error.errno not in CANNOT_SYNC:
            raise
    finally:
        os.close(descriptor)


def replace(in_flight: Path, target: Path) -> None:
    """Rename the finished `in_flight` over `target`, its data on the disk first."""
    sync(in_flight)
    os.replace(in_flight, target)
    synced_renames(target)


def synced_renames(*targets: Path) -> None:
    """Sync the folders holding `targets` (just renamed into place), and their parents: a
    rename, or a folder made for it, is on the disk once its folder is."""
    folders = {target.parent for target in targets}
    for folder in sorted(folders | {folder.parent for folder in folders}):
        sync(folder)


@contextmanager
def naming(path: Path) -> Iterator[None]:
    """An OSError of writing `path` as one naming it: Arrow's and a file object's name no
    file (`[Errno 28] Error writing bytes to file`, a full disk, found in an audit)."""
    try:
        yield
    except OSError as error:
        if error.filename is not None or not error.errno:
            raise
        # from None: a step's failure line is its innermost error's, and this one says it all
        raise OSError(error.errno, os.strerror(error.errno), str(path)) from None
