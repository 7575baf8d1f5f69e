"""Real redis-server processes for the tests: one server and a three-master cluster.

Both run with the durability the Redis wallet demands (`appendonly yes`, `appendfsync
always`) in a temporary directory, on free loopback ports. They start on first use and
are shared by the whole test session (`shared_server()`, `shared_cluster()`): starting
a cluster costs about a second, a test should not pay it. Each is stopped by its PID
when the session's process exits, and dies with it even if that process is killed
(the kernel's parent-death signal), so no server outlives a test run.

Tests that need a clean slate call `flush()`: it empties every master's keys but keeps
the loaded functions, as a real deployment would.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

__all__ = [
    "CLUSTER_MASTERS",
    "RedisCluster",
    "RedisServer",
    "shared_cluster",
    "shared_server",
    "start_cluster",
    "start_server",
]

REDIS_SERVER = shutil.which("redis-server") or "redis-server"
READY_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 10.0
POLL_INTERVAL_S = 0.01
CLUSTER_MASTERS = 3
SLOTS = 16_384
CLUSTER_NODE_TIMEOUT_MS = 5_000
_PR_SET_PDEATHSIG = 1
_CLUSTER_CLIENT: Any = redis.RedisCluster


def free_port() -> int:
    """A loopback port nothing listens on right now (the kernel's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM when the test process dies, however it dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class RedisServer:
    """One redis-server process; `url` is what a store opens."""

    port: int
    directory: Path
    process: subprocess.Popen[bytes]
    extra: tuple[str, ...] = ()
    """Options beyond the defaults, passed again on `restart()`."""
    bus_port: int | None = None
    """The cluster bus port of a cluster node."""

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        """A plain synchronous client, for set-up and inspection."""
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=READY_TIMEOUT_S)

    def flush(self) -> None:
        with self.client() as client:
            client.flushall()

    def stop(self) -> None:
        """SIGTERM by PID (redis-server then fsyncs the AOF and exits), SIGKILL if stuck."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(STOP_TIMEOUT_S)

    def kill(self) -> None:
        """SIGKILL by PID: a crash, for durability tests."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(STOP_TIMEOUT_S)

    def restart(self) -> None:
        """Start a new process on the same port and directory (it loads the AOF)."""
        self.stop()
        self.process = _spawn(self.port, self.directory, self.extra)
        _wait_ready(self)


def _spawn(port: int, directory: Path, extra: tuple[str, ...]) -> subprocess.Popen[bytes]:
    args = [
        REDIS_SERVER,
        "--port", str(port),
        "--bind", "127.0.0.1",
        "--dir", str(directory),
        "--save", "",
        "--appendonly", "yes",
        "--appendfsync", "always",
        "--daemonize", "no",
        "--loglevel", "warning",
        "--logfile", str(directory / "redis.log"),
        *extra,
    ]  # fmt: skip
    return subprocess.Popen(
        args,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=_die_with_parent,
    )


def _wait_ready(server: RedisServer) -> None:
    deadline_s = time.monotonic() + READY_TIMEOUT_S
    while True:
        if server.process.poll() is not None:
            log = server.directory / "redis.log"
            text = log.read_text() if log.exists() else ""
            raise RuntimeError(f"redis-server on {server.port} exited: {text[-2_000:]}")
        try:
            with server.client() as client:
                client.ping()
                return
        except redis.ConnectionError:
            if time.monotonic() > deadline_s:
                server.stop()
                raise
            time.sleep(POLL_INTERVAL_S)


def start_server(directory: Path | None = None, *extra: str) -> RedisServer:
    """A redis-server with AOF and `appendfsync always` (override with `extra` options,
    e.g. `"--appendfsync", "everysec"`); the caller stops it."""
    directory = directory or Path(tempfile.mkdtemp(prefix="redis-"))
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    server = RedisServer(port, directory, _spawn(port, directory, extra), extra)
    _wait_ready(server)
    return server


