"""CRM rules on hand-worked cases, evaluated with the same SQL the assets run."""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta

import duckdb
import pandas as pd
import pytest

from cx_assets.crm import company_rules, gold_rules, rules, silver_rules
from cx_assets.lakehouse import sql
from cx_assets.lakehouse.privacy import DEFAULT_HASH_KEY, HASH_KEY_ENV, bind_hash_key
from cx_assets_tests.crm.silver_rows import T0, interaction
from cx_assets_tests.row_order import ORDER_SENSITIVE, results_in_every_order


def evaluate(con, expression: str, **columns):
    """Evaluate a SQL expression over one row whose columns are `columns`."""
    frame = pd.DataFrame(
        {name: pd.Series([value], dtype=object) for name, value in columns.items()}
    )
    con.register("row_", frame)
    try:
        return con.execute(f"SELECT {expression} FROM row_").fetchall()[0][0]
    finally:
        con.unregister("row_")


def noise(con, subject=None, title=None, content=None, recipients=None):
    expression = rules.noise_reason_sql(
        "subject", "title", "content", rules.recipient_count_sql("recipients")
    )
    return evaluate(
        con, expression, subject=subject, title=title, content=content, recipients=recipients
    )


# --------------------------------------------------------------------------- noise


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Lida: Proposta comercial", "read_receipt"),
        ("   Lida: Proposta", "read_receipt"),  # leading spaces removed
        ("LIDA: Proposta", "read_receipt"),  # any case
        ("read: proposal", "read_receipt"),
        ("Read:proposal", "read_receipt"),
        ("RE: Lida: Proposta", None),  # only contains `Lida:` later
        ("Lidar com o contrato", None),  # a word that starts like the prefix
        ("Entregue: Proposta", "delivery_receipt"),
        ("  delivered: Proposal", "delivery_receipt"),
        ("\t\u00a0Lida: Proposta", "read_receipt"),  # any leading whitespace, as spaces
        ("Entregues os documentos", None),
    ],
)
def test_receipts_by_subject(con, subject, expected):
    assert noise(con, subject=subject, recipients="a@x.com") == expected


def test_delivery_receipt_by_inbound_title_and_content(con):
    content = "Olá, SUA MENSAGEM FOI ENTREGUE ao destinatário."
    assert noise(con, title="E-mail recebido.", content=content) == "delivery_receipt"
    # the same words in an outbound e-mail are the user's own text, not a receipt
    assert noise(con, title="E-mail enviado.", content=content) is None


@pytest.mark.parametrize(
    ("recipients", "expected"),
    [
        ("a@x.com;b@x.com;c@x.com", None),
        ("a@x.com;b@x.com;c@x.com;d@x.com", "mass_email"),
        ("a@x.com; ;b@x.com;;c@x.com; ", None),  # 3 non-empty after trimming
        ("a@x;b@x;c@x;\t;\u00a0;\r\n", None),  # a tab, a no-break space, a line break
        ("a@x;b@x;c@x;\td@x", "mass_email"),
        (" a@x.com ; b@x.com ;c@x.com; d@x.com;", "mass_email"),
        ("", None),
        (None, None),
    ],
)
def test_mass_email_counts_non_empty_trimmed_recipients(con, recipients, expected):
    assert noise(con, subject="Proposta", recipients=recipients) == expected


def test_noise_rules_apply_in_the_contract_order(con):
    many = "a@x;b@x;c@x;d@x;e@x"
    assert noise(con, subject="Lida: X", recipients=many) == "read_receipt"
    assert noise(con, subject="Entregue: X", recipients=many) == "delivery_receipt"
    assert (
        noise(con, subject="Lida: X", title="E-mail recebido.", content="sua mensagem foi entregue")
        == "read_receipt"
    )


# --------------------------------------------------------------------------- friction


