"""CRM row rules (noise, friction, thread subjects) on hand-worked cases, evaluated with
the same SQL the assets run."""

from __future__ import annotations

import hashlib
import re

import duckdb
import pytest

from cx_assets.crm import rules
from cx_assets.lakehouse import sql
from cx_assets.lakehouse.privacy import DEFAULT_HASH_KEY, HASH_KEY_ENV, bind_hash_key
from cx_assets_tests.crm.rule_rows import evaluate


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


@pytest.mark.parametrize(
    ("recipients", "count"),
    [(None, 0), ("", 0), (" a@x.com ; ;b@x.com;", 2)],
)
def test_the_recipient_count_silver_keeps_is_a_number_even_without_recipients(
    con, recipients, count
):
    """`EmailRecipients` may be null (contract 2): no address, a count of 0, never null
    (silver keeps the count as a column)."""
    assert evaluate(con, rules.recipient_count_sql("recipients"), recipients=recipients) == count


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
        ("o app naofunciona", (0, 0, 0)),  # a phrase's words run together are no phrase
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


@pytest.mark.parametrize(
    ("change", "said"),
    [
        # 60 + 20 + 30 + 15: a silent company of friction and lost deals scored 125, and
        # crm_churn_risk failed its 0-100 schema mid-run, never written
        ({"churn_weights": {**rules.DEFAULT_CHURN_WEIGHTS, "recency": 0.6}}, "sum to 1"),
        # 30 + 20 + 30 + 15: a score that could never pass 95
        ({"churn_weights": {**rules.DEFAULT_CHURN_WEIGHTS, "recency": 0.3}}, "sum to 1"),
        # 35.0001 + 20 + 30 + 15: a score over 100 by a ten-thousandth
        ({"churn_weights": {**rules.DEFAULT_CHURN_WEIGHTS, "recency": 0.350001}}, "sum to 1"),
        ({"churn_weights": {"recency": 0.5, "trend": 0.2, "friction": 0.3}}, "lost_deals"),
        ({"churn_weights": {**rules.DEFAULT_CHURN_WEIGHTS, "mood": 0.0}}, "mood"),
        (
            {"churn_weights": {"recency": 1.2, "trend": -0.2, "friction": 0.0, "lost_deals": 0.0}},
            ">= 0",
        ),
        ({"churn_weights": {**rules.DEFAULT_CHURN_WEIGHTS, "trend": float("nan")}}, ">= 0"),
        ({"churn_weights": {**rules.DEFAULT_CHURN_WEIGHTS, "trend": float("inf")}}, "finite"),
        ({"churn_medium_from": 70.0}, "0 <= churn_medium_from <= churn_high_from <= 100"),
        ({"churn_high_from": 120.0}, "0 <= churn_medium_from <= churn_high_from <= 100"),
        ({"churn_high_from": 100.5}, "0 <= churn_medium_from <= churn_high_from <= 100"),
        ({"churn_medium_from": -0.5}, "0 <= churn_medium_from <= churn_high_from <= 100"),
        ({"churn_medium_from": float("nan")}, "0 <= churn_medium_from"),
        ({"churn_silence_days_for_full_risk": 0.0}, "churn_silence_days_for_full_risk"),
        ({"churn_silence_days_for_full_risk": float("inf")}, "finite and > 0"),
        ({"churn_trend_window_days": 0}, "churn_trend_window_days"),
    ],
)
def test_churn_settings_that_break_the_0_to_100_score_are_refused_saying_why(change, said):
    """A missing weight was a KeyError ('lost_deals') in the SQL builder; weights over 1 gave
    scores above 100, which failed the gold table's schema mid-run."""
    with pytest.raises(ValueError, match=re.escape(said)):
        rules.CrmRules(**change)


def test_churn_weights_of_another_split_that_sum_to_1_are_kept():
    weights = {"recency": 0.25, "trend": 0.25, "friction": 0.4, "lost_deals": 0.1}
    assert rules.CrmRules(churn_weights=weights).churn_weights == weights


@pytest.mark.parametrize(
    "change",
    [
        # weights of 0 leave a component out (docs/crm.md: each weight >= 0)
        {"churn_weights": {"recency": 0.5, "trend": 0.0, "friction": 0.5, "lost_deals": 0.0}},
        {"churn_medium_from": 0.0, "churn_high_from": 100.0},  # no low band, high at 100 only
        {"churn_medium_from": 45.0, "churn_high_from": 45.0},  # no medium band
        {"churn_trend_window_days": 1},  # the shortest window: a day
    ],
)
def test_churn_settings_on_the_edges_of_what_is_refused_are_kept(change):
    kept = rules.CrmRules(**change)
    assert {name: getattr(kept, name) for name in change} == change


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


def test_decomposed_accents_match_like_composed_ones(con):
    """`emerge\u0302ncia` (e + combining circumflex) is `emergência` once in NFC."""
    decomposed = "Caso de emerge\u0302ncia no cliente"
    stripped = rules.without_combining_marks_sql("t")
    flag = rules.friction_flag_sql("urgency", "searchable")
    query = f"SELECT {flag} FROM (SELECT {stripped} AS searchable FROM (SELECT lower(?) AS t))"
    assert con.execute(query, [decomposed]).fetchone()[0] == 1
    assert con.execute(query, ["Caso de emergência"]).fetchone()[0] == 1
    # every mark is removed, not only the first: the word's mark is the text's second
    assert con.execute(query, ["Ma\u0303e em caso de emerge\u0302ncia"]).fetchone()[0] == 1


# --------------------------------------------------------------------------- threads


@pytest.mark.parametrize(
    "subject",
    ["Proposta 2024", "RE: Proposta 2024", "res: RE: Proposta 2024", "ENC:Proposta 2024",
     "Fwd: FW: proposta 2024 ", "  RES : Proposta 2024"],
)  # fmt: skip
def test_thread_subject_drops_reply_and_forward_prefixes(con, subject):
    assert evaluate(con, rules.thread_subject_sql("s"), s=subject) == "proposta 2024"


@pytest.mark.parametrize(
    "subject",
    ["RE\u00a0: Proposta 2024", "\u00a0RE: Proposta 2024", "RE:\u202fRES\u2003:Proposta 2024"],
)
def test_thread_subject_drops_prefixes_around_any_whitespace(con, subject):
    # French mail clients write `RE :` with a no-break space before the colon, and pasted
    # subjects carry no-break spaces: the prefixes were taken off around ASCII whitespace
    # only (RE2's \s), so `RE\u00a0: Proposta 2024` was thread `re\u00a0: proposta 2024`,
    # apart from the e-mails it answers (found fuzzing the rule against str.strip's idea
    # of whitespace, which the subject's own trim uses).
    assert evaluate(con, rules.thread_subject_sql("s"), s=subject) == "proposta 2024"


def test_thread_subject_keeps_words_that_only_start_like_a_prefix(con):
    assert evaluate(con, rules.thread_subject_sql("s"), s="Reunião: pauta") == "reunião: pauta"
    assert evaluate(con, rules.thread_subject_sql("s"), s="RE:") is None
    assert evaluate(con, rules.thread_subject_sql("s"), s="RE:\t\n") is None


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