@dataclass
class RedisCluster:
    """Three masters, no replicas, every slot served; `url` lists every node."""

    directory: Path
    nodes: list[RedisServer] = field(default_factory=list)

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(f"127.0.0.1:{node.port}" for node in self.nodes)

    def flush(self) -> None:
        for node in self.nodes:
            node.flush()

    def client(self) -> Any:
        """A synchronous cluster client (typed `Any`: redis-py's annotations of
        `RedisCluster` differ across the releases the floors allow)."""
        return _CLUSTER_CLIENT(host="127.0.0.1", port=self.nodes[0].port)

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


def start_cluster(directory: Path | None = None) -> RedisCluster:
    """Start three cluster-enabled servers, split the slots between them, join them, and
    wait until every node reports `cluster_state:ok` (about a second)."""
    directory = directory or Path(tempfile.mkdtemp(prefix="redis-cluster-"))
    cluster = RedisCluster(directory)
    try:
        for index in range(CLUSTER_MASTERS):
            node_dir = directory / f"node{index}"
            bus_port = free_port()
            node = start_server(
                node_dir,
                "--cluster-enabled", "yes",
                "--cluster-config-file", str(node_dir / "nodes.conf"),
                "--cluster-port", str(bus_port),
                "--cluster-node-timeout", str(CLUSTER_NODE_TIMEOUT_MS),
            )  # fmt: skip
            node.bus_port = bus_port
            cluster.nodes.append(node)
        _form(cluster)
    except BaseException:
        cluster.stop()
        raise
    return cluster


def _form(cluster: RedisCluster) -> None:
    """What `redis-cli --cluster create` does, without its prompts and sleeps."""
    nodes = cluster.nodes
    share = SLOTS // len(nodes)
    for index, node in enumerate(nodes):
        first = index * share
        last = SLOTS - 1 if index == len(nodes) - 1 else first + share - 1
        with node.client() as client:
            client.execute_command("CLUSTER", "ADDSLOTSRANGE", first, last)
            client.execute_command("CLUSTER", "SET-CONFIG-EPOCH", index + 1)
    with nodes[0].client() as first_client:
        for node in nodes[1:]:
            first_client.execute_command("CLUSTER", "MEET", "127.0.0.1", node.port, node.bus_port)
    deadline_s = time.monotonic() + READY_TIMEOUT_S
    while not all(_cluster_ok(node, len(nodes)) for node in nodes):
        if time.monotonic() > deadline_s:
            raise RuntimeError("the test cluster did not reach cluster_state:ok")
        time.sleep(POLL_INTERVAL_S * 5)


def _cluster_ok(node: RedisServer, masters: int) -> bool:
    with node.client() as client:
        info = client.execute_command("CLUSTER", "INFO")
    text = info.decode() if isinstance(info, bytes) else str(info)
    fields = dict(line.split(":", 1) for line in text.split() if ":" in line)
    return (
        fields.get("cluster_state") == "ok"
        and fields.get("cluster_known_nodes") == str(masters)
        and fields.get("cluster_slots_ok") == str(SLOTS)
    )


_shared: dict[str, RedisServer | RedisCluster] = {}


def shared_server() -> RedisServer:
    """The session's one redis-server (AOF always), started on first use."""
    found = _shared.get("server")
    if found is None:
        found = _shared["server"] = start_server()
    assert isinstance(found, RedisServer)
    return found


def shared_cluster() -> RedisCluster:
    """The session's three-master cluster (AOF always), started on first use."""
    found = _shared.get("cluster")
    if found is None:
        found = _shared["cluster"] = start_cluster()
    assert isinstance(found, RedisCluster)
    return found


@atexit.register
def _stop_shared() -> None:
    """Stop the shared servers by PID and remove their directories."""
    for started in _shared.values():
        with contextlib.suppress(Exception):
            started.stop()
        shutil.rmtree(started.directory, ignore_errors=True)
    _shared.clear()
