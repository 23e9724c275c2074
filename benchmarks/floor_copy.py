"""The DuckDB floor as a process of its own: `python floor_copy.py DATA_DIR SOURCE OUT DAY...`.

DuckDB reads every landing file of the source's days once and writes it once as Parquet
into OUT, on two threads: the least any pipeline over these files must do. Issue 12 times
the floor as a whole process, as the product's commands are timed (Python started, its
libraries imported, the work, the exit), so `bench_run.floor` times this script from start
to exit. It imports DuckDB and nothing else, and leaves as `cx-lakehouse` leaves
(`os._exit`, no interpreter teardown).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import duckdb

# How DuckDB reads a landed table's files, by file type.
READERS = {
    ".jsonl": "read_json('{folder}/*.jsonl', format='newline_delimited', union_by_name=true)",
    ".json": "read_json('{folder}/*.json', format='auto', union_by_name=true)",
    ".csv": "read_csv('{folder}/*.csv', union_by_name=true, header=true)",
}


def copy_landing(data_dir: Path, source: str, days: list[str], out: Path) -> None:
    con = duckdb.connect()
    con.execute("SET threads = 2")
    for day in days:
        for folder in sorted((data_dir / "landing" / source).glob(f"*/{day}")):
            table = folder.parent.name
            for suffix in sorted({path.suffix for path in folder.iterdir()} & set(READERS)):
                reader = READERS[suffix].format(folder=folder.as_posix())
                target = out / f"{table}_{day}{suffix.replace('.', '_')}.parquet"
                con.execute(f"COPY (SELECT * FROM {reader}) TO '{target}' (FORMAT parquet)")
    con.close()


if __name__ == "__main__":
    data_dir, source, out, *days = sys.argv[1:]
    copy_landing(Path(data_dir), source, days, Path(out))
    sys.stdout.flush()
    os._exit(0)
