"""The readers that turn one landed file into its records (`readers.py`), record by record,
each with its reason when it cannot be one (Arrow's fast path over the same files:
`test_bronze_stream`; whole files that cannot be read: `test_unreadable_files`).

Every expectation is worked out by hand from the bytes written in the test.
"""

from __future__ import annotations

import csv
import json

import pytest

from cx_assets.lakehouse import readers
from cx_assets.lakehouse.readers import lacks_its_header, read_csv, read_json, read_jsonl
from cx_assets_tests.lakehouse.landed_files import BOM, write

# ---------------------------------------------------------------------------------------
# JSONL
# ---------------------------------------------------------------------------------------


def test_jsonl_leading_bom_is_dropped(tmp_path):
    path = write(tmp_path / "a.jsonl", BOM + b'{"a": 1}\n{"a": 2}\n')
    assert list(read_jsonl(path)) == [
        (1, '{"a": 1}', None, None),
        (2, '{"a": 2}', None, None),
    ]


def test_jsonl_blank_lines_skipped_but_line_numbers_are_the_files(tmp_path):
    # line 1: record, 2: empty, 3: spaces only, 4: record, 5: tab only, 6: record (no newline)
    path = write(tmp_path / "a.jsonl", b'{"a": 1}\n\n   \n{"a": 4}\n\t\n{"a": 6}')
    assert [(line, raw) for line, raw, _, _ in read_jsonl(path)] == [
        (1, '{"a": 1}'),
        (4, '{"a": 4}'),
        (6, '{"a": 6}'),
    ]


def test_jsonl_crlf_endings_are_not_part_of_the_raw_text(tmp_path):
    path = write(tmp_path / "a.jsonl", b'{"a": 1}\r\n\r\n{"a": 3}\r\n')
    assert list(read_jsonl(path)) == [
        (1, '{"a": 1}', None, None),
        (3, '{"a": 3}', None, None),
    ]


def test_jsonl_invalid_utf8_line_kept_with_read_error_others_fine(tmp_path):
    # `{"a":"` is 6 bytes, so the bad byte 0xff is at offset 6 of line 2.
    path = write(tmp_path / "a.jsonl", b'{"a":"x"}\n{"a":"\xff"}\n{"a":"\xc3\xa9"}\n')
    rows = list(read_jsonl(path))
    assert len(rows) == 3
    assert rows[0] == (1, '{"a":"x"}', None, None)
    line, raw, record, error = rows[1]
    assert (line, record) == (2, None)
    assert raw == '{"a":"\ufffd"}'  # replacement character, the rest kept
    assert error == "invalid UTF-8 at byte 6"
    assert rows[2] == (3, '{"a":"é"}', None, None)


def test_jsonl_bom_only_on_the_first_line_is_removed(tmp_path):
    # A BOM in the middle of a file is content, not an encoding mark: keep it verbatim.
    path = write(tmp_path / "a.jsonl", BOM + b'{"a": 1}\n' + BOM + b'{"a": 2}\n')
    rows = list(read_jsonl(path))
    assert rows[0][1] == '{"a": 1}'
    assert rows[1][1] == '\ufeff{"a": 2}'


# ---------------------------------------------------------------------------------------
# JSON
# ---------------------------------------------------------------------------------------


def test_json_array_elements_numbered_by_position(tmp_path):
    # The elements sit on lines 2, 3 and 6 of the file, but their positions are 1, 2, 3.
    text = '[\n{"a": 1},\n{"a": 2},\n\n\n{"a": 3}\n]\n'
    path = write(tmp_path / "a.json", BOM + text.encode())
    rows = list(read_json(path))
    assert [line for line, *_ in rows] == [1, 2, 3]
    assert [json.loads(raw) for _, raw, _, _ in rows] == [{"a": 1}, {"a": 2}, {"a": 3}]
    assert all(record is None and error is None for _, _, record, error in rows)


def test_json_single_object_is_one_record_on_line_1(tmp_path):
    path = write(tmp_path / "a.json", BOM + b'\n  {"a": 1,\n   "b": "x"}\n\n')
    assert list(read_json(path)) == [(1, '{"a": 1,\n   "b": "x"}', None, None)]


def test_json_empty_array_has_no_records(tmp_path):
    path = write(tmp_path / "a.json", b"[]\n")
    assert list(read_json(path)) == []


@pytest.mark.parametrize(
    ("text", "kept", "rest"),
    [
        ('[\n{"c": 1},\n{"c": 2},\n', ['{"c": 1}', '{"c": 2}'], ""),  # cut off after a comma
        ('[{"d": 1}, {"d": 2}', ['{"d": 1}', '{"d": 2}'], ""),  # never closed
        ('[{"a": 1}\n{"b": 2}]', ['{"a": 1}'], '{"b": 2}]'),  # a comma missing
        ("[1 2]", ["1"], "2]"),
        ("[1", ["1"], ""),
        # `{"a":]`: its `]` closes its own `{`, so the element never ends.
        ('[{"a": 1},\n{"a":]\n', ['{"a": 1}'], '{"a":]'),
        ('[{"a": 1}, {"b": "x}, {"c": 3}]', ['{"a": 1}'], '{"b": "x}, {"c": 3}]'),
        ("[{}]]", ["{}"], "]"),  # text after the array
        ('[{"a": 1}] x', ['{"a": 1}'], "x"),
        # Objects after the array's `]` are text after it, not read again from.
        ('[{"a": 1}]\n{"a": 2},\n{"a": 3}', ['{"a": 1}'], '{"a": 2},\n{"a": 3}'),
        # Cut off after an object of its own holding the elements' fields, as a field's
        # value or a list's first item: that object is not read again from.
        ('[{"a": 1},\n{"a": 2, "b": {"a": 3}', ['{"a": 1}'], '{"a": 2, "b": {"a": 3}'),
        ('[{"a": 1},\n{"a": 2, "b": [{"a": 3}', ['{"a": 1}'], '{"a": 2, "b": [{"a": 3}'),
        # An element that is no object (`2`): no fields the elements share, none read again.
        ('[{"a": 1}, 2, {"a": "cut\n{"a": 3}]', ['{"a": 1}', "2"], '{"a": "cut\n{"a": 3}]'),
    ],
)
def test_json_array_broken_after_an_element_keeps_the_elements_before(tmp_path, text, kept, rest):
    # A truncated or damaged export loses none of the elements it delivered whole. With no
    # element after the break to read again from (none there, or none holding the fields
    # every element before it holds: `a`), the rest of the file is one bad record, with
    # json.loads' own reason and place.
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads(text)
    error = expected.value
    rows = list(read_json(write(tmp_path / "a.json", text.encode())))
    assert rows[:-1] == [(position, raw, None, None) for position, raw in enumerate(kept, 1)]
    reason = f"invalid JSON: {error.msg} (line {error.lineno} column {error.colno})"
    assert rows[-1] == (len(kept) + 1, rest, None, reason)


