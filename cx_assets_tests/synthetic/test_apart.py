"""Synthetic data stays apart from the pipeline: no pipeline module imports `cx_assets.synthetic`
(`cx_assets/cli/generate.py` is the one door, for `cx-lakehouse generate`), sources are found
by their subpackage, and the text pools ship as package data."""

from __future__ import annotations

import ast
import fnmatch
import tomllib
from importlib import resources
from pathlib import Path

import pytest

import cx_assets
from cx_assets.synthetic import generator, sources
from cx_assets.synthetic.pool_files import load_pools

PACKAGE_DIR = Path(cx_assets.__file__).resolve().parent
SYNTHETIC_DIR = PACKAGE_DIR / "synthetic"
DOOR = PACKAGE_DIR / "cli" / "generate.py"
PYPROJECT = PACKAGE_DIR.parent / "pyproject.toml"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(source: str, module: str, is_package: bool = False) -> set[str]:
    """Every module `source` imports, relative imports resolved against `module`, plus the
    names imported from a module (`from cx_assets import synthetic`) and modules named to
    `import_module` / `__import__`."""
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parents = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*parents, base] if base else parents)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Call) and _calls_an_importer(node):
            found.add(node.args[0].value)
    return found


def _calls_an_importer(call: ast.Call) -> bool:
    name = getattr(call.func, "attr", None) or getattr(call.func, "id", None)
    first = call.args[0] if call.args else None
    return (
        name in ("import_module", "__import__")
        and isinstance(first, ast.Constant)
        and isinstance(first.value, str)
    )


def synthetic_imports(path: Path) -> list[str]:
    found = imported_modules(
        path.read_text(encoding="utf-8"), module_name(path), path.name == "__init__.py"
    )
    return sorted(
        name
        for name in found
        if name == "cx_assets.synthetic" or name.startswith("cx_assets.synthetic.")
    )


PIPELINE_MODULES = sorted(
    path for path in PACKAGE_DIR.rglob("*.py") if SYNTHETIC_DIR not in path.parents and path != DOOR
)


@pytest.mark.parametrize(
    "path", PIPELINE_MODULES, ids=[str(p.relative_to(PACKAGE_DIR)) for p in PIPELINE_MODULES]
)
def test_no_pipeline_module_imports_the_synthetic_package(path: Path) -> None:
    assert synthetic_imports(path) == [], f"{module_name(path)} imports the synthetic package"


def test_the_pipeline_modules_are_all_checked() -> None:
    names = {module_name(path) for path in PIPELINE_MODULES}
    assert {"cx_assets.definitions", "cx_assets.lakehouse.landing", "cx_assets.crm.assets"} <= names


def test_the_cli_is_the_door() -> None:
    assert synthetic_imports(DOOR)


@pytest.mark.parametrize(
    "source",
    [
        "import cx_assets.synthetic.crm",
        "from cx_assets.synthetic import sources",
        "from cx_assets import synthetic",
        "from ..synthetic import crm",
        "from .. import synthetic",
        "import importlib\nimportlib.import_module('cx_assets.synthetic.calls')",
    ],
)
def test_every_way_of_importing_is_caught(source: str) -> None:
    found = imported_modules(source, "cx_assets.lakehouse.landing")
    assert any(name.startswith("cx_assets.synthetic") for name in found), found


def test_other_imports_pass() -> None:
    source = "from cx_assets.lakehouse import landing\nfrom . import parsing\nimport synthetic"
    found = imported_modules(source, "cx_assets.lakehouse.landing")
    assert not any(name.startswith("cx_assets.synthetic") for name in found), found


# --------------------------------------------------------------------------- sources


def test_sources_are_the_subpackages_one_for_every_domain() -> None:
    from cx_assets.definitions import domain_names

    subpackages = {path.parent.name for path in SYNTHETIC_DIR.glob("*/__init__.py")}
    assert sources() == sorted(subpackages)
    assert sources() == domain_names()
    for source in sources():
        assert callable(generator(source))


# --------------------------------------------------------------------------- pool files


def pool_files(source: str) -> list[str]:
    folder = resources.files(f"cx_assets.synthetic.{source}") / "pools"
    if not folder.is_dir():
        return []
    return sorted(entry.name for entry in folder.iterdir() if entry.name.endswith(".json"))


def test_the_pool_files_are_found_with_importlib_resources() -> None:
    assert pool_files("crm") == [
        "campaigns.json",
        "email.json",
        "friction.json",
        "notes.json",
        "receipts.json",
        "words.json",
    ]
    assert pool_files("calls") == [
        "conversation.json",
        "decision.json",
        "prices.json",
        "sentiment.json",
    ]
    for source in sources():  # support's pools too, and a new source's
        for name in pool_files(source):
            pools = load_pools(f"cx_assets.synthetic.{source}", name)
            assert pools and all(pools.values()), f"{source}/pools/{name} has an empty pool"