def flags(con, text: str) -> tuple[int, int, int]:
    lowered = text.lower()
    return tuple(
        evaluate(con, rules.friction_flag_sql(category, "t"), t=lowered)
        for category in ("urgency", "failure", "escalation")
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("É URGENTE, por favor", (1, 0, 0)),
        ("precisamos disso pra ontem", (1, 0, 0)),
        ("pra   ontem", (1, 0, 0)),  # any whitespace inside a phrase
        ("Emergência no cliente", (1, 0, 0)),
        ("emergencia no cliente", (1, 0, 0)),  # without the accent
        ("Deu ERRO no sistema", (0, 1, 0)),
        ("o app não funciona", (0, 1, 0)),
        ("o app NAO FUNCIONA", (0, 1, 0)),
        ("nova reclamacao registrada", (0, 1, 0)),
        ("Reclamação formal", (0, 1, 0)),
        ("quero falar com o gerente", (0, 0, 1)),
        ("o CEO ligou", (0, 0, 1)),
        ("problema grave: vou chamar meu advogado", (1, 1, 1)),
        # words that must not match: the lexicon word is only part of them
        ("terrorismo", (0, 0, 0)),
        ("receoso", (0, 0, 0)),
        ("gravemente", (0, 0, 0)),
        ("problemático", (0, 0, 0)),
        ("erros", (0, 0, 0)),
        ("falar com o subgerente", (0, 0, 0)),  # the word ends a longer one
        ("o caso é agrave", (0, 0, 0)),
    ],
)
def test_friction_words_whole_and_accent_insensitive(con, text, expected):
    assert flags(con, text) == expected


def test_any_friction_agrees_with_the_categories(con):
    for text, expected in [("tudo certo, obrigado", False), ("urgente!", True), ("falha", True)]:
        assert evaluate(con, rules.any_friction_sql("t"), t=text) is expected


def test_lexicon_is_configuration(con):
    custom = rules.CrmRules(
        friction_lexicon={
            "urgency": ["imediato"],
            "failure": ["quebrou"],
            "escalation": ["ouvidoria"],
        }
    )
    expression = rules.friction_flag_sql("failure", "t", custom)
    assert evaluate(con, expression, t="o produto quebrou") == 1
    assert evaluate(con, expression, t="deu erro") == 0


# --------------------------------------------------------------------------- threads


@pytest.mark.parametrize(
    "subject",
    ["Proposta 2024", "RE: Proposta 2024", "res: RE: Proposta 2024", "ENC:Proposta 2024",
     "Fwd: FW: proposta 2024 ", "  RES : Proposta 2024"],
)  # fmt: skip
def test_thread_subject_drops_reply_and_forward_prefixes(con, subject):
    assert evaluate(con, rules.thread_subject_sql("s"), s=subject) == "proposta 2024"


def test_thread_subject_keeps_words_that_only_start_like_a_prefix(con):
    assert evaluate(con, rules.thread_subject_sql("s"), s="Reunião: pauta") == "reunião: pauta"
    assert evaluate(con, rules.thread_subject_sql("s"), s="RE:") is None
    assert evaluate(con, rules.thread_subject_sql("s"), s="RE:\t\n") is None


# --------------------------------------------------------------------------- silver

DAY = date(2024, 1, 8)


@pytest.mark.parametrize(
    ("last_day", "linkage", "company_id"),
    [
        (DAY, "direct", 5),
        (DAY - timedelta(days=1), "unresolved", None),  # the version lands after the last day
        (None, "unresolved", None),  # no day: no contact version is read
    ],
)
def test_contacts_are_resolved_from_versions_up_to_the_last_day(con, last_day, linkage, company_id):
    con.execute(
        "CREATE TABLE typed AS SELECT DATE '2024-01-08' AS date, 'i.jsonl' AS source_file, "
        "1::BIGINT AS line_number, 1::BIGINT AS interaction_id, 5::BIGINT AS contact_id, "
        "7::BIGINT AS owner_id, TIMESTAMPTZ '2024-01-08 12:00:00+00' AS occurred_at, "
        "1::BIGINT AS type_id, 'E-mail recebido.' AS title, NULL::BIGINT AS deal_id, "
        "'Proposta' AS email_subject, 'Olá' AS content, 'a@x.com' AS email_recipients, "
        "NULL::VARCHAR AS reject_reason"
    )
    con.execute(
        "CREATE TABLE versions AS SELECT DATE '2024-01-08' AS date, 'c.jsonl' AS source_file, "
        "1::BIGINT AS line_number, 5::BIGINT AS contact_id, 'company' AS contact_type, "
        "NULL::BIGINT AS company_id"
    )
    query = silver_rules.silver_interactions_sql("typed", "versions", last_day)
    assert con.execute(f"SELECT linkage, company_id FROM ({query})").fetchall() == [
        (linkage, company_id)
    ]


