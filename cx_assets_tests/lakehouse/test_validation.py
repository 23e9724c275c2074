"""Pandera validation inside assets: coerced good rows, bad rows split off with a reason."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
import pytest
from pandera.typing import Series

from cx_assets.lakehouse.validation import SchemaViolation, column_schema, ordered, validate

SECRET = "secret-value"


class Model(pa.DataFrameModel):
    id: Series[int] = pa.Field(ge=1, description="Identifier of the thing.")
    name: Series[str] = pa.Field(str_matches=r"^[A-Z]", description="Capitalised name.")
    score: Series[float] = pa.Field(nullable=True, in_range={"min_value": 0, "max_value": 1})

    class Config:
        coerce = True


class UniqueModel(pa.DataFrameModel):
    id: Series[int] = pa.Field(unique=True)


def test_good_rows_are_coerced_and_kept():
    frame = pd.DataFrame({"id": ["4", "12"], "name": ["Ana", "Bo"], "score": ["0.5", None]})
    result = validate(Model, frame)
    assert result.frame["id"].tolist() == [4, 12]
    assert str(result.frame["id"].dtype) == "int64"
    assert str(result.frame["score"].dtype) == "float64"
    assert result.frame["score"].iloc[0] == 0.5
    assert pd.isna(result.frame["score"].iloc[1])
    assert result.rejects.empty
    assert "reason" in result.rejects.columns


def test_bad_rows_are_split_off_with_column_and_check_never_the_value():
    frame = pd.DataFrame(
        {
            "id": ["4", "-777", "5", "6"],
            "name": ["Ana", "Bo", SECRET, "Di"],
            "score": [0.5, None, 2.0, 0.25],
        }
    )
    result = validate(Model, frame)

    assert result.frame["id"].tolist() == [4, 6]
    assert result.frame["name"].tolist() == ["Ana", "Di"]
    assert result.rejects.index.tolist() == [1, 2]
    # Rejected rows are kept as given (uncoerced), plus their reason.
    assert result.rejects["id"].tolist() == ["-777", "5"]
    first, second = result.rejects["reason"].tolist()
    assert first == "column 'id' failed greater_than_or_equal_to(1)"
    # Every failing check of a row, sorted, joined.
    assert (
        second == "column 'name' failed str_matches('^[A-Z]'); column 'score' failed in_range(0, 1)"
    )
    for reason in (first, second):
        assert "-777" not in reason
        assert SECRET not in reason
        assert "2.0" not in reason


def test_rejects_keep_the_frames_own_index():
    frame = pd.DataFrame(
        {"id": [1, 0, 3], "name": ["Ana", "Bo", "Cy"], "score": [0.1, 0.2, 0.3]},
        index=[10, 20, 30],
    )
    result = validate(Model, frame)
    assert result.frame.index.tolist() == [10, 30]
    assert result.rejects.index.tolist() == [20]
    assert result.rejects["name"].tolist() == ["Bo"]


def test_each_reject_keeps_its_own_reason_whatever_the_frames_index_order():
    """Found by mutation testing: reasons given in the order of the index's values, not of the
    rows, passed every test here (their indexes rose): a frame indexed downwards gave each
    bad row the other's reason."""
    frame = pd.DataFrame(
        {"id": [0, 2, 3], "name": ["Ana", "bo", "Cy"], "score": [0.1, 0.2, 0.3]},
        index=[30, 20, 10],
    )
    result = validate(Model, frame)
    assert result.rejects.index.tolist() == [30, 20]
    assert result.rejects["reason"].tolist() == [
        "column 'id' failed greater_than_or_equal_to(1)",
        "column 'name' failed str_matches('^[A-Z]')",
    ]


def test_duplicates_of_a_unique_column_are_rejected():
    result = validate(UniqueModel, pd.DataFrame({"id": [1, 1, 2]}))
    assert result.frame["id"].tolist() == [2]
    assert result.rejects["id"].tolist() == [1, 1]
    assert set(result.rejects["reason"]) == {"column 'id' failed field_uniqueness"}


class OrderedPair(pa.DataFrameModel):
    low: Series[int] = pa.Field(ge=0)
    high: Series[int]

    @pa.dataframe_check(name="low_not_above_high")
    def low_not_above_high(cls, frame: pd.DataFrame) -> pd.Series:
        return frame["low"] <= frame["high"]


def test_a_record_wide_check_is_one_reason_not_one_per_column():
    result = validate(OrderedPair, pd.DataFrame({"low": [1, 5, -1, -2], "high": [2, 3, 4, -3]}))
    assert result.frame["low"].tolist() == [1]
    assert result.rejects["reason"].tolist() == [
        "record failed low_not_above_high",
        "column 'low' failed greater_than_or_equal_to(0)",
        "column 'low' failed greater_than_or_equal_to(0); record failed low_not_above_high",
    ]


