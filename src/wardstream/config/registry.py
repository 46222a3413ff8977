"""How the worker talks to the schema registry: credentials and TLS.

``kafka.schema_registry_client`` in ``wardstream.yaml``. At most one kind of
credentials (basic, bearer token, OAuth client credentials); secrets inline
(best from the environment) or as a mounted ``*_file``. Credentials go only to
an https registry URL (or http to loopback); the client enforces that.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class SchemaRegistryClientSettings(BaseModel):
    model_config = _FROZEN

    basic_auth_user: str | None = Field(
        default=None, description="HTTP basic user name for the registry."
    )
    basic_auth_password: SecretStr | None = Field(
        default=None, description="HTTP basic password (prefer basic_auth_password_file)."
    )
    basic_auth_password_file: Path | None = Field(
        default=None, description="File holding the basic password (a mounted secret)."
    )
    bearer_token: SecretStr | None = Field(
        default=None, description="A static bearer token (prefer bearer_token_file)."
    )
    bearer_token_file: Path | None = Field(
        default=None, description="File holding a static bearer token, read at start-up."
    )
    bearer_logical_cluster: str = Field(
        default="",
        description="Confluent Cloud's schema-registry cluster id (lsrc-...), sent with a "
        "bearer or OAuth token as target-sr-cluster; other registries ignore it.",
    )
    bearer_identity_pool: str | None = Field(
        default=None, description="Confluent Cloud identity pool id, sent with the token."
    )
    oauth_client_id: str | None = Field(
        default=None, description="OAuth 2 client-credentials client id (token renewed)."
    )
    oauth_client_secret: SecretStr | None = Field(
        default=None, description="OAuth client secret (prefer oauth_client_secret_file)."
    )
    oauth_client_secret_file: Path | None = Field(
        default=None, description="File holding the OAuth client secret (a mounted secret)."
    )
    oauth_token_url: str | None = Field(
        default=None, description="The identity provider's token endpoint (https)."
    )
    oauth_scope: str = Field(default="", description="OAuth scope asked for, if any.")
    ssl_cafile: Path | None = Field(
        default=None, description="CA bundle for an https registry (default: system CAs)."
    )
    ssl_certfile: Path | None = Field(
        default=None, description="Client certificate (PEM) for mutual TLS with the registry."
    )
    ssl_keyfile: Path | None = Field(
        default=None, description="Private key (PEM) of ssl_certfile; set both or neither."
    )
    ssl_key_password_file: Path | None = Field(
        default=None, description="File holding the password of an encrypted ssl_keyfile."
    )
    timeout_s: float = Field(default=10.0, gt=0, description="Seconds per registry request.")
    max_retries: int = Field(
        default=1, ge=0, description="Retries of a failed request (5xx, timeouts) before the "
        "registry counts as unreachable and events wait.",
    )  # fmt: skip

    @model_validator(mode="after")
    def _consistent(self) -> SchemaRegistryClientSettings:
        kinds = [
            name
            for name, on in (
                ("basic_auth_*", self.basic_auth_user is not None),
                ("bearer_token*", self.bearer_token is not None or self.bearer_token_file),
                ("oauth_*", self.oauth_client_id is not None),
            )
            if on
        ]
        if len(kinds) > 1:
            raise ValueError(f"{' and '.join(kinds)} are set: keep one kind of credentials")
        for name in ("basic_auth_password", "bearer_token", "oauth_client_secret"):
            if getattr(self, name) is not None and getattr(self, f"{name}_file") is not None:
                raise ValueError(f"both {name} and {name}_file are set: keep one (best the file)")
        if self.oauth_client_id is not None and not self.oauth_token_url:
            raise ValueError("oauth_client_id is set without oauth_token_url: set the endpoint")
        if (self.ssl_certfile is None) != (self.ssl_keyfile is None):
            raise ValueError(
                "ssl_certfile and ssl_keyfile go together: set both (the client certificate "
                "and its private key, PEM) or neither"
            )
        return self
