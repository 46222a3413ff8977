"""The keys a worker (or an operator command) starts with, and the keys topic it needs.

``master_key`` (with ``retired_master_key`` during a rotation) wraps the data keys of
quarantine; the sink key (``lifecycle.sink_key``, else derived from the master key)
wraps those of ``encrypt: true`` sink fields; ``pseudonymizer`` makes the subject refs
the keys and quarantine topics are keyed by. ``check_keys_topic`` refuses a keys topic
whose settings would let a destroyed key stay readable past the stated bound.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from wardstream.audit.errors import KeyFormatError
from wardstream.audit.keyring import PseudonymRing, parse_earlier_keys
from wardstream.audit.pseudonym import SubjectPseudonymizer, parse_key
from wardstream.config.secrets import SecretUnavailable, read_secret
from wardstream.config.settings import Settings, derived
from wardstream.crypto import MasterKey
from wardstream.crypto.derive import SNAPSHOT_PURPOSE, derive_key
from wardstream.crypto.signing import SigningKey, SigningKeyError
from wardstream.domain.pipeline import Pipeline
from wardstream.enforce.datakeys import KeyRing
from wardstream.enforce.keystore import KeyStore
from wardstream.enforce.sink_fields import missing_ring_message
from wardstream.errors import WardstreamError
from wardstream.kafka.admin import topic_config
from wardstream.lifecycle.wiring import shred_bound
from wardstream.policy.idkey import IdKey


class StartupError(WardstreamError):
    """The worker cannot start; the message says what to fix."""


def _secret(value: SecretStr | None, file: Path | None, name: str, missing: str) -> str:
    """A secret given inline (best from the environment) or as a mounted file."""
    try:
        return read_secret(value, file, name, missing)
    except SecretUnavailable as exc:
        raise StartupError(str(exc)) from None


def pseudonymizer(settings: Settings) -> SubjectPseudonymizer:
    return SubjectPseudonymizer(_pseudonym_key(settings), settings.audit.key_id)


def id_key(settings: Settings) -> IdKey:
    """The key of every id derived from a subject (deletion, notice, hold, ... ids): HKDF of
    the pseudonym key under a label of its own, never the pseudonym key itself."""
    return IdKey.derive(_pseudonym_key(settings))


def _pseudonym_key(settings: Settings) -> bytes:
    a = settings.audit
    text = _secret(
        a.hmac_key,
        a.hmac_key_file,
        "audit.hmac_key",
        "no pseudonym key: set WARDSTREAM__AUDIT__HMAC_KEY (32+ random bytes, hex or base64) "
        "or audit.hmac_key_file. wardstream never writes a child's raw id to the audit topic, "
        "so it will not start without one.",
    )
    return parse_key(text)


def pseudonym_ring(settings: Settings) -> PseudonymRing:
    """The current pseudonym key and the earlier ones (``audit.earlier_hmac_keys``)."""
    a = settings.audit
    earlier = ""
    if a.earlier_hmac_keys is not None or a.earlier_hmac_keys_file is not None:
        earlier = _secret(
            a.earlier_hmac_keys, a.earlier_hmac_keys_file, "audit.earlier_hmac_keys", ""
        )
    try:
        return PseudonymRing(pseudonymizer(settings), parse_earlier_keys(earlier))
    except KeyFormatError as exc:
        raise StartupError(f"audit.earlier_hmac_keys: {exc}") from None


def signing_key(settings: Settings) -> SigningKey | None:
    """The audit checkpoint signing key, or None when none is configured."""
    a = settings.audit
    if a.signing_key is None and a.signing_key_file is None:
        return None
    text = _secret(a.signing_key, a.signing_key_file, "audit.signing_key", "")
    try:
        return SigningKey.from_text(text)
    except SigningKeyError as exc:
        raise StartupError(f"audit.signing_key: {exc}") from None


def _aes_key(text: str, name: str) -> MasterKey:
    try:
        return MasterKey(parse_key(text))
    except (KeyFormatError, ValueError) as exc:
        why = f" ({exc})" if isinstance(exc, KeyFormatError) else ""
        raise StartupError(
            f"{name} must be exactly 32 random bytes as hex (64 digits) or base64{why}: "
            "`openssl rand -hex 32`"
        ) from None


def master_key(settings: Settings) -> MasterKey:
    """The key-wrapping key of crypto-shredding; StartupError (fail closed) without one."""
    ls = settings.lifecycle
    text = _secret(
        ls.master_key,
        ls.master_key_file,
        "lifecycle.master_key",
        "no master key: set WARDSTREAM__LIFECYCLE__MASTER_KEY (32 random bytes, hex or "
        "base64: `openssl rand -hex 32`) or lifecycle.master_key_file. Quarantined "
        "children's payloads are stored encrypted, so the worker will not start without one "
        "(lifecycle.encrypt_quarantine: false turns encryption off).",
    )
    return _aes_key(text, "lifecycle.master_key")


def retired_master_keys(settings: Settings) -> tuple[MasterKey, ...]:
    ls = settings.lifecycle
    if ls.retired_master_key is None and ls.retired_master_key_file is None:
        return ()
    text = _secret(ls.retired_master_key, ls.retired_master_key_file,
                   "lifecycle.retired_master_key", "")  # fmt: skip
    return (_aes_key(text, "lifecycle.retired_master_key"),)


def sink_key(settings: Settings) -> MasterKey | None:
    """The configured sink key; None: derived from the master key (``KeyRing``)."""
    raw = sink_key_bytes(settings)
    return None if raw is None else MasterKey(raw)


def sink_key_bytes(settings: Settings) -> bytes | None:
    """The configured sink key's bytes (for ``keys sink-key`` only); None when not set."""
    ls = settings.lifecycle
    if ls.sink_key is None and ls.sink_key_file is None:
        return None
    text = _secret(ls.sink_key, ls.sink_key_file, "lifecycle.sink_key", "")
    _aes_key(text, "lifecycle.sink_key")  # 32 bytes, or a StartupError naming the setting
    return parse_key(text)