def test_a_contacts_later_line_in_a_days_file_is_its_version_of_the_day(con):
    """Contract section 2: the latest version of an `Id` wins; in one file, the later line."""
    con.execute(
        "CREATE TABLE typed AS SELECT DATE '2024-01-08' AS date, 'i.jsonl' AS source_file, "
        "1::BIGINT AS line_number, 1::BIGINT AS interaction_id, 7::BIGINT AS contact_id, "
        "3::BIGINT AS owner_id, TIMESTAMPTZ '2024-01-08 12:00:00+00' AS occurred_at, "
        "1::BIGINT AS type_id, 'Ligação' AS title, NULL::BIGINT AS deal_id, "
        "NULL::VARCHAR AS email_subject, 'Olá' AS content, NULL::VARCHAR AS email_recipients, "
        "NULL::VARCHAR AS reject_reason"
    )
    con.execute(
        "CREATE TABLE versions AS SELECT * FROM (VALUES "
        "(DATE '2024-01-08', 'c.jsonl', 1::BIGINT, 7::BIGINT, 'person', 10::BIGINT), "
        "(DATE '2024-01-08', 'c.jsonl', 2::BIGINT, 7::BIGINT, 'person', 20::BIGINT)"
        ") AS v(date, source_file, line_number, contact_id, contact_type, company_id)"
    )
    query = silver_rules.silver_interactions_sql("typed", "versions", DAY)
    assert con.execute(f"SELECT linkage, company_id FROM ({query})").fetchall() == [
        ("via_person", 20)
    ]


@pytest.mark.parametrize(
    ("content", "flags"),
    [
        ("Caso de emerge\u0302ncia no cliente", (1, 0, 0, True)),  # decomposed: mark removed
        ("Caso de emergência: o sistema na\u0303o funciona", (1, 1, 0, True)),  # two kinds
        ("Café com a equipe\u0301", (0, 0, 0, False)),  # a mark but no friction word
        ("Olá, tudo bem?", (0, 0, 0, False)),
    ],
)
def test_silver_friction_flags_see_through_decomposed_accents(con, content, flags):
    assert silver_friction_flags(con, "Ligação", "Proposta", content) == flags


@pytest.mark.parametrize(
    ("title", "subject", "content", "flags"),
    [
        ("Ligar pra", "ontem sem falta", "", (0, 0, 0, False)),  # a phrase split by fields
        ("Cliente disse não", None, "funciona bem agora", (0, 0, 0, False)),
        ("Ligação", "Retorno pra ontem", None, (1, 0, 0, True)),  # whole in one field
        ("Urgente", None, "Falha no boleto", (1, 1, 0, True)),  # words at a field's edges
    ],
)
def test_friction_phrases_are_matched_within_one_field(con, title, subject, content, flags):
    assert silver_friction_flags(con, title, subject, content) == flags


@pytest.mark.parametrize(
    ("content", "flags"),
    [
        ("SUPERVİSOR NA LİNHA", (0, 0, 1, True)),  # İ: DuckDB lowers it to i, RE2 won't fold
        ("PRESİDENTE", (0, 0, 1, True)),
        ("URGENTE: RECLAMAÇÃO", (1, 1, 0, True)),
        ("Deu ErRo", (0, 1, 0, True)),
        ("ſupervisor", (0, 0, 0, False)),  # ſ: the screen folds it to s; lower() does not
    ],
)
def test_friction_is_found_in_any_case(con, content, flags):
    assert silver_friction_flags(con, "Ligação", "Proposta", content) == flags


def test_the_friction_screen_finds_before_lowering_what_it_would_find_after(con):
    """Every code point DuckDB's `lower()` changes into a letter of the lexicon, put in a
    lexicon word, makes a text the screen finds as written, since its lower-cased text
    holds the word. RE2's case folding is not `lower()`'s: `İ` needed adding by hand."""
    import pyarrow

    written = [word for group in rules.DEFAULT_RULES.friction_lexicon.values() for word in group]
    words = [rules.fold(word) for word in written]
    base_of = {
        variant: base for base, variants in sql.ACCENT_VARIANTS.items() for variant in variants
    }
    code_points = [chr(point) for point in range(0x110000) if not 0xD800 <= point <= 0xDFFF]
    con.register("code_points", pyarrow.table({"c": code_points}))
    changed = con.execute("SELECT c, lower(c) FROM code_points WHERE lower(c) <> c").fetchall()
    con.unregister("code_points")
    texts = [word.upper() for word in written] + [word.title() for word in written]
    for char, lowered in changed:
        base = base_of.get(lowered, lowered)
        word = next((word for word in words if base in word), None)
        if word is not None:
            texts.append(word.replace(base, char, 1))
    assert len(texts) > 70 and "prİoridade" in texts and "EMERGÊNCIA" in texts
    screen = rules.friction_or_mark_sql("t")
    after_lowering = rules.any_friction_sql("lower(t)")
    for text in texts:
        assert evaluate(con, after_lowering, t=text), text  # the lower-cased text holds it
        assert evaluate(con, screen, t=text), text


