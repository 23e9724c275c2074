"""The Makefile on the machines newcomers have: a `python3` older than 3.11, a `.venv` an
older Python left, a demo run again the next day, a data root whose path holds a quote.
The install step's tests run the real Makefile in a folder of their own (a copy of
pyproject.toml, the Makefile's one prerequisite), with stand-in Pythons that say what they
were asked and answer as the real ones do: nothing is installed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# A Python older than 3.11, as `python -c`, `--version`, `-m venv` and `-m pip` answer:
# its `venv` makes a .venv whose Python is itself; its pip refuses the package as pip does.
OLD_PYTHON = """#!/bin/sh
echo "$0 $*" >> "$CALLS"
case "$1" in
  -c) exit 1 ;;
  --version) echo "Python 3.9.18"; exit 0 ;;
esac
if [ "$1 $2" = "-m venv" ]; then
  mkdir -p .venv/bin && cp "$0" .venv/bin/python && exit 0
fi
echo "ERROR: Package 'cx-lakehouse' requires a different Python: 3.9.18 not in '>=3.11'" >&2
exit 1
"""

# Python 3.11: every check passes, pip installs. Its `venv` over a .venv an older Python
# made keeps that .venv's `python` (as Python's own does: it adds `python3.11` beside it)
# unless told `--clear`.
NEW_PYTHON = """#!/bin/sh
echo "$0 $*" >> "$CALLS"
if [ "$1 $2" = "-m venv" ]; then
  mkdir -p .venv/bin
  case " $* " in
    *" --clear "*) rm -rf .venv && mkdir -p .venv/bin && cp "$0" .venv/bin/python ;;
    *) [ -e .venv/bin/python ] || cp "$0" .venv/bin/python ;;
  esac
fi
exit 0
"""


def _folder(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A clone's folder as make sees it, and the environment to run make in."""
    clone = tmp_path / "clone"
    clone.mkdir()
    shutil.copy(REPO / "pyproject.toml", clone)
    environment = {**os.environ, "CALLS": str(tmp_path / "calls")}
    environment.pop("MAKEFLAGS", None)
    return clone, environment


def _python(tmp_path: Path, name: str, script: str) -> Path:
    path = tmp_path / name
    path.write_text(script)
    path.chmod(0o755)
    return path


def _venv(clone: Path, python: str) -> None:
    """A .venv in `clone` whose `python` is the stand-in `python`, holding a package of the
    user's (`kept`), which a .venv made anew loses."""
    bin_dir = clone / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "python").write_text(python)
    (bin_dir / "python").chmod(0o755)
    (bin_dir / "kept").touch()


