"""Pseudonym key rotation: new refs under the current key, lookups under every key."""

from __future__ import annotations

import pytest

from wardstream.audit.errors import KeyFormatError
from wardstream.audit.keyring import PseudonymRing, parse_earlier_keys
from wardstream.audit.pseudonym import SubjectPseudonymizer

OLD = "7f84cb56565feccab18f89851a1b4915bd35e631bf34fe1a75abec51146b0993"
NEW = "e70525e0c00a0c1874b5157ac931bcf6fa51304cd826683aa825057310a2b254"


def test_the_ring_makes_refs_under_every_key_and_new_ones_under_the_current() -> None:
    ring = PseudonymRing(SubjectPseudonymizer(bytes.fromhex(NEW), "k2"), parse_earlier_keys(
        f"# rotated 2026-03\nk1 hex:{OLD}\n"))  # fmt: skip
    refs = ring.refs("u-1")
    assert list(refs) == ["k2", "k1"] and ring.current.key_id == "k2"
    assert refs["k1"] == SubjectPseudonymizer(bytes.fromhex(OLD), "k1").ref("u-1")
    assert refs["k2"].startswith("k2:") and OLD not in repr(ring)


def test_entries_separated_by_semicolons_and_errors_never_show_the_key() -> None:
    assert [p.key_id for p in parse_earlier_keys(f"k0={OLD}; k1 {NEW}")] == ["k0", "k1"]
    with pytest.raises(KeyFormatError, match="entry 2") as err:
        parse_earlier_keys(f"k0 {OLD};k1 abcd")
    assert "abcd" not in str(err.value)
    with pytest.raises(KeyFormatError, match="given twice"):
        PseudonymRing(
            SubjectPseudonymizer(bytes.fromhex(NEW), "k1"), parse_earlier_keys(f"k1 {OLD}")
        )


def test_settings_build_the_ring_and_the_signing_key_and_errors_name_the_setting() -> None:
    from wardstream.config.settings import Settings
    from wardstream.engines.keysetup import StartupError, pseudonym_ring, signing_key

    audit = {"hmac_key": NEW, "key_id": "k2", "earlier_hmac_keys": f"k1 {OLD}"}
    assert pseudonym_ring(Settings(audit=audit)).key_ids == ("k2", "k1")
    assert signing_key(Settings(audit=audit)) is None  # no key: no checkpoints
    with pytest.raises(StartupError, match="audit.earlier_hmac_keys") as err:
        pseudonym_ring(Settings(audit={**audit, "earlier_hmac_keys": "k1 abcdef"}))
    assert "abcdef" not in str(err.value)
    with pytest.raises(StartupError, match="audit.signing_key") as err:
        signing_key(Settings(audit={**audit, "signing_key": "notakey" * 8}))
    assert "notakey" not in str(err.value)