def broken_at(msg: str, line: int, column: int, read_again: tuple[int, int]) -> str:
    """The reason of the text between an array's break and the element it is read again
    from: where it broke, and where that element starts (line, column)."""
    return (
        f"invalid JSON: {msg} (line {line} column {column}), "
        f"the array read again from line {read_again[0]} column {read_again[1]}"
    )


def test_json_array_missing_a_comma_costs_only_the_element_after_it(tmp_path):
    # Line 3's element ends without its `,`: the element after it (line 4) is the bad
    # record, and the reading goes on from line 5's, at the next position.
    text = '[\n{"id": "A"},\n{"id": "B"}\n{"id": "C"},\n{"id": "D"}\n]\n'
    assert list(read_json(write(tmp_path / "a.json", text.encode()))) == [
        (1, '{"id": "A"}', None, None),
        (2, '{"id": "B"}', None, None),
        (3, '{"id": "C"}', None, broken_at("Expecting ',' delimiter", 4, 1, (5, 1))),
        (4, '{"id": "D"}', None, None),
    ]


def test_json_array_stray_text_between_elements_is_one_bad_record(tmp_path):
    # `oops` (column 14) where a `,` belongs; `{"id": "B"}` starts at column 19.
    text = '[{"id": "A"} oops {"id": "B"}, {"id": "C"}]'
    assert list(read_json(write(tmp_path / "a.json", text.encode()))) == [
        (1, '{"id": "A"}', None, None),
        (2, "oops", None, broken_at("Expecting ',' delimiter", 1, 14, (1, 19))),
        (3, '{"id": "B"}', None, None),
        (4, '{"id": "C"}', None, None),
    ]


@pytest.mark.parametrize(
    ("text", "cut", "reason"),
    [
        # Cut off in a string at its line's end (column 25), the next element on line 4.
        (
            '[\n{"id": "A", "t": "x"},\n{"id": "B", "t": "cut of\n{"id": "C", "t": "y"},'
            '\n{"id": "D", "t": "z"}\n]\n',
            '{"id": "B", "t": "cut of',
            broken_at("Invalid control character at", 3, 25, (4, 1)),
        ),
        # All on one line: the cut string closes at C's first quote, so `id` (column 48)
        # is where decoding failed; C's `{` is at column 46.
        (
            '[{"id": "A", "t": "x"}, {"id": "B", "t": "cut{"id": "C", "t": "y"}, '
            '{"id": "D", "t": "z"}]',
            '{"id": "B", "t": "cut',
            broken_at("Expecting ',' delimiter", 1, 48, (1, 46)),
        ),
    ],
)
def test_json_array_element_cut_off_keeps_the_elements_after_it(tmp_path, text, cut, reason):
    assert list(read_json(write(tmp_path / "a.json", text.encode()))) == [
        (1, '{"id": "A", "t": "x"}', None, None),
        (2, cut, None, reason),
        (3, '{"id": "C", "t": "y"}', None, None),
        (4, '{"id": "D", "t": "z"}', None, None),
    ]


def test_json_array_pretty_printed_is_read_again_from_an_object_opening_its_line(tmp_path):
    # An indented export opens each object with `{` and a line end: B is cut off at line
    # 7's end (column 12), and C's `{` (line 9, column 2) is read again from.
    text = '[\n {\n  "id": "A"\n },\n {\n  "id": "B",\n  "t": "cut\n },\n {\n  "id": "C"\n }\n]\n'
    assert list(read_json(write(tmp_path / "a.json", text.encode()))) == [
        (1, '{\n  "id": "A"\n }', None, None),
        (
            2,
            '{\n  "id": "B",\n  "t": "cut\n }',
            None,
            broken_at("Invalid control character at", 7, 12, (9, 2)),
        ),
        (3, '{\n  "id": "C"\n }', None, None),
    ]


def test_json_array_objects_nested_in_a_cut_element_are_not_read_as_elements(tmp_path):
    # B is cut off (line 2, column 97) after objects of its own holding the elements' one
    # field: M1 a field's value, M2 a list's first item, M3 and M4 the items after it (the
    # list goes on into B's fields after its `]`). None is taken for an element of the
    # array: they are all B's bad record, and the reading goes on from C.
    broken = (
        '{"id": "B", "meta": {"id": "M1"}, "calls": [{"id": "M2"}, {"id": "M3"}, '
        '{"id": "M4"}], "t": "cut'
    )
    text = '[{"id": "A"},\n' + broken + '\n{"id": "C"}]'
    assert list(read_json(write(tmp_path / "a.json", text.encode()))) == [
        (1, '{"id": "A"}', None, None),
        (2, broken, None, broken_at("Invalid control character at", 2, 97, (3, 1))),
        (3, '{"id": "C"}', None, None),
    ]


