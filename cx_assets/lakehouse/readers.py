"""The readers that turn one landed file into its records, each with its reason when it
cannot be one.

Readers never fail a file because of one bad record. Each landed record becomes one
row carrying its original text (`raw`), its 1-based `line_number` and, when the reader
itself could not make sense of it (invalid UTF-8, a CSV row with the wrong number of fields
or a quote never closed, a `.json` array element that does not parse), a `read_error`. JSON
*content* is validated later in SQL, where DuckDB parses it far faster than Python.

One hostile file never fails a day either. A file that cannot be read as a whole (a name
that is not UTF-8, an OS error, a `.json` whose elements cannot be told apart, a CSV header
that is not UTF-8 or names a column twice) becomes ONE row on line 1 with the reason, so it
is quarantined and the day's other files go on.

A CSV whose first line names none of its table's fields was delivered without its header
row: that line is a record, not a header, so it is a row of its own with the reason, and
every line after it a row with a reason too (no header names their fields). Else the
record on the first line would vanish, and a one-line file with it.

These readers go record by record, in Python, for their reasons; `bronze_stream` reads the
common files (plain JSONL and CSV) with Arrow in one pass and falls back to them.
"""

from __future__ import annotations

import csv
import itertools
import json
import re
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Sequence
from json.encoder import encode_basestring
from pathlib import Path
from typing import BinaryIO, NamedTuple

from cx_assets.lakehouse.landing import LandedFile
from cx_assets.lakehouse.privacy import masked_name

BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")

# ---------------------------------------------------------------------------------------
# Readers: each yields (line_number, raw, record, read_error)
# ---------------------------------------------------------------------------------------

Row = tuple[int, str, str | None, str | None]


def decode_line(line: bytes) -> tuple[str, str | None]:
    try:
        return line.decode("utf-8"), None
    except UnicodeDecodeError as error:
        return line.decode("utf-8", errors="replace"), f"invalid UTF-8 at byte {error.start}"


# A file that opens with a UTF-16 byte order mark (a Windows "Unicode" export): its every
# line would be read as bytes that are not UTF-8, one bad record for each, saying so.
UTF16_FILE = "file not read: the file is UTF-16, not UTF-8"