def test_a_phrase_s_words_may_be_separated_by_any_whitespace(con):
    """Every code point Python calls whitespace (a no-break space from an e-mail's `&nbsp;`,
    an em space, a line separator...) separates a phrase's words, as a plain space does,
    for the screen and for the flags; RE2's own `\\s` knows only ASCII's five."""
    spaces = [chr(point) for point in range(0x110000) if chr(point).isspace()]
    assert len(spaces) > 20 and "\u00a0" in spaces and "\u3000" in spaces
    screen = rules.friction_or_mark_sql("t")
    urgency = rules.friction_flag_sql("urgency", "t")
    for space in spaces:
        text = f"Retorno PRA{space}ONTEM, por favor"
        assert evaluate(con, screen, t=text), repr(space)
        assert evaluate(con, urgency, t=text.lower()) == 1, repr(space)
    assert evaluate(con, urgency, t="pra\u200bontem") == 0  # a zero-width space is no space


@pytest.mark.parametrize(
    ("content", "flags"),
    [
        ("O sistema n\u00e3o\u00a0funciona", (0, 1, 0, True)),  # a no-break space
        ("Preciso disso pra\u2003ontem", (1, 0, 0, True)),  # an em space
    ],
)
def test_silver_flags_phrases_split_by_unicode_spaces(con, content, flags):
    assert silver_friction_flags(con, "Ligação", "Proposta", content) == flags


def silver_friction_flags(con, title, subject, content) -> tuple:
    """(urgency, failure, escalation, is_friction) of one valid interaction in silver."""
    con.execute(
        "CREATE TABLE typed AS SELECT DATE '2024-01-08' AS date, 'i.jsonl' AS source_file, "
        "1::BIGINT AS line_number, 1::BIGINT AS interaction_id, 5::BIGINT AS contact_id, "
        "7::BIGINT AS owner_id, TIMESTAMPTZ '2024-01-08 12:00:00+00' AS occurred_at, "
        "1::BIGINT AS type_id, ?::VARCHAR AS title, NULL::BIGINT AS deal_id, "
        "?::VARCHAR AS email_subject, ?::VARCHAR AS content, 'a@x.com' AS email_recipients, "
        "NULL::VARCHAR AS reject_reason",
        [title, subject, content],
    )
    con.execute(
        "CREATE TABLE versions AS SELECT DATE '2024-01-08' AS date, 'c.jsonl' AS source_file, "
        "1::BIGINT AS line_number, 5::BIGINT AS contact_id, 'company' AS contact_type, "
        "NULL::BIGINT AS company_id"
    )
    query = silver_rules.silver_interactions_sql("typed", "versions", DAY)
    (flags,) = con.execute(
        f"SELECT urgency_flag, failure_flag, escalation_flag, is_friction FROM ({query})"
    ).fetchall()
    return flags


# --------------------------------------------------------------------------- per day


def day_rows(con):
    """Four interactions on DAY (one a read receipt), none on the day after."""
    rows = [
        ("read_receipt", True, "direct"),
        (None, False, "direct"),
        (None, False, "via_person"),
        (None, False, "unresolved"),
    ]
    con.register(
        "interactions_",
        pd.DataFrame(
            [
                {"date": DAY, "noise_reason": reason, "is_noise": is_noise, "linkage": linkage}
                for reason, is_noise, linkage in rows
            ]
        ),
    )
    return [DAY, DAY + timedelta(days=1)]