@pytest.mark.parametrize(
    "broken",
    [
        '{"id": "B", {"id": "M1"}, "n": 1}',  # M1 followed by a field's `"n": 1`
        '{"id": "B", {"id": "M1"}}',  # and by B's `}`
    ],
)
def test_json_array_object_where_a_field_belongs_is_not_read_as_an_element(tmp_path, broken):
    # M1 (column 13 of line 2) is after a `,`, as an element would be, and holds the
    # elements' one field; what follows it (`:`, `}`) shows it inside B, one bad record.
    text = '[{"id": "A"},\n' + broken + ',\n{"id": "C"}]'
    assert list(read_json(write(tmp_path / "a.json", text.encode()))) == [
        (1, '{"id": "A"}', None, None),
        (
            2,
            broken,
            None,
            broken_at("Expecting property name enclosed in double quotes", 2, 13, (3, 1)),
        ),
        (3, '{"id": "C"}', None, None),
    ]


def test_json_array_element_whose_end_is_found_inside_it_is_one_record(tmp_path):
    # B's `"cut` is cut off (line 2, column 22), and its string taken to close at the
    # next quote, so strings and the rest are read the wrong way round after it: `x}`
    # closes B, and the `,` after it ends B. But no `{` follows that `,`: the end is not
    # trusted, and B is one bad record up to C (line 4).
    broken = '{"id": "B", "t": "cut\n, "n": "x}, y"}'
    text = '[{"id": "A", "t": "a"},\n' + broken + ',\n{"id": "C", "t": "c"}]'
    assert list(read_json(write(tmp_path / "a.json", text.encode()))) == [
        (1, '{"id": "A", "t": "a"}', None, None),
        (2, broken, None, broken_at("Invalid control character at", 2, 22, (4, 1))),
        (3, '{"id": "C", "t": "c"}', None, None),
    ]


def test_json_array_bad_element_holding_a_list_of_objects_like_elements_is_one_record(tmp_path):
    # B is whole but for `tru`; its list holds objects with the elements' field, M3 after
    # a `,` as an element would be: B is still one bad record, C the next.
    bad = '{"id": "B", "x": tru, "calls": [{"id": "M2"}, {"id": "M3"}]}'
    text = f'[{{"id": "A"}}, {bad}, {{"id": "C"}}]'
    assert list(read_json(write(tmp_path / "a.json", text.encode()))) == [
        (1, '{"id": "A"}', None, None),
        (2, bad, None, broken_at("Expecting value", 1, 32, (1, 77))),
        (3, '{"id": "C"}', None, None),
    ]


@pytest.mark.parametrize(("opened", "closed"), [("[", "]"), ("[[", "]]")])
def test_json_array_bad_element_whose_end_is_found_in_its_list_is_one_record(
    tmp_path, opened, closed
):
    # B's `55"` (an inch mark left unescaped) closes its string early (line 2, column 23),
    # and M1's `\"` is then read as a quote: strings are read the wrong way round up to
    # the `,` between M1 and M2, which a `{` follows, so B seemed to end there. M2 read on
    # as an element is followed by `]` and `}` (or `]` and `]`, its list in a list),
    # closing B's list and B: M2 is inside B, a call made up, not one of the array's. B is
    # one bad record up to C, read again.
    calls = '{"id": "M1", "t": "5\\" x"}, {"id": "M2", "t": "y"}'
    bad = f'{{"id": "B", "t": "55" TV", "calls": {opened}{calls}{closed}}}'
    first, last = '{"id": "A", "t": "a", "calls": []}', '{"id": "C", "t": "c", "calls": []}'
    text = f"[{first},\n{bad},\n{last}]"
    assert list(read_json(write(tmp_path / "a.json", text.encode()))) == [
        (1, first, None, None),
        (2, bad, None, broken_at("Expecting ',' delimiter", 2, 23, (3, 1))),
        (3, last, None, None),
    ]


def test_json_array_objects_not_shaped_as_its_elements_are_not_read_again_from(tmp_path):
    # B is cut off after `{}`, an object in its text (after a `,`, as an element would
    # be) lacking `id` and `t`, the fields every element before the break holds: not an
    # element. Strings holding `{`, `}`, `]` and `,` in the good elements change nothing.
    broken = '{"id": "B", "t": "{\\"id\\": 1} ] , {} cut'
    text = '[{"id": "A", "t": "a } ] {"},\n' + broken + '\n{"id": "C", "t": "] , {"}]'
    rows = list(read_json(write(tmp_path / "a.json", text.encode())))
    assert [(line, raw, error is None) for line, raw, _, error in rows] == [
        (1, '{"id": "A", "t": "a } ] {"}', True),
        (2, broken, False),
        (3, '{"id": "C", "t": "] , {"}', True),
    ]
    assert rows[1][3] == broken_at("Invalid control character at", 2, 41, (3, 1))


CALL_FIELDS = ("call_id", "agent_name", "timestamp", "transcript_text", "customer_id")


def call(call_id: str, **extra: object) -> str:
    """A call as an array element: the table's required fields, then `extra` ones."""
    return json.dumps({name: f"{name} {call_id}" for name in CALL_FIELDS} | extra)


def test_json_array_read_again_from_an_element_holding_the_tables_required_fields(tmp_path):
    # A and B both carry an optional `transfers`; C is cut off (line 3, column 135), and D
    # and E, good calls, carry none. Told the table's required fields, the reader reads the
    # array again from D: only C is a bad record. (With only the fields every element before
    # the break held, `transfers` among them, D and E were C's bad record too.)
    first, second = call("A", transfers=[]), call("B", transfers=[{"to": "x"}])
    cut = call("C")[:-20]
    after = [call("D"), call("E", duration_seconds=5)]
    text = f"[{first},\n{second},\n{cut}\n" + ",\n".join(after) + "]\n"
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads(text)
    line, column = expected.value.lineno, expected.value.colno
    assert list(read_json(write(tmp_path / "a.json", text.encode()), CALL_FIELDS)) == [
        (1, first, None, None),
        (2, second, None, None),
        (3, cut, None, broken_at(expected.value.msg, line, column, (4, 1))),
        (4, after[0], None, None),
        (5, after[1], None, None),
    ]
    # Without them, the reading goes on as before: from an object holding every field
    # each element before the break held.
    rows = list(read_json(write(tmp_path / "b.json", text.encode())))
    assert [raw for _, raw, _, _ in rows] == [first, second, text[text.index(cut) :].rstrip()]
    # A's `transfers` held by A alone is not such a field: D is read again from.
    alone = text.replace(second, call("B"))
    rows = list(read_json(write(tmp_path / "c.json", alone.encode())))
    assert [raw for _, raw, _, _ in rows] == [first, call("B"), cut, *after]


