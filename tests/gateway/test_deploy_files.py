"""The deployment files, read without Docker: compose.yaml, the Prometheus and Grafana
configuration it mounts, and the Dockerfile.

No image is built here (base images cannot be pulled everywhere the suite runs). What
can be checked without one: the files parse, every path the stack mounts exists in the
repository, Redis fsyncs every write, Prometheus scrapes exactly the metrics ports of the
gateway's workers with the shipped rules, Grafana gets the shipped dashboard and that
Prometheus, and the image is multi-stage, non-root and installs built wheels only.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from gateway.cli import build_parser
from gateway.settings import Settings
from gateway.workers import check_workers

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "compose.yaml"
DOCKERFILE = REPO / "Dockerfile"
_KEY = re.compile(r"^([A-Za-z0-9_.-]+):(?:\s+(.*))?$")

Json = Any


# -- a reader for the YAML these files use (PyYAML is not a dependency) ---------------


def _yaml(path: Path) -> Json:
    """Block mappings and sequences, plain and double-quoted scalars, full-line comments:
    the subset compose.yaml and the Prometheus and Grafana files keep to. Anything else
    is refused, so a file that leaves the subset fails here rather than being misread."""
    lines = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        text = line.strip()
        if text and not text.startswith("#"):
            assert " #" not in text, f"{path.name}:{number}: a comment after a value"
            lines.append((len(line) - len(line.lstrip(" ")), text))
    value, end = _node(lines, 0, lines[0][0])
    assert end == len(lines), f"{path.name}: unread from {lines[end]}"
    return value


def _node(lines: list[tuple[int, str]], at: int, indent: int) -> tuple[Json, int]:
    if lines[at][1].startswith("- "):
        items = []
        while at < len(lines) and lines[at][0] == indent and lines[at][1].startswith("- "):
            rest = lines[at][1][2:]
            if _KEY.match(rest):  # `- key: value` starts a mapping two columns in
                lines[at] = (indent + 2, rest)
                item, at = _node(lines, at, indent + 2)
            else:
                item, at = _scalar(rest), at + 1
            items.append(item)
        return items, at
    found: dict[str, Json] = {}
    while at < len(lines) and lines[at][0] == indent:
        key = _KEY.match(lines[at][1])
        assert key is not None, f"expected `key: value`, not {lines[at][1]!r}"
        assert key[1] not in found, f"{key[1]} twice"
        at += 1
        if key[2]:
            found[key[1]] = _scalar(key[2])
        else:
            nested = lines[at][0] if at < len(lines) else -1
            assert nested > indent, f"{key[1]} has no value"
            found[key[1]], at = _node(lines, at, nested)
    return found, at


def _scalar(text: str) -> str:
    if text.startswith('"'):
        value: str = json.loads(text)  # YAML double quotes: JSON escapes are the subset used
        return value
    assert text[0] not in "'[{&*!|>%@`", f"unsupported scalar {text!r}"
    return text


# -- compose.yaml ---------------------------------------------------------------------


def _services() -> dict[str, Json]:
    services: dict[str, Json] = _yaml(COMPOSE)["services"]
    return services


def _bind_mounts(service: Json) -> dict[PurePosixPath, Path]:
    """Container path -> repository path, for each mount of a file or directory here."""
    found = {}
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith("./"):
            found[PurePosixPath(target)] = REPO / source
    return found


def _mounted(service: Json, container_path: str) -> Path:
    """The repository file that `container_path` is in the service's container."""
    wanted = PurePosixPath(container_path)
    for target, source in _bind_mounts(service).items():
        if wanted == target:
            return source
        if target in wanted.parents:
            return source / wanted.relative_to(target)
    raise AssertionError(f"{container_path} is not mounted from the repository")


def _gateway() -> tuple[int, int]:
    """The compose gateway's worker count and first metrics port, as it would read them."""
    gamegate = _services()["gamegate"]
    args = build_parser().parse_args(gamegate["command"])
    assert args.workers is not None, "the compose gateway says how many workers"
    metrics_port = int(gamegate["environment"]["GAMEGATE_SERVER__METRICS_PORT"])
    return args.workers, metrics_port


def test_the_stack_has_the_gateway_redis_prometheus_and_grafana() -> None:
    assert set(_services()) == {"gamegate", "redis", "prometheus", "grafana"}


def test_every_path_the_stack_mounts_or_builds_exists_in_the_repository() -> None:
    mounts = [
        source for service in _services().values() for source in _bind_mounts(service).values()
    ]
    assert mounts
    for source in mounts:
        assert source.exists(), f"compose.yaml mounts {source}, which does not exist"
    context = REPO / _services()["gamegate"]["build"]["context"]
    assert (context / "Dockerfile").is_file()


