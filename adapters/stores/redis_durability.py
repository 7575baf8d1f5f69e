"""The Redis wallet starts only on a server that keeps what it acknowledged.

Checked on every master at start-up, each refusal naming the setting to change:

- `appendonly yes`: without the append-only file a crash loses everything since the
  last RDB snapshot (minutes), or everything at all;
- `appendfsync always`: Redis fsyncs the file before it replies, so an acknowledged
  bet survives a crash of the server or its machine. With `everysec` a background
  thread fsyncs once a second, and while an fsync is slow Redis holds back its writes
  to the file for up to two seconds more: a crash of the machine (power, kernel) loses
  up to about 2 s of acknowledged writes; a crash of the redis-server process alone
  normally loses nothing (the kernel has what was written) but up to 2 s when the disk
  is slow. The store accepts `everysec` only when the URL says `?appendfsync=everysec`,
  and says so in its description;
- `maxmemory-policy noeviction`: any other policy deletes keys under memory pressure,
  and here every key is money or an idempotency record;
- Redis 7.0 or later: the wallet's Lua runs as a Redis function.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from redis.exceptions import RedisError

from adapters.stores.redis_clients import one_shot_client
from adapters.stores.redis_link import Endpoint

__all__ = ["EVERYSEC_LOSS", "DurabilityRefused", "ServerDurability", "check_durability"]

EVERYSEC_LOSS = (
    "appendfsync everysec: a crash of a Redis machine loses up to ~2 s of acknowledged "
    "wallet writes (1 s between fsyncs, plus up to 2 s more when the disk is slow)"
)
REDIS_MAJOR_MIN = 7
CHECK_TIMEOUT_S = 5.0


class DurabilityRefused(RuntimeError):
    """A Redis server is not configured to keep acknowledged wallet writes."""


@dataclass(frozen=True, slots=True)
class ServerDurability:
    address: str
    version: str
    appendonly: str
    appendfsync: str
    maxmemory_policy: str


async def read_durability(endpoint: Endpoint) -> ServerDurability:
    """The settings of one server (CONFIG GET and INFO; one short-lived connection)."""
    client = one_shot_client(endpoint, CHECK_TIMEOUT_S)
    try:
        config = await client.config_get("append*")
        config.update(await client.config_get("maxmemory-policy"))
        info = await client.info("server")
    except RedisError as exc:
        raise DurabilityRefused(
            f"cannot read the persistence settings of Redis at {endpoint.address} "
            f"(CONFIG GET must be allowed): {exc}"
        ) from exc
    finally:
        await client.aclose()
    return ServerDurability(
        endpoint.address,
        str(info.get("redis_version", "0")),
        str(config.get("appendonly", "")),
        str(config.get("appendfsync", "")),
        str(config.get("maxmemory-policy", "")),
    )


def refusal(found: ServerDurability, accepted_fsync: str) -> str | None:
    """Why the wallet must not run on this server, or None."""
    where = f"Redis at {found.address}"
    major = found.version.split(".")[0]
    if not major.isdigit() or int(major) < REDIS_MAJOR_MIN:
        return f"{where} is version {found.version}; the wallet needs Redis 7.0 or later"
    if found.appendonly != "yes":
        return f"{where} has appendonly {found.appendonly}; set `appendonly yes`"
    allowed = ("always",) if accepted_fsync == "always" else ("always", "everysec")
    if found.appendfsync not in allowed:
        hint = "" if accepted_fsync == "everysec" else (
            ", or accept everysec's loss window with ?appendfsync=everysec in the wallet URL"
        )  # fmt: skip
        return (
            f"{where} has appendfsync {found.appendfsync}; set `appendfsync always` "
            f"(acknowledged writes must be on disk){hint}"
        )
    if found.maxmemory_policy != "noeviction":
        return (
            f"{where} has maxmemory-policy {found.maxmemory_policy}; set "
            "`maxmemory-policy noeviction` (eviction would delete wallet keys)"
        )
    return None


async def check_durability(
    masters: Sequence[Endpoint], accepted_fsync: str
) -> list[ServerDurability]:
    """Raise `DurabilityRefused` unless every master keeps acknowledged writes."""
    assert accepted_fsync in ("always", "everysec")
    found = [await read_durability(endpoint) for endpoint in masters]
    for server in found:
        problem = refusal(server, accepted_fsync)
        if problem is not None:
            raise DurabilityRefused(problem)
    return found