def test_json_array_spelling_a_required_field_otherwise_is_read_again_by_the_others(tmp_path):
    # Every call spells call_id `CallId` (a source that renamed it: each is a record
    # missing call_id, quarantined one by one); B is cut off. No object holds call_id, so
    # read again only by the table's required fields D and E were B's one bad record (the
    # rest of a 100,000-call file in one quarantined record). The object to read
    # again from holds those of the table's required fields the calls before it held.
    def renamed(call_id: str) -> str:
        return call(call_id).replace('"call_id"', '"CallId"')

    cut = renamed("B")[:-20]
    text = f"[{renamed('A')},\n{cut},\n{renamed('D')},\n{renamed('E')}]"
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads(text)
    line, column = expected.value.lineno, expected.value.colno
    assert list(read_json(write(tmp_path / "a.json", text.encode()), CALL_FIELDS)) == [
        (1, renamed("A"), None, None),
        (2, cut, None, broken_at(expected.value.msg, line, column, (3, 1))),
        (3, renamed("D"), None, None),
        (4, renamed("E"), None, None),
    ]


@pytest.mark.parametrize(
    "fields_after",
    [
        '"meta": ' + call("M1"),  # a field's value, B cut off after it
        f'"calls": [{call("M0")}, {call("M1")}, {call("M2")}], "t": "cut',  # items of a list
    ],
    ids=["a field's value", "a list's items"],
)
def test_json_array_object_holding_the_required_fields_nested_in_a_cut_element_is_not_one(
    tmp_path, fields_after
):
    # B is cut off after objects of its own holding every required field (M1 after a `:`;
    # or after a `,`, as an element would be, in a list going on into B's fields): read
    # again by the table's required fields, none is an element. B is one bad record, C read.
    broken = call("B")[:-1] + ", " + fields_after
    text = f"[{call('A', note='n')},\n{broken}\n{call('C')}]"
    rows = list(read_json(write(tmp_path / "a.json", text.encode()), CALL_FIELDS))
    assert [(line, raw, error is None) for line, raw, _, error in rows] == [
        (1, call("A", note="n"), True),
        (2, broken, False),
        (3, call("C"), True),
    ]


@pytest.mark.parametrize(
    "list_then",
    ['] "note": "n"}', ']x, "note": "n"}', ' {"to": "y"}]}', '{"to": "y"}]}'],
    ids=[
        "no `,` after the list",
        "text after the list",
        "no `,` after the object",
        "no `,` nor space after the object",
    ],
)
def test_json_array_object_holding_the_required_fields_before_the_break_is_not_one(
    tmp_path, list_then
):
    # B's list of transfers holds M, holding every required field (but not A's optional
    # `transfers`), and B breaks after M, where its list closes: json read M as part of B
    # before the error, so M is nested in B, not an element. B is one bad record, C read.
    broken = call("B")[:-1] + ', "transfers": [{"to": "x"}, ' + call("M") + list_then
    text = f"[{call('A', transfers=[])},\n{broken},\n{call('C')}]"
    rows = list(read_json(write(tmp_path / "a.json", text.encode()), CALL_FIELDS))
    assert [(line, raw, error is None) for line, raw, _, error in rows] == [
        (1, call("A", transfers=[]), True),
        (2, broken, False),
        (3, call("C"), True),
    ]


def test_json_array_cut_off_at_its_end_is_read_again_from_before_where_it_broke(tmp_path):
    # B is cut off at the file's end (line 4, column 1) after its list's `]`. At the end, a
    # cut-off element and the elements after it are told apart by nothing: M2, after a `,`
    # as an element would be, is read again from (line 3, before the break), though json
    # read it as B's own.
    text = '[{"id": "A"},\n{"id": "B", "calls": [{"id": "M1"},\n{"id": "M2"}]\n'
    cut = '{"id": "B", "calls": [{"id": "M1"}'
    assert list(read_json(write(tmp_path / "a.json", text.encode()))) == [
        (1, '{"id": "A"}', None, None),
        (2, cut, None, broken_at("Expecting ',' delimiter", 4, 1, (3, 1))),
        (3, '{"id": "M2"}', None, None),
    ]


def test_json_array_broken_twice_reads_on_after_each_break(tmp_path):
    # `x` (column 27) after B, and D's missing `,` (column 41, before E at column 54).
    text = '[{"id": "A"}, {"id": "B"} x, {"id": "C"}, {"id": "D"} {"id": "E"}, {"id": "F"}]'
    assert list(read_json(write(tmp_path / "a.json", text.encode()))) == [
        (1, '{"id": "A"}', None, None),
        (2, '{"id": "B"}', None, None),
        (3, "x", None, broken_at("Expecting ',' delimiter", 1, 27, (1, 30))),
        (4, '{"id": "C"}', None, None),
        (5, '{"id": "D"}', None, None),
        (6, '{"id": "E"}', None, broken_at("Expecting ',' delimiter", 1, 55, (1, 68))),
        (7, '{"id": "F"}', None, None),
    ]


