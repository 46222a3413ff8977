"""The Confluent schema-registry REST API through confluent-kafka's client.

:class:`HttpSchemaRegistry` wraps ``confluent_kafka.schema_registry.SchemaRegistryClient``
(its cache of schemas by id, basic, bearer and OAuth auth, TLS and client
certificates, retries) and answers in wardstream's errors: :class:`SchemaNotFound`
for an unknown id, :class:`RegistryUnavailable` when the registry cannot be
reached or answers 5xx (retry later: events wait, they are not dead-lettered),
:class:`RegistryError` for anything else. Works with Confluent Schema Registry,
Karapace, Redpanda, and Apicurio's compatibility API; an id naming no plain Avro
schema (Protobuf, JSON Schema, references) raises :class:`SchemaLoadError`
(``http://host:8080/apis/ccompat/v7``).

What it keeps on top of the client:
- credentials only over https or loopback http (:mod:`registry_access`);
- no redirect is followed (httpx's default, set explicitly here): the
  Authorization header would go wherever the registry points;
- an unknown schema id is remembered as a miss for ``miss_ttl_s`` seconds, so
  a stream of events naming it costs one lookup, not one per event;
- after the registry was unreachable (or refused the credentials), calls fail
  at once with the same error for ``retry_after_s`` seconds instead of each
  waiting for a timeout.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.common._httpx_compat import httpx  # the client's own
from confluent_kafka.schema_registry.error import OAuthTokenError, SchemaRegistryError

from wardstream.serde.errors import (
    RegistryError,
    RegistryUnavailable,
    SchemaLoadError,
    SchemaNotFound,
)
from wardstream.serde.memory_registry import SCHEMA_NOT_FOUND, SUBJECT_NOT_FOUND
from wardstream.serde.registry_access import RegistryAccess, checked_urls, client_options

DEFAULT_MISS_TTL_S = 30.0
_MAX_MISSES = 10_000  # ids are attacker-chosen: bound the memory


class HttpSchemaRegistry:
    """A Confluent-compatible registry at ``url`` (comma-separated for several).

    ``auth`` is HTTP basic ``(user, password)``; user info in the URL is used the
    same way and never shown in messages; ``access`` carries the other
    credentials and TLS. ``miss_ttl_s``: how long an unknown id is answered from
    memory (0 = ask every time); ``clock`` is injectable for tests. The
    constructor opens no connection.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float | None = None,
        auth: tuple[str, str] | None = None,
        access: RegistryAccess | None = None,
        miss_ttl_s: float = DEFAULT_MISS_TTL_S,
        retry_after_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        urls, userinfo = checked_urls(url)
        access = access or RegistryAccess()
        given = auth or userinfo
        if given is not None and access.kind in ("bearer", "oauth"):
            raise RegistryError(
                "the registry URL holds a user name but bearer or OAuth credentials are set: "
                "remove the user info from kafka.schema_registry_url"
            )
        updates: dict[str, Any] = {"basic": given} if given is not None else {}
        if timeout is not None:
            updates["timeout_s"] = timeout
        access = replace(access, **updates)
        self.url = ",".join(urls)
        self.access = access
        try:
            self._client = SchemaRegistryClient(client_options(urls, access))
        except (ValueError, TypeError, OSError) as exc:  # bad TLS files, bad options
            raise RegistryError(
                f"cannot set up the registry client ({type(exc).__name__}: {exc}); check the "
                "kafka.schema_registry_client settings (certificate and key files, CA file)"
            ) from None
        session = getattr(getattr(self._client, "_rest_client", None), "session", None)
        if isinstance(session, httpx.Client):
            session.follow_redirects = False  # the default; kept explicit on purpose
        self._miss_ttl, self._retry_after, self._clock = miss_ttl_s, retry_after_s, clock
        self._misses: dict[int, float] = {}  # schema id -> when the miss is forgotten
        self._down_until = 0.0
        self._last: RegistryError | None = None  # the failure that started the back-off

    def __repr__(self) -> str:
        return f"HttpSchemaRegistry({self.url!r}, auth={self.access.kind!r})"

    def close(self) -> None:
        self._client.close()

    def get_schema(self, schema_id: int) -> str:
        schema_id = int(schema_id)
        until = self._misses.get(schema_id)
        if until is not None:
            if self._clock() < until:
                raise SchemaNotFound(
                    f"no schema with id {schema_id} (a recent lookup found none; asked again "
                    f"after {self._miss_ttl:g} s)",
                    status=404,
                    code=SCHEMA_NOT_FOUND,
                )
            del self._misses[schema_id]
        try:
            schema = self._call(self._client.get_schema, schema_id, what=f"schema id {schema_id}")
        except SchemaNotFound:
            if self._miss_ttl > 0:
                if len(self._misses) >= _MAX_MISSES:
                    self._misses.clear()
                self._misses[schema_id] = self._clock() + self._miss_ttl
            raise
        return _avro_text(schema, f"schema id {schema_id}")

    def latest(self, subject: str) -> str:
        """The text of the latest schema registered under ``subject``."""
        found = self._call(self._client.get_latest_version, subject, what=f"subject {subject!r}")
        return _avro_text(found.schema, f"the latest schema of {subject!r}")

    def register(self, subject: str, schema: str) -> int:
        schema_id = self._call(
            self._client.register_schema, subject, Schema(schema, "AVRO"), what=f"{subject!r}"
        )
        if not isinstance(schema_id, int):
            raise RegistryError(f"the answer to registering under {subject!r} has no id")
        return schema_id

    def _call(self, method: Callable[..., Any], *args: Any, what: str) -> Any:
        now = self._clock()
        last = self._last
        if now < self._down_until and last is not None:
            raise type(last)(
                f"{last.message} (not asked again before {self._down_until - now:.1f} s)",
                status=last.status,
                code=last.code,
            )
        try:
            return method(*args)
        except SchemaRegistryError as exc:
            error: RegistryError = _answer_error(exc, what)
        except httpx.HTTPError as exc:  # transport: refused, reset, timeout, TLS
            error = RegistryUnavailable(
                f"cannot reach {self.url} ({type(exc).__name__}: {exc}); check the URL, the "
                "TLS settings and that the registry runs"
            )
        except OAuthTokenError:
            error = RegistryUnavailable(
                "no OAuth token from the token endpoint; check oauth_token_url, the client "
                "id and secret (kafka.schema_registry_client) and that the endpoint runs"
            )
        if isinstance(error, RegistryUnavailable) or error.status in (401, 403):
            self._down_until, self._last = self._clock() + self._retry_after, error
        raise error