def test_noise_summary_has_five_rows_a_day_even_without_interactions(con):
    days = day_rows(con)
    frame = con.execute(gold_rules.noise_summary_sql("interactions_", days)).df()
    summary = {
        (row.date.date(), row.category): (row.count, None if pd.isna(row.pct) else row.pct)
        for row in frame.itertuples()
    }
    assert summary == {
        (days[0], "read_receipt"): (1, 25.0),
        (days[0], "delivery_receipt"): (0, 0.0),
        (days[0], "mass_email"): (0, 0.0),
        (days[0], "noise_total"): (1, 25.0),
        (days[0], "valid"): (3, 75.0),
        (days[1], "read_receipt"): (0, None),
        (days[1], "delivery_receipt"): (0, None),
        (days[1], "mass_email"): (0, None),
        (days[1], "noise_total"): (0, None),
        (days[1], "valid"): (0, None),
    }


def test_contact_linkage_has_a_row_a_day_even_without_interactions(con):
    days = day_rows(con)
    rows = con.execute(gold_rules.contact_linkage_sql("interactions_", days)).fetchall()
    assert rows == [
        (days[0], 2, 1, 1, 0.5, 0.25, 0.25),
        (days[1], 0, 0, 0, None, None, None),
    ]


def test_per_day_tables_of_no_days_are_empty(con):
    day_rows(con)
    assert con.execute(gold_rules.noise_summary_sql("interactions_", [])).fetchall() == []
    assert con.execute(gold_rules.contact_linkage_sql("interactions_", [])).fetchall() == []


# --------------------------------------------------------------------------- volumetrics


def volumetrics(con, interactions, deals=()):
    con.register("interactions_", pd.DataFrame(interactions))
    deal_frame = pd.DataFrame(list(deals) or [{"company_id": -1, "amount": 0.0, "status": "open"}])
    con.register("deals_", deal_frame)
    frame = con.execute(gold_rules.cx_volumetrics_sql("interactions_", "deals_")).df()
    return {(row.owner_id, row.company_id): row for row in frame.itertuples()}


def test_velocity_over_a_span_shorter_than_a_week_is_the_total(con):
    rows = [interaction(i, 1, 10, T0 + timedelta(days=i)) for i in range(4)]  # 3-day span
    assert volumetrics(con, rows)[(1, 10)].interaction_velocity == pytest.approx(4.0)


def test_velocity_over_two_weeks_is_per_week(con):
    rows = [interaction(1, 1, 10, T0), interaction(2, 1, 10, T0 + timedelta(days=14))]
    rows += [interaction(3, 1, 10, T0 + timedelta(days=7))]
    assert volumetrics(con, rows)[(1, 10)].interaction_velocity == pytest.approx(3 / 2)


def test_velocity_span_uses_exact_time_not_calendar_days(con):
    rows = [interaction(1, 1, 10, T0), interaction(2, 1, 10, T0 + timedelta(days=10, hours=12))]
    assert volumetrics(con, rows)[(1, 10)].interaction_velocity == pytest.approx(2 / 1.5)


def test_noise_and_unresolved_companies_are_left_out(con):
    rows = [
        interaction(1, 1, 10, T0),
        interaction(2, 1, 10, T0, noise=True),
        interaction(3, 1, None, T0),
    ]
    result = volumetrics(con, rows)
    assert list(result) == [(1, 10)]
    assert result[(1, 10)].total_interactions == 1


def test_manager_load_and_neediness(con):
    rows = [interaction(i, 1, 10, T0) for i in range(6)] + [interaction(9, 1, 20, T0)]
    rows += [interaction(20 + i, 2, 20, T0) for i in range(3)]
    deals = [
        {"company_id": 10, "amount": 1000.0, "status": "won"},
        {"company_id": 10, "amount": 500.0, "status": "open"},
        {"company_id": 20, "amount": 0.0, "status": "lost"},
    ]
    result = volumetrics(con, rows, deals)
    assert result[(1, 10)].manager_load == pytest.approx((6 + 1) / 2)
    assert result[(2, 20)].manager_load == pytest.approx(3)
    assert result[(1, 10)].neediness_ratio == pytest.approx(6 / 1500)
    assert pd.isna(result[(1, 20)].neediness_ratio)  # the company's deals sum to 0


def emails(directions, *, subject="thread-a", owner=1, company=10, start=0):
    return [
        interaction(
            start + i, owner, company, T0 + timedelta(hours=i), direction=d, subject=subject
        )
        for i, d in enumerate(directions)
    ]