@pytest.mark.parametrize(
    ("bad", "column"),
    [
        ('{"id": oops, "n": [1, "],"]}', 8),  # `],` in a string ends nothing
        ('{"id": "5\\" TV", "n": }', 23),  # nor does an escaped quote close its string
    ],
)
def test_json_bad_array_element_is_one_bad_record_and_the_others_are_kept(tmp_path, bad, column):
    text = '[\n{"id": "D"},\n' + bad + ',\n{"id": "E"}\n]\n'
    rows = list(read_json(write(tmp_path / "a.json", text.encode())))
    assert [(line, raw) for line, raw, _, _ in rows] == [
        (1, '{"id": "D"}'),
        (2, bad),
        (3, '{"id": "E"}'),
    ]
    assert [error for *_, error in rows] == [
        None,
        f"invalid JSON: Expecting value (line 3 column {column})",
        None,
    ]


def test_json_invalid_utf8_costs_only_its_element(tmp_path):
    # The third element is not JSON either: its bytes are said first, as a JSONL line's.
    path = write(
        tmp_path / "a.json", b'[{"a": "x"},\n {"a": "\xff"},\n {"a": "\xff" x}, {"a": "z"}]'
    )
    assert list(read_json(path)) == [
        (1, '{"a": "x"}', None, None),
        (2, '{"a": "\ufffd"}', None, "invalid UTF-8"),
        (3, '{"a": "\ufffd" x}', None, "invalid UTF-8"),
        (4, '{"a": "z"}', None, None),
    ]


def test_json_invalid_utf8_single_object_names_the_byte(tmp_path):
    path = write(tmp_path / "a.json", b'{"a": "\xff"}')
    assert list(read_json(path)) == [(1, '{"a": "\ufffd"}', None, "invalid UTF-8 at byte 7")]


@pytest.mark.parametrize(
    ("second", "column"),
    [('{"a": 2}', 21), ('{"a": tru}', 23)],  # the element before it good, or bad itself
)
def test_json_trailing_comma_in_array_is_a_bad_empty_element(tmp_path, second, column):
    path = write(tmp_path / "a.json", f'[{{"a": 1}}, {second},]'.encode())
    rows = list(read_json(path))
    assert [(line, raw) for line, raw, _, _ in rows] == [(1, '{"a": 1}'), (2, second), (3, "")]
    assert rows[2][3] == f"invalid JSON: Expecting value (line 1 column {column})"


def test_json_blank_file_has_no_records(tmp_path):
    # As an empty .jsonl or .csv: nothing was delivered, which is no bad record.
    assert list(read_json(write(tmp_path / "a.json", b" \n\t\n"))) == []


# ---------------------------------------------------------------------------------------
# CSV
# ---------------------------------------------------------------------------------------


def test_csv_leading_bom_is_not_part_of_the_first_header(tmp_path):
    path = write(tmp_path / "a.csv", BOM + b"id,name\n1,Ana\n")
    rows = list(read_csv(path))
    assert rows == [(2, "1,Ana", json.dumps({"id": "1", "name": "Ana"}), None)]


def test_csv_records_are_json_objects_of_every_value_as_written(tmp_path):
    """Quotes, backslashes, control characters, accents and emoji in names and values come
    out as `json.dumps` writes them, and read back as the very strings."""
    header = ["id", 'na"me', "back\\slash", "ação"]
    values = ["1", 'say "hi"', "c:\\temp\\x", "tab\there, née 😀 \u2028 \x01"]
    path = tmp_path / "a.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([header, values])
    ((_, _, record, error),) = list(read_csv(path))
    assert error is None
    assert record == json.dumps(dict(zip(header, values, strict=True)), ensure_ascii=False)
    assert json.loads(record) == dict(zip(header, values, strict=True))


def test_csv_header_names_are_trimmed(tmp_path):
    path = write(tmp_path / "a.csv", b" id , name\n1,Ana\n")
    (_, _, record, _) = next(read_csv(path))
    assert json.loads(record) == {"id": "1", "name": "Ana"}


def test_csv_crlf_endings_and_blank_lines(tmp_path):
    # line 1 header, 2 row, 3 blank, 4 spaces and a tab only, 5 row
    path = write(tmp_path / "a.csv", b"id,name\r\n1,Ana\r\n\r\n \t \r\n2,Bo\r\n")
    rows = list(read_csv(path))
    assert [(line, raw) for line, raw, _, _ in rows] == [(2, "1,Ana"), (5, "2,Bo")]
    assert [json.loads(record) for _, _, record, _ in rows] == [
        {"id": "1", "name": "Ana"},
        {"id": "2", "name": "Bo"},
    ]


def test_csv_quoted_field_spanning_two_lines(tmp_path):
    # line 1 header; the first row spans lines 2-3; the next row is on line 4.
    path = write(tmp_path / "a.csv", b'id,note\n1,"hello\nworld"\n2,plain\n')
    rows = list(read_csv(path))
    assert rows == [
        (2, '1,"hello\nworld"', json.dumps({"id": "1", "note": "hello\nworld"}), None),
        (4, "2,plain", json.dumps({"id": "2", "note": "plain"}), None),
    ]


def test_csv_row_with_wrong_field_count_is_kept_with_an_error(tmp_path):
    path = write(tmp_path / "a.csv", b"id,name\n1,Ana,extra\n2\n3,Cy\n")
    rows = list(read_csv(path))
    assert rows == [
        (2, "1,Ana,extra", None, "expected 2 fields, got 3"),
        (3, "2", None, "expected 2 fields, got 1"),
        (4, "3,Cy", json.dumps({"id": "3", "name": "Cy"}), None),
    ]


def test_csv_invalid_utf8_row_is_kept_with_an_error(tmp_path):
    path = write(tmp_path / "a.csv", b"id,name\n1,\xff\n2,Bo\n")
    rows = list(read_csv(path))
    assert rows == [
        (2, "1,\ufffd", None, "invalid UTF-8"),
        (3, "2,Bo", json.dumps({"id": "2", "name": "Bo"}), None),
    ]