def make_ring(settings: Settings, store: KeyStore | None = None) -> KeyRing:
    """The key ring of the configured keys (master, retired, sink) and subject refs."""
    master = master_key(settings)
    refs = pseudonymizer(settings)
    return KeyRing(
        master,
        derived(settings, "keys"),
        store if store is not None else KeyStore(refs=refs.ref),
        refs=refs.ref,
        retired=retired_master_keys(settings),
        sink=sink_key(settings),
    )


def key_ring(settings: Settings, pipelines: Sequence[Pipeline] = ()) -> KeyRing | None:
    """The per-subject key ring (None with quarantine encryption off). ``encrypt: true``
    sink fields need it: StartupError (naming the setting) when it is off or has no key."""
    ls = settings.lifecycle
    marked = [p for p in pipelines if p.encrypted_fields]
    if marked and (not ls.encrypt_quarantine or (ls.master_key is None and not ls.master_key_file)):
        raise StartupError(missing_ring_message(marked[0]))
    if not ls.encrypt_quarantine:
        return None
    return make_ring(settings)


def keys_topic_config(settings: Settings) -> dict[str, str]:
    return shred_bound(settings).topic_config()


def check_keys_topic(config: Mapping[str, Any], settings: Settings) -> None:
    """StartupError when the existing keys topic's settings break the shredding bound."""
    topic = derived(settings, "keys")
    bad = shred_bound(settings).violations(topic_config(config, topic))
    if bad:
        wanted = ",".join(f"{k}={v}" for k, v in keys_topic_config(settings).items())
        raise StartupError(
            f"the keys topic {topic} would keep destroyed data keys readable past the stated "
            f"bound: {'; '.join(bad)}. Fix: kafka-configs.sh --bootstrap-server ... --alter "
            f"--entity-type topics --entity-name {topic} --add-config '{wanted}' "
            "(or raise the lifecycle.keys_* settings to match the topic, which weakens the "
            "bound KEY_DESTROYED states)"
        )


def snapshot_key(settings: Settings) -> bytes:
    """The state snapshot's key: HKDF of the master key (never the master key itself)."""
    ls = settings.lifecycle
    if ls.master_key is None and not ls.master_key_file:
        raise StartupError(
            "state.snapshot_dir is set but there is no master key: the snapshot is sealed "
            "under a key derived from it. Set WARDSTREAM__LIFECYCLE__MASTER_KEY (32 random "
            "bytes, hex or base64: `openssl rand -hex 32`) or lifecycle.master_key_file, or "
            "unset state.snapshot_dir"
        )
    master_key(settings)  # the same format checks and messages as the key ring's
    text = _secret(ls.master_key, ls.master_key_file, "lifecycle.master_key", "")
    return derive_key(parse_key(text), SNAPSHOT_PURPOSE)
