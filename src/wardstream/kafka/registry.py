"""The schema-registry client the operator settings describe.

``kafka.schema_registry_url`` and ``kafka.schema_registry_client`` (credentials,
TLS) become a :class:`~wardstream.serde.HttpSchemaRegistry`; secret files are
read here, once, and their errors name the setting, never the secret.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from wardstream.config.registry import SchemaRegistryClientSettings
from wardstream.config.secrets import read_secret
from wardstream.config.settings import KafkaSettings
from wardstream.serde import HttpSchemaRegistry, OAuthClient, RegistryAccess

_PREFIX = "kafka.schema_registry_client."


def registry_access(c: SchemaRegistryClientSettings) -> RegistryAccess:
    """Credentials and TLS from the settings, with the secret files read."""
    basic = bearer = oauth = key_password = None
    if c.basic_auth_user is not None:
        password = _secret(c.basic_auth_password, c.basic_auth_password_file, "basic_auth_password")
        basic = (c.basic_auth_user, password)
    if c.bearer_token is not None or c.bearer_token_file is not None:
        bearer = _secret(c.bearer_token, c.bearer_token_file, "bearer_token")
    if c.oauth_client_id is not None and c.oauth_token_url is not None:
        secret = _secret(c.oauth_client_secret, c.oauth_client_secret_file, "oauth_client_secret")
        oauth = OAuthClient(c.oauth_client_id, secret, c.oauth_token_url, c.oauth_scope)
    if c.ssl_key_password_file is not None:
        key_password = _secret(None, c.ssl_key_password_file, "ssl_key_password")
    return RegistryAccess(
        basic=basic,
        bearer_token=bearer,
        oauth=oauth,
        logical_cluster=c.bearer_logical_cluster,
        identity_pool=c.bearer_identity_pool,
        ca_file=str(c.ssl_cafile) if c.ssl_cafile else None,
        cert_file=str(c.ssl_certfile) if c.ssl_certfile else None,
        key_file=str(c.ssl_keyfile) if c.ssl_keyfile else None,
        key_password=key_password,
        timeout_s=c.timeout_s,
        max_retries=c.max_retries,
    )


def schema_registry(kafka: KafkaSettings) -> HttpSchemaRegistry | None:
    """The registry client, or None when no registry URL is configured."""
    if not kafka.schema_registry_url:
        return None
    return HttpSchemaRegistry(
        kafka.schema_registry_url,
        access=registry_access(kafka.schema_registry_client),
        miss_ttl_s=kafka.schema_registry_miss_ttl_s,
    )


def _secret(value: SecretStr | None, file: Path | None, name: str) -> str:
    missing = f"{_PREFIX}{name} is not set: set it or {_PREFIX}{name}_file"
    return read_secret(value, file, _PREFIX + name, missing)