def test_csv_quote_never_closed_costs_only_its_line(tmp_path):
    # Read leniently, the open quote of line 2 would swallow lines 3-4 into one good row.
    path = write(tmp_path / "a.csv", b'id,note\r\n1,"oops\r\n2,x\r\n3,y\r\n')
    assert list(read_csv(path)) == [
        (2, '1,"oops', None, "unreadable CSV: a quote opened on this line is never closed"),
        (3, "2,x", json.dumps({"id": "2", "note": "x"}), None),
        (4, "3,y", json.dumps({"id": "3", "note": "y"}), None),
    ]
    # Here the open quote closes at line 4's first quote, and `y"` follows it.
    later = write(tmp_path / "c.csv", b'id,note\n1,"oops\n2,x\n3,"y"\n4,"a\nb"\n')
    assert list(read_csv(later)) == [
        (2, '1,"oops', None, "unreadable CSV: a quote opened on this line is never closed"),
        (3, "2,x", json.dumps({"id": "2", "note": "x"}), None),
        (4, '3,"y"', json.dumps({"id": "3", "note": "y"}), None),
        (5, '4,"a\nb"', json.dumps({"id": "4", "note": "a\nb"}), None),
    ]
    last = write(tmp_path / "b.csv", b'id,note\n1,x\n2,"oops')
    assert list(read_csv(last))[-1] == (
        3, '2,"oops', None, "unreadable CSV: a quote opened on this line is never closed"
    )  # fmt: skip


def test_csv_quote_closed_lines_later_into_a_wrong_row_costs_only_its_line(tmp_path):
    # Line 2's stray quote closes at line 4's stray one: read as one row of lines 2-4, with
    # 2 fields where the header has 3, it took the good row of line 3 into quarantine with
    # it, uncounted (seen fuzzing the landing readers).
    path = write(tmp_path / "a.csv", b'id,note,n\n1,"oops,1\n2,x,2\n3,y,3"\n4,z,4\n')
    assert list(read_csv(path)) == [
        (2, '1,"oops,1', None, "unreadable CSV: a quote opened on this line closes on line 4, "
         "in a row of 2 fields, not 3"),
        (3, "2,x,2", json.dumps({"id": "2", "note": "x", "n": "2"}), None),
        (4, '3,y,3"', json.dumps({"id": "3", "note": "y", "n": '3"'}), None),
        (5, "4,z,4", json.dumps({"id": "4", "note": "z", "n": "4"}), None),
    ]  # fmt: skip
    # A quoted value over two lines in a row of the header's width is one row, as before.
    spanning = write(tmp_path / "b.csv", b'id,note,n\n1,"a\nb",1\n2,x,2\n')
    assert [line for line, *_ in read_csv(spanning)] == [2, 4]
    # A stray quote closing on the next line costs only its line too.
    next_line = write(tmp_path / "c.csv", b'id,note,n\n1,"oops,1\n2,x,2"\n3,y,3\n')
    assert [(line, error) for line, _, _, error in read_csv(next_line)] == [
        (2, "unreadable CSV: a quote opened on this line closes on line 3, "
         "in a row of 2 fields, not 3"),
        (3, None),
        (4, None),
    ]  # fmt: skip


def test_csv_quotes_whose_lines_are_each_a_whole_row_quarantine_every_line(tmp_path):
    # Line 2's quote closes at line 4's, in the same column, and each of lines 2-4 is a row
    # of the header's width on its own: two stray quotes (read as one value, the record of
    # line 3 vanished into it, neither kept nor quarantined; seen fuzzing the landing
    # readers) or one value over lines, which no reading of the text tells apart.
    path = write(tmp_path / "a.csv", b'id,name,n\n1,"Ann,1\n2,Bo,2\n3,Cy",3\n4,Di,4\n')
    inside = (
        "unreadable CSV: inside a quote opened on line 2 that closes on line 4 (two stray "
        "quotes, or one value over lines: each of these lines holds the header's 3 fields)"
    )
    assert list(read_csv(path)) == [
        (2, '1,"Ann,1', None, "unreadable CSV: a quote opened on this line closes on line 4, "
         "and each of these lines holds the header's 3 fields on its own: two stray quotes, "
         "or one value over lines? Every line of it is quarantined"),
        (3, "2,Bo,2", None, inside),
        (4, '3,Cy",3', None, inside),
        (5, "4,Di,4", json.dumps({"id": "4", "name": "Di", "n": "4"}), None),
    ]  # fmt: skip
    # A good value over lines can be of that shape: quarantined too, never read as rows of
    # its lines (line 3 was a made-up record, `retry later` its id; seen reviewing the rule).
    valid = write(
        tmp_path / "v.csv", b'id,name,note\n1,Ana,"Payment failed\nretry later, card, bank"\n'
    )
    assert [(line, record) for line, _, record, _ in read_csv(valid)] == [(2, None), (3, None)]
    # A quoted value over lines, commas in it, whose last line is no row: one row, as before.
    spanning = write(tmp_path / "b.csv", b'id,name,n\n1,"a, b\nc",1\n2,x,2\n')
    assert [(line, error) for line, _, _, error in read_csv(spanning)] == [(2, None), (4, None)]
    # Nor is one a line of which holds more fields than the header.
    wider = write(tmp_path / "d.csv", b'id,name,n\n1,"Ann,1\n2,Bo,x,2\n3,Cy",3\n4,Di,4\n')
    assert [(line, error) for line, _, _, error in read_csv(wider)] == [(2, None), (5, None)]
    # One column: every line is a row of its width, which tells nothing.
    alone = write(tmp_path / "c.csv", b'note\n"a\nb"\n')
    assert list(read_csv(alone)) == [(2, '"a\nb"', json.dumps({"note": "a\nb"}), None)]


