"""Wallet URLs that name Redis: one server, or a Redis Cluster by some of its nodes.

    redis://[[user]:password@]host:port[/db][?appendfsync=everysec]
    redis+cluster://[[user]:password@]host:port[,host:port...][?appendfsync=everysec]

A cluster URL needs only some of the masters (any one answers with the slot map); a
cluster has database 0 only. `appendfsync=everysec` accepts a server that fsyncs its
append-only file once a second instead of before every reply (`redis_durability` says
what a crash then loses); without it the store refuses such a server.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass

from adapters.stores.redis_link import Endpoint

__all__ = ["CLUSTER_SCHEME", "SCHEME", "RedisTarget", "parse_redis_url"]

SCHEME = "redis"
CLUSTER_SCHEME = "redis+cluster"
DEFAULT_PORT = 6379
FSYNC_POLICIES = ("always", "everysec")


@dataclass(frozen=True, slots=True)
class RedisTarget:
    """Where the wallet lives and what durability it accepts."""

    cluster: bool
    endpoints: tuple[Endpoint, ...]
    appendfsync: str = "always"
    """The weakest `appendfsync` the store accepts: `always` (default) or `everysec`."""

    def describe(self) -> str:
        """For logs: the nodes and the durability, never a password."""
        scheme = CLUSTER_SCHEME if self.cluster else SCHEME
        nodes = ",".join(endpoint.address for endpoint in self.endpoints)
        db = "" if self.cluster else f"/{self.endpoints[0].db}"
        return f"redis {scheme}://{nodes}{db}, appendfsync={self.appendfsync} required"


def parse_redis_url(url: str) -> RedisTarget:
    """A `RedisTarget`, or `ValueError` naming what is wrong with `url`."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in (SCHEME, CLUSTER_SCHEME):
        raise ValueError(f"not a Redis wallet URL (redis:// or redis+cluster://): {url!r}")
    parts = urllib.parse.urlsplit(f"redis://{rest}")
    netloc = parts.netloc
    username = password = None
    if "@" in netloc:
        credentials, _, netloc = netloc.rpartition("@")
        user, has_password, secret = credentials.partition(":")
        username = urllib.parse.unquote(user) or None
        password = urllib.parse.unquote(secret) if has_password else None
    hosts = [_host_port(item, url) for item in netloc.split(",")]
    cluster = scheme == CLUSTER_SCHEME
    db = _db(parts.path, url)
    if cluster and db:
        raise ValueError(f"a Redis Cluster has database 0 only: {url!r}")
    if not cluster and len(hosts) != 1:
        raise ValueError(f"redis:// names one server; use redis+cluster:// for a cluster: {url!r}")
    options = urllib.parse.parse_qs(parts.query, keep_blank_values=True, strict_parsing=False)
    unknown = set(options) - {"appendfsync"}
    if unknown:
        raise ValueError(f"unknown Redis wallet URL options {sorted(unknown)} in {url!r}")
    appendfsync = options.get("appendfsync", ["always"])[-1]
    if appendfsync not in FSYNC_POLICIES:
        raise ValueError(f"appendfsync must be one of {FSYNC_POLICIES}, not {appendfsync!r}")
    endpoints = tuple(Endpoint(host, port, db, username, password) for host, port in hosts)
    return RedisTarget(cluster, endpoints, appendfsync)


def _host_port(item: str, url: str) -> tuple[str, int]:
    host, _, port = item.rpartition(":") if ":" in item else (item, "", "")
    host = host.strip("[]")
    if not host:
        raise ValueError(f"a Redis wallet URL needs host:port: {url!r}")
    if not port:
        return host, DEFAULT_PORT
    if not port.isdigit() or not 0 < int(port) < 65_536:
        raise ValueError(f"bad port {port!r} in {url!r}")
    return host, int(port)


def _db(path: str, url: str) -> int:
    text = path.strip("/")
    if not text:
        return 0
    if not text.isdigit():
        raise ValueError(f"the database must be a number: {url!r}")
    return int(text)