def test_the_gateway_runs_two_workers_on_the_redis_wallet_in_demo_mode() -> None:
    gamegate = _services()["gamegate"]
    workers, _ = _gateway()
    assert workers == 2
    assert gamegate["environment"]["GAMEGATE_WALLET__URL"] == "redis://redis:6379/0"
    assert "redis" in gamegate["depends_on"]
    assert "--demo" in gamegate["command"], "the header comment labels the stack a demo"
    assert "DEMO" in COMPOSE.read_text(encoding="utf-8").partition("services:")[0]


def test_the_compose_gateway_settings_load_and_allow_its_workers(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """As the container reads them: the image's config (`COPY config ./config` under
    /app), the service's environment, its command line."""
    gamegate = _services()["gamegate"]
    for name in [name for name in os.environ if name.startswith("GAMEGATE_")]:
        monkeypatch.delenv(name)
    for name, value in gamegate["environment"].items():
        monkeypatch.setenv(name, value)
    args = build_parser().parse_args(gamegate["command"])
    config = REPO / PurePosixPath(args.config).relative_to("/app")
    overrides: dict[str, Any] = {"server": {"host": args.host, "workers": args.workers}}
    settings = Settings(config=config, data_dir=tmp_path, **overrides)
    check_workers(settings)  # a SQLite wallet would be refused with two workers
    assert settings.server.workers == 2
    assert settings.server.metrics_port == _gateway()[1]


def test_redis_appends_and_fsyncs_every_write_to_a_volume() -> None:
    redis = _services()["redis"]
    command = redis["command"]
    assert command[0] == "redis-server"
    options = dict(zip(command[1::2], command[2::2], strict=True))
    assert options["--appendonly"] == "yes"
    assert options["--appendfsync"] == "always"
    named_volumes = _yaml(COMPOSE)["volumes"]
    mounts = dict(reversed(volume.split(":")[:2]) for volume in redis["volumes"])
    assert mounts["/data"] in named_volumes, "the append-only file outlives the container"


def test_prometheus_scrapes_each_worker_metrics_port_with_the_shipped_rules() -> None:
    prometheus = _services()["prometheus"]
    config_path = _mounted(prometheus, "/etc/prometheus/prometheus.yml")
    config = _yaml(config_path)
    (job,) = [job for job in config["scrape_configs"] if job["job_name"] == "gamegate"]
    targets = [target for static in job["static_configs"] for target in static["targets"]]
    workers, metrics_port = _gateway()
    assert sorted(targets) == [f"gamegate:{metrics_port + index}" for index in range(workers)]
    for rule_file in config["rule_files"]:
        mounted = _mounted(prometheus, f"/etc/prometheus/{rule_file}")
        assert mounted == REPO / "config" / "prometheus" / "alerts.yml"


def test_grafana_gets_the_shipped_dashboard_and_the_stack_prometheus() -> None:
    grafana = _services()["grafana"]
    provisioning = _mounted(grafana, "/etc/grafana/provisioning")
    (datasource,) = _yaml(provisioning / "datasources" / "prometheus.yml")["datasources"]
    assert datasource["type"] == "prometheus"
    assert datasource["url"] == "http://prometheus:9090"
    assert datasource["isDefault"] == "true"
    (provider,) = _yaml(provisioning / "dashboards" / "gamegate.yml")["providers"]
    directory = PurePosixPath(provider["options"]["path"])
    dashboard = _mounted(grafana, str(directory / "gamegate-dashboard.json"))
    assert dashboard == REPO / "config" / "grafana" / "gamegate-dashboard.json"


def test_the_image_builds_wheels_then_installs_only_them_as_a_non_root_user() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    stages = re.findall(r"(?m)^FROM\s+(\S+)(?:\s+AS\s+(\S+))?", text)
    assert len(stages) == 2, stages
    assert stages[0][1] == "build"
    runtime = text[text.rindex("\nFROM ") :]
    assert "pip wheel --wheel-dir /wheels ." in text
    assert re.search(r"pip install --no-index --find-links=/wheels gamegate", runtime)
    assert "COPY core" not in runtime, "no sources in the runtime image"
    user = re.findall(r"(?m)^USER\s+(\S+)", runtime)
    assert user == ["gamegate"]
    assert "HEALTHCHECK" in runtime
    assert "/healthz" in runtime
    assert not re.search(r"(?m)^\s*ENV\b.*PYTHONOPTIMIZE|python3? -O\b", text)