def _make(clone: Path, environment: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "-f", str(REPO / "Makefile"), "-C", str(clone), "--no-print-directory", *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_python_older_than_3_11_or_none_is_refused_in_one_line_before_a_venv_is_made(
    tmp_path,
):
    """`make demo` with `python3` 3.9 made a .venv of it and ended in pip's refusal; with
    no Python that runs (PYTHON=/bin/false), in make's 'Error 1' alone."""
    clone, environment = _folder(tmp_path)
    old = _python(tmp_path, "python3.9", OLD_PYTHON)
    for python, is_said in ((old, "Python 3.9.18"), ("/bin/false", "no Python")):
        done = _make(clone, environment, "demo", f"PYTHON={python}")

        assert done.returncode == 2, done.stderr
        assert done.stderr.splitlines()[0] == (
            f"make: cx-lakehouse needs Python 3.11 or later, and {python} is {is_said}: "
            "install one and name it, e.g. make demo PYTHON=python3.11"
        )
        assert not (clone / ".venv").exists()


def test_a_venv_an_older_python_made_is_made_anew_with_the_python_named(tmp_path):
    """Seen: `make demo` on a machine whose python3 was 3.9 left a .venv of 3.9 (pip
    refused the package); every `make demo PYTHON=python3.11` after it failed the same way,
    in 'requires a different Python: 3.9.18', as `venv` over it kept its `python`."""
    clone, environment = _folder(tmp_path)
    old = _python(tmp_path, "python3.9", OLD_PYTHON)
    new = _python(tmp_path, "python3.11", NEW_PYTHON)
    (clone / ".venv" / "bin").mkdir(parents=True)
    shutil.copy(old, clone / ".venv" / "bin" / "python")

    done = _make(clone, environment, "install", f"PYTHON={new}")

    assert done.returncode == 0, done.stderr
    assert f"{new} -m venv --clear .venv" in done.stdout
    assert (clone / ".venv" / "bin" / "python").read_text() == NEW_PYTHON
    assert (clone / ".venv" / ".installed-stamp").exists()
    assert "-m pip install --quiet -e .[dev]" in (tmp_path / "calls").read_text()


def test_a_venv_of_a_python_that_will_do_is_kept(tmp_path):
    """Only an unusable .venv is made anew: a pyproject.toml newer than the install installs
    into the .venv there (a --clear each time would download every package again)."""
    clone, environment = _folder(tmp_path)
    new = _python(tmp_path, "python3.11", NEW_PYTHON)
    _venv(clone, new.read_text())

    done = _make(clone, environment, "install", f"PYTHON={new}")

    assert done.returncode == 0, done.stderr
    assert "--clear" not in (tmp_path / "calls").read_text()
    assert (clone / ".venv" / "bin" / "kept").exists()
    assert (clone / ".venv" / ".installed-stamp").exists()


def test_a_venv_that_will_do_is_installed_into_whatever_python3_is(tmp_path):
    """A .venv made once with `make install PYTHON=python3.11` on a machine whose python3 is
    3.9: the next `make demo` after a pull that changed pyproject.toml was refused, 'python3
    is Python 3.9.18: install one and name it', where the .venv would have done (and did
    before, `venv` over it keeping its `python`). $(PYTHON) is asked only to make a .venv."""
    clone, environment = _folder(tmp_path)
    old = _python(tmp_path, "python3.9", OLD_PYTHON)
    new = _python(tmp_path, "python3.11", NEW_PYTHON)
    _venv(clone, new.read_text())

    done = _make(clone, environment, "install", f"PYTHON={old}")

    assert done.returncode == 0, done.stderr
    assert str(old) not in (tmp_path / "calls").read_text()
    assert (clone / ".venv" / "bin" / "kept").exists()
    assert (clone / ".venv" / ".installed-stamp").exists()


def test_the_demos_days_are_counted_by_the_venvs_python_without_a_python3(tmp_path):
    """With a .venv that will do, make goes on whatever $(PYTHON) is: on a machine with no
    python3 at all (uv's Pythons alone, a .venv of one) the demo's days, counted by
    $(PYTHON), came out empty ('generate --start  --days 3'). The .venv's Python counts them."""
    clone, environment = _folder(tmp_path)
    (clone / ".venv" / "bin").mkdir(parents=True)
    (clone / ".venv" / "bin" / "python").symlink_to(sys.executable)

    done = _make(
        clone, environment, "-n", "-o", ".venv/.installed-stamp", "demo", "PYTHON=/bin/false"
    )

    assert done.returncode == 0, done.stderr
    starts = [
        line.split("--start ")[1][:10] for line in done.stdout.splitlines() if "--start" in line
    ]
    assert len(starts) == 2 and all(date.fromisoformat(start) for start in starts), done.stdout


# Python 3.11 in a .venv made without pip, as `uv venv` makes one (or `venv --without-pip`):
# `import pip` fails until `-m ensurepip` puts pip beside its packages; its `-m venv` is
# NEW_PYTHON's.
NO_PIP_PYTHON = """#!/bin/sh
echo "$0 $*" >> "$CALLS"
here=$(dirname "$0")
case "$1 $2" in
  "-c import pip"*) [ -e "$here/pip" ] || exit 1 ;;
  "-m ensurepip") touch "$here/pip" ;;
  "-m pip") [ -e "$here/pip" ] || { echo "No module named pip" >&2; exit 1; } ;;
esac
exit 0
"""


def test_a_venv_that_will_do_but_lacks_pip_gets_pip_and_keeps_its_packages(tmp_path):
    """A .venv `uv venv` made (it puts no pip in) and `uv pip install` filled was emptied by
    `venv --clear` as if interrupted: its packages, the operator's own among them, were gone
    and its Python replaced by $(PYTHON). Its own Python now puts pip in (`ensurepip`)."""
    clone, environment = _folder(tmp_path)
    new = _python(tmp_path, "python3.11", NEW_PYTHON)
    _venv(clone, NO_PIP_PYTHON)

    done = _make(clone, environment, "install", f"PYTHON={new}")

    assert done.returncode == 0, done.stderr
    calls = (tmp_path / "calls").read_text()
    assert "--clear" not in calls
    assert ".venv/bin/python -m ensurepip" in calls
    assert (clone / ".venv" / "bin" / "kept").exists()
    assert (clone / ".venv" / "bin" / "python").read_text() == NO_PIP_PYTHON
    assert (clone / ".venv" / ".installed-stamp").exists()


def test_a_venv_that_will_do_whose_python_has_no_ensurepip_is_made_anew(tmp_path):
    """A .venv without pip whose Python cannot put it in (Debian's system Python has no
    ensurepip) is made anew by $(PYTHON), pip with it: left as it was, pip's install of the
    package ended in 'No module named pip'."""
    clone, environment = _folder(tmp_path)
    new = _python(tmp_path, "python3.11", NEW_PYTHON)
    _venv(clone, NO_PIP_PYTHON.replace('touch "$here/pip"', "exit 1"))

    done = _make(clone, environment, "install", f"PYTHON={new}")

    assert done.returncode == 0, done.stderr
    calls = (tmp_path / "calls").read_text()
    assert calls.index(".venv/bin/python -m ensurepip") < calls.index(f"{new} -m venv --clear")
    assert (clone / ".venv" / "bin" / "python").read_text() == NEW_PYTHON
    assert (clone / ".venv" / ".installed-stamp").exists()


def test_the_demo_runs_each_domains_days_in_one_range():
    """Seen in an audit, `make demo` on the day after one: support's weeks and the demo days
    were two runs, and the first, rebuilding the day before the demo days (generated anew
    from a later start), named the previous demo's days built from it out of date, with a
    command to run, which the demo's next run made moot. Each domain's days are one run."""
    planned = subprocess.run(
        ["make", "-n", "demo"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    runs = [line.split() for line in planned.splitlines() if "cx-lakehouse run " in line]
    from cx_assets.synthetic import sources

    domains = sources()
    assert "support" in domains  # read, not skipped
    selected = [
        [
            domain
            for domain in domains
            if "--select" not in run or f"group:{domain}" in " ".join(run)
        ]
        for run in runs
    ]
    for domain in domains:
        assert sum(domain in run for run in selected) == 1, (domain, runs)


@pytest.mark.parametrize(
    ("demo_days", "support_days"),
    [(3, 56), (90, 90), ("08", 56), ("060", 60), ("+8", 56), ("+90", 90)],
)
def test_a_demo_longer_than_supports_weeks_runs_every_days_support_too(demo_days, support_days):
    """`make demo DEMO_DAYS=90` generated every source's 90 days, support's included, and
    ran support from its 8 weeks' start alone: its first 34 days landed and were never
    built, the command centre's support page short of them ('materialize everything', make
    help says). Support's days are the longer of its weeks and the demo's: a demo of 3 days
    still gives support its 8 weeks (the forecast's backtest needs them). Days written with
    a leading zero (`08`) are the days they say: Python refused `timedelta(days=08)` and the
    shell's arithmetic read `08` as octal, so the demo's start and support's days came out
    empty ("argument --start: expected one argument"). So were support's days of `+8`,
    which the demo's check of its days takes and the shell's expr refused."""
    planned = subprocess.run(
        ["make", "-n", "-o", ".venv/.installed-stamp", "demo", f"DEMO_DAYS={demo_days}"],
        cwd=REPO, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    commands = [line.split() for line in planned.splitlines() if "cx-lakehouse " in line]
    generated = [c[c.index("--start") + 1] for c in commands if c[1] == "generate"]
    runs = {
        c[-1]: (c[c.index("--date") + 1], c[c.index("--to") + 1]) for c in commands if c[1] == "run"
    }
    first_day = min(generated)
    assert len(generated) == 2 and all(generated), planned
    assert runs["group:support"][0] == first_day, (generated, runs)
    assert runs["group:support"][1] == runs["group:digital'"][1]
    support = [date.fromisoformat(day) for day in runs["group:support"]]
    assert (support[1] - support[0]).days + 1 == support_days, runs


def test_the_demos_try_line_runs_as_printed_from_a_data_root_with_a_quote(tmp_path):
    """`make demo` ends with a DuckDB query to copy and paste; under a data root holding a
    `'` (`Bob's projects/`) the path ended its SQL string early: a Parser Error."""
    import duckdb

    data_dir = tmp_path / "Bob's projects" / "data"
    day = data_dir / "gold" / "crm_noise_summary" / "date=2024-01-01"
    day.mkdir(parents=True)
    duckdb.sql("SELECT 'valid' AS category, 3 AS count").write_parquet(str(day / "data.parquet"))
    environment = {**os.environ, "CX_DATA_DIR": str(data_dir)}
    environment.pop("MAKEFLAGS", None)
    planned = subprocess.run(
        ["make", "-n", "-o", ".venv/.installed-stamp", "demo"],
        cwd=REPO, env=environment, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    (echo,) = [line for line in planned.splitlines() if line.startswith('echo "Try:')]
    printed = subprocess.run(["sh", "-c", echo], capture_output=True, text=True).stdout

    pasted = subprocess.run(
        ["sh", "-c", printed.removeprefix("Try:")], cwd=REPO, capture_output=True, text=True
    )

    assert pasted.returncode == 0, pasted.stderr
    assert "valid" in pasted.stdout and "2024-01-01" in pasted.stdout


def test_the_demo_runs_a_domain_added_beside_the_four(tmp_path):
    """Seen adding a toy domain by docs/architecture.md's steps (which edit nothing outside
    its folders): `make demo` generated its days (every source's generator) and ran none of
    them, its run of the domains besides support naming three by hand. The domains are the
    folders with a definitions.py, as cx-lakehouse finds them."""
    clone, environment = _folder(tmp_path)
    for domain in ("calls", "crm", "digital", "support", "surveys"):
        (clone / "cx_assets" / domain).mkdir(parents=True)
        (clone / "cx_assets" / domain / "definitions.py").touch()
    (clone / "cx_assets" / "synthetic").mkdir()  # no definitions.py: no domain

    done = _make(clone, environment, "-n", "-o", ".venv/.installed-stamp", "demo")

    assert done.returncode == 0, done.stderr
    runs = [line for line in done.stdout.splitlines() if "cx-lakehouse run " in line]
    assert [run.split("--select ", 1)[1] for run in runs] == [
        "group:support",
        "'group:calls or group:crm or group:digital or group:surveys'",
    ]


@pytest.mark.parametrize(
    ("variable", "value", "said"),
    [
        ("DEMO_DAYS", "abc", "is not a whole number of days, 1 or more"),
        ("DEMO_DAYS", "0", "is not a whole number of days, 1 or more"),
        ("DEMO_DAYS", "2.5", "is not a whole number of days, 1 or more"),
        ("DEMO_SCALE", "abc", "is not a number greater than 0"),
        ("DEMO_SCALE", "0", "is not a number greater than 0"),
    ],
)
def test_a_demo_given_days_or_a_scale_that_are_no_number_names_the_variable(
    variable, value, said, tmp_path
):
    """`make demo DEMO_DAYS=abc` ended in "argument --start: expected one argument" (its
    start counted back from no number), `DEMO_DAYS=0` in "--days must be at least 1" and
    `DEMO_SCALE=abc` in "argument --scale: invalid float value", options make does not
    take. Refused naming the variable, before anything is generated."""
    data_dir = tmp_path / "data"
    environment = {**os.environ, "CX_DATA_DIR": str(data_dir)}
    environment.pop("MAKEFLAGS", None)
    done = subprocess.run(
        # -o: .venv as it is (the one running the tests, as `make test` runs them)
        ["make", "-s", "-o", ".venv/.installed-stamp", "demo", f"{variable}={value}"],
        cwd=REPO, env=environment, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines()[0] == f"make demo: {variable}={value} {said}"
    assert not data_dir.exists()
