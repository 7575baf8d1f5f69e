"""The Redis test servers are what the wallet needs: AOF fsynced always, a real cluster."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.redis_servers import CLUSTER_MASTERS, shared_cluster, shared_server, start_server

pytestmark = pytest.mark.redis


def test_the_shared_server_fsyncs_its_append_only_file_before_replying() -> None:
    with shared_server().client() as client:
        assert client.config_get("append*") | client.config_get("save") == {
            "appendonly": "yes",
            "appendfsync": "always",
            "appendfilename": "appendonly.aof",
            "appenddirname": "appendonlydir",
            "save": "",
        }


def test_a_write_acknowledged_before_a_sigkill_is_there_after_the_restart(
    tmp_path: Path,
) -> None:
    server = start_server(tmp_path)
    try:
        with server.client() as client:
            client.set("acknowledged", "1")
        server.kill()
        server.restart()
        with server.client() as client:
            assert client.get("acknowledged") == b"1"
    finally:
        server.stop()


def test_the_cluster_serves_every_slot_from_three_masters() -> None:
    cluster = shared_cluster()
    with cluster.nodes[0].client() as client:
        text = client.execute_command("CLUSTER", "INFO").decode()
        assert client.config_get("appendfsync") == {"appendfsync": "always"}
    info = dict(line.split(":", 1) for line in text.split())
    assert info["cluster_state"] == "ok"
    assert int(info["cluster_size"]) == CLUSTER_MASTERS  # masters serving slots
    assert int(info["cluster_slots_ok"]) == 16_384
    with cluster.client() as client:
        for key in ("{a}x", "{b}y", "{c}z", "plain"):
            client.set(key, key)
        assert [client.get(key) for key in ("{a}x", "{b}y", "{c}z", "plain")] == [
            b"{a}x", b"{b}y", b"{c}z", b"plain",
        ]  # fmt: skip
