"""`cx-lakehouse run --config FILE`: run config for the runs the command launches, in the
launchpad's shape (YAML or JSON), so an operator's bands and severities reach the runs
that matter: `ops: {<step>: {config: {<check>: {low: ..., high: ..., severity: ...}}}}`.

The file is checked before anything runs, against every step of the lakehouse (whichever
domains the run defines): a step or a setting that does not exist, a value of the wrong
type or out of a step's own bounds (or below a setting's least, or a share's bound outside
0-1), a severity other than WARN or ERROR, or a band whose `low` lies above its `high`
(the ones given, else the defaults) is refused in one line naming the file and the key.
The bounds of a check's settings are `check_settings.refusal`, which Dagster applies too
when it creates a run, with an error of its own; Dagster checks a step's own bounds (a
`Config` class's) only when the step starts, after the steps before it, and refuses a
misspelled step only in a run that defines its domain.

A run is given the settings of its own steps only: `--select group:calls` defines the
calls domain alone, and Dagster refuses config naming a step its job does not have."""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Hashable
from pathlib import Path
from typing import Any

from cx_assets.cli import process
from cx_assets.cli.options import UsageError
from cx_assets.lakehouse.settings import RELATIVE_TO_A_DELETED_WORKING_DIRECTORY


def one_file(given: list[str] | None) -> str | None:
    """The one `--config` file given, if any. Given twice, the last alone would be read and
    the first's settings dropped without a word, where Dagster's own `-c` merges several
    files: refused, naming both."""
    if given and len(given) > 1:
        raise UsageError(
            f"--config given {'twice' if len(given) == 2 else f'{len(given)} times'} "
            f"({', '.join(given)}): one file is read; put the settings "
            "in one file"
        )
    return given[0] if given else None


def read(path: str) -> dict:
    """The run config in the file at `path` (YAML, or JSON, which YAML reads too), with
    `ops` its only key; refused, naming the file, when it cannot be read as such."""
    import yaml

    if not path.strip():
        # `--config "$CX_CHECKS"` with the variable unset: the run would judge every check
        # at its defaults, as if no file had been given, where the operator meant one.
        raise UsageError("--config: names no file (an empty path: a variable left unset?)")
    if not os.path.isabs(path) and not process.has_a_working_directory():
        raise UsageError(
            f"--config {path} is {RELATIVE_TO_A_DELETED_WORKING_DIRECTORY}: give it as an "
            "absolute path, or run from a folder that exists"
        )
    loader = _loader()
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        # An editor's Latin-1 ('São Paulo' in a comment): the line, not the byte's position.
        line = error.object[: error.start].count(b"\n") + 1
        raise UsageError(
            f"--config {path}: not UTF-8 text (line {line}: byte "
            f"0x{error.object[error.start]:02x}): save it as UTF-8"
        ) from None
    except OSError as error:
        raise UsageError(f"--config {path}: cannot be read ({_reason(error)})") from None
    try:
        config = yaml.load(text, Loader=loader)  # a SafeLoader, as safe_load
    except _GivenTwice as error:
        raise UsageError(f"--config {path}: {error}") from None
    except yaml.YAMLError as error:
        # The line and what YAML found there ("found character '\t' that cannot start any
        # token": a tab indents), where the line alone left the operator guessing.
        where = getattr(error, "problem_mark", None)
        said = ", ".join(
            part
            for part in (getattr(error, "context", None), getattr(error, "problem", None))
            if part
        )
        line = f"line {where.line + 1}" if where is not None else ""
        detail = ": ".join(part for part in (line, said) if part)
        raise UsageError(
            f"--config {path}: not YAML or JSON" + (f" ({detail})" if detail else "")
        ) from None
    if config is None:
        return {}
    shape = (
        "run config as the launchpad's, holding `ops` only "
        "(`ops: {<step>: {config: {<check>: {...}}}}`)"
    )
    if not isinstance(config, dict):
        raise UsageError(f"--config {path}: {shape}, not a {type(config).__name__}")
    if others := [str(key) for key in config if key != "ops"]:
        # The launchpad's "Scaffold all default config" writes these after the steps.
        own = set(others) & {"resources", "execution", "loggers"}
        raise UsageError(
            f"--config {path}: {', '.join(others)}: not taken: {shape}"
            + (
                f"; {', '.join(sorted(own))} {'is' if len(own) == 1 else 'are'} the command's "
                "own (the data root's resources, its executor and logs): leave them out"
                if own
                else ""
            )
        )
    ops = config.get("ops") or {}
    if not isinstance(ops, dict):
        raise UsageError(f"--config {path}: ops: a mapping of steps to their config")
    return {"ops": ops}


