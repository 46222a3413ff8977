"""Operator settings: `wardstream.yaml`, overridden by `WARDSTREAM__*` environment variables.

Every model is frozen and forbids unknown keys, so a misspelt key is an error
that names the key and the closest valid one instead of a silently ignored
setting. Secrets are `SecretStr` and never printed (`as_dict()` hides them).
Nested environment overrides use double underscores:
``WARDSTREAM__KAFKA__BOOTSTRAP_SERVERS=broker:9092``.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from wardstream.config.fast import FastEngineSettings
from wardstream.config.lifecycle import LifecycleSettings
from wardstream.config.policy import PolicyConfig
from wardstream.config.registry import SchemaRegistryClientSettings
from wardstream.config.state import StateSettings

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class KafkaSettings(BaseModel):
    model_config = _FROZEN

    bootstrap_servers: str = Field(
        default="127.0.0.1:9092", description="Kafka bootstrap servers, comma-separated host:port."
    )
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        default="PLAINTEXT", description="How clients talk to the brokers."
    )
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = Field(
        default=None, description="SASL mechanism when security_protocol is SASL_*."
    )
    sasl_username: str | None = Field(default=None, description="SASL user name.")
    sasl_password: SecretStr | None = Field(
        default=None, description="SASL password (prefer the environment or sasl_password_file)."
    )
    sasl_password_file: Path | None = Field(
        default=None,
        description="File holding the SASL password (a mounted secret; its content is trimmed). "
        "Set this or sasl_password, not both.",
    )
    ssl_cafile: Path | None = Field(default=None, description="CA bundle for TLS listeners.")
    ssl_certfile: Path | None = Field(
        default=None,
        description="Client certificate (PEM) for TLS client authentication (SSL listeners); "
        "its subject is the principal operator commands record.",
    )
    ssl_keyfile: Path | None = Field(
        default=None, description="Private key (PEM) of ssl_certfile; set both or neither."
    )
    schema_registry_url: str | None = Field(
        default=None,
        description="Confluent-compatible schema registry, for format avro-confluent; "
        "credentials in it are sent only over https (or http to loopback).",
    )
    schema_registry_miss_ttl_s: float = Field(
        default=30.0,
        ge=0,
        description="Seconds an unknown schema id is remembered as unknown before the "
        "registry is asked again (0: ask for every event naming it).",
    )
    schema_registry_client: SchemaRegistryClientSettings = Field(
        default_factory=SchemaRegistryClientSettings,
        description="Credentials (basic, bearer, OAuth) and TLS for the schema registry.",
    )
    replication_factor: int = Field(
        default=1, ge=1, description="Replication factor for topics wardstream creates."
    )
    partitions: int = Field(
        default=1, ge=1, description="Partition count for wardstream's own topics it creates."
    )

    @model_validator(mode="after")
    def _client_certificate(self) -> KafkaSettings:
        if (self.ssl_certfile is None) != (self.ssl_keyfile is None):
            raise ValueError(
                "ssl_certfile and ssl_keyfile go together: set both (the client certificate "
                "and its private key, PEM) or neither"
            )
        if self.ssl_certfile is not None and self.security_protocol not in ("SSL", "SASL_SSL"):
            raise ValueError(
                "ssl_certfile is set but security_protocol is not SSL or SASL_SSL: a client "
                "certificate is only presented over TLS; set security_protocol: SSL"
            )
        return self

    @model_validator(mode="after")
    def _sasl_complete(self) -> KafkaSettings:
        if not self.security_protocol.startswith("SASL"):
            return self  # SASL settings are ignored for PLAINTEXT and SSL
        inline = self.sasl_password is not None and self.sasl_password.get_secret_value() != ""
        if inline and self.sasl_password_file is not None:
            raise ValueError(
                "both sasl_password and sasl_password_file are set: keep one (best the file, "
                "a mounted secret; or WARDSTREAM__KAFKA__SASL_PASSWORD alone)"
            )
        missing = [name for name in ("sasl_mechanism", "sasl_username") if not getattr(self, name)]
        if not inline and self.sasl_password_file is None:
            missing.append("the password")
        if missing:
            raise ValueError(
                f"security_protocol is SASL_* but {' and '.join(missing)} "
                f"{'is' if len(missing) == 1 else 'are'} missing: set "
                "sasl_mechanism, sasl_username and the password (sasl_password_file, a mounted "
                "secret, or WARDSTREAM__KAFKA__SASL_PASSWORD)"
            )
        return self


class TopicSettings(BaseModel):
    model_config = _FROZEN

    subjects: str = Field(
        default="ward.subjects", description="Subject profiles in (compacted, keyed by subject_id)."
    )
    consents: str = Field(
        default="ward.consents", description="Consent events in (keyed by subject_id)."
    )
    requests: str = Field(
        default="ward.requests", description="Guardian DELETE/CORRECT requests in."
    )
    quarantine: str = Field(
        default="ward.quarantine", description="Quarantined events out (and release markers)."
    )
    deadletter: str = Field(
        default="ward.deadletter", description="Undecodable or invalid events out."
    )
    deletions: str = Field(
        default="ward.deletions", description="DeletionRequests for downstream systems."
    )
    notices: str = Field(default="ward.notices", description="GuardianNotices out.")
    audit: str = Field(default="ward.audit", description="Hash-chained AuditRecords out.")
    corrections: str = Field(
        default="ward.corrections", description="Forwarded guardian CORRECT requests."
    )
    incidents: str = Field(default="ward.incidents", description="Breach-detection incidents out.")


class WorkerSettings(BaseModel):
    model_config = _FROZEN

    app_id: str = Field(
        default="wardstream", description="Consumer group and Faust app id; one per deployment."
    )
    name: str = Field(
        default="",
        validate_default=True,
        description=(
            "This worker's name, written into audit records and part of the fast engine's "
            "transactional id, so it must differ between replicas. Empty: the host name "
            "(a container's id), which does."
        ),
    )
    pipelines_dir: Path = Field(
        default=Path("pipelines"), description="Directory of pipeline YAML files."
    )
    state_lateness_s: float = Field(
        default=2.0,
        ge=0,
        description="How late consent/profile records may land after their effective time.",
    )
    max_hold_s: float = Field(
        default=10.0,
        gt=0,
        description="Longest a child's event waits for current state before quarantine.",
    )
    summary_interval_s: float = Field(
        default=10.0, gt=0, description="Seconds between adult-pass SUMMARY audit records."
    )
    processing_guarantee: Literal["at_least_once", "exactly_once"] = Field(
        default="at_least_once",
        description="Delivery guarantee of the Faust engine (see README, Semantics).",
    )
    batch_size: int = Field(default=1000, ge=1, description="Events taken from a source per batch.")
    web_port: int = Field(
        default=6066, ge=0, le=65535, description="Port for /health and /metrics (0 = off)."
    )
    web_host: str = Field(
        default="127.0.0.1",
        description="Interface /health and /metrics listen on; 0.0.0.0 in a container.",
    )

    static_membership: bool = Field(
        default=True,
        description=(
            "Join the consumer group as a static member (KIP-345, group.instance.id = name): "
            "a worker restarted within the session timeout gets its own partitions back "
            "without a rebalance. Needs a name that is unique and stable per replica."
        ),
    )
    state_stall_s: float = Field(
        default=120.0,
        gt=0,
        description=(
            "Start-up: how long the state read may make no progress (no record applied, lag "
            "not shrinking) before the worker gives up and exits for a restart. A read that "
            "progresses has no time limit, however large the user base."
        ),
    )

    @field_validator("name")
    @classmethod
    def _host_name(cls, value: str) -> str:
        return value or socket.gethostname()

    data_dir: Path = Field(
        default=Path(".wardstream"), description="Local working directory of the worker."
    )


class AuditSettings(BaseModel):
    model_config = _FROZEN

    hmac_key: SecretStr | None = Field(
        default=None,
        description="Key for subject pseudonyms (prefer the environment or hmac_key_file).",
    )
    hmac_key_file: Path | None = Field(
        default=None, description="File holding the pseudonym key (a mounted secret)."
    )
    key_id: str = Field(
        default="k1", description="Name of the current pseudonym key; shown in every subject_ref."
    )
    earlier_hmac_keys: SecretStr | None = Field(
        default=None,
        description="Earlier pseudonym keys after a rotation, one '<key id> <key>' per line "
        "(or ';'-separated): lookups find subjects under them; new refs use hmac_key.",
    )
    earlier_hmac_keys_file: Path | None = Field(
        default=None, description="File holding the earlier pseudonym keys (a mounted secret)."
    )
    signing_key: SecretStr | None = Field(
        default=None,
        description="Ed25519 key that signs audit checkpoints: PEM or 32-byte seed as hex or "
        "base64 (prefer the environment or signing_key_file). Unset: no checkpoints.",
    )
    signing_key_file: Path | None = Field(
        default=None,
        description="File holding the checkpoint signing key, e.g. made with "
        "`openssl genpkey -algorithm ed25519` (a mounted secret).",
    )
    checkpoint_interval_s: float = Field(
        default=60.0,
        gt=0,
        description="Seconds between a worker's signed checkpoints (one more at a clean stop).",
    )


class Settings(BaseSettings):
    """Everything a worker needs; `wardstream check` validates it with the pipelines."""

    model_config = SettingsConfigDict(
        env_prefix="WARDSTREAM__", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    kafka: KafkaSettings = Field(default_factory=KafkaSettings, description="Connection to Kafka.")
    topics: TopicSettings = Field(default_factory=TopicSettings, description="Topic names.")
    worker: WorkerSettings = Field(default_factory=WorkerSettings, description="Worker behaviour.")
    audit: AuditSettings = Field(default_factory=AuditSettings, description="Audit pseudonyms.")
    lifecycle: LifecycleSettings = Field(
        default_factory=LifecycleSettings,
        description="Deletions, retention sweeps, holds, breach scans and key shredding.",
    )
    policy: PolicyConfig = Field(default_factory=PolicyConfig, description="Operator policy.")
    state: StateSettings = Field(
        default_factory=StateSettings, description="The encrypted state snapshot."
    )
    fast: FastEngineSettings = Field(
        default_factory=FastEngineSettings,
        description="Tuning of the fast engine (`wardstream worker --engine fast`).",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # the environment wins over the file's values, which come in as init kwargs
        return env_settings, init_settings

    def as_dict(self) -> dict[str, Any]:
        """Settings as plain data with every secret shown as '**********'."""
        return self.model_dump(mode="json")


def lifecycle_settings(settings: Settings) -> LifecycleSettings:
    return settings.lifecycle


def derived(settings: Settings, kind: str) -> str:
    """The topic of ``kind`` (seen, control, holds, keys): configured, or beside ward.subjects."""
    explicit = getattr(lifecycle_settings(settings), f"{kind}_topic")
    if explicit:
        return str(explicit)
    stem, dot, _ = settings.topics.subjects.rpartition(".")
    return f"{stem}{dot}{kind}"


def load_settings(path: Path | None) -> Settings:
    """Read ``wardstream.yaml`` (if given) and the environment; raise ConfigError with lines."""
    from pydantic import ValidationError

    from wardstream.config.errors import ConfigError, Problem, load_yaml, problems_from_validation

    data: Any = {}
    marks: dict[Any, int] = {}
    file = str(path) if path else "<environment>"
    if path is not None:
        if not path.exists():
            fix = "pass an existing file with --config, or omit it to use defaults"
            raise ConfigError([Problem(file, 1, "", "the configuration file does not exist", fix)])
        data, marks, problems = load_yaml(path.read_text(), file)
        if problems:
            raise ConfigError(problems)
        data = data or {}
        if not isinstance(data, dict):
            raise ConfigError(
                [Problem(file, 1, "", "expected a mapping of sections", "start with kafka:")]
            )
    try:
        return Settings(**data)
    except ValidationError as exc:
        raise ConfigError(problems_from_validation(exc, Settings, marks, file)) from None
