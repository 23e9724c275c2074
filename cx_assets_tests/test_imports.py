"""Loading the definitions stays cheap: every `cx-lakehouse run`, of every domain, pays for
what `cx_assets.definitions` imports. The model libraries (~2 s together) are imported
inside the functions that fit or solve, and this test keeps it so."""

import json
import subprocess
import sys

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