def test_long_thread_needs_three_direction_changes(con):
    three_changes = emails(["inbound", "outbound", "inbound", "outbound"])
    two_changes = emails(["inbound", "outbound", "outbound", "inbound"], subject="b", start=10)
    assert volumetrics(con, three_changes)[(1, 10)].long_thread_count == 1
    assert volumetrics(con, two_changes)[(1, 10)].long_thread_count == 0


def test_long_thread_is_counted_in_time_order_not_row_order(con):
    rows = emails(["inbound", "outbound", "inbound", "outbound"])
    assert volumetrics(con, list(reversed(rows)))[(1, 10)].long_thread_count == 1


def test_emails_at_the_same_instant_are_taken_in_id_order_whatever_order_they_come_in(con):
    """out (1), in (2) and out (3) at one instant, then in (4): in id order 3 changes, a
    long thread; taken as they came, ties could give 1 change one run and 3 the next."""
    rows = emails(["outbound", "inbound", "outbound", "inbound"])
    for row in rows[1:3]:
        row["occurred_at"] = rows[1]["occurred_at"]
    con.register("deals_", pd.DataFrame([{"company_id": -1, "amount": 0.0, "status": "open"}]))
    volumetrics_sql = gold_rules.cx_volumetrics_sql("interactions_", "deals_")
    query = f"SELECT long_thread_count FROM ({volumetrics_sql})"
    assert results_in_every_order(con, pd.DataFrame(rows), "interactions_", query) == {((1,),)}


def test_thread_changes_only_count_within_the_pairs_own_emails(con):
    # another manager's replies in the same company thread do not make this pair's thread long
    mine = emails(["inbound", "inbound"], owner=1)
    theirs = emails(["outbound", "outbound"], owner=2, start=10)
    result = volumetrics(con, mine + theirs)
    assert result[(1, 10)].long_thread_count == 0


def keyed(text: str, key: bytes = DEFAULT_HASH_KEY.encode()) -> str:
    return hashlib.sha256(key + b"\0" + text.encode()).hexdigest()


def test_thread_key_is_a_keyed_hash_of_the_subject(con):
    # An unkeyed hash of "contrato ana@cliente.com", or of a name, could be found by hashing
    # candidates: the subject is hashed with the secret.
    key = evaluate(con, rules.thread_subject_key_sql("s"), s="RE: Contrato ana@cliente.com")
    assert key == keyed("contrato ana@cliente.com")
    assert key != hashlib.sha256(b"contrato ana@cliente.com").hexdigest()
    assert evaluate(con, rules.thread_subject_key_sql("s"), s="RE: ") is None
    named = evaluate(con, rules.thread_subject_key_sql("s"), s="Zuleica Quaresma")
    assert named == keyed("zuleica quaresma")
    assert named != hashlib.sha256(b"zuleica quaresma").hexdigest()


def test_thread_key_follows_the_hash_key_and_needs_one(monkeypatch):
    monkeypatch.setenv(HASH_KEY_ENV, "another-secret")
    session = duckdb.connect()
    bind_hash_key(session)
    key = evaluate(session, rules.thread_subject_key_sql("s"), s="Proposta")
    assert key == keyed("proposta", b"another-secret")
    unbound = duckdb.connect()
    with pytest.raises(duckdb.InvalidInputException, match="no hash key bound"):
        evaluate(unbound, rules.thread_subject_key_sql("s"), s="Proposta")


def test_subjects_differing_only_in_a_number_or_an_address_are_two_threads(con):
    # Masking contacts before hashing made both `pedido [phone]`: one thread whose e-mails
    # alternated in and out, a long thread that was two quiet ones.
    for first, second in [
        ("Pedido 123456789", "RE: Pedido 987654321"),
        ("Contrato ana@cliente.com", "Contrato bia@cliente.com"),
    ]:
        keys = [evaluate(con, rules.thread_subject_key_sql("s"), s=s) for s in (first, second)]
        assert keys[0] != keys[1]


def test_thread_across_reply_prefixes_is_one_thread(con):
    subjects = ["Proposta", "RE: Proposta", "RES: RE: Proposta", "ENC: proposta"]
    keys = [evaluate(con, rules.thread_subject_key_sql("s"), s=s) for s in subjects]
    assert len(set(keys)) == 1
    rows = [
        interaction(i, 1, 10, T0 + timedelta(hours=i), direction=d, subject=keys[i])
        for i, d in enumerate(["inbound", "outbound", "inbound", "outbound"])
    ]
    assert volumetrics(con, rows)[(1, 10)].long_thread_count == 1