def _answer_error(exc: SchemaRegistryError, what: str) -> RegistryError:
    status = exc.http_status_code
    code = exc.error_code if isinstance(exc.error_code, int) and exc.error_code >= 0 else None
    message = str(exc.error_message or "no message")[:300]
    if 300 <= status < 400:
        return RegistryError(
            f"{what}: the registry answered with a redirect ({status}); wardstream follows "
            "none (it would carry the credentials elsewhere): set the registry URL to the "
            "address it redirects to",
            status=status,
        )
    if status == 404 and code in (None, SCHEMA_NOT_FOUND, SUBJECT_NOT_FOUND):
        return SchemaNotFound(f"{what}: {message}", status=status, code=code)
    if status in (401, 403):
        return RegistryError(
            f"{what}: {message}; the registry refused these credentials: check "
            "kafka.schema_registry_client (user and password, token or OAuth client)",
            status=status,
            code=code,
        )
    if status >= 500 or status in (408, 429):
        return RegistryUnavailable(f"{what}: {message}", status=status, code=code)
    return RegistryError(f"{what}: {message}", status=status, code=code)


def _avro_text(schema: Schema, what: str) -> str:
    """The schema text; SchemaLoadError (no use asking again) when it is not plain Avro."""
    kind = schema.schema_type or "AVRO"
    if kind != "AVRO":
        raise SchemaLoadError(f"registry {what}", f"a {kind} schema, not AVRO", _FIX)
    if schema.references:
        raise SchemaLoadError(
            f"registry {what}",
            "it uses schema references, which wardstream does not resolve",
            "register the schema with its named types inlined",
        )
    if not isinstance(schema.schema_str, str):
        raise SchemaLoadError(f"registry {what}", "the answer has no schema text", _FIX)
    return schema.schema_str


_FIX = "produce with an Avro record schema registered in the registry"