class _GivenTwice(Exception):
    pass


def _loader():
    """YAML's safe loader, refusing a key given twice in one mapping: YAML (and Python's
    JSON) keep the last silently, so a step's settings written twice in a long file lost
    the first, and the check ran at its defaults where the operator had raised it."""
    import yaml

    class OnceEach(yaml.SafeLoader):
        def construct_mapping(self, node, deep=False):
            lines: dict = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue  # `<<: *shared`: its keys are merged below, a local one wins
                key = self.construct_object(key_node, deep=True)
                line = key_node.start_mark.line + 1
                if not isinstance(key, Hashable):
                    continue  # refused by YAML's own loader below
                if key in lines:
                    raise _GivenTwice(
                        f"{key} given twice in one mapping (line {lines[key]} and line {line}): "
                        "the last would win without a word"
                    )
                lines[key] = line
            return super().construct_mapping(node, deep=deep)

    # A number with an exponent and no point (JSON's `1e-05`, which Python's json.dumps
    # writes for 0.00001) is a number, as JSON and the launchpad's YAML (1.2) read it;
    # PyYAML's YAML 1.1 read it as text, refused as "'1e-05' is not a number".
    OnceEach.add_implicit_resolver(
        "tag:yaml.org,2002:float",
        re.compile(r"^[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)[eE][-+]?[0-9]+$"),
        list("-+0123456789."),
    )
    return OnceEach


def _reason(error: Exception) -> str:
    return getattr(error, "strerror", None) or str(error)


def check(path: str, config: dict, job) -> None:
    """Refuse, naming `path` and the key, what `config` sets that `job` (a job holding every
    step of the lakehouse) has no place for or would judge nonsense."""
    schemas = {
        node.name: node.definition.config_schema
        for node in job.graph.nodes
        if _has_settings(node.definition.config_schema)
    }
    steps = {node.name for node in job.graph.nodes}
    for step, given in config.get("ops", {}).items():
        where = f"--config {path}: ops: {step}"
        if step not in steps:
            near = difflib.get_close_matches(str(step), list(steps), n=1)
            hint = f" (did you mean {near[0]}?)" if near else ""
            raise UsageError(f"{where}: no step of the lakehouse is named so{hint}")
        if given is None:  # its `config:` commented out: not to be told to write one
            raise UsageError(f"{where}: {_EMPTY}")
        if not isinstance(given, dict) or set(given) - {"config"}:
            raise UsageError(f"{where}: a step's settings go under `config:`")
        if "config" in given and given["config"] is None:
            raise UsageError(f"{where}: config: {_EMPTY}")
        if "config" not in given:
            continue  # `<step>: {}`, Dagster's defaults: no `config:` to judge as null
        if step not in schemas:
            if not given.get("config"):
                continue
            # A check with a step of its own (support's) set under its table's step: named
            # here with the steps its settings go under, where Dagster says only that the
            # step has no such key (it once took them and judged the check at defaults).
            own = sorted(name for name in schemas if name.startswith(f"{step}_"))
            hint = f" (its checks' settings go under their own steps: {', '.join(own)})"
            raise UsageError(f"{where}: the step has no settings{hint if own else ''}")
        _check_value(given.get("config"), schemas[step].as_field(), f"{where}: config")
        _check_bounds(job.graph.node_named(step).definition, given.get("config"), where)