def is_utf16(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(2) in _UTF16_BOMS


# Lines that end in a lone carriage return (classic Mac OS text, some exporters): a text
# reader takes them as lines, as `csv` does, where JSON Lines' `\n` alone would make the
# whole file one bad record. Told from the file's start: a `\r` there and no `\n`.
_LINE_ENDS_SEEN_IN = 2**16


def ends_lines_in_carriage_returns(path: Path) -> bool:
    with open(path, "rb") as handle:
        start = handle.read(_LINE_ENDS_SEEN_IN)
    return b"\r" in start and b"\n" not in start


def _carriage_return_lines(handle: BinaryIO, chunk_bytes: int = 2**20) -> Iterator[bytes]:
    carry = b""
    while chunk := handle.read(chunk_bytes):
        *lines, carry = (carry + chunk).split(b"\r")
        yield from lines
    if carry:
        yield carry


def read_jsonl(path: Path) -> Iterator[Row]:
    if is_utf16(path):
        yield whole_file_row(path, UTF16_FILE)
        return
    with open(path, "rb") as handle:
        lines = _carriage_return_lines(handle) if ends_lines_in_carriage_returns(path) else handle
        for line_number, line in enumerate(lines, start=1):
            if line_number == 1 and line.startswith(BOM):
                line = line[len(BOM) :]
            line = line.rstrip(b"\r\n")
            if not line.strip():
                continue  # blank lines are not records
            text, error = decode_line(line)
            yield line_number, text, None, error


def read_json(path: Path, required_fields: Collection[str] = ()) -> Iterator[Row]:
    """A `.json` file's records: its array's elements, or its one object. `required_fields`:
    those its table's records must hold, to tell the elements to read a broken array again
    from (`_array_elements`)."""
    data = path.read_bytes()
    if data.startswith(_UTF16_BOMS):
        yield whole_file_row(path, UTF16_FILE)
        return
    if data.startswith(BOM):
        data = data[len(BOM) :]
    # Bytes that are not UTF-8 become lone surrogates, so the structure can still be read
    # and only the element holding them is a bad record.
    text = data.decode("utf-8", errors="surrogateescape")
    if not text.strip(_JSON_SPACE):
        return  # nothing delivered: no records, as for an empty .jsonl or .csv
    try:
        elements = _array_elements(text, frozenset(required_fields))
    except json.JSONDecodeError as exc:
        cleaned, _ = _clean_surrogates(text)
        yield 1, cleaned, None, _json_reason(exc)
        return
    if elements is None:
        cleaned, error = _clean_surrogates(text.strip(_JSON_SPACE))
        yield 1, cleaned, None, error and _utf8_error(data)
        return
    # The element's 1-based position stands in for its line (contract section 2), and its
    # raw text is its own slice of the file, exactly as delivered. The text between a break
    # and the element read again from is one element: positions count it once.
    for position, (start, end, json_error) in enumerate(elements, start=1):
        raw, decode_error = _clean_surrogates(text[start:end])
        yield position, raw, None, decode_error or json_error


def _utf8_error(data: bytes) -> str:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        return f"invalid UTF-8 at byte {error.start}"
    return "invalid UTF-8"


_JSON_SPACE = " \t\n\r"
_JSON_WHITESPACE = re.compile(r"[ \t\n\r]*")
# Only the elements' extents (and their fields' names) are wanted: numbers stay text, which
# also spares Python's 4,300-digit limit on integers (a longer one would raise ValueError).
# `NaN` and `Infinity` (Python's parser takes them, JSON does not) are refused later, in
# SQL, as in JSONL: with the field's name when the contract declares the field.
_JSON_DECODER = json.JSONDecoder(parse_int=str, parse_float=str, parse_constant=str)


Span = tuple[int, int, str | None]  # an element's (start, end, reason), as in the text

# How a walk over an array's elements stops (`_Stop.kind`).
_CLOSED = "closed"  # at its `]`, nothing but whitespace after it
_TEXT_AFTER = "text after"  # at text after its `]`
_BROKEN = "broken"  # where a `,` belongs, or at an element whose end cannot be found


class _Stop(NamedTuple):
    kind: str
    position: int  # where the text after `]`, or the break, starts
    message: str = ""  # json.loads' message for it, and where it applies
    error_at: int = 0


def _array_elements(text: str, required: frozenset[str] = frozenset()) -> list[Span] | None:
    """(start, end, reason) of each element when `text` is one JSON array (`reason` says why
    an element is not valid JSON, else None), None when it is one other valid JSON value.

    Where the array's structure breaks (an element cut off or that never ends, a missing
    `,`, stray text between elements), the text from the break to the next element read
    again (`_read_again`) is one more element, with json.loads' reason and where the
    reading went on; with no element to read again from, the rest of the text is. Text
    after the array's `]` is one more element too. So a damaged export loses no element it
    delivered whole. Raises `JSONDecodeError` (json.loads' messages) when no element can be
    told apart: not an array and not valid, or broken at its first element.

    `required`: the fields the table's records must hold. In an array of objects sharing
    fields, an element to read again from holds those, not every field each element before
    the break happened to hold (an optional one, each call before it transferred)."""
    position = _skip_whitespace(text, 0)
    if not text.startswith("[", position):
        _, end, error = _decoded(text, position)
        if error is not None:
            raise error
        if _skip_whitespace(text, end) != len(text):
            raise json.JSONDecodeError("Extra data", text, _skip_whitespace(text, end))
        return None
    position = _skip_whitespace(text, position + 1)
    if text.startswith("]", position):
        elements, keys, stop = [], None, _closing(text, position)
    else:
        elements, keys, stop = _walk(text, position, None, required)
    lines = _Lines(text)
    while stop.kind != _CLOSED:
        if not elements:
            raise json.JSONDecodeError(stop.message, text, stop.error_at)
        reason = _where_reason(stop.message, lines.at(stop.error_at))
        read_again = (
            _read_again(text, stop.position, _shape(keys, required), required, stop.error_at)
            if stop.kind == _BROKEN
            else None
        )
        if read_again is None:
            end = max(stop.position, len(text.rstrip(_JSON_SPACE)))
            elements.append((stop.position, end, reason))
            break
        start, spans, keys, next_stop = read_again
        bad = text[stop.position : start].rstrip(_JSON_SPACE).removesuffix(",")
        reason += ", " + _READ_AGAIN.format(*lines.at(start))
        elements.append((stop.position, stop.position + len(bad.rstrip(_JSON_SPACE)), reason))
        elements.extend(spans)
        stop = next_stop
    return elements


_READ_AGAIN = "the array read again from line {} column {}"


def _walk(
    text: str, position: int, keys: frozenset[str] | None, required: frozenset[str] = frozenset()
) -> tuple[list[Span], frozenset[str] | None, _Stop]:
    """The elements from `position` (an element's start) to where the array closes or
    breaks, the fields each element holds (`_fields`, from `keys`), and that stop.

    A walk that stops where a list or an object closes (`_nested`) after a bad element
    whose end was found outside strings read on inside that element: a string it leaves
    open (`55"`, an inch mark unescaped) can put the end between the objects of its own
    list, and the objects after it would be made-up elements. The walk then stops at that
    element, broken, as when its end cannot be told."""
    spans: list[Span] = []
    bad: tuple[int, frozenset[str] | None, _Stop] | None = None  # the last bad element
    while True:
        value, end, error = _decoded(text, position)
        if error is None:
            keys = _fields(keys, value)
            spans.append((position, end, None))
        else:
            # One bad element: skip to where it ends, and read on.
            end = _trusted_end(text, position, _shape(keys, required))
            broken = _Stop(_BROKEN, position, error.msg, error.pos)
            if end is None:
                return spans, keys, broken
            bad = (len(spans), keys, broken)
            spans.append((position, end, _json_reason(error)))
        position = _skip_whitespace(text, end)
        if text.startswith(",", position):
            position = _skip_whitespace(text, position + 1)
            continue
        if text.startswith("]", position):
            stop = _closing(text, position)
        else:
            stop = _Stop(_BROKEN, position, "Expecting ',' delimiter", position)
        if bad is not None and _nested(text, stop):
            count, keys, stop = bad
            del spans[count:]
        return spans, keys, stop


def _shape(keys: frozenset[str] | None, required: frozenset[str]) -> frozenset[str] | None:
    """The fields an element to read again from must hold: in an array of objects sharing
    fields (`keys`), those of the table's `required` ones they share (a file spelling
    `call_id` otherwise holds it nowhere: with it, nothing after a break was read again),
    else (none given, or none shared) `keys` themselves."""
    return (required & keys or keys) if required and keys else keys


def _nested(text: str, stop: _Stop) -> bool:
    """Whether elements read on stopped where a list or an object of an element closes:
    `]` followed by `,`, `}` or `]`, or `}` or `:` where a `,` belongs."""
    following = text[stop.position : stop.position + 1]
    return (stop.kind == _TEXT_AFTER and following in (",", "}", "]")) or (
        stop.kind == _BROKEN and following in ("}", ":")
    )


def _trusted_end(text: str, position: int, keys: frozenset[str] | None) -> int | None:
    """Where the bad element at `position` ends (`_element_end`), None when that cannot be
    told. The end is looked for outside strings, so a string the element leaves open (cut
    off) can put it inside a later element, or a `,` or `]` inside a string of its own. In
    an array of objects sharing fields (`keys`), an end is trusted only when no element to
    read again from starts before it, and the next object's `{` follows its `,` (or the
    file ends, or the array's `]` follows, closing the file)."""
    end = _element_end(text, position, keys)
    if end is None or not keys:
        return end
    after = _skip_whitespace(text, end)
    if text.startswith(",", after):
        after = _skip_whitespace(text, after + 1)
        follows = after == len(text) or text.startswith(("{", "]"), after)
    else:
        follows = _closing(text, after).kind == _CLOSED
    return end if follows else None


def _closing(text: str, position: int) -> _Stop:
    """How an array whose `]` is at `position` stops: closed, or text after it."""
    after = _skip_whitespace(text, position + 1)
    if after == len(text):
        return _Stop(_CLOSED, after)
    return _Stop(_TEXT_AFTER, after, "Extra data", after)


def _read_again(
    text: str,
    position: int,
    keys: frozenset[str] | None,
    required: frozenset[str] = frozenset(),
    error_at: int = 0,
) -> tuple[int, list[Span], frozenset[str] | None, _Stop] | None:
    """Where the array broken at `position` is read again from: the next object after it
    that holds every field each element before the break holds, or the table's required
    ones where given (`keys`, `_shape`; `required` is passed on), is not a field's
    value or a list's first item (after a `:` or `[`), and whose elements, read on, do not
    close a list or an object of the broken element (`]` followed by `,`, `}` or `]`, or
    `}` or `:` where a `,` belongs): objects nested in the broken element are not elements.
    Nor is an object that ends before the broken element's error (`error_at`): json read it
    as part of that element (its list's item, with a `,` missing after the list), unless
    the error is the file's end, where a cut-off element and the elements after it are told
    apart by nothing. Its start, its elements up to the next stop, their fields and that
    stop; None when no object is found (elements not objects, or sharing no field, read
    nothing again)."""
    search = position + 1
    before_error = error_at if _skip_whitespace(text, error_at) < len(text) else 0
    while keys and (start := _next_element(text, search, keys)) is not None:
        if start < before_error and _decoded(text, start)[1] <= before_error:
            search = start + 1  # read as the broken element's own
            continue
        spans, fields, stop = _walk(text, start, keys, required)
        if not _nested(text, stop):
            return start, spans, fields, stop
        search = stop.position  # the objects read on are nested too
    return None


def _next_element(text: str, position: int, keys: frozenset[str]) -> int | None:
    """The start of the first element to read again from (`_is_element`) from `position`."""
    while (start := text.find("{", position)) >= 0:
        if _is_element(text, start, keys):
            return start
        position = start + 1
    return None


_OBJECT_START = re.compile(r'\{[ \t\n\r]*["}]')


def _is_element(text: str, start: int, keys: frozenset[str]) -> bool:
    """Whether the `{` at `start` opens an object that is valid JSON, holds each of `keys`
    and is not after a `:` or a `[` (a field's value, a list's first item)."""
    if not _OBJECT_START.match(text, start):
        return False  # `{x}` in a transcript: not decoded (its error would count lines)
    before = start - 1
    while before >= 0 and text[before] in _JSON_SPACE:
        before -= 1
    if before >= 0 and text[before] in ":[":
        return False
    value = _decoded_near(text, start)
    return value is not None and value.keys() >= keys


# How much text after a `{` `_decoded_near` decodes first.
_NEAR = 2**16
# Where an error in that text may be its end's: a `\uXXXX` cut off is said at its
# backslash, `true` at its `t`.
_RAN_OUT = 8


def _decoded_near(text: str, start: int) -> object | None:
    """The JSON value at `start` (None when it is not one), decoded first from the `_NEAR`
    characters after it: a failed decode counts the lines before it from the start of the
    text it was given, so thousands of strings ending in `{` (each `{"` decoded) in a 43 MB
    array took 41 s. A value decoded there is the one in the whole text, and so is an
    error, unless that text ran out first (an error near its end, or a string left open,
    said where it opens): the whole text is decoded then."""
    near = text[start : start + _NEAR]
    value, _, error = _decoded(near, 0)
    ran_out = error is not None and len(near) == _NEAR
    if ran_out and (error.pos >= _NEAR - _RAN_OUT or error.msg.startswith("Unterminated string")):
        value, _, error = _decoded(text, start)
    return value if error is None else None


def _fields(keys: frozenset[str] | None, value: object) -> frozenset[str]:
    """The fields each element read so far holds (`keys`, None before the first), with
    `value` read too: none once one is not an object."""
    if not isinstance(value, dict):
        return frozenset()
    if keys is None:
        return frozenset(value)
    return keys if value.keys() >= keys else keys.intersection(value)


def _skip_whitespace(text: str, position: int) -> int:
    return _JSON_WHITESPACE.match(text, position).end()


class _Lines:
    """The 1-based line and column of positions in `text`, as json.loads counts them, each
    counted on from the one before: a file broken at every element is counted once."""

    def __init__(self, text: str):
        self.text, self.position, self.line = text, 0, 1

    def at(self, position: int) -> tuple[int, int]:
        if position < self.position:
            self.position, self.line = 0, 1
        self.line += self.text.count("\n", self.position, position)
        self.position = position
        return self.line, position - self.text.rfind("\n", 0, position)


_TOO_DEEP = "nested too deeply to read"


def _decoded(text: str, position: int) -> tuple[object, int, json.JSONDecodeError | None]:
    """The JSON value at `position` and where it ends, or why it is not a valid one."""
    try:
        value, end = _JSON_DECODER.raw_decode(text, position)
    except json.JSONDecodeError as error:
        return None, position, error
    except RecursionError:
        return None, position, json.JSONDecodeError(_TOO_DEEP, text, position)
    return value, end, None


def _json_reason(error: json.JSONDecodeError) -> str:
    """json.loads' own message, and where in the file (not for nesting: it is everywhere)."""
    return _where_reason(error.msg, (error.lineno, error.colno))


def _where_reason(message: str, line_column: tuple[int, int]) -> str:
    if message == _TOO_DEEP:
        return f"invalid JSON: {_TOO_DEEP}"
    return f"invalid JSON: {message} (line {line_column[0]} column {line_column[1]})"


def _element_end(text: str, position: int, keys: frozenset[str] | None = None) -> int | None:
    """Where a broken array element starting at `position` ends: before the first `,` or
    `]` outside strings and brackets opened in it (trailing whitespace left out), or None
    when the text ends first, or an element to read again from (`_is_element`, holding
    `keys`) starts before: so a cut-off element's end is never looked for past the next
    element, nor every element after it read to its end when none is found."""
    depth, in_string, index = 0, False, position
    while index < len(text):
        char = text[index]
        if char == "{" and keys and index > position and _is_element(text, index, keys):
            return None
        if in_string:
            if char == "\\":
                index += 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
        elif char in "]}" and depth > 0:
            depth -= 1
        elif char in ",]" and depth == 0:
            return len(text[position:index].rstrip(_JSON_SPACE)) + position
        index += 1
    return None


class _LineRecorder:
    """Feeds lines to csv.reader while remembering them, so each row keeps its raw text
    and the line it started on (a quoted field may span lines)."""

    def __init__(self, lines: Iterable[str]):
        self.remaining = iter(lines)  # the lines not fed yet
        self.consumed: list[str] = []
        self.exhausted = False

    def __iter__(self) -> _LineRecorder:
        return self

    def __next__(self) -> str:
        try:
            line = next(self.remaining)
        except StopIteration:
            self.exhausted = True
            raise
        self.consumed.append(line)
        return line


UNCLOSED_QUOTE = "a quote opened on this line is never closed"


def quote_closes_late(line_number: int, fields: int, header_fields: int) -> str:
    """The reason of a CSV row whose quote, opened on its first line, closes on
    `line_number` into a row of `fields` fields where its header has `header_fields`."""
    return (
        f"a quote opened on this line closes on line {line_number}, "
        f"in a row of {fields} fields, not {header_fields}"
    )


def stray_quotes(line_number: int, header_fields: int) -> str:
    """The reason of a CSV row whose quote, opened on its first line, closes on
    `line_number` into a row of the header's width whose every line is one too."""
    return (
        f"a quote opened on this line closes on line {line_number}, and each of these lines "
        f"holds the header's {header_fields} fields on its own: two stray quotes, or one "
        "value over lines? Every line of it is quarantined"
    )


def inside_stray_quotes(first_line: int, last_line: int, header_fields: int) -> str:
    """The reason of each line after the first of such a row (`stray_quotes`)."""
    return (
        f"inside a quote opened on line {first_line} that closes on line {last_line} (two "
        f"stray quotes, or one value over lines: each of these lines holds the header's "
        f"{header_fields} fields)"
    )


def _whole_rows(lines: list[str], fields: int) -> bool:
    """Whether each of `lines`, its quotes read as text, holds `fields` fields (never for
    one field: every line holds one, and says nothing)."""
    return fields > 1 and all(line.rstrip("\r\n").count(",") == fields - 1 for line in lines)


# A field may be as long as the file: Python's csv module refuses fields over 128 KiB by
# default, and such a row is not a bad record (JSONL takes the same text).
csv.field_size_limit(2**31 - 1)


def _csv_reader(lines: Iterable[str]) -> tuple[_LineRecorder, Iterator[list[str]]]:
    recorder = _LineRecorder(lines)
    # Strict: a quote that is never closed is an error, not a field that swallows the
    # rest of the file; so is text after a closing quote (`"ab"c`).
    return recorder, csv.reader(recorder, strict=True)


def read_csv(path: Path, table_fields: Collection[str] = ()) -> Iterator[Row]:
    """A CSV file's data rows. `table_fields`: the fields its table's records carry; a first
    line naming none of them is not taken for the header (see the module's docstring)."""
    with open(path, encoding="utf-8-sig", errors="surrogateescape", newline="") as handle:
        recorder, reader = _csv_reader(handle)
        blank_lines = 0
        try:
            header = next(reader, None)
            while header == [] or (header and len(header) == 1 and not header[0].strip()):
                blank_lines = len(recorder.consumed)  # blank lines before the header
                header = next(reader, None)
        except csv.Error as exc:
            reason = f"file not read: unreadable CSV header: {exc}"
            if separated_by := other_separator("".join(recorder.consumed), table_fields):
                reason += f" ({separated(separated_by)})"  # `"id";"name"`
            yield whole_file_row(path, reason)
            return
        if header is None:
            return
        header = header_names(header)
        header_text = "".join(recorder.consumed)
        problem = header_encoding_problem(header_text)
        unnamed_rows = None  # why the data rows' fields have no names, if they have none
        if problem is None and not names_a_field(header, table_fields):
            header_line = blank_lines + 1
            raw = "".join(recorder.consumed[blank_lines:]).rstrip("\r\n")
            yield (
                header_line,
                raw,
                None,
                not_a_header(
                    header_line,
                    other_separator(raw, table_fields),
                    spelled_otherwise(header, table_fields),
                ),
            )
            unnamed_rows = f"{UNNAMED_ROW}: line {header_line} of its file is not a header"
        elif problem is None:
            problem = repeated_names_problem(header)
        if problem:
            yield whole_file_row(path, f"file not read: {problem}")
            return
        line_number = len(recorder.consumed)
        recorder.consumed.clear()
        key_prefixes = [encode_basestring(name) + ": " for name in header]
        unread: list[str] = []
        quarantined: list[str] = []  # the lines after the first of an ambiguous row
        inside = ""  # their reason
        while True:
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                values, csv_error = None, f"unreadable CSV: {exc}"
                if recorder.exhausted or len(recorder.consumed) > 1:
                    # A quote opened on this row was read across line ends into an error
                    # (the file's end, or text after the quote that closed it): it was never
                    # closed. The row is its first line, and the lines after it are read
                    # again as rows of their own.
                    csv_error = f"unreadable CSV: {UNCLOSED_QUOTE}"
                    unread = recorder.consumed[1:]
                    del recorder.consumed[1:]
            else:
                csv_error = None
                last_line = line_number + len(recorder.consumed)
                if len(recorder.consumed) > 1 and len(values) != len(header):
                    # The same when the quote closes lines later (at a stray quote before a
                    # `,` or a line end) into a row of the wrong width: the good rows between
                    # would be one bad record.
                    csv_error = (
                        f"unreadable CSV: {quote_closes_late(last_line, len(values), len(header))}"
                    )
                elif len(recorder.consumed) > 1 and _whole_rows(recorder.consumed, len(header)):
                    # Or into a row of the header's width, when each of its lines, its quotes
                    # read as text, is a row of that width on its own: two stray quotes in a
                    # column (read as one value, the rows between would vanish into it) or a
                    # good value over lines (read as rows, its lines would be made-up
                    # records), which the text cannot tell apart: every line is a bad record.
                    csv_error = f"unreadable CSV: {stray_quotes(last_line, len(header))}"
                    inside = inside_stray_quotes(line_number + 1, last_line, len(header))
                    values, quarantined = None, recorder.consumed[1:]
                    del recorder.consumed[1:]
                if csv_error is not None and not quarantined:
                    values, unread = None, recorder.consumed[1:]
                    del recorder.consumed[1:]
            start_line = line_number + 1
            line_number += len(recorder.consumed)
            raw = "".join(recorder.consumed).rstrip("\r\n")
            recorder.consumed.clear()
            if unread:
                recorder, reader = _csv_reader(itertools.chain(unread, recorder.remaining))
                unread = []
            if values == [] or (values is not None and not raw.strip()):
                continue  # blank line
            raw, decode_error = _clean_surrogates(raw)
            error = csv_error or decode_error or unnamed_rows
            record = None
            if error is None and len(values) != len(header):
                error = f"expected {len(header)} fields, got {len(values)}"
            if error is None:
                record = _json_object(key_prefixes, values)
            yield start_line, raw, record, error
            for line in quarantined:
                line_number += 1
                raw, _ = _clean_surrogates(line.rstrip("\r\n"))
                yield line_number, raw, None, f"unreadable CSV: {inside}"
            quarantined = []


def _json_object(key_prefixes: list[str], values: list[str]) -> str:
    """`json.dumps(dict(zip(header, values)), ensure_ascii=False)`, text for text, given
    each header name already encoded with its `": "`: a CSV row's values are all strings,
    so only they need encoding (twice as fast, on every row of every CSV)."""
    return "{" + ", ".join(map(str.__add__, key_prefixes, map(encode_basestring, values))) + "}"


def header_names(names: list[str]) -> list[str]:
    """A CSV header's column names, trimmed; a column without a name (the empty columns a
    spreadsheet adds at the end of its rows) is named by its 1-based position, `_column_7`:
    an extra field like any other, kept in bronze, rather than one name given twice."""
    trimmed = [name.strip() for name in names]
    return [name or f"_column_{number}" for number, name in enumerate(trimmed, start=1)]


UNNAMED_ROW = "no header names this row's fields"


_NOT_A_HEADER = "line {} is not a header naming the table's fields"
# Separators a spreadsheet's "CSV" may have instead of commas: semicolons where the decimal
# mark is a comma (Brazil, most of Europe), tabs in a "text" export.
_OTHER_SEPARATORS = {";": "semicolons", "\t": "tabs"}


def not_a_header(
    line_number: int,
    separated_by: str | None = None,
    renamed: Sequence[tuple[str, str]] = (),
) -> str:
    """The reason of a CSV file's first line when it names none of its table's fields;
    `separated_by`: what separates the fields it names, when not commas (`other_separator`);
    `renamed`: the columns it names as fields spelled otherwise (`spelled_otherwise`)."""
    if separated_by:
        guess = separated(separated_by)
    elif renamed:
        pairs = ", ".join(f"{json.dumps(name)} for {json.dumps(field)}" for name, field in renamed)
        guess = f"its columns are named as the fields, spelled otherwise: {pairs}"
    else:
        guess = "a file without its header row?"
    return f"{_NOT_A_HEADER.format(line_number)} ({guess})"


def field_spelling(name: str) -> str:
    """A column name with its case, spaces and punctuation left out (`MemberId`,
    `MEMBER_ID` and `member id` are all `memberid`)."""
    return "".join(character for character in name.casefold() if character.isalnum())


def spelled_otherwise(names: list[str], table_fields: Collection[str]) -> list[tuple[str, str]]:
    """(name, field) for each of a CSV first line's `names` that is one of `table_fields`
    spelled otherwise: a source that renamed its columns (`MemberId` for `member_id`) sent
    its header, not a file without one. Its records are still not read: which column a
    renamed name stands for is not guessed."""
    fields = {field_spelling(field): field for field in table_fields}
    return [
        (name, fields[field_spelling(name)])
        for name in names
        if field_spelling(name) in fields and name != fields[field_spelling(name)]
    ]


def separated(separated_by: str) -> str:
    """Why a CSV header separated by `separated_by` (`semicolons`) is not read as one."""
    return f"its fields are separated by {separated_by}: a CSV file's are by commas"


def other_separator(line: str, table_fields: Collection[str]) -> str | None:
    """What separates the table's field names on a CSV file's first `line` when commas do
    not (`semicolons`, `tabs`), if one does."""
    for separator, named in _OTHER_SEPARATORS.items():
        names = [name.strip().strip('"') for name in line.split(separator)]
        if len(names) > 1 and table_fields and names_a_field(names, table_fields):
            return named
    return None


def names_a_field(names: list[str], table_fields: Collection[str]) -> bool:
    """Whether a CSV header names one of `table_fields` at least (always, with none given):
    a header with some of them is one (a missing field is its records' reason), a line
    with none is a record."""
    return not table_fields or not set(names).isdisjoint(table_fields)


def lacks_its_header(path: Path, table_fields: Collection[str]) -> bool:
    """Whether a CSV file's first line names none of `table_fields`: `read_csv` then gives
    it as a row of its own, saying so."""
    try:
        first = next(read_csv(path, table_fields), None) if table_fields else None
    except OSError:
        return False  # its reading says why
    return first is not None and (first[3] or "").startswith(_NOT_A_HEADER.format(first[0]))


def header_problem(line: str, names: list[str]) -> str | None:
    """Why a CSV header makes every row of its file meaningless, if it does."""
    return header_encoding_problem(line) or repeated_names_problem(names)


def header_encoding_problem(line: str) -> str | None:
    """Why a CSV header's text cannot be read as UTF-8, if it cannot."""
    if line.startswith(("\udcff\udcfe", "\udcfe\udcff")):
        return "the CSV is UTF-16, not UTF-8"
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:
        _, error = decode_line(line.encode("utf-8", errors="surrogateescape"))
        return f"CSV header is not UTF-8 ({error})"
    if "\x00" in line:
        return "CSV header holds NUL characters (UTF-16 without a byte order mark?)"
    return None


def repeated_names_problem(names: list[str]) -> str | None:
    """Why a CSV header's names cannot key its rows' values: a name given twice."""
    repeated = [name for name, count in Counter(names).items() if count > 1]
    if repeated:
        # The reason leaves quarantine (the header itself stays in the record's text): a
        # pivot's columns may be named by people's addresses.
        return "CSV header names a column more than once: " + ", ".join(
            json.dumps(masked_name(name), ensure_ascii=False) for name in repeated
        )
    return None


def whole_file_row(path: Path, reason: str) -> Row:
    """One bad record standing for a whole file: its text (best effort) on line 1."""
    data = path.read_bytes()
    if data.startswith(_UTF16_BOMS):
        return 1, data.decode("utf-16", errors="replace"), None, reason
    if data.startswith(BOM):
        data = data[len(BOM) :]
    return 1, data.decode("utf-8", errors="replace"), None, reason


def _clean_surrogates(text: str) -> tuple[str, str | None]:
    try:
        text.encode("utf-8")
        return text, None
    except UnicodeEncodeError:
        cleaned = text.encode("utf-8", errors="surrogateescape").decode("utf-8", errors="replace")
        return cleaned, "invalid UTF-8"


READERS = {".jsonl": read_jsonl, ".json": read_json, ".csv": read_csv}


def file_records(
    landed: LandedFile, table_fields: Collection[str] = (), required_fields: Collection[str] = ()
) -> Iterator[Row]:
    """A file's records. A file that cannot be opened is one bad record; one whose reading
    breaks off keeps the records read so far, then one bad record saying why.
    `table_fields`: the fields of its table, to tell a CSV header from a record;
    `required_fields`: those its records must hold, to read a broken `.json` array again."""
    if landed.read_error:
        try:
            row = whole_file_row(landed.path, landed.read_error)
        except OSError:
            row = (1, "", None, landed.read_error)
        yield row
        return
    last_line = 0
    try:
        suffix = landed.path.suffix.lower()
        if suffix == ".csv":
            rows = read_csv(landed.path, table_fields)
        elif suffix == ".json":
            rows = read_json(landed.path, required_fields)
        else:
            rows = READERS[suffix](landed.path)
        for row in rows:
            last_line = row[0]
            yield row
    except OSError as error:
        yield last_line + 1, "", None, read_broke_off(last_line, error)


def read_broke_off(last_line: int, error: OSError) -> str:
    """The reason of the row standing for a file whose read failed after `last_line` lines
    (0: none read)."""
    # `str(error)` would repeat the path, which may not be printable.
    cause = f"{type(error).__name__}: {error.strerror or 'error'}"
    if last_line == 0:
        return f"file not read: {cause}"
    return f"file read broke off after line {last_line}: {cause}"
