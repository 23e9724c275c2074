"""Keyed hashes (HMAC-SHA256 with `CX_HASH_KEY`, a documented default for local use) and the
masking of e-mail addresses and phone numbers in free text."""

from __future__ import annotations

import hashlib
import hmac

import duckdb
import pytest

from cx_assets.lakehouse.privacy import (
    DEFAULT_HASH_KEY,
    HASH_KEY_ENV,
    keyed_hash,
    keyed_hashes,
    mask_contacts_sql,
    normalised_email,
    normalised_phone,
)


def test_a_keyed_hash_is_hmac_sha256_with_the_key_from_the_environment(monkeypatch):
    monkeypatch.setenv(HASH_KEY_ENV, "a secret")
    expected = hmac.new(b"a secret", b"maria@example.com", hashlib.sha256).hexdigest()
    assert keyed_hash("maria@example.com") == expected
    # not the plain SHA-256 an attacker could rebuild by hashing every address
    assert expected != hashlib.sha256(b"maria@example.com").hexdigest()


def test_another_key_gives_other_hashes_and_the_default_is_documented(monkeypatch):
    monkeypatch.setenv(HASH_KEY_ENV, "key one")
    one = keyed_hash("5551234567")
    monkeypatch.setenv(HASH_KEY_ENV, "key two")
    assert keyed_hash("5551234567") != one
    monkeypatch.delenv(HASH_KEY_ENV)
    default = hmac.new(DEFAULT_HASH_KEY.encode(), b"5551234567", hashlib.sha256).hexdigest()
    assert keyed_hash("5551234567") == default


def test_values_are_normalised_before_hashing_so_hashes_still_join():
    emails = keyed_hashes([" Maria@Example.COM ", "maria@example.com", "", None])
    assert emails[0] == emails[1] and emails[2] is None and emails[3] is None
    phones = keyed_hashes(["+1 (555) 123-4567", "15551234567"], normalised_phone)
    assert phones[0] == phones[1]
    assert normalised_email("  A@B.C ") == "a@b.c" and normalised_phone("no digits") is None


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("write to ana.b@mail.example.org.", "write to [email]."),
        ("call (555) 123-4567 today", "call [phone] today"),
        ("ticket #12345 for $19.99 on 2024-03-01", "ticket #12345 for $19.99 on 2024-03-01"),
    ],
)
def test_free_text_is_masked(text, masked):
    assert duckdb.sql(f"SELECT {mask_contacts_sql('?')}", params=[text]).fetchall() == [(masked,)]
