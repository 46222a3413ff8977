"""Schema-registry clients: the Confluent REST API over ``urllib``, and in memory.

Constructors never open a connection; the first lookup does. Both raise
:class:`SchemaNotFound` for an unknown id and :class:`RegistryError` (or
:class:`RegistryUnavailable` when unreachable) for anything else.
Works with Confluent Schema Registry, Karapace, Redpanda, and Apicurio's
compatibility API (``http://host:8080/apis/ccompat/v7``).

Credentials: HTTP basic auth is sent only over https (or over http to a loopback
address, which never leaves the host); a registry URL with credentials and plain
http to another host is refused. Redirects are never followed: urllib would send
the Authorization header to wherever the registry points. An unknown schema id
is remembered as a miss for ``miss_ttl_s`` seconds (default 30), so a stream of
events naming it costs one lookup, not one per event.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from wardstream.serde.errors import RegistryError, RegistryUnavailable, SchemaNotFound

_CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"
_ACCEPT = f"{_CONTENT_TYPE}, application/json"
_SCHEMA_NOT_FOUND = 40403
DEFAULT_MISS_TTL_S = 30.0


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Follow no redirect: the 3xx answer becomes an HTTPError that ``_call`` explains."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def _canonical(schema: str) -> str:
    try:
        return json.dumps(json.loads(schema), sort_keys=True, separators=(",", ":"))
    except json.JSONDecodeError:
        return schema


class InMemorySchemaRegistry:
    """A registry in a dict, for tests and single-process demos.

    Ids start at 1; registering the same schema (ignoring JSON formatting) again
    returns its id. ``lookups`` counts ``get_schema`` calls, so tests can check
    that codecs cache.
    """

    def __init__(self) -> None:
        self._schemas: dict[int, str] = {}
        self._ids: dict[str, int] = {}
        self._subjects: dict[str, list[int]] = {}
        self.lookups = 0

    def get_schema(self, schema_id: int) -> str:
        self.lookups += 1
        try:
            return self._schemas[schema_id]
        except KeyError:
            pass
        raise SchemaNotFound(f"no schema with id {schema_id}", status=404, code=_SCHEMA_NOT_FOUND)

    def register(self, subject: str, schema: str) -> int:
        key = _canonical(schema)
        schema_id = self._ids.get(key)
        if schema_id is None:
            schema_id = len(self._schemas) + 1
            self._ids[key] = schema_id
            self._schemas[schema_id] = schema
        versions = self._subjects.setdefault(subject, [])
        if schema_id not in versions:
            versions.append(schema_id)
        return schema_id

    def subjects(self) -> list[str]:
        return sorted(self._subjects)


class HttpSchemaRegistry:
    """The Confluent schema-registry REST API, with only the standard library.

    ``url`` is the API root, e.g. ``http://localhost:8081`` or Apicurio's
    ``http://localhost:8080/apis/ccompat/v7``. ``auth`` is HTTP basic
    ``(user, password)``; user info in the URL is used the same way and never
    shown in messages. ``miss_ttl_s``: how long an unknown id is answered from
    memory (0 = ask every time); ``clock`` is injectable for tests.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 10.0,
        auth: tuple[str, str] | None = None,
        miss_ttl_s: float = DEFAULT_MISS_TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise RegistryError(
                "the registry URL must look like http(s)://host:port[/path]; fix the "
                "schema-registry URL in the operator config"
            )
        if parts.username is not None:
            auth = auth or (parts.username, parts.password or "")
        if auth is not None and parts.scheme != "https" and not is_loopback(parts.hostname):
            raise RegistryError(
                "the schema registry credentials would cross the network in the clear: use an "
                "https:// registry URL (basic auth is sent only over https, or over http to "
                "this host's loopback address)"
            )
        netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
        self.url = urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))
        self._timeout = timeout
        self._miss_ttl, self._clock = miss_ttl_s, clock
        self._misses: dict[int, float] = {}  # schema id -> when the miss is forgotten
        self._headers = {"Accept": _ACCEPT}
        if auth is not None:
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode("ascii")
            self._headers["Authorization"] = f"Basic {token}"

    def __repr__(self) -> str:
        return f"HttpSchemaRegistry({self.url!r})"

    def get_schema(self, schema_id: int) -> str:
        schema_id = int(schema_id)
        until = self._misses.get(schema_id)
        if until is not None:
            if self._clock() < until:
                raise SchemaNotFound(
                    f"no schema with id {schema_id} (a recent lookup found none; asked again "
                    f"after {self._miss_ttl:g} s)",
                    status=404,
                    code=_SCHEMA_NOT_FOUND,
                )
            del self._misses[schema_id]
        try:
            answer = self._call("GET", f"/schemas/ids/{schema_id}")
        except SchemaNotFound:
            if self._miss_ttl > 0:
                if len(self._misses) >= 10_000:  # ids are attacker-chosen: bound the memory
                    self._misses.clear()
                self._misses[schema_id] = self._clock() + self._miss_ttl
            raise
        kind = answer.get("schemaType", "AVRO")
        if kind != "AVRO":
            raise RegistryError(f"schema id {schema_id} is a {kind} schema, not AVRO")
        if answer.get("references"):
            raise RegistryError(
                f"schema id {schema_id} uses schema references, which wardstream does not "
                "resolve; register the schema with its named types inlined"
            )
        schema = answer.get("schema")
        if not isinstance(schema, str):
            raise RegistryError(f"the answer for schema id {schema_id} has no schema text")
        return schema

    def register(self, subject: str, schema: str) -> int:
        path = f"/subjects/{quote(subject, safe='')}/versions"
        answer = self._call("POST", path, {"schema": schema})
        schema_id = answer.get("id")
        if not isinstance(schema_id, int):
            raise RegistryError(f"the answer to registering under {subject!r} has no id")
        return schema_id

    def _call(self, method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
        headers = dict(self._headers)
        data = None
        if payload is not None:
            data = json.dumps(payload).encode("utf-8")
            headers["Content-Type"] = _CONTENT_TYPE
        # The scheme is checked to be http(s) in __init__.
        request = urllib.request.Request(  # noqa: S310
            self.url + path, data=data, headers=headers, method=method
        )
        try:
            with _OPENER.open(request, timeout=self._timeout) as response:
                body = response.read()
        except urllib.error.HTTPError as exc:
            if 300 <= exc.code < 400:
                raise RegistryError(
                    f"{method} {path}: the registry answered with a redirect ({exc.code}); "
                    "wardstream follows none (it would carry the credentials elsewhere): set "
                    "the registry URL to the address it redirects to",
                    status=exc.code,
                ) from None
            raise _http_error(exc, method, path) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise RegistryUnavailable(
                f"cannot reach {self.url} ({reason}); check the URL and that the registry runs"
            ) from None
        try:
            answer = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            answer = None
        if not isinstance(answer, dict):
            raise RegistryError(f"{method} {path}: the answer is not a JSON object")
        return answer


def _http_error(exc: urllib.error.HTTPError, method: str, path: str) -> RegistryError:
    try:
        body = json.loads(exc.read() or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError, OSError):
        body = {}
    if not isinstance(body, dict):
        body = {}
    code = body.get("error_code") if isinstance(body.get("error_code"), int) else None
    message = str(body.get("message") or exc.reason or "no message")
    text = f"{method} {path}: {message}"
    if exc.code == 404 and method == "GET" and code in (None, _SCHEMA_NOT_FOUND):
        return SchemaNotFound(text, status=exc.code, code=code)
    if exc.code >= 500:
        return RegistryUnavailable(text, status=exc.code, code=code)
    return RegistryError(text, status=exc.code, code=code)
