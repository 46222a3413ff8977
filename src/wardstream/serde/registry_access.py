"""How to reach a schema registry: URL checks, credentials and TLS, as client options.

Pure: no connection is opened here. :func:`client_options` turns a checked URL
and a :class:`RegistryAccess` into the configuration dict of
``confluent_kafka.schema_registry.SchemaRegistryClient``.

Credentials (basic auth, a bearer token, an OAuth client secret) are sent only
over https, or over http to a loopback address, which never leaves the host; a
URL that would carry them in the clear to another host is refused. The same
holds for the OAuth token endpoint, which receives the client secret.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from wardstream.serde.errors import RegistryError


@dataclass(frozen=True, repr=False)
class OAuthClient:
    """OAuth 2 client credentials: a token is fetched from ``token_url`` and renewed."""

    client_id: str
    client_secret: str
    token_url: str
    scope: str = ""


@dataclass(frozen=True, repr=False)
class RegistryAccess:
    """Credentials and TLS for the registry; at most one of basic, bearer, oauth.

    ``logical_cluster`` and ``identity_pool`` are Confluent Cloud's bearer headers
    (``target-sr-cluster``, ``Confluent-Identity-Pool-Id``); other registries
    ignore them. ``ca_file`` replaces the system CAs; ``cert_file``/``key_file``
    are the client certificate (mutual TLS). ``max_retries``: retries of a
    failed request (5xx, 408, 429, transport errors) before giving up.
    """

    basic: tuple[str, str] | None = None
    bearer_token: str | None = None
    oauth: OAuthClient | None = None
    logical_cluster: str = ""
    identity_pool: str | None = None
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    key_password: str | None = None
    timeout_s: float = 10.0
    max_retries: int = 1

    def __repr__(self) -> str:  # never the secrets
        return f"RegistryAccess(auth={self.kind!r}, client_cert={self.cert_file is not None})"

    @property
    def kind(self) -> str:
        if self.oauth is not None:
            return "oauth"
        if self.bearer_token is not None:
            return "bearer"
        return "basic" if self.basic is not None else "none"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _in_the_clear(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme != "https" and not is_loopback(parts.hostname or "")


def checked_urls(url: str) -> tuple[list[str], tuple[str, str] | None]:
    """The registry URLs (comma-separated) without user info, and the user info found."""
    urls, userinfo = [], None
    for one in (u.strip() for u in url.split(",")):
        parts = urlsplit(one)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise RegistryError(
                "the registry URL must look like http(s)://host:port[/path]; fix the "
                "schema-registry URL in the operator config (kafka.schema_registry_url)"
            )
        if parts.username is not None and userinfo is None:
            userinfo = (unquote(parts.username), unquote(parts.password or ""))
        netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
        urls.append(urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", "")))
    return urls, userinfo


def client_options(urls: list[str], access: RegistryAccess) -> dict[str, Any]:
    """The SchemaRegistryClient configuration; raises RegistryError for an unsafe one."""
    kinds = [k for k, v in (("basic", access.basic), ("bearer", access.bearer_token),
                            ("oauth", access.oauth)) if v is not None]  # fmt: skip
    if len(kinds) > 1:
        raise RegistryError(
            f"registry credentials of {' and '.join(kinds)} kinds are set: keep one "
            "(kafka.schema_registry_client: basic_auth_*, bearer_token* or oauth_*)"
        )
    if kinds and any(_in_the_clear(u) for u in urls):
        raise RegistryError(
            "the schema registry credentials would cross the network in the clear: use an "
            "https:// registry URL (credentials are sent only over https, or over http to "
            "this host's loopback address)"
        )
    if access.cert_file is not None and any(not u.startswith("https:") for u in urls):
        raise RegistryError(
            "a registry client certificate is set but the registry URL is not https://: "
            "a certificate is presented only over TLS; use the https:// URL"
        )
    conf: dict[str, Any] = {
        "url": ",".join(urls),
        "timeout": access.timeout_s,
        "max.retries": access.max_retries,
        "retries.wait.ms": 200,
        "retries.max.wait.ms": 2000,
        "cache.latest.ttl.sec": 0,  # "latest" is asked for by `check`: never a stale answer
    }
    if access.basic is not None:
        conf["basic.auth.user.info"] = f"{access.basic[0]}:{access.basic[1]}"
    if access.bearer_token is not None or access.oauth is not None:
        conf["bearer.auth.logical.cluster"] = access.logical_cluster
        if access.identity_pool:
            conf["bearer.auth.identity.pool.id"] = access.identity_pool
    if access.bearer_token is not None:
        conf["bearer.auth.credentials.source"] = "STATIC_TOKEN"
        conf["bearer.auth.token"] = access.bearer_token
    if access.oauth is not None:
        if _in_the_clear(access.oauth.token_url):
            raise RegistryError(
                "the OAuth token URL is plain http to another host: the client secret would "
                "cross the network in the clear; use its https:// URL"
            )
        conf["bearer.auth.credentials.source"] = "OAUTHBEARER"
        conf["bearer.auth.client.id"] = access.oauth.client_id
        conf["bearer.auth.client.secret"] = access.oauth.client_secret
        conf["bearer.auth.scope"] = access.oauth.scope
        conf["bearer.auth.issuer.endpoint.url"] = access.oauth.token_url
    for key, value in (("ssl.ca.location", access.ca_file),
                       ("ssl.certificate.location", access.cert_file),
                       ("ssl.key.location", access.key_file),
                       ("ssl.key.password", access.key_password)):  # fmt: skip
        if value is not None:
            conf[key] = value
    return conf