# --------------------------------------------------------------------------- heat map


def test_temporal_heat_has_168_slots_in_sao_paulo_time(con):
    friday_1500_local = datetime(2024, 1, 5, 18, 0, tzinfo=T0.tzinfo)  # 15:00 in São Paulo
    friday_1300_local = datetime(2024, 1, 5, 16, 0, tzinfo=T0.tzinfo)
    friday_1430_local = datetime(2024, 1, 5, 17, 30, tzinfo=T0.tzinfo)
    monday_0200_local = datetime(2024, 1, 8, 5, 0, tzinfo=T0.tzinfo)
    rows = [
        {**interaction(1, 1, 10, friday_1500_local), "is_friction": True},
        {**interaction(2, 1, 10, friday_1300_local), "is_friction": True},
        {**interaction(5, 1, 10, friday_1430_local), "is_friction": True},
        interaction(3, 1, 10, monday_0200_local),
        {**interaction(4, 1, 10, monday_0200_local, noise=True), "is_friction": False},
    ]
    con.register("interactions_", pd.DataFrame(rows))
    heat = (
        con.execute(gold_rules.temporal_heat_sql("interactions_"))
        .df()
        .set_index(["day_of_week", "hour"])
    )
    assert len(heat) == 168
    assert heat.loc[(4, 15)].tolist() == [1, 1, 1]
    assert heat.loc[(4, 14)].tolist() == [1, 1, 1]  # from 14:00
    assert heat.loc[(4, 13)].tolist() == [1, 1, 0]  # before 14:00
    assert heat.loc[(0, 2)].tolist() == [1, 0, 0]  # noise not counted
    assert heat["interaction_count"].sum() == 4


def test_friction_score_is_the_sum_of_the_three_flags(con):
    flagged = [(1, 0, 1), (1, 1, 1), (0, 1, 0), (0, 0, 0)]
    rows = [
        {
            **interaction(n, 1, 10, T0 + timedelta(hours=n)),
            "urgency_flag": urgency,
            "failure_flag": failure,
            "escalation_flag": escalation,
            "is_friction": urgency + failure + escalation > 0,
        }
        for n, (urgency, failure, escalation) in enumerate(flagged)
    ]
    con.register("interactions_", pd.DataFrame(rows))
    frame = con.execute(gold_rules.friction_heuristics_sql("interactions_")).df()
    assert frame["friction_score"].tolist() == [2, 3, 1]  # the row without friction is left out


# --------------------------------------------------------------------------- sales velocity


def test_sales_velocity_worked_example(con):
    created = datetime(2024, 1, 1, tzinfo=T0.tzinfo)
    deals = pd.DataFrame(
        [
            {"deal_id": 1, "owner_id": 7, "status": "open", "amount": 50.0},
            {"deal_id": 2, "owner_id": 7, "status": "open", "amount": 70.0},
            {"deal_id": 3, "owner_id": 7, "status": "won", "amount": 100.0, "days": 10},
            {"deal_id": 4, "owner_id": 7, "status": "won", "amount": 300.0, "days": 30},
            {"deal_id": 5, "owner_id": 7, "status": "lost", "amount": 999.0, "days": 5},
            {"deal_id": 6, "owner_id": 8, "status": "lost", "amount": 10.0, "days": 2},
        ]
    )
    deals["created_at"] = created
    deals["finished_at"] = [
        None if pd.isna(d) else created + timedelta(days=d) for d in deals.pop("days")
    ]
    con.register("deals_", deals)
    con.register("users_", pd.DataFrame({"user_id": [7, 8, 9]}))
    result = (
        con.execute(gold_rules.sales_velocity_sql("deals_", "users_")).df().set_index("owner_id")
    )
    seven = result.loc[7]
    assert seven.open_deals == 2
    assert seven.win_rate == pytest.approx(2 / 3)
    assert seven.avg_won_amount == pytest.approx(200.0)
    assert seven.avg_cycle_days == pytest.approx(20.0)
    assert seven.velocity_per_day == pytest.approx(2 * (2 / 3) * 200.0 / 20.0)
    assert result.loc[8].win_rate == 0.0 and pd.isna(result.loc[8].velocity_per_day)
    assert pd.isna(result.loc[9].win_rate)  # a manager with no closed deals


