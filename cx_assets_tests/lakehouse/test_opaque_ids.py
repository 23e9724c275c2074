"""`OPAQUE_ID`: which delivered ids reach gold. Gold keeps ids (contract section 5), so an id
that is an e-mail address or a phone number would carry a customer's contact there."""

from __future__ import annotations

import re

import duckdb
import pandera.pandas as pa
import pytest
from pandera.typing import Series

from cx_assets.lakehouse.schemas import OPAQUE_ID
from cx_assets_tests.lakehouse.sql_reasons import pandera_reasons, relation, sql_reasons

# The generators' formats (`cx_assets/synthetic/`), the docs' and tests' examples, runs of
# digits (systems number people), dates and short numbers with separators.
IDS = [
    "TCK-20240105-000001", "CUS-0000002", "AGT-0001", "AGT0001", "M00000001",
    "WS2024010500000001", "CL2024010500000001", "CALL-20240105-000001", "CUST-00012345",
    "T-1", "C1", "100200300400", "4155550199", "2024-01-05", "05/01/2024", "1234-5678",
    "12.345.678", "A-415-555-0199", "ticket#415-555-0199",
    # Any script's digits as ASCII ones: a run of them, a date.
    "１００２００３００４００", "٢٠٢٤-٠١-٠٥", "ＣＵＳ-００００００２",
]  # fmt: skip
# Phone numbers as the masker finds them in text (`privacy.PHONE_CANDIDATE`): digit groups
# joined by separators, 9 digits or more, whether or not whitespace, `+` or brackets join them.
PHONE_SHAPED = [
    "415-555-0199", "555-867-5309", "555-201-3344", "94242-0150", "555.867.5309",
    "0044-20-7946-0958", "11-94242-0150", "555\u2013867\u20135309", "555/867/5309",
    "+55 11 98888-7777", "(11) 94242-0150", "agata.f@example.com",
    # Seen in an audit: digits of another script passed as signs, so these reached gold.
    "１１-９４２４２-０１５０", "٤١٥-٥٥٥-٠١٩٩", "۴۱۵.۵۵۵.۰۱۹۹", "११-९४२४२-०१५०",
    # Joined as free text's phone numbers are (`privacy.PHONE_SEPARATOR`): a full-width or
    # small hyphen, a zero-width space.
    "１１－９４２４２－０１５０", "11\ufe6394242\ufe630150", "11\u200b94242\u200b0150",
    "０９０ー１２３４ー５６７８", "93·412·00·00", "090・1234・5678", "11‧97531‧8642",
]  # fmt: skip


@pytest.mark.parametrize("value", IDS)
def test_an_id_is_kept(value):
    assert re.match(OPAQUE_ID, value)


@pytest.mark.parametrize("value", PHONE_SHAPED)
def test_a_phone_number_or_an_email_address_is_no_id(value):
    assert not re.match(OPAQUE_ID, value)


class Ids(pa.DataFrameModel):
    customer_id: Series[str] = pa.Field(str_matches=OPAQUE_ID)


def test_a_quarantine_reason_says_what_the_id_check_asks_not_its_pattern():
    """Its pattern quoted, a reason was a line of regex; in SQL and in Pandera alike."""
    said = (
        "column 'customer_id' failed opaque_id (no @, +, whitespace or parenthesis, not shaped "
        "as a phone number)"
    )
    with duckdb.connect() as con:
        table = relation(con, {"customer_id": "VARCHAR"},
                         [{"customer_id": "415-555-0199"}, {"customer_id": "CUS-1"}])  # fmt: skip
        assert sql_reasons(con, Ids, table) == {0: said}
        assert pandera_reasons(con, Ids, table) == {0: said}
