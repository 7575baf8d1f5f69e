"""Redis wallet URLs: one server or a cluster, and the durability they accept."""

from __future__ import annotations

import pytest

from adapters.stores.redis_link import Endpoint
from adapters.stores.redis_url import RedisTarget, parse_redis_url


def test_one_server_with_a_database_and_a_password() -> None:
    assert parse_redis_url("redis://:s3cret@10.0.0.5:6380/2") == RedisTarget(
        cluster=False, endpoints=(Endpoint("10.0.0.5", 6380, 2, None, "s3cret"),)
    )


def test_a_cluster_by_some_of_its_nodes_accepting_everysec() -> None:
    target = parse_redis_url("redis+cluster://app:pw@r1:7000,r2:7001?appendfsync=everysec")
    assert target.cluster
    assert [endpoint.address for endpoint in target.endpoints] == ["r1:7000", "r2:7001"]
    assert {endpoint.username for endpoint in target.endpoints} == {"app"}
    assert target.appendfsync == "everysec"
    assert "pw" not in target.describe()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("rediss://h:1/0", "not a Redis wallet URL"),
        ("redis://h1:1,h2:2/0", "use redis\\+cluster://"),
        ("redis+cluster://h:1/3", "database 0 only"),
        ("redis://h:1/0?appendfsync=no", "appendfsync must be one of"),
        ("redis://h:1/0?ttl=5", "unknown Redis wallet URL options"),
        ("redis://h:x/0", "bad port"),
        ("redis://h:1/zero", "must be a number"),
    ],
)
def test_a_url_that_cannot_name_a_redis_wallet_is_refused_saying_why(
    url: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        parse_redis_url(url)