def test_a_missing_column_raises_without_quoting_values():
    with pytest.raises(SchemaViolation) as error:
        validate(Model, pd.DataFrame({"id": [1], "score": [0.5], "secret": ["s3cr3t-value"]}))
    assert str(error.value) == "Model: column 'name' is missing"
    assert "s3cr3t-value" not in str(error.value)


def test_an_empty_frame_is_valid():
    frame = pd.DataFrame(
        {
            "id": pd.Series([], dtype="int64"),
            "name": pd.Series([], dtype="object"),
            "score": pd.Series([], dtype="float64"),
        }
    )
    result = validate(Model, frame)
    assert len(result.frame) == 0
    assert len(result.rejects) == 0


def test_column_schema_carries_names_types_descriptions_and_constraints():
    schema = column_schema(Model)
    columns = {column.name: column for column in schema.columns}
    assert list(columns) == ["id", "name", "score"]
    assert columns["id"].description == "Identifier of the thing."
    assert columns["name"].description == "Capitalised name."
    assert columns["score"].description is None
    assert columns["id"].type == "int64"
    assert columns["score"].type == "float64"
    assert columns["id"].constraints.nullable is False
    assert columns["score"].constraints.nullable is True
    assert columns["id"].constraints.other == ["greater_than_or_equal_to(1)"]
    assert UniqueModel.to_schema().columns["id"].unique
    assert column_schema(UniqueModel).columns[0].constraints.unique is True


def test_ordered_keeps_the_models_columns_in_its_order():
    frame = pd.DataFrame({"score": [0.5], "extra": ["x"], "name": ["Ana"], "id": [1]})
    assert list(ordered(Model, frame).columns) == ["id", "name", "score"]


def test_ordered_types_a_valueless_text_column_and_leaves_the_given_frame_as_it_was():
    frame = pd.DataFrame({"id": [1, 2], "name": [None, None], "score": [0.5, None]})
    given = frame.copy()
    result = ordered(Model, frame)
    assert str(result["name"].dtype) == "string[pyarrow]"  # a full schema without values
    pd.testing.assert_frame_equal(frame, given)  # the caller's frame keeps its object column
    result.loc[0, "id"] = 7
    assert frame.loc[0, "id"] == 1  # and does not share values the result is given


def test_pandera_resolves_dtypes_without_searching_for_geopandas(monkeypatch):
    """geopandas is not installed here: once marked absent, Pandera's per-dtype probe for it
    fails at once, and a schema is built the same, without one search of `sys.path`."""
    import importlib.machinery
    import sys

    from pandera.engines import pandas_engine

    if importlib.util.find_spec("geopandas") is not None:
        pytest.skip("geopandas is installed here")
    assert "geopandas" in sys.modules and sys.modules["geopandas"] is None
    searched, probed = [], []
    find_spec, probe = importlib.machinery.PathFinder.find_spec, pandas_engine.is_geopandas_dtype

    def recording_search(name, *args, **kwargs):
        searched.append(name)
        return find_spec(name, *args, **kwargs)

    def recording_probe(dtype):
        probed.append(dtype)
        return probe(dtype)

    monkeypatch.setattr(importlib.machinery.PathFinder, "find_spec", recording_search)
    monkeypatch.setattr(pandas_engine, "is_geopandas_dtype", recording_probe)

    class Fresh(pa.DataFrameModel):  # a model whose schema is not built yet
        id: Series[int]
        name: Series[str]
        when: Series[pd.Timestamp]

    columns = Fresh.to_schema().columns
    assert [str(column.dtype) for column in columns.values()] == ["int64", "str", "datetime64[ns]"]
    assert probed  # Pandera did ask, as it does of every dtype
    assert not [name for name in searched if name.startswith("geopandas")]
    with pytest.raises(ImportError):
        import geopandas  # noqa: F401


def test_only_a_module_that_is_not_installed_is_marked_absent(monkeypatch):
    import sys

    from cx_assets.lakehouse.validation import mark_absent_if_not_installed

    monkeypatch.delitem(sys.modules, "this", raising=False)
    assert mark_absent_if_not_installed("this") is False  # installed: left to its import
    assert "this" not in sys.modules
    monkeypatch.setitem(sys.modules, "no_such_module_here", "placeholder")
    monkeypatch.delitem(sys.modules, "no_such_module_here")
    assert mark_absent_if_not_installed("no_such_module_here") is True
    assert sys.modules["no_such_module_here"] is None
    with pytest.raises(ModuleNotFoundError):
        import no_such_module_here  # noqa: F401