def test_csv_text_after_a_closing_quote_is_a_bad_row(tmp_path):
    path = write(tmp_path / "a.csv", b'id,note\n1,"ab"c\n2,x\n')
    assert list(read_csv(path)) == [
        (2, '1,"ab"c', None, "unreadable CSV: ',' expected after '\"'"),
        (3, "2,x", json.dumps({"id": "2", "note": "x"}), None),
    ]


def test_csv_field_longer_than_the_csv_module_default_is_read(tmp_path):
    note = "x" * 200_000  # Python's csv refuses fields over 131,072 characters by default
    path = write(tmp_path / "a.csv", f"id,note\n1,{note}\n".encode())
    assert list(read_csv(path)) == [(2, f"1,{note}", json.dumps({"id": "1", "note": note}), None)]


def test_csv_header_only_or_empty_file_has_no_records(tmp_path):
    assert list(read_csv(write(tmp_path / "a.csv", b"id,name\n"))) == []
    assert list(read_csv(write(tmp_path / "b.csv", b""))) == []


# ---------------------------------------------------------------------------------------
# Fidelity: a .json element's own text; ambiguous CSV headers
# ---------------------------------------------------------------------------------------


def test_json_array_element_raw_is_its_text_as_delivered(tmp_path):
    # Spacing, key order, escapes and number spelling are the sender's, not json.dumps'.
    first = '{ "b":1.50,\n  "a" : "caf\\u00e9" }'
    second = '{"x": [1, {"y": null}], "n": 1E2}'
    third = '"a string, ] with brackets"'
    text = f" \n[ {first} ,\r\n\t{second},{third}\n] \n"
    path = write(tmp_path / "a.json", BOM + text.encode())
    assert list(read_json(path)) == [
        (1, first, None, None),
        (2, second, None, None),
        (3, third, None, None),
    ]


def test_json_integer_longer_than_python_converts_is_kept_as_delivered(tmp_path):
    # Python refuses to convert integers over 4,300 digits; the reader never converts.
    huge = '{"Id": ' + "9" * 5000 + "}"
    path = write(tmp_path / "a.json", f'[{huge}, {{"Id": 2}}]'.encode())
    assert list(read_json(path)) == [(1, huge, None, None), (2, '{"Id": 2}', None, None)]


@pytest.mark.parametrize(
    "text",
    [
        "[",
        "[] x",
        '{"a": 1} {"b": 2}',
        '{"a": tru}',
        '[{"a": "x}, {"b": 2}]',  # a string never closed: no element after it can be found
    ],
)
def test_json_file_that_cannot_be_read_reports_json_loads_own_error(tmp_path, text):
    # No element can be told apart (not an array, or broken at its first element): one
    # record on line 1 for the file, with the reason json.loads gives and where.
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads(text)
    error = expected.value
    [(line, raw, record, reason)] = read_json(write(tmp_path / "a.json", text.encode()))
    assert (line, raw, record) == (1, text, None)
    assert reason == f"invalid JSON: {error.msg} (line {error.lineno} column {error.colno})"


@pytest.mark.parametrize(
    ("text", "bad_position", "raw"),
    [
        ("[1,]", 2, ""),
        ("[1,,2]", 2, ""),
        ('[{"a": 1}, {"b": }]', 2, '{"b": }'),
        ('[{"a": 1}, {"b": } \n]', 2, '{"b": }'),  # the space and line end are not its text
    ],
)
def test_json_array_with_a_bad_element_keeps_the_others(tmp_path, text, bad_position, raw):
    rows = list(read_json(write(tmp_path / "a.json", text.encode())))
    bad = [row for row in rows if row[3] is not None]
    assert [(line, kept) for line, kept, _, _ in bad] == [(bad_position, raw)]
    assert bad[0][3].startswith("invalid JSON: Expecting value (line 1 column ")
    assert len(rows) == text.count(",") + 1  # every element, good or bad, is a record


def test_csv_columns_without_a_name_are_named_by_their_position(tmp_path):
    # A spreadsheet's export ends every row with empty columns: not a name given twice, but
    # extra fields, kept in bronze under their position, and the rows read.
    path = write(tmp_path / "a.csv", b'id, ,name,,\r\n1,,Ana,,\r\n2,,"Bo",x,\r\n')
    rows = list(read_csv(path))
    assert [(line, error) for line, _, _, error in rows] == [(2, None), (3, None)]
    assert [json.loads(record) for _, _, record, _ in rows] == [
        {"id": "1", "_column_2": "", "name": "Ana", "_column_4": "", "_column_5": ""},
        {"id": "2", "_column_2": "", "name": "Bo", "_column_4": "x", "_column_5": ""},
    ]


def test_csv_blank_lines_before_the_header_are_skipped(tmp_path):
    path = write(tmp_path / "a.csv", BOM + b"\r\n   \r\nid,name\r\n1,Ana\r\n\r\n2,Bo\r\n")
    rows = list(read_csv(path))
    assert [(line, raw, error) for line, raw, _, error in rows] == [
        (4, "1,Ana", None),
        (6, "2,Bo", None),
    ]
    assert json.loads(rows[0][2]) == {"id": "1", "name": "Ana"}


def test_csv_duplicate_header_names_reject_the_whole_file(tmp_path):
    # Which `id` would a row's value be? The header is ambiguous: one record for the file.
    content = "id,name, id,note,note\n1,Ana,2,x,y\n3,Bo,4,z,w\n"
    path = write(tmp_path / "a.csv", content.encode())
    assert list(read_csv(path)) == [
        (
            1,
            content,
            None,
            'file not read: CSV header names a column more than once: "id", "note"',
        )
    ]


MEMBER_FIELDS = ("member_id", "plan_type", "tenure_months")
NOT_A_HEADER = "line {} is not a header naming the table's fields (a file without its header row?)"


