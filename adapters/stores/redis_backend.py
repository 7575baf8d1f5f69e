"""The Redis wallet as a backend of `adapters.stores.open`: `redis://` and `redis+cluster://`.

URLs (`redis_url`): `redis://host:port/db` for one server, `redis+cluster://host:port,...`
for a Redis Cluster, `?appendfsync=everysec` to accept that durability. The `[wallet]`
settings of the SQLite store (`synchronous`, `batch_ops_max`, ...) do not apply and are
ignored; Redis's durability is the server's (`redis_durability`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from redis.exceptions import RedisError

from adapters.stores.backend import Backend, WalletAccessError
from adapters.stores.redis_durability import DurabilityRefused
from adapters.stores.redis_link import LinkError, ReplyError
from adapters.stores.redis_store import RedisWalletStore
from adapters.stores.redis_url import parse_redis_url
from adapters.stores.redis_verify import RedisVerifyReport, verify_redis_wallet

__all__ = ["REDIS"]


def _check_url(url: str) -> None:
    parse_redis_url(url)


async def _open(
    url: str, *, data_dir: Path, clock_us: Callable[[], int], **options: Any
) -> RedisWalletStore:
    try:
        return await RedisWalletStore.open(url, clock_us=clock_us)
    except (DurabilityRefused, LinkError, ReplyError, RedisError, OSError) as exc:
        where = parse_redis_url(url).describe()
        raise WalletAccessError(f"cannot open the wallet at {where}: {exc}") from exc


def _verify(url: str, *, data_dir: Path, currencies_extra: Mapping[str, int]) -> RedisVerifyReport:
    try:
        return verify_redis_wallet(url, currencies_extra=currencies_extra)
    except (RedisError, OSError) as exc:
        where = parse_redis_url(url).describe()
        raise WalletAccessError(f"cannot read the wallet at {where}: {exc}") from exc


REDIS = Backend(open=_open, verify=_verify, check_url=_check_url)