def test_decomposed_accents_match_like_composed_ones(con):
    """`emerge\u0302ncia` (e + combining circumflex) is `emergência` once in NFC."""
    decomposed = "Caso de emerge\u0302ncia no cliente"
    stripped = rules.without_combining_marks_sql("t")
    flag = rules.friction_flag_sql("urgency", "searchable")
    query = f"SELECT {flag} FROM (SELECT {stripped} AS searchable FROM (SELECT lower(?) AS t))"
    assert con.execute(query, [decomposed]).fetchone()[0] == 1
    assert con.execute(query, ["Caso de emergência"]).fetchone()[0] == 1


# --------------------------------------------------------------------------- sums of amounts


def test_amount_sums_and_means_are_the_same_to_the_last_digit_whatever_order_deals_come_in(con):
    created = datetime(2024, 1, 1, tzinfo=T0.tzinfo)
    # Three won deals of one company and one manager: their amounts and cycles (0.1, 0.2
    # and 0.3 days) add up differently in different orders.
    deals = pd.DataFrame(
        {
            "deal_id": [1, 2, 3],
            "owner_id": 7,
            "company_id": 10,
            "status": "won",
            "amount": ORDER_SENSITIVE,
            "created_at": created,
            "finished_at": [created + timedelta(days=days) for days in ORDER_SENSITIVE],
        }
    )
    con.register("users_", pd.DataFrame({"user_id": [7]}))
    con.register("interactions_", pd.DataFrame([interaction(1, 7, 10, T0)]))
    con.register("contacts_", pd.DataFrame({"contact_id": [10], "contact_type": "company"}))
    queries = {
        "sales velocity": gold_rules.sales_velocity_sql("deals_", "users_"),
        "volumetrics": gold_rules.cx_volumetrics_sql("interactions_", "deals_"),
        "segmentation": company_rules.segmentation_sql("interactions_", "contacts_", "deals_"),
    }
    for name, query in queries.items():
        assert len(results_in_every_order(con, deals, "deals_", query)) == 1, name


def test_person_names_are_each_persons_names_under_every_company_once(con):
    """Hand-worked: Ana Lúcia Souza (person 10) delivered on two days, the same both times,
    then in another company under two more spellings sharing words; a company; a person
    without a name; a record that is not JSON. Each of a person's names once per company
    (however often delivered), and once per company for the company."""
    import json

    def record(**fields) -> str:
        return json.dumps(fields, ensure_ascii=False)

    raws = [
        record(Id=10, Name="Ana Lúcia  Souza", TypeId=1, CompanyId=1),
        record(Id=1, Name="Acme Ltda", TypeId=2, CompanyId=None),
        record(Id=10, Name="Ana Lúcia  Souza", TypeId=1, CompanyId=1),  # the next day, again
        record(Id=10, Name="Ana Lucia Souza-Reis", TypeId=1, CompanyId=2),
        record(Id=10, Name="Ana Lucia Souza", TypeId=1, CompanyId=2),
        record(Id=11, Name=None, TypeId=1, CompanyId=1),
        "{not json",
    ]
    con.register(
        "contacts", pd.DataFrame({"raw": raws, "read_error": [None] * len(raws)}, dtype=object)
    )
    rows = con.sql(silver_rules.person_names_sql("contacts")).fetchall()
    first_spelling = [
        ("Ana Lúcia Souza", "ana", "souza", True),
        ("Ana", "ana", "ana", False),
        ("Lúcia", "lucia", "lucia", False),
        ("Souza", "souza", "souza", False),
    ]
    in_the_second_company = [
        ("Ana Lucia Souza-Reis", "ana", "reis", True),
        ("Ana Lucia Souza", "ana", "souza", True),
        ("Ana", "ana", "ana", False),
        ("Lucia", "lucia", "lucia", False),
        ("Souza", "souza", "souza", False),
        ("Reis", "reis", "reis", False),
    ]
    expected = (
        [(10, *name) for name in first_spelling + in_the_second_company]
        + [(1, *name) for name in first_spelling]
        + [(2, *name) for name in in_the_second_company]
    )
    assert sorted(rows) == sorted(expected)
