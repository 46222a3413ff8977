"""Envelope encryption for crypto-shredding: per-subject data keys under a master key."""

from wardstream.crypto.envelope import (
    ALGORITHM,
    KeyUnavailable,
    MasterKey,
    SealBroken,
    derive_key,
    new_data_key,
    new_key_id,
    open_sealed,
    receipt,
    seal,
    sealer,
    unwrap_key,
    wrap_key,
)

__all__ = [
    "ALGORITHM",
    "KeyUnavailable",
    "MasterKey",
    "SealBroken",
    "derive_key",
    "new_data_key",
    "new_key_id",
    "open_sealed",
    "receipt",
    "seal",
    "sealer",
    "unwrap_key",
    "wrap_key",
]
