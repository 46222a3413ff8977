"""Keyed pseudonyms: stable per key, different across keys, never revealing the key."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import pickle
from datetime import UTC, datetime
from pathlib import Path

import fastavro
import pytest
from hypothesis import given
from hypothesis import strategies as st

from wardstream.audit.chain import ChainWriter
from wardstream.audit.errors import KeyFormatError
from wardstream.audit.pseudonym import SubjectPseudonymizer, key_id_of, parse_key

KEY = bytes(range(32))


def test_ref_is_the_key_id_and_the_hmac_sha256_hex() -> None:
    p = SubjectPseudonymizer(KEY, "k1")
    expected = hmac.new(KEY, b"child-0042", hashlib.sha256).hexdigest()
    assert p.ref("child-0042") == "k1:" + expected == p.ref(b"child-0042")
    assert key_id_of(p.ref("x")) == "k1" and p.key_id == "k1"
    assert p.matches(p.ref("x"), "x") and not p.matches(p.ref("x"), "y")


@given(st.text(min_size=1), st.text(min_size=1))
def test_refs_are_stable_distinct_and_do_not_contain_the_id(a: str, b: str) -> None:
    p = SubjectPseudonymizer(KEY, "k1")
    assert p.ref(a) == p.ref(a)
    assert (p.ref(a) == p.ref(b)) == (a == b)
    assert len(p.ref(a)) == 3 + 64


def test_rotating_the_key_changes_every_ref_visibly() -> None:
    old, new = SubjectPseudonymizer(KEY, "k1"), SubjectPseudonymizer(KEY[::-1], "k2")
    assert old.ref("s").split(":")[1] != new.ref("s").split(":")[1]
    assert new.ref("s").startswith("k2:")


def test_the_key_is_never_shown_or_pickled() -> None:
    p = SubjectPseudonymizer(KEY, "k1")
    for text in (repr(p), str(p)):
        assert KEY.hex() not in text and "hidden" in text
    assert not hasattr(p, "__dict__")
    with pytest.raises(TypeError, match="pickled"):
        pickle.dumps(p)


@pytest.mark.parametrize(
    ("key", "key_id", "message"),
    [
        (b"short", "k1", "at least 32"),
        (KEY, "", "key id"),
        (KEY, "k:1", "key id"),
        (KEY, "-k", "key id"),
    ],
)
def test_bad_keys_and_key_ids_are_refused(key: bytes, key_id: str, message: str) -> None:
    with pytest.raises(KeyFormatError, match=message):
        SubjectPseudonymizer(key, key_id)


@pytest.mark.parametrize(
    "text",
    [
        KEY.hex(),
        KEY.hex().upper() + "\n",
        "hex:" + KEY.hex(),
        "base64:" + base64.b64encode(KEY).decode(),
        "  " + base64.b64encode(KEY).decode() + "\n",
    ],
)
def test_parse_key_reads_hex_and_base64(text: str) -> None:
    assert parse_key(text) == KEY


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("hex:zz", "not valid hex"),
        ("base64:!!!", "not valid base64"),
        ("abcd", "at least 32"),
        ("not a key!", "base64"),
    ],
)
def test_parse_key_refuses_bad_text_without_echoing_it(text: str, message: str) -> None:
    with pytest.raises(KeyFormatError, match=message) as info:
        parse_key(text)
    assert text.split(":")[-1] not in str(info.value)


def test_audit_records_carry_no_raw_subject_id() -> None:
    """R16: scanning every written audit record for the raw ids finds none."""
    schema_path = Path(__file__).resolve().parents[3] / "schemas" / "AuditRecord.avsc"
    schema = fastavro.parse_schema(json.loads(schema_path.read_text()))

    def encode(datum: object) -> bytes:
        buf = io.BytesIO()
        fastavro.schemaless_writer(buf, schema, datum)
        return buf.getvalue()

    pseudonyms = SubjectPseudonymizer(KEY, "k1")
    writer = ChainWriter("clickstream/0", encode)
    subjects = [f"child-{n:04d}" for n in range(50)]
    written = b""
    for subject in subjects:
        writer.append(
            at=datetime(2026, 1, 1, tzinfo=UTC),
            worker="w",
            pipeline="clickstream",
            action="QUARANTINED",
            subject_ref=pseudonyms.ref(subject),
        )
        written += writer.last_written
    assert not [s for s in subjects if s.encode() in written]


def test_remembered_refs_stay_the_hmac_when_the_memo_fills(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("wardstream.audit.pseudonym.MEMO_SIZE", 3)
    p = SubjectPseudonymizer(KEY, "k1")
    subjects = [f"child-{n}" for n in range(7)] * 2 + [b"child-1"]
    for subject in subjects:
        raw = subject if isinstance(subject, bytes) else subject.encode()
        assert p.ref(subject) == "k1:" + hmac.new(KEY, raw, hashlib.sha256).hexdigest()
    assert len(p._memo) <= 3


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("base64:" + base64.b64encode(b"childrenprivacy2026key").decode(), "22 bytes"),
        ("00" * 32, "distinct"),
        ("deadbeef" * 8, "distinct"),
        ("correct horse battery staple", "not a key"),
    ],
)
def test_parse_key_wants_32_random_bytes_and_says_how_to_make_them(text: str, message: str) -> None:
    with pytest.raises(KeyFormatError, match=message) as info:
        parse_key(text)
    assert "secrets.token_hex(32)" in str(info.value)
