"""What a check's settings (its run config: a band's bounds, a floor, a window) may hold, and
one rule refusing what they may not, whichever way they reach a run.

Dagster's config schema holds types alone: the launchpad's editor marks a misspelled key or
a wrong type as it is typed, but took a band upside down (the check failed every day), a
share's bound of 20 meant as 20%, a `min_rows` of -5 (judged as 0), `true` for a bound
(taken as 1) or NaN, and the check judged the day by it. So each check's settings are a
`CheckSettings`, whose post-processing (Dagster's hook for checking a value, run when it
creates a run from run config: the launchpad's Launch, `dagster asset materialize
--config`, a schedule's or a sensor's run request, `materialize(run_config=)`) refuses
them by `refusal`, before any step: the error names the key's path, the value and what is
allowed. The editor cannot show it as it is typed: it checks against the schema's types
only. `cx-lakehouse run --config` applies the same `refusal` to its file before anything
runs (cli/run_config.py)."""

import math
from collections.abc import Container, Mapping
from typing import Any

from dagster import Field
from dagster._config.config_type import ConfigScalar, ConfigScalarKind, ConfigTypeKind
from dagster._config.errors import PostProcessingError
from dagster._config.field_utils import _ConfigHasFields, compute_fields_hash, expand_fields_dict

# The least value of a whole-number setting, wherever a check takes it, and why.
LEAST_SETTINGS: dict[str, tuple[int, str]] = {
    "window_days": (1, "a window of no days judges nothing"),
    # Floors of counts, which are never negative: -5 judged as 0 would, unsaid.
    "min_rows": (0, "a floor of the median's records; 0 judges every day with its history"),
    "min_expected": (0, "a floor of the values expected; 0 judges every column held before"),
}

# What a share band's bounds say they are, in the launchpad's config editor too. A share
# lies within 0-1: bounds of 20 and 50 (meant as percentages) judged every day outside,
# and a high of 35 judged none above it.
SHARE_BOUND = "a share, 0-1"
# What the volume check's bounds say they are: multiples of the median of a day's weekday.
# A band without 1 judged every day at that median outside (60 and 200, meant as
# percentages).
MEDIAN_MULTIPLE = "a multiple of the weekday's median, low 0-1 and high 1 or more"

# YAML reads these as true or false, which Dagster and pydantic take as 1 or 0.
YAML_BOOLEANS = "YAML reads yes, no, on, off, true and false as true or false"


def refusal(
    settings: Mapping[str, Any], fields: Mapping[str, Field], given: Container[str]
) -> str | None:
    """Why a check's `settings` (each named in `fields`; those in `given` set, the others at
    their defaults) would be judged nonsense, naming the setting, the value and what is
    allowed; None when they are sound."""
    for name, value in settings.items():
        if name not in given or name not in fields:
            continue
        kind = _number_kind(fields[name])
        if kind and isinstance(value, bool):
            return f"{name}: {value!r} is not {kind} ({YAML_BOOLEANS})"
        if kind and isinstance(value, float) and math.isnan(value):
            return f"{name}: {value!r} is not {kind}"
        if name in LEAST_SETTINGS and isinstance(value, int) and value < LEAST_SETTINGS[name][0]:
            least, why = LEAST_SETTINGS[name]
            return f"{name}: {value}: should be at least {least} ({why})"
    return _band_refusal(settings, fields, given)


def _number_kind(field: Field) -> str | None:
    config_type = field.config_type
    if config_type.kind == ConfigTypeKind.NONEABLE:  # a `Config` class's optional number
        config_type = config_type.inner_type
    scalar = getattr(config_type, "scalar_kind", None)
    return {ConfigScalarKind.FLOAT: "a number", ConfigScalarKind.INT: "a whole number"}.get(scalar)


def _band_refusal(
    settings: Mapping[str, Any], fields: Mapping[str, Field], given: Container[str]
) -> str | None:
    """A band's `low` above its `high` (each as given, else its default): no day is inside;
    a share's bound outside 0-1 (`SHARE_BOUND`: 20 meant as 20%); a multiple of a median
    whose band leaves a day at the median outside (`MEDIAN_MULTIPLE`)."""
    if not {"low", "high"} <= set(fields) or not any(bound in given for bound in ("low", "high")):
        return None
    bounds = {}
    for bound in ("low", "high"):
        set_here = bound in given and bound in settings
        value = settings[bound] if set_here else fields[bound].default_value
        bounds[bound] = (value, set_here)
        if not set_here:
            continue
        meant = f" ({value:g}% is {value / 100:g})" if 1 < value <= 100 else ""
        if fields[bound].description == SHARE_BOUND and not 0 <= value <= 1:
            return f"{bound} {value:g}: {SHARE_BOUND}{meant}"
        if fields[bound].description != MEDIAN_MULTIPLE:
            continue
        if bound == "low" and value < 0:
            return f"low {value:g}: {MEDIAN_MULTIPLE}"
        if value > 1 if bound == "low" else value < 1:
            return (
                f"{bound} {value:g}: {MEDIAN_MULTIPLE}: a day at its median would be outside "
                f"the band{meant}"
            )
    (low, low_given), (high, high_given) = bounds["low"], bounds["high"]
    if low > high:
        said = {True: "", False: " (its default)"}
        return (
            f"low {low:g}{said[low_given]} is above high {high:g}{said[high_given]}: no day "
            "would be inside the band"
        )
    return None


class _Number(ConfigScalar):
    """A number, as Dagster's `Float`, whose post-processing leaves `true` and `false` as
    they are: `Float`'s turns them into 1.0 and 0.0 before a check's settings are judged."""

    def __init__(self):
        super().__init__(
            key="Number", given_name="Number", scalar_kind=ConfigScalarKind.FLOAT, description=""
        )

    def post_process(self, value):
        return value if isinstance(value, bool) else float(value)


NUMBER = _Number()


class CheckSettings(_ConfigHasFields):
    """A check's settings as a Dagster config type: a strict shape of `fields`, shown and
    validated as a `Shape` is, whose post-processing refuses what `refusal` refuses.
    (`Shape` itself cannot be given it: Dagster shares one instance among every shape of
    the same fields.)"""

    def __init__(self, fields: Mapping[str, Any]):
        fields = expand_fields_dict(fields)
        super().__init__(
            key=f"CheckSettings.{compute_fields_hash(fields, description=None)}",
            kind=ConfigTypeKind.STRICT_SHAPE,
            fields=fields,
        )
        self.field_aliases: dict[str, str] = {}

    def post_process(self, value: Mapping[str, Any]) -> Mapping[str, Any]:
        # Dagster hands over the settings with their defaults filled in: a setting differing
        # from its default is one given (a default is never refused).
        given = {
            name
            for name, setting in value.items()
            if not self.fields[name].default_provided
            or isinstance(setting, bool)
            or setting != self.fields[name].default_value
        }
        if said := refusal(value, self.fields, given):
            raise PostProcessingError(said)
        return value
