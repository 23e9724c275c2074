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
}


def _distribution(name: str) -> str:
    """A distribution's name as pip compares them (PEP 503): `Faker` is `faker`."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared_dependencies() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {
        _distribution(re.match(r"[A-Za-z0-9._-]+", spec).group())
        for spec in project["dependencies"]
    }


def _third_party_imports(package: Path) -> set[str]:
    """The top-level modules `package`'s code imports that are neither its own nor Python's."""
    modules = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                modules |= {alias.name.partition(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.partition(".")[0])
    return modules - set(sys.stdlib_module_names) - {package.name}


def _imported_distributions() -> dict[str, str]:
    """Each distribution the package imports from, with one module it imports of it."""
    providers = importlib.metadata.packages_distributions()
    return {
        _distribution(distribution): module
        for module in sorted(_third_party_imports(ROOT / "cx_assets"))
        for distribution in providers.get(module, [module])
    }


def test_every_library_the_package_imports_is_declared():
    """Not only installed because a declared one needs it: its range is then another
    package's choice (NumPy through pandas, SQLAlchemy through Dagster)."""
    declared = _declared_dependencies()
    undeclared = {d: m for d, m in _imported_distributions().items() if d not in declared}
    assert undeclared == {}, f"imported but not in pyproject's dependencies: {undeclared}"


def test_every_declared_dependency_is_imported_or_says_what_it_is_for():
    """A dependency nothing uses still constrains the install: `dagster-duckdb` required one
    exact Dagster release and held every fresh install at it."""
    unused = _declared_dependencies() - set(_imported_distributions()) - set(USED_WITHOUT_IMPORT)
    assert unused == set(), f"declared in pyproject but never imported: {sorted(unused)}"
