"""Secrets given inline (best from the environment) or as a mounted file (``*_file``).

Every secret setting has a file twin: ``audit.hmac_key_file``,
``lifecycle.master_key_file``, ``kafka.sasl_password_file``. The file's content
is trimmed (a trailing newline is not part of the secret). Errors name the
setting and the file, never the secret.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from wardstream.errors import WardstreamError


class SecretUnavailable(WardstreamError):
    """A secret is not set, or its file cannot be read; the message names the setting."""


def read_secret(value: SecretStr | None, file: Path | None, name: str, missing: str) -> str:
    """The secret ``name``: ``value`` if given, else the trimmed content of ``file``.

    Raises ``SecretUnavailable`` with ``missing`` when neither is given, and a
    message naming ``<name>_file`` when the file cannot be read or is empty.
    """
    if value is not None:
        return value.get_secret_value()
    if file is None:
        raise SecretUnavailable(missing)
    try:
        text = file.read_text().strip()
    except (OSError, UnicodeDecodeError) as exc:
        why = getattr(exc, "strerror", None) or type(exc).__name__
        raise SecretUnavailable(
            f"cannot read {name}_file {file} ({why}); mount the secret there or correct the path"
        ) from None
    if not text:
        raise SecretUnavailable(f"{name}_file {file} is empty; it must hold the secret")
    return text