def _has_settings(schema) -> bool:
    """Whether a step declares config (one declaring none takes any, as Dagster's `Any`). A
    table whose checks take none (support_tickets' unique key) declares a mapping of no
    settings: a check's severity set under it was refused as 'no setting of it (its
    settings: )'."""
    from dagster._config import ConfigTypeKind

    if schema is None:
        return False
    config_type = schema.as_field().config_type
    if ConfigTypeKind.is_shape(config_type.kind):
        return bool(config_type.fields)
    return config_type.kind != ConfigTypeKind.ANY


# A key with nothing under it (its settings commented out) is YAML's null, which Dagster
# refuses when the run is created, after the file's check: it ended in a traceback.
_EMPTY = "nothing under it (YAML reads that as null): give its settings or leave the key out"


def _check_value(value: Any, field, where: str) -> None:
    from dagster._config import ConfigTypeKind, validate_config

    from cx_assets.lakehouse.check_settings import refusal

    config_type = field.config_type
    if ConfigTypeKind.is_shape(config_type.kind):
        if value is None:
            raise UsageError(f"{where}: {_EMPTY}")
        fields = config_type.fields
        if not isinstance(value, dict):
            raise UsageError(f"{where}: a mapping of {', '.join(sorted(fields))}")
        for name, given in value.items():
            if name not in fields:
                raise UsageError(
                    f"{where}: {name} is no setting of it (its settings: "
                    f"{', '.join(sorted(fields))})"
                )
            _check_value(given, fields[name], f"{where}: {name}")
        # The rule Dagster applies when it creates a run (`true` where a number is meant,
        # NaN, a floor or a window below its least, a band's bounds), to the settings given.
        if said := refusal(value, fields, given=set(value)):
            raise UsageError(f"{where}: {said}")
    elif config_type.kind == ConfigTypeKind.ENUM:
        allowed = [choice.config_value for choice in config_type.enum_values]
        if value not in allowed:
            raise UsageError(f"{where}: {value!r} is not {' or '.join(allowed)}")
    elif not validate_config(config_type, value).success:
        raise UsageError(f"{where}: {value!r} is not {_kind_of(config_type)}")


def _check_bounds(op, value: Any, where: str) -> None:
    """A step whose config is a Dagster `Config` class (support's review threshold, 0-1)
    has bounds Dagster's schema does not hold: pydantic checks them when the step starts,
    after every step before it ran. Checked here as that class checks them."""
    import inspect

    import pydantic
    from dagster import Config

    fn = getattr(op.compute_fn, "decorated_fn", None)
    parameter = inspect.signature(fn).parameters.get("config") if fn else None
    config_class = parameter.annotation if parameter else None
    if not (inspect.isclass(config_class) and issubclass(config_class, Config)):
        return
    try:
        config_class(**(value or {}))
    except pydantic.ValidationError as error:
        first = error.errors()[0]
        name = ": ".join(str(part) for part in first["loc"])
        said = first["msg"][:1].lower() + first["msg"][1:]
        raise UsageError(f"{where}: config: {name}: {first['input']!r}: {said}") from None


def _kind_of(config_type) -> str:
    name = config_type.given_name or config_type.key  # `Noneable.Float`: a `Config` class's
    words = {
        "Float": "a number",
        "Number": "a number",  # a check's bound (`check_settings.NUMBER`)
        "Int": "a whole number",
        "Bool": "true or false",
    }
    return next((said for key, said in words.items() if key in name), f"of type {name}")


def of_steps(config: dict, steps: set[str]) -> dict:
    """`config` with the settings of `steps` only (a run's own)."""
    ops = {step: given for step, given in config.get("ops", {}).items() if step in steps}
    return {"ops": ops} if ops else {}
