"""CRM silver rules on hand-worked rows: contacts resolved from their versions, friction
flags over an interaction's fields and person names, run with the same SQL the assets run."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pandas as pd
import pytest

from cx_assets.crm import silver_rules
from cx_assets_tests.crm.rule_rows import DAY

# --------------------------------------------------------------------------- silver


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


@pytest.mark.parametrize(
    ("versions", "linkage", "company_id"),
    [
        ([("c.jsonl", 1, 10), ("c.jsonl", 2, 20)], "via_person", 20),  # one file: the later line
        ([("b.jsonl", 1, 20), ("a.jsonl", 5, 10)], "via_person", 20),  # the later file
        ([("c.jsonl", 1, 10), ("c.jsonl", 2, None)], "unresolved", None),  # left its company
    ],
)
def test_a_contacts_later_record_of_a_day_is_its_version_of_the_day(
    con, versions, linkage, company_id
):
    """Contract section 2: the latest version of an `Id` wins; of a day's files the later
    (by name), in one file the later line. Each version puts person 7 in another company,
    or none: a person without a company is unresolved (contract 4.1)."""
    con.execute(
        "CREATE TABLE typed AS SELECT DATE '2024-01-08' AS date, 'i.jsonl' AS source_file, "
        "1::BIGINT AS line_number, 1::BIGINT AS interaction_id, 7::BIGINT AS contact_id, "
        "3::BIGINT AS owner_id, TIMESTAMPTZ '2024-01-08 12:00:00+00' AS occurred_at, "
        "1::BIGINT AS type_id, 'Ligação' AS title, NULL::BIGINT AS deal_id, "
        "NULL::VARCHAR AS email_subject, 'Olá' AS content, NULL::VARCHAR AS email_recipients, "
        "NULL::VARCHAR AS reject_reason"
    )
    con.execute(
        "CREATE TABLE versions (date DATE, source_file VARCHAR, line_number BIGINT, "
        "contact_id BIGINT, contact_type VARCHAR, company_id BIGINT)"
    )
    for file, line, company in versions:
        con.execute(
            "INSERT INTO versions VALUES (DATE '2024-01-08', ?, ?, 7, 'person', ?)",
            [file, line, company],
        )
    query = silver_rules.silver_interactions_sql("typed", "versions", DAY)
    assert con.execute(f"SELECT linkage, company_id FROM ({query})").fetchall() == [
        (linkage, company_id)
    ]


def test_a_persons_company_is_the_one_delivered_by_the_interactions_day(con):
    """Person 7 is delivered in company 10 on January 5 and in company 20 on the 8th, the
    last day: an interaction of the 4th is unresolved (no version yet), one of the 6th is
    company 10's (the version of the 8th is later), one of the 8th company 20's (contract
    4.1, resolved as of the interaction's day). Found by mutation testing: the version of a
    later day taken, or one version per contact whatever its day, passed every test."""
    con.execute(
        "CREATE TABLE typed AS SELECT day AS date, 'i.jsonl' AS source_file, "
        "1::BIGINT AS line_number, id::BIGINT AS interaction_id, 7::BIGINT AS contact_id, "
        "3::BIGINT AS owner_id, day + TIME '12:00' AS occurred_at, 1::BIGINT AS type_id, "
        "'Ligação' AS title, NULL::BIGINT AS deal_id, NULL::VARCHAR AS email_subject, "
        "'Olá' AS content, NULL::VARCHAR AS email_recipients, NULL::VARCHAR AS reject_reason "
        "FROM (VALUES (1, DATE '2024-01-04'), (2, DATE '2024-01-06'), (3, DATE '2024-01-08')) "
        "t(id, day)"
    )
    con.execute(
        "CREATE TABLE versions AS SELECT day AS date, 'c.jsonl' AS source_file, "
        "1::BIGINT AS line_number, 7::BIGINT AS contact_id, 'person' AS contact_type, "
        "company::BIGINT AS company_id "
        "FROM (VALUES (DATE '2024-01-05', 10), (DATE '2024-01-08', 20)) t(day, company)"
    )
    query = silver_rules.silver_interactions_sql("typed", "versions", DAY)
    assert con.execute(
        f"SELECT interaction_id, linkage, company_id FROM ({query}) ORDER BY interaction_id"
    ).fetchall() == [(1, "unresolved", None), (2, "via_person", 10), (3, "via_person", 20)]


UNKNOWN_STATUS = 'field "StatusId" is not 1 (open), 2 (won) or 3 (lost)'


@pytest.mark.parametrize(
    ("status_id", "finished_at", "status", "reason"),
    [
        (1, None, "open", None),
        (2, "2024-01-08 10:00:00+00", "won", None),  # finished the instant it was created
        (3, "2024-01-08 11:30:00+00", "lost", None),
        (0, None, None, UNKNOWN_STATUS),
        (4, None, None, UNKNOWN_STATUS),
        (2, "2024-01-08 09:59:59+00", "won", 'field "FinishDate" is before "CreateDate"'),
    ],
)
def test_a_deals_status_by_name_and_a_finish_before_its_creation_quarantined(
    con, status_id, finished_at, status, reason
):
    """Contract section 2: StatusId 1 open, 2 won, 3 lost; any other is a bad record. A deal
    created at 10:00 may finish at that very instant (a cycle of 0 days), not a second
    before: its negative cycle would lower avg_cycle_days."""
    typed_deal(con, "Proposta", status_id, finished_at)
    query = silver_rules.silver_deals_sql("typed")
    assert con.execute(f"SELECT status, reject_reason FROM ({query})").fetchall() == [
        (status, reason)
    ]


def typed_deal(con, title, status_id=1, finished_at=None) -> None:
    """The typed record `typed` of one deal of company 5, created 2024-01-08 10:00."""
    con.execute(
        "CREATE TABLE typed AS SELECT DATE '2024-01-08' AS date, 'd.jsonl' AS source_file, "
        "1::BIGINT AS line_number, 1::BIGINT AS deal_id, 5::BIGINT AS company_id, "
        "7::BIGINT AS owner_id, ?::VARCHAR AS title, 100.0::DOUBLE AS amount, "
        "1::BIGINT AS stage_id, ?::BIGINT AS status_id, "
        "TIMESTAMPTZ '2024-01-08 10:00:00+00' AS created_at, ?::TIMESTAMPTZ AS finished_at, "
        "NULL::VARCHAR AS reject_reason",
        [title, status_id, finished_at],
    )


def test_a_typed_record_already_rejected_is_left_out_of_silver(con):
    """Line 2 of each file failed typing (a reason already given): it is quarantined, and
    neither silver interactions nor deals keep it. Found by mutation testing: either kept
    passed every test."""
    rejected = "SELECT * REPLACE (2::BIGINT AS line_number, 'bad' AS reject_reason) FROM typed"
    silver_interaction(con, "Ligação", None, "Olá", "title")
    con.execute(f"INSERT INTO typed {rejected}")
    query = silver_rules.silver_interactions_sql("typed", "versions", DAY)
    assert con.execute(f"SELECT line_number FROM ({query})").fetchall() == [(1,)]
    con.execute("DROP TABLE typed")
    typed_deal(con, "Proposta")
    con.execute(f"INSERT INTO typed {rejected}")
    query = silver_rules.silver_deals_sql("typed")
    assert con.execute(f"SELECT line_number FROM ({query})").fetchall() == [(1,)]


def test_a_title_with_no_person_known_still_has_contacts_masked(con):
    """Before any contact landed (no person names), an interaction's title and a deal's
    still have e-mail addresses and phone numbers masked (contract 5). Found by mutation
    testing: either title kept as written when no name was found in it passed every test."""
    title = "Retorno para ana.lima@cliente.com.br ou +55 11 98888-7777"
    masked = "Retorno para [email] ou [phone]"
    assert silver_interaction(con, title, None, "Olá", "title") == (masked,)
    con.execute("DROP TABLE typed")
    typed_deal(con, title)
    query = silver_rules.silver_deals_sql("typed")
    assert con.execute(f"SELECT title FROM ({query})").fetchall() == [(masked,)]


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
    return silver_interaction(
        con, title, subject, content, "urgency_flag, failure_flag, escalation_flag, is_friction"
    )


def silver_interaction(con, title, subject, content, columns: str) -> tuple:
    """`columns` of one interaction (of company 5, one recipient) in silver."""
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
    (row,) = con.execute(f"SELECT {columns} FROM ({query})").fetchall()
    return row


def test_a_noise_interaction_is_noise_and_never_friction(con):
    """Worked from contract 4.1: a subject starting `Lida:` is a read receipt, so noise,
    whatever its body says; friction is looked for in valid interactions only, so its
    `urgente` flags nothing and it is not friction (false, not unknown)."""
    row = silver_interaction(
        con,
        "E-mail recebido.",
        "Lida: Proposta",
        "Urgente, por favor",
        "noise_reason, is_noise, urgency_flag, failure_flag, escalation_flag, is_friction",
    )
    assert row == ("read_receipt", True, 0, 0, 0, False)


# --------------------------------------------------------------------------- person names


def test_a_title_naming_a_person_and_a_contact_of_theirs_has_both_masked(con):
    """Person 7, Ana Lima of company 5, is named in an interaction's title on her, with her
    colleague Beto (person 8), and in a deal's title on company 5 (owned by user 3) by first
    name beside Beto Souza in full, each beside her e-mail address or phone number: the
    names and the address or number are masked in both (contract 5: none of them leaves
    bronze). Found by mutation testing: a deal's title looked up under its owner's people,
    not its company's, passed every test while the title named her in full."""
    raws = [
        json.dumps({"Id": 7, "Name": "Ana Lima", "TypeId": 1, "CompanyId": 5}),
        json.dumps({"Id": 8, "Name": "Beto Souza", "TypeId": 1, "CompanyId": 5}),
    ]
    con.register("contacts", pd.DataFrame({"raw": raws, "read_error": [None] * 2}, dtype=object))
    con.execute(f"CREATE TABLE person_names AS {silver_rules.person_names_sql('contacts')}")
    con.execute(
        "CREATE TABLE versions AS SELECT DATE '2024-01-08' AS date, 'c.jsonl' AS source_file, "
        "1::BIGINT AS line_number, 7::BIGINT AS contact_id, 'person' AS contact_type, "
        "5::BIGINT AS company_id"
    )
    con.execute(
        "CREATE TABLE interactions AS SELECT DATE '2024-01-08' AS date, "
        "'i.jsonl' AS source_file, 1::BIGINT AS line_number, 1::BIGINT AS interaction_id, "
        "7::BIGINT AS contact_id, 3::BIGINT AS owner_id, "
        "TIMESTAMPTZ '2024-01-08 12:00:00+00' AS occurred_at, 1::BIGINT AS type_id, "
        "'Ligar para Ana e Beto: ana.lima@cliente.com.br' AS title, NULL::BIGINT AS deal_id, "
        "NULL::VARCHAR AS email_subject, 'Olá' AS content, NULL::VARCHAR AS email_recipients, "
        "NULL::VARCHAR AS reject_reason"
    )
    con.execute(
        "CREATE TABLE deals AS SELECT DATE '2024-01-08' AS date, 'd.jsonl' AS source_file, "
        "1::BIGINT AS line_number, 1::BIGINT AS deal_id, 5::BIGINT AS company_id, "
        "3::BIGINT AS owner_id, 'Proposta Ana e Beto Souza +55 11 98888-7777' AS title, "
        "100.0::DOUBLE AS amount, 1::BIGINT AS stage_id, 1::BIGINT AS status_id, "
        "TIMESTAMPTZ '2024-01-08 10:00:00+00' AS created_at, NULL::TIMESTAMPTZ AS finished_at, "
        "NULL::VARCHAR AS reject_reason"
    )
    interactions = silver_rules.silver_interactions_sql(
        "interactions", "versions", DAY, person_names="person_names"
    )
    deals = silver_rules.silver_deals_sql("deals", "person_names")
    assert con.execute(f"SELECT title FROM ({interactions})").fetchall() == [
        ("Ligar para [name] e [name]: [email]",)
    ]
    assert con.execute(f"SELECT title FROM ({deals})").fetchall() == [
        ("Proposta [name] e [name] [phone]",)
    ]


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


def test_names_in_titles_look_only_at_the_titles_own_contacts_namesakes(con):
    """Found in a landing-shape audit: each distinct title was first paired with every
    person anywhere whose first name is one of its words, and only then kept to its own
    contact's, so the pairs grew with titles times namesakes: 8.3 million for a scale-3 CRM
    day's 4,500 deals (1 million at scale 1), and the deals' silver step peaked 780 MB above
    the process. 1,000 titles each naming the one Ana of their company, among 3,000 Anas of
    other companies, now fit in 64 MB, and each title finds only its own Ana's names."""

    def surname(number: int) -> str:
        letters = ""
        for _ in range(4):
            number, digit = divmod(number, 26)
            letters += chr(ord("a") + digit)
        return "B" + letters

    raws = [
        json.dumps({"Id": 10_000 + i, "Name": f"Ana {surname(i)}", "TypeId": 1, "CompanyId": i})
        for i in range(3_000)
    ]
    con.register(
        "contacts", pd.DataFrame({"raw": raws, "read_error": [None] * len(raws)}, dtype=object)
    )
    con.execute(f"CREATE TABLE person_names AS {silver_rules.person_names_sql('contacts')}")
    con.register(
        "titled",
        pd.DataFrame(
            {
                "source_file": "deals.jsonl",
                "line_number": range(1, 1_001),
                "title": [f"Proposta para Ana {surname(i)}" for i in range(1_000)],
                "contact_id": range(1_000),
            }
        ),
    )
    con.execute("SET threads = 1")
    con.execute("SET memory_limit = '64MB'")
    con.execute("SET temp_directory = ''")  # no spilling to disk: a query over it fails

    rows = con.sql(
        f"SELECT line_number, list_sort(names) FROM "
        f"({silver_rules.names_in_titles_sql('titled', 'person_names')}) ORDER BY line_number"
    ).fetchall()

    assert len(rows) == 1_000
    assert rows[0] == (1, sorted(["Ana", "Ana Baaaa", "Baaaa"]))
    assert rows[999] == (1_000, sorted(["Ana", f"Ana {surname(999)}", surname(999)]))


def test_a_title_repeated_on_another_company_takes_none_of_the_first_ones_names(con):
    """The title "Falar com Ana" is on company 1, whose person Ana Lima it may name (the name's
    variants with the title's word 'ana' as first word: Ana, Ana Lima), and on company 2,
    with no Ana: the same text holds no name known on company 2, so line 2 has none. Line 3,
    on company 2 too, names her in full: a full name is masked whoever the title is on
    (contract 5), her first name alone is not (found by mutation testing: the full names of
    anyone left out passed every silver rule test)."""
    raw = json.dumps({"Id": 10, "Name": "Ana Lima", "TypeId": 1, "CompanyId": 1})
    con.register("contacts", pd.DataFrame({"raw": [raw], "read_error": [None]}, dtype=object))
    con.execute(f"CREATE TABLE person_names AS {silver_rules.person_names_sql('contacts')}")
    con.register(
        "titled",
        pd.DataFrame(
            {
                "source_file": "deals.jsonl",
                "line_number": [1, 2, 3],
                "title": ["Falar com Ana", "Falar com Ana", "Falar com Ana Lima"],
                "contact_id": [1, 2, 2],
            }
        ),
    )
    rows = con.sql(
        f"SELECT line_number, list_sort(names) FROM "
        f"({silver_rules.names_in_titles_sql('titled', 'person_names')}) ORDER BY line_number"
    ).fetchall()
    assert rows == [(1, ["Ana", "Ana Lima"]), (3, ["Ana Lima"])]


def test_titles_of_other_days_still_naming_a_person_new_on_the_runs_days_are_counted(con):
    """The run of January 6, which January 7 is rebuilt with: Zed Quuxley (person 12 of
    company 10) is first delivered on the 6th; Joana (11) of company 10 and Bia (13) of
    company 20 came on the 5th. Counted per other day, the titles still holding a name of
    Zed's, on Zed, his company or a colleague: on the 4th, "Zed ligou" on 10; on the 5th,
    "Ligação com Zed Quuxley" on 12, "Retorno para zed" twice on 10 (two interactions) and
    "Falar com Zed" on 11, not "E-mail enviado." on 11 (no name) nor "Falar com Zed" on
    13 (another company's person, by first name only); the 6th is the run's own day and
    the 7th is rebuilt with it. Joana, delivered again on the 6th, is not new: "Ligar para
    Joana" on the 5th is not counted (found by mutation testing: a person new by their
    last delivery, not their first, passed every test)."""
    records = [
        ("2024-01-04", {"Id": 10, "Name": "Empresa 10", "TypeId": 2}),
        ("2024-01-05", {"Id": 11, "Name": "Joana Cliente", "TypeId": 1, "CompanyId": 10}),
        ("2024-01-05", {"Id": 13, "Name": "Bia Reis", "TypeId": 1, "CompanyId": 20}),
        ("2024-01-06", {"Id": 12, "Name": "Zed Quuxley", "TypeId": 1, "CompanyId": 10}),
        ("2024-01-06", {"Id": 11, "Name": "Joana Cliente", "TypeId": 1, "CompanyId": 10}),
    ]
    con.register(
        "contacts",
        pd.DataFrame(
            {
                "date": pd.to_datetime([day for day, _ in records]).date,
                "raw": [json.dumps(record) for _, record in records],
                "read_error": [None] * len(records),
            },
            dtype=object,
        ),
    )
    con.register(
        "versions",
        pd.DataFrame(
            {
                "date": pd.to_datetime([day for day, _ in records]).date,
                "contact_id": [record["Id"] for _, record in records],
                "contact_type": ["company", "person", "person", "person", "person"],
                "company_id": pd.array([None, 10, 20, 10, 10], dtype="Int64"),
            }
        ),
    )
    titles = [
        ("2024-01-04", 10, "Zed ligou"),
        ("2024-01-05", 12, "Ligação com Zed Quuxley"),
        ("2024-01-05", 10, "Retorno para zed"),
        ("2024-01-05", 10, "Retorno para zed"),
        ("2024-01-05", 11, "Falar com Zed"),
        ("2024-01-05", 11, "E-mail enviado."),
        ("2024-01-05", 10, "Ligar para Joana"),
        ("2024-01-05", 13, "Falar com Zed"),
        ("2024-01-06", 12, "Zed de novo"),
        ("2024-01-07", 10, "Zed outra vez"),
    ]
    con.register(
        "titled",
        pd.DataFrame(
            {
                "date": pd.to_datetime([day for day, _, _ in titles]).date,
                "source_file": "interactions.jsonl",
                "line_number": range(1, len(titles) + 1),
                "title": [title for _, _, title in titles],
                "contact_id": [contact for _, contact, _ in titles],
            }
        ),
    )
    query = silver_rules.names_left_in_other_days_sql(
        "titled", "contact_id", "versions", "contacts", [date(2024, 1, 6)],
        rebuilt=[date(2024, 1, 7)],
    )  # fmt: skip
    assert con.execute(query).fetchall() == [(date(2024, 1, 4), 1), (date(2024, 1, 5), 4)]
