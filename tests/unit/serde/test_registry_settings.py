# ruff: noqa: S105, S106 - fictional secrets
"""kafka.schema_registry_client: each kind of credentials and TLS, secrets from files."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from wardstream.config.registry import SchemaRegistryClientSettings
from wardstream.config.secrets import SecretUnavailable
from wardstream.config.settings import KafkaSettings
from wardstream.kafka.registry import registry_access, schema_registry


def _secret(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "secret"
    path.write_text(text + "\n")
    return path


def test_no_url_no_client() -> None:
    assert schema_registry(KafkaSettings()) is None


def test_basic_password_from_a_file(tmp_path: Path) -> None:
    c = SchemaRegistryClientSettings(
        basic_auth_user="svc", basic_auth_password_file=_secret(tmp_path, "pw-1")
    )
    assert registry_access(c).basic == ("svc", "pw-1")


def test_bearer_token_from_a_file_reaches_the_client(tmp_path: Path) -> None:
    kafka = KafkaSettings(
        schema_registry_url="https://registry.example",
        schema_registry_client={"bearer_token_file": _secret(tmp_path, "tok-9")},
    )
    registry = schema_registry(kafka)
    assert registry is not None and registry.access.bearer_token == "tok-9"
    assert "tok-9" not in repr(registry) and "tok-9" not in repr(kafka)


def test_oauth_secret_from_a_file(tmp_path: Path) -> None:
    c = SchemaRegistryClientSettings(
        oauth_client_id="wardstream",
        oauth_client_secret_file=_secret(tmp_path, "s3"),
        oauth_token_url="https://idp.example/token",
        oauth_scope="registry",
    )
    oauth = registry_access(c).oauth
    assert oauth is not None and (oauth.client_secret, oauth.scope) == ("s3", "registry")


def test_client_certificate_and_key_password(tmp_path: Path) -> None:
    c = SchemaRegistryClientSettings(
        ssl_cafile=tmp_path / "ca.pem",
        ssl_certfile=tmp_path / "c.pem",
        ssl_keyfile=tmp_path / "k.pem",
        ssl_key_password_file=_secret(tmp_path, "kp"),
    )
    access = registry_access(c)
    assert (access.cert_file, access.key_password) == (str(tmp_path / "c.pem"), "kp")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"basic_auth_user": "u", "bearer_token": "t"}, "keep one kind"),
        ({"bearer_token": "t", "bearer_token_file": "/run/t"}, "keep one"),
        ({"oauth_client_id": "id"}, "oauth_token_url"),
        ({"ssl_certfile": "/c.pem"}, "go together"),
        ({"bearer_tokn": "t"}, "bearer_tokn"),
    ],
)
def test_inconsistent_settings_are_refused(fields: dict[str, str], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        SchemaRegistryClientSettings(**fields)  # type: ignore[arg-type]


def test_an_unreadable_secret_file_names_the_setting(tmp_path: Path) -> None:
    c = SchemaRegistryClientSettings(bearer_token_file=tmp_path / "missing")
    with pytest.raises(SecretUnavailable, match="schema_registry_client.bearer_token_file"):
        registry_access(c)