def test_csv_without_its_header_row_keeps_its_first_line_as_a_bad_record(tmp_path):
    """Its first line is a record: read as the header, it reached no table at all."""
    path = write(tmp_path / "a.csv", b"M1,MAPD,3\nM2,Commercial,14\nM3,\xff,1\n")
    rows = list(read_csv(path, MEMBER_FIELDS))
    unnamed = "no header names this row's fields: line 1 of its file is not a header"
    assert rows == [
        (1, "M1,MAPD,3", None, NOT_A_HEADER.format(1)),
        (2, "M2,Commercial,14", None, unnamed),
        (3, "M3,\ufffd,1", None, "invalid UTF-8"),  # the row's own fault said first
    ]


@pytest.mark.parametrize(
    "blank",
    [b"\r\n  \r\n", b'" \r\n"\r\n'],
    ids=["two blank lines", "a blank value quoted over two lines"],
)
def test_a_one_line_csv_without_its_header_row_is_one_bad_record(tmp_path, blank):
    path = write(tmp_path / "a.csv", blank + b"M1,MAPD,3")
    assert list(read_csv(path, MEMBER_FIELDS)) == [(3, "M1,MAPD,3", None, NOT_A_HEADER.format(3))]


@pytest.mark.parametrize(("separator", "named"), [(b";", "semicolons"), (b"\t", "tabs")])
def test_a_csv_separated_otherwise_than_by_commas_is_told_so(tmp_path, separator, named):
    """A spreadsheet saved as CSV in a locale whose decimal mark is a comma separates its
    fields by semicolons: its header names no field, and its reason said the file had lost
    its header row, which it had not (seen fuzzing the landing readers)."""
    path = write(tmp_path / "a.csv", separator.join([b"member_id", b"plan_type"]) + b"\nM1;MAPD\n")
    rows = list(read_csv(path, MEMBER_FIELDS))
    assert rows[0][3] == (
        f"line 1 is not a header naming the table's fields (its fields are separated by "
        f"{named}: a CSV file's are by commas)"
    )
    assert lacks_its_header(path, MEMBER_FIELDS)  # the early read does not take it either
    assert len(rows) == 2  # its record still a bad record of its own
    # Its names quoted, the header is no CSV at all: the whole file is one bad record.
    quoted = write(tmp_path / "b.csv", separator.join([b'"member_id"', b'"plan_type"']) + b"\n")
    [(_, _, _, reason)] = read_csv(quoted, MEMBER_FIELDS)
    assert reason.endswith(f"(its fields are separated by {named}: a CSV file's are by commas)")


def test_a_csv_header_naming_the_fields_spelled_otherwise_is_told_so(tmp_path):
    """A source that renamed its columns to another spelling (`MemberId`, `PLAN_TYPE`) has a
    header naming none of the table's fields, and its reason said the file had lost its
    header row, which it had not (seen changing a digital export's format): it names the
    columns spelled otherwise, and the file's lines stay bad records."""
    path = write(tmp_path / "a.csv", b"MemberId,PLAN_TYPE,Tenure Months,Region\nM1,MAPD,3,SP\n")
    rows = list(read_csv(path, MEMBER_FIELDS))
    assert rows[0] == (
        1,
        "MemberId,PLAN_TYPE,Tenure Months,Region",
        None,
        "line 1 is not a header naming the table's fields (its columns are named as the "
        'fields, spelled otherwise: "MemberId" for "member_id", "PLAN_TYPE" for "plan_type", '
        '"Tenure Months" for "tenure_months")',
    )
    assert [(line, error) for line, _, _, error in rows[1:]] == [
        (2, "no header names this row's fields: line 1 of its file is not a header")
    ]
    assert lacks_its_header(path, MEMBER_FIELDS)  # the early read does not take it either
    # A first line of values, none a field however spelled, is still a record.
    headless = write(tmp_path / "b.csv", b"M1,MAPD,3\n")
    assert next(read_csv(headless, MEMBER_FIELDS))[3] == NOT_A_HEADER.format(1)


def test_a_csv_header_naming_one_of_the_tables_fields_is_a_header(tmp_path):
    """Some fields missing or renamed: a header still, its records missing what it lacks."""
    path = write(tmp_path / "a.csv", b"member_id,plan,tenure\nM1,MAPD,3\n")
    rows = list(read_csv(path, MEMBER_FIELDS))
    assert [(line, error) for line, _, _, error in rows] == [(2, None)]
    # With no fields given (tests, other callers) the first line is the header, as before.
    assert [line for line, _, _, _ in read_csv(write(tmp_path / "b.csv", b"M1,MAPD\n"))] == []


# Decoded first: up to A's `"ok"` (its `:` not there yet), into its `true`, its number,
# its text; and all of it.
@pytest.mark.parametrize("near", [16, 20, 34, 80, 2**16])
def test_json_array_read_again_however_little_is_decoded_first(tmp_path, monkeypatch, near):
    # An object to read again from is decoded first from the `near` characters after its
    # `{`, then whole when those ran out before it was read. A, C and E are elements whatever
    # is decoded first; the `{"` ending B's and D's text and X (a bad value far into it),
    # after a `,` as elements would be, are not.
    monkeypatch.setattr(readers, "_NEAR", near)
    good = [
        json.dumps({"id": call_id, "ok": True, "n": 1234567890123, "t": "words " * 9})
        for call_id in "ACE"
    ]
    x = good[0].replace('"A"', '"X"').replace("true", "tru")
    broken = '{"id": "B", "t": "say {", "u": 1, ' + x + " x"
    cut = '{"id": "D", "t": "cut {", "u": 1, "v": "no'
    text = f"[{good[0]},\n{broken}\n{good[1]},\n{cut}\n{good[2]}]"
    rows = list(read_json(write(tmp_path / "a.json", text.encode()), ("id",)))
    assert [(line, raw, error is None) for line, raw, _, error in rows] == [
        (1, good[0], True),
        (2, broken, False),
        (3, good[1], True),
        (4, cut, False),
        (5, good[2], True),
    ]
