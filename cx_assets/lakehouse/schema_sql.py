"""A Pandera model's row checks as DuckDB SQL, so a silver step validates where its rows
already are instead of copying them into pandas.

The model stays the one definition of a table's schema: `model_sql` reads its columns
(dtype, nullable, unique, built-in checks by `name` and `statistics`) and renders

- `casts`: the model's columns, in its order, cast to the types Pandera would coerce to
  (as Arrow then stores them: int64/Int64 → BIGINT, str → VARCHAR, date → DATE, ...);
- `reason`: per row, the reasons Pandera would give, formatted as `validation.validate`
  does ("column 'x' failed <check>", distinct, sorted, joined with "; "), or NULL.

Pandera's quirks are kept where data can reach them: a NaN is a null; a null in a
non-nullable int64 column also fails `coerce_dtype('int64')`, in a bool column also
`coerce_dtype('bool')` and `dtype('bool')`; checks skip nulls.

Anything not known to translate exactly (a check by another name, a dataframe-wide check,
a dtype or a source column type whose coercion might differ) raises `Untranslatable`, and
the caller validates that model with Pandera itself: a check is never skipped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandera.pandas as pa

from cx_assets.lakehouse import sql
from cx_assets.lakehouse.schemas import readable_check


class Untranslatable(ValueError):
    """The model (or the rows' column types) has something this module cannot render."""


# Model dtype (as Pandera prints it) → the SQL type its values are stored as.
_TARGET_TYPE = {
    "int64": "BIGINT",
    "Int64": "BIGINT",
    "float64": "DOUBLE",
    "str": "VARCHAR",
    "bool": "BOOLEAN",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "datetime64[us, UTC]": "TIMESTAMP WITH TIME ZONE",
}
_INTEGERS = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER"}
# Source column types whose cast to the target gives what Pandera's coercion gives. Two
# more are taken by pattern (`_converted_exactly`): a DECIMAL to DOUBLE (DuckDB's cast is
# the conversion its pandas frames make, value for value) and a HUGEINT (a sum of
# integers) to BIGINT (pandas reads it as a float64, exact below 2**53, as counts are).
_EXACT_SOURCES = {
    "BIGINT": _INTEGERS,
    "DOUBLE": {"DOUBLE", "FLOAT", *_INTEGERS},
    "VARCHAR": {"VARCHAR"},
    "BOOLEAN": {"BOOLEAN"},
    "DATE": {"DATE"},
    "TIMESTAMP WITH TIME ZONE": {"TIMESTAMP WITH TIME ZONE"},
}
# Reasons Pandera adds to `not_nullable` for a null in a non-nullable column of this dtype
# (its coercion fails on the null too).
_NULL_COERCION_REASONS = {
    "int64": ("coerce_dtype('int64')",),
    "bool": ("coerce_dtype('bool')", "dtype('bool')"),
}


@dataclass(frozen=True)
class ModelSql:
    casts: str  # select list: the model's columns, cast, in order
    reason: str  # expression: the row's reasons, or NULL
    uses_windows: bool  # `reason` holds window functions (unique columns)


def model_sql(
    model: type[pa.DataFrameModel], source_types: Mapping[str, str], *, where: str = "TRUE"
) -> ModelSql:
    """SQL validating rows with `source_types` (column → DuckDB type, as DESCRIBE gives)
    against `model`. `where` limits the rows a uniqueness check compares (rows failing a
    domain rule are not the model's to count)."""
    schema = model.to_schema()
    if schema.checks or schema.unique or getattr(schema, "parsers", None):
        raise Untranslatable(f"{model.__name__} has dataframe-wide checks")
    casts, failures = [], []
    uses_windows = False
    for name, column in schema.columns.items():
        dtype = str(column.dtype)
        target = _TARGET_TYPE.get(dtype)
        if target is None:
            raise Untranslatable(f"{model.__name__}.{name}: dtype {dtype}")
        if getattr(column, "regex", False) or getattr(column, "parsers", None):
            raise Untranslatable(f"{model.__name__}.{name}: regex columns or parsers")
        source = source_types.get(name)
        if source is None:
            continue  # a missing column is the caller's error, raised with the others
        if source != "NULL" and not _converted_exactly(source, target):
            raise Untranslatable(f"{model.__name__}.{name}: {source} to {target}")
        quoted = sql.quote_identifier(name)
        value = _value_sql(quoted, source, target)
        casts.append(f"CAST({value} AS {target}) AS {quoted}")
        failures += _null_failures(name, dtype, column.nullable, value, source)
        for check in column.checks:
            predicate = check_sql(check, value)
            failures.append((_reason(name, _check_text(check)), f"NOT coalesce({predicate}, TRUE)"))
        if column.unique:
            uses_windows = True
            failures.append(
                (
                    _reason(name, "field_uniqueness"),
                    f"count({value}) OVER (PARTITION BY ({where}), {value}) > 1",
                )
            )
    return ModelSql(", ".join(casts), reason_sql(failures), uses_windows)


def _converted_exactly(source: str, target: str) -> bool:
    if source in _EXACT_SOURCES[target]:
        return True
    return (target, source) == ("BIGINT", "HUGEINT") or (
        target == "DOUBLE" and source.startswith("DECIMAL(")
    )


def _value_sql(quoted: str, source: str, target: str) -> str:
    # pandas reads a NaN as a null: checks skip it and a non-nullable column fails on it.
    if source in ("DOUBLE", "FLOAT"):
        return f"CASE WHEN NOT isnan({quoted}) THEN {quoted} END"
    # Checked as the values Pandera checks: the DOUBLE of a DECIMAL, the BIGINT of a HUGEINT.
    if source.startswith("DECIMAL(") or source == "HUGEINT":
        return f"CAST({quoted} AS {target})"
    return quoted


def _null_failures(
    name: str, dtype: str, nullable: bool, value: str, source: str
) -> list[tuple[str, str]]:
    if nullable:
        return []
    checks = ("not_nullable", *_NULL_COERCION_REASONS.get(dtype, ()))
    if source == "HUGEINT" and dtype == "int64":
        # pandas reads it as float64, which a null keeps (the coercion fails): Pandera's
        # dtype check fails too, on the null's row.
        checks += ("dtype('int64')",)
    return [(_reason(name, check), f"{value} IS NULL") for check in checks]


def _reason(column: str, check: str) -> str:
    return f"column '{column}' failed {check}"


def _check_text(check: Any) -> str:
    # How Pandera names a failed check in `failure_cases["check"]`, as reasons give it.
    return readable_check(check.error or check.name)


def reason_sql(failures: list[tuple[str, str]]) -> str:
    """Distinct reasons of the failing conditions, sorted as `validation.validate` sorts
    them, joined with "; " (concat_ws skips the NULLs of conditions that hold)."""
    by_reason: dict[str, list[str]] = {}
    for reason, failing in failures:
        by_reason.setdefault(reason, []).append(failing)
    if not by_reason:
        return "NULL::VARCHAR"
    parts = [
        f"CASE WHEN {' OR '.join(f'({f})' for f in by_reason[reason])} "
        f"THEN {sql.string_literal(reason)} END"
        for reason in sorted(by_reason)
    ]
    return f"nullif(concat_ws('; ', {', '.join(parts)}), '')"


def check_sql(check: Any, value: str) -> str:
    """A built-in Pandera check as a SQL predicate on a non-null `value` (true: passes)."""
    stats = dict(check.statistics or {})
    name = check.name
    comparisons = {
        "greater_than_or_equal_to": (">=", "min_value"),
        "greater_than": (">", "min_value"),
        "less_than_or_equal_to": ("<=", "max_value"),
        "less_than": ("<", "max_value"),
        "equal_to": ("=", "value"),
        "not_equal_to": ("<>", "value"),
    }
    if name in comparisons:
        operator, key = comparisons[name]
        return f"{value} {operator} {literal(stats[key])}"
    if name == "in_range":
        low = ">=" if stats.get("include_min", True) else ">"
        high = "<=" if stats.get("include_max", True) else "<"
        return (
            f"{value} {low} {literal(stats['min_value'])} "
            f"AND {value} {high} {literal(stats['max_value'])}"
        )
    if name in ("isin", "notin"):
        values = stats["allowed_values" if name == "isin" else "forbidden_values"]
        listed = ", ".join(literal(item) for item in values) or "NULL"
        return f"{value} {'IN' if name == 'isin' else 'NOT IN'} ({listed})"
    if name == "str_matches":  # re.match: anchored at the start only
        return f"regexp_matches({value}, {sql.string_literal('^(?:' + _pattern(stats) + ')')})"
    if name == "str_contains":  # re.search
        return f"regexp_matches({value}, {sql.string_literal(_pattern(stats))})"
    if name == "str_startswith":
        return f"starts_with({value}, {literal(stats['string'])})"
    if name == "str_endswith":
        return f"ends_with({value}, {literal(stats['string'])})"
    if name == "str_length":
        if stats.get("exact_value") is not None:
            return f"length({value}) = {literal(stats['exact_value'])}"
        bounds = [
            f"length({value}) {operator} {literal(stats[key])}"
            for key, operator in (("min_value", ">="), ("max_value", "<="))
            if stats.get(key) is not None
        ]
        return " AND ".join(bounds) or "TRUE"
    raise Untranslatable(f"check {name}")


def _pattern(stats: Mapping[str, Any]) -> str:
    pattern = stats["pattern"]
    if not isinstance(pattern, str):  # a compiled pattern may carry flags
        raise Untranslatable("compiled regex")
    return re2_pattern(pattern)


# Python's `re` reads a `str` pattern in Unicode; DuckDB's RE2 reads `\s` as ASCII only, so
# `^[^@+\s()]+$` let an id through in SQL that Pandera rejects (a no-break space or an em
# space inside it). And Python's `$` also matches before a line break ending the text.
# Python's `\d` is any script's decimal digit (Unicode's category Nd: `１`, `١`, `१`), as
# RE2's `\p{Nd}` is.
_ASCII_IN_RE2 = "wWbB"
_DIGIT = "\\p{Nd}"


def re2_pattern(pattern: str) -> str:
    r"""`pattern` (Python `re` syntax, no flags) rewritten so RE2 matches exactly the strings
    Python's `re` matches: `\s` and `\S` as Python's Unicode whitespace, `$` as Python's (the
    end, or before a line break ending the text), `\Z` as RE2's `\z`, `\d` and `\D` as
    any script's digit (`\p{Nd}`) and anything else. What differs and cannot be rewritten
    (`\w`, `\b`, `\S` or `\D` inside `[...]`) raises `Untranslatable`."""
    out: list[str] = []
    in_class = False
    position = 0
    while position < len(pattern):
        char = pattern[position]
        if char == "\\" and position + 1 < len(pattern):
            escaped = pattern[position + 1]
            if escaped in _ASCII_IN_RE2:
                raise Untranslatable(f"\\{escaped} in a pattern: RE2 reads it as ASCII only")
            if escaped == "s":
                body = sql.WHITESPACE_CLASS_BODY
                out.append(body if in_class else f"[{body}]")
            elif escaped == "S":
                if in_class:
                    raise Untranslatable("\\S inside a character class")
                out.append(f"[^{sql.WHITESPACE_CLASS_BODY}]")
            elif escaped == "d":
                out.append(_DIGIT)
            elif escaped == "D":
                if in_class:
                    raise Untranslatable("\\D inside a character class")
                out.append(_DIGIT.replace("p", "P"))
            elif escaped == "Z":
                out.append("\\z")
            else:
                out.append(pattern[position : position + 2])
            position += 2
            continue
        if in_class:
            if char == "]":
                in_class = False
            out.append(char)
            position += 1
            continue
        if char == "[":
            # A `]` first in a class (after an optional `^`) is a literal one.
            opening = "[^" if pattern.startswith("[^", position) else "["
            position += len(opening)
            out.append(opening)
            if pattern.startswith("]", position):
                out.append("\\]")
                position += 1
            in_class = True
            continue
        out.append("(?:\\n?\\z)" if char == "$" else char)
        position += 1
    return "".join(out)


def literal(value: Any) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return sql.number_literal(value)
    if isinstance(value, str):
        return sql.string_literal(value)
    raise Untranslatable(f"literal {value!r}")