def test_pool_lists_come_back_as_tuples() -> None:
    pools = load_pools("cx_assets.synthetic.crm", "email.json")
    assert pools["reply_prefixes"][0] == ("RE: ", 30)
    assert isinstance(pools["body_sentences"], tuple)


def test_every_pool_file_is_package_data() -> None:
    """A non-editable install ships only what `[tool.setuptools.package-data]` names."""
    patterns = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["tool"]["setuptools"][
        "package-data"
    ]
    for source in sources():
        package = f"cx_assets.synthetic.{source}"
        for name in pool_files(source):
            globs = [*patterns.get("*", []), *patterns.get(package, [])]
            assert any(fnmatch.fnmatch(f"pools/{name}", glob) for glob in globs), (
                f"{package}: pools/{name} is not package data"
            )


@pytest.mark.parametrize("source", sources())
def test_a_sources_estimate_of_its_files_is_what_it_writes(source: str, tmp_path: Path) -> None:
    """`cx-lakehouse generate` refuses a request that cannot fit on the disk by this estimate:
    too low and it lets a request fill the disk, too high and it refuses one that fits."""
    from datetime import date

    from cx_assets.synthetic import megabytes
    from cx_assets.synthetic.landing_writer import GenerationRequest

    scale, days = 0.1, 2
    generator(source)(
        GenerationRequest(tmp_path, date(2024, 1, 1), days, scale, show_progress=False)
    )
    written = sum(path.stat().st_size for path in tmp_path.rglob("*") if path.is_file()) / 2**20
    estimate = megabytes(source, days=days, scale=scale)
    assert 0.75 < written / estimate < 1.25, (written, estimate)


@pytest.mark.parametrize(
    ("source", "scale", "days"), [("digital", 0.001, 182), ("support", 0.003, 364)]
)
def test_a_growing_sources_estimate_holds_over_months(
    source: str, scale: float, days: int, tmp_path: Path
) -> None:
    """Digital's leakage grows week on week from `--start` (billing 14%, contract 4.3), and
    the estimate took every day for a first-week one: 26 weeks were 2.8 times it, a year 33
    times (214 MB written at scale 0.002 against 6.6 estimated; some 100 GB at scale 1), so
    the check let through requests that fill the disk it is there to protect. Support's
    tickets grow 2% a week: a year was 1.5 times its estimate."""
    from datetime import date

    from cx_assets.synthetic import megabytes
    from cx_assets.synthetic.landing_writer import GenerationRequest

    generator(source)(
        GenerationRequest(tmp_path, date(2024, 1, 1), days, scale, show_progress=False)
    )
    written = sum(path.stat().st_size for path in tmp_path.rglob("*") if path.is_file()) / 2**20
    estimate = megabytes(source, days=days, scale=scale)
    assert 0.75 < written / estimate < 1.25, (written, estimate)
    # The longest request the command allows stays a finite number.
    assert megabytes(source, days=69_000, scale=1.0) < float("inf")


def test_a_source_without_its_estimate_is_named_with_what_it_lacks(monkeypatch) -> None:
    """Found by adding a domain by the docs: a generator without `DAY_MEGABYTES` failed
    `cx-lakehouse generate` with an AttributeError deep in the disk-space estimate."""
    import sys
    import types

    from cx_assets.synthetic import megabytes

    def generate(request) -> dict[str, int]:
        return {}

    partial = types.ModuleType("cx_assets.synthetic.survey")
    partial.generate = generate
    monkeypatch.setitem(sys.modules, partial.__name__, partial)
    with pytest.raises(TypeError, match=r"synthetic.survey does not define DAY_MEGABYTES: "):
        megabytes("survey", days=1, scale=1.0)


def test_a_generator_returning_no_counts_is_named_with_what_it_returns(
    monkeypatch, tmp_path
) -> None:
    """Found by adding a domain by docs/architecture.md, whose step 2 said only
    `generate(request)`: a generator returning nothing failed `cx-lakehouse generate`, its
    files written, with "'NoneType' object has no attribute 'items'"."""
    import sys
    import types

    from cx_assets.cli import generate as generate_command
    from cx_assets.cli import main

    def generate(request) -> None:
        return None

    partial = types.ModuleType("cx_assets.synthetic.survey")
    partial.generate = generate
    partial.DAY_MEGABYTES = 0.1
    monkeypatch.setitem(sys.modules, partial.__name__, partial)
    monkeypatch.setattr(generate_command, "generator_sources", lambda: ["survey"])
    monkeypatch.setenv("CX_DATA_DIR", str(tmp_path))
    with pytest.raises(TypeError, match=r"synthetic.survey's generate\(request\) returned None: "):
        main(["generate", "--start", "2024-01-01", "--days", "1", "--sources", "survey"])
