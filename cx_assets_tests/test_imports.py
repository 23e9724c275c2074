"""What the package imports. Loading the definitions stays cheap: every `cx-lakehouse run`,
of every domain, pays for what `cx_assets.definitions` imports. The model libraries (~2 s
together) are imported inside the functions that fit or solve, and a test keeps it so. And
pyproject's dependencies are what the package imports, both ways."""

import ast
import importlib.metadata
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

# Imported only by the model code that uses them, never with the definitions.
HEAVY_MODULES = (
    "sklearn",
    "statsforecast",
    "statsmodels",
    "utilsforecast",
    "scipy.optimize",
    "scipy.stats",
    "altair",
    "matplotlib",
    "streamlit",
    "faker",
    "joblib",  # the model store's files: only models load and dump them (0.2 s)
)

PROBE = """
import json, sys, warnings
warnings.filterwarnings("ignore")
import cx_assets.definitions
print(json.dumps(sorted(m for m in {modules} if m in sys.modules)))
"""


def test_definitions_import_no_model_or_plotting_library():
    probe = PROBE.format(modules=repr(HEAVY_MODULES))
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded == [], f"importing cx_assets.definitions loaded {loaded}"


ROOT = Path(__file__).resolve().parents[1]
# Declared for what they do without being imported by the package.
USED_WITHOUT_IMPORT = {
    "dagster-webserver": "the web UI that `cx-lakehouse ui` starts (`dagster dev`) serves",
    "alembic": "Dagster's storage migrations: the releases Dagster admits below 1.7.2 fail to "
    "import beside the SQLAlchemy 2 the event log needs",
}
# Imported by tests that show they are not installed (test_validation).
ABSENT_ON_PURPOSE = {"geopandas", "no_such_module_here"}


def _distribution(name: str) -> str:
    """A distribution's name as pip compares them (PEP 503): `Faker` is `faker`."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared_dependencies(*, dev: bool = False) -> set[str]:
    """The product's dependencies; with `dev`, those of its tests and benchmarks too."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = project["dependencies"] + (project["optional-dependencies"]["dev"] if dev else [])
    return {_distribution(re.match(r"[A-Za-z0-9._-]+", spec).group()) for spec in specs}


def _third_party_imports(folder: Path) -> set[str]:
    """The top-level modules the code under `folder` imports that are neither Python's nor
    the project's own (its packages, and the benchmark scripts, which import each other and
    are imported by their tests)."""
    modules = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                modules |= {alias.name.partition(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.partition(".")[0])
    own = {
        "cx_assets",
        "cx_assets_tests",
        *(path.stem for path in (ROOT / "benchmarks").glob("*.py")),
    }
    return modules - set(sys.stdlib_module_names) - own


def _imported_distributions(*folders: str) -> dict[str, str]:
    """Each distribution the code under `folders` imports from, with one module of it."""
    providers = importlib.metadata.packages_distributions()
    return {
        _distribution(distribution): module
        for folder in folders
        for module in sorted(_third_party_imports(ROOT / folder) - ABSENT_ON_PURPOSE)
        for distribution in providers.get(module, [module])
    }


def test_every_library_the_package_imports_is_declared():
    """Not only installed because a declared one needs it: its range is then another
    package's choice (NumPy through pandas, SQLAlchemy through Dagster)."""
    declared = _declared_dependencies()
    imported = _imported_distributions("cx_assets")
    undeclared = {d: m for d, m in imported.items() if d not in declared}
    assert undeclared == {}, f"imported but not in pyproject's dependencies: {undeclared}"


def test_every_library_the_tests_and_benchmarks_import_is_declared():
    declared = _declared_dependencies(dev=True)
    imported = _imported_distributions("cx_assets_tests", "benchmarks")
    undeclared = {d: m for d, m in imported.items() if d not in declared}
    assert undeclared == {}, f"imported but not in pyproject's dev dependencies: {undeclared}"


def test_every_declared_dependency_is_imported_or_says_what_it_is_for():
    """A dependency nothing uses still constrains the install: `dagster-duckdb` required one
    exact Dagster release and held every fresh install at it."""
    imported = set(_imported_distributions("cx_assets"))
    unused = _declared_dependencies() - imported - set(USED_WITHOUT_IMPORT)
    assert unused == set(), f"declared in pyproject but never imported: {sorted(unused)}"
