"""The Grafana dashboard and the Prometheus alert rules against a live app's /metrics:
only metrics and labels that exist, every panel queryable, every alert annotated with a
runbook section that exists in docs/runbook.md.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core import errors
from tests.gateway.conftest import ADMIN, MakeClient
from tests.gateway.helpers import import_game, new_player

REPO = Path(__file__).resolve().parents[2]
DASHBOARD = REPO / "config" / "grafana" / "gamegate-dashboard.json"
ALERTS = REPO / "config" / "prometheus" / "alerts.yml"
RUNBOOK = REPO / "docs" / "runbook.md"
DATASOURCE_UID = "${DS_PROMETHEUS}"

SCRAPE_LABELS = frozenset({"job", "instance"})
"""Labels Prometheus adds to every scraped series (and all that `up` has)."""
_METRIC = re.compile(r"gamegate_[a-z_]+")
_SERIES_SUFFIX = re.compile(r"_(bucket|sum|count)$")
_SELECTOR = re.compile(r"\b(gamegate_[a-z_]+|up)\{([^}]*)\}")
_MATCHER = re.compile(r"([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)\s*\"")
_GROUPING = re.compile(r"\b(?:by|on)\s*\(([^)]*)\)")
_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})?\s")

Json = Any


# -- a reader for the YAML that alerts.yml uses (PyYAML is not a dependency) ------


class _YamlSubset:
    """Block mappings and sequences, plain and double-quoted scalars, `|` and `>` block
    scalars (with `-` chomping) and full-line comments. Anything else is refused."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.at = 0

    def document(self) -> Json:
        return self._node(self._indent())

    def _indent(self) -> int:
        """The next content line's indent (-1 at the end), skipping blanks and comments."""
        while self.at < len(self.lines):
            text = self.lines[self.at].strip()
            if text and not text.startswith("#"):
                return len(self.lines[self.at]) - len(self.lines[self.at].lstrip(" "))
            self.at += 1
        return -1

    def _text(self) -> str:
        return self.lines[self.at].strip()

    def _node(self, indent: int) -> Json:
        return self._sequence(indent) if self._text().startswith("- ") else self._mapping(indent)

    def _sequence(self, indent: int) -> list[Json]:
        items = []
        while self._indent() == indent and self._text().startswith("- "):
            self.lines[self.at] = " " * (indent + 2) + self._text()[2:]
            items.append(self._node(indent + 2))
        return items

    def _mapping(self, indent: int) -> dict[str, Json]:
        found: dict[str, Json] = {}
        while self._indent() == indent and not self._text().startswith("- "):
            key, colon, rest = self._text().partition(":")
            assert colon, f"line {self.at + 1}: expected `key:`"
            assert key not in found, f"line {self.at + 1}: {key} twice"
            self.at += 1
            found[key] = self._value(rest.strip(), indent)
        return found

    def _value(self, rest: str, indent: int) -> Json:
        if rest in ("|", "|-", ">", ">-"):
            return self._block(rest, indent)
        if rest.startswith('"'):
            return json.loads(rest)  # YAML double quotes: JSON escapes are the subset used
        if rest:
            assert rest[0] not in "'[{&*!%@`", f"line {self.at}: unsupported scalar {rest!r}"
            return rest
        nested = self._indent()
        assert nested > indent, f"line {self.at + 1}: a key without a value"
        return self._node(nested)

    def _block(self, style: str, indent: int) -> str:
        lines: list[str] = []
        while self.at < len(self.lines):
            line = self.lines[self.at]
            if line.strip() and len(line) - len(line.lstrip(" ")) <= indent:
                break
            lines.append(line)
            self.at += 1
        while lines and not lines[-1].strip():
            lines.pop()
        assert lines, f"line {self.at}: an empty block"
        assert all(line.strip() for line in lines), f"line {self.at}: a blank line in a block"
        margin = min(len(line) - len(line.lstrip(" ")) for line in lines)
        joiner = "\n" if style.startswith("|") else " "
        text = joiner.join(line[margin:] for line in lines)
        return text if style.endswith("-") else text + "\n"


def _rules() -> list[dict[str, Json]]:
    document = _YamlSubset(ALERTS.read_text(encoding="utf-8")).document()
    return [rule for group in document["groups"] for rule in group["rules"]]


# -- the dashboard ------------------------------------------------------------------


def _dashboard() -> dict[str, Json]:
    loaded: dict[str, Json] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return loaded


def _panels(panels: list[dict[str, Json]]) -> Iterator[dict[str, Json]]:
    """Every panel that queries, including those inside collapsed rows."""
    for panel in panels:
        if panel["type"] == "row":
            yield from _panels(panel.get("panels", []))
        else:
            yield panel


def _expressions() -> list[str]:
    """Every PromQL expression: panel targets, template variable queries, alert rules."""
    dashboard = _dashboard()
    panels = _panels(dashboard["panels"])
    found = [target["expr"] for panel in panels for target in panel["targets"]]
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            found.append(variable["query"]["query"])
    found += [rule["expr"] for rule in _rules()]
    return found


def test_the_dashboard_has_the_datasource_instance_and_provider_variables() -> None:
    dashboard = _dashboard()
    assert 36 <= dashboard["schemaVersion"] <= 41
    variables = {variable["name"]: variable for variable in dashboard["templating"]["list"]}
    assert variables["DS_PROMETHEUS"]["type"] == "datasource"
    assert variables["DS_PROMETHEUS"]["query"] == "prometheus"
    for name in ("instance", "provider"):
        assert variables[name]["type"] == "query"
        assert variables[name]["datasource"]["uid"] == DATASOURCE_UID
        assert f"{name})" in variables[name]["query"]["query"]  # label_values(..., name)


def test_every_dashboard_panel_has_a_datasource_and_queries() -> None:
    panels = list(_panels(_dashboard()["panels"]))
    assert len(panels) >= 10
    assert len({panel["id"] for panel in panels}) == len(panels)
    for panel in panels:
        assert panel["datasource"] == {"type": "prometheus", "uid": DATASOURCE_UID}, panel["title"]
        assert panel["targets"], panel["title"]
        assert len({target["refId"] for target in panel["targets"]}) == len(panel["targets"])
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == DATASOURCE_UID, panel["title"]
            assert target["expr"].strip(), panel["title"]


# -- against a live app -------------------------------------------------------------


@pytest.fixture
async def exported(make_client: MakeClient, tmp_path: Path) -> dict[str, set[str]]:
    """Metric name (without `_bucket`/`_sum`/`_count`) -> its label names, after one
    operator call, one provider callback, one wallet commit, one catalogue sync, one
    self-exclusion register check and one rules reload."""
    (tmp_path / "data").mkdir(exist_ok=True)
    (tmp_path / "data" / "excluded.txt").write_text("player_id nobody\n")
    client = await make_client(registers={"MT": {"kind": "file", "path": "excluded.txt"}})
    await new_player(client, "m1")  # registration asks MT's register
    assert (await client.post("/v1/jurisdictions/reload", headers=ADMIN)).status == 200
    await import_game(client, "fake", "g1")
    assert (await client.post("/providers/fake/echo", data=b"{}")).status == 200
    text = await (await client.get("/metrics")).text()
    labels: dict[str, set[str]] = {}
    for line in text.splitlines():
        sample = _SAMPLE.match(line)
        if sample is None:
            continue
        name = _SERIES_SUFFIX.sub("", sample.group(1))
        names = set(re.findall(r"([a-zA-Z_]\w*)=\"", sample.group(2) or ""))
        labels.setdefault(name, set()).update(names - {"le"})
    return labels


def test_the_dashboard_and_the_alerts_query_every_exported_family() -> None:
    names = [name for expr in _expressions() for name in _METRIC.findall(expr)]
    used = {_SERIES_SUFFIX.sub("", name) for name in names}
    assert used >= {
        "gamegate_provider_requests_total",
        "gamegate_provider_request_duration_seconds",
        "gamegate_operator_requests_total",
        "gamegate_http_requests_in_flight",
        "gamegate_wallet_store_commits_total",
        "gamegate_wallet_store_commit_duration_seconds",
        "gamegate_lobby_answers_total",
        "gamegate_catalogue_syncs_total",
        "gamegate_catalogue_games",
        "gamegate_catalogue_index_build_seconds",
        "gamegate_register_checks_total",
        "gamegate_rules_reloads_total",
    }


def test_the_compliance_panel_lists_every_account_and_compliance_reason() -> None:
    """The refusals of the player's account and of the market's rules and limits, so a
    new reason code shows up there; player_not_found is an integration fault."""
    refusals = (errors.PlayerError, errors.ComplianceRefused)
    expected = {
        error.reason.value
        for error in map(vars(errors).get, errors.__all__)
        if isinstance(error, type) and issubclass(error, refusals) and error not in refusals
    } - {errors.Reason.PLAYER_NOT_FOUND.value}
    panels = {panel["title"]: panel for panel in _panels(_dashboard()["panels"])}
    (target,) = panels["Compliance refusals by reason"]["targets"]
    listed = re.search(r'outcome=~"([^"]*)"', target["expr"])
    assert listed is not None
    assert sorted(listed.group(1).split("|")) == sorted(expected)


async def test_every_metric_in_the_dashboard_and_the_alerts_is_exported(
    exported: dict[str, set[str]],
) -> None:
    for expr in _expressions():
        for name in _METRIC.findall(expr):
            assert _SERIES_SUFFIX.sub("", name) in exported, f"{name} is not exported: {expr}"


async def test_every_label_in_the_dashboard_and_the_alerts_exists(
    exported: dict[str, set[str]],
) -> None:
    for expr in _expressions():
        metrics = [_SERIES_SUFFIX.sub("", name) for name in _METRIC.findall(expr)]
        known = SCRAPE_LABELS.union(*(exported.get(name, set()) for name in metrics))
        for metric, matchers in _SELECTOR.findall(expr):
            has = SCRAPE_LABELS | exported.get(_SERIES_SUFFIX.sub("", metric), set())
            for label in _MATCHER.findall(matchers):
                assert label in has, f"{metric} has no label {label!r}: {expr}"
        for grouping in _GROUPING.findall(expr):
            for label in (name.strip() for name in grouping.split(",")):
                assert label in known | {"le"}, f"no metric here has {label!r}: {expr}"


# -- the alert rules and the runbook -------------------------------------------------


def _runbook_anchors() -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces as hyphens."""
    headings = re.findall(r"^#+\s+(.+?)\s*$", RUNBOOK.read_text(encoding="utf-8"), re.M)
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}


def test_the_alert_rules_parse_into_complete_rules() -> None:
    rules = _rules()
    assert len(rules) >= 6
    assert len({rule["alert"] for rule in rules}) == len(rules)
    for rule in rules:
        assert set(rule) == {"alert", "expr", "for", "labels", "annotations"}, rule
        assert re.fullmatch(r"\d+[smh]", rule["for"]), rule["alert"]
        assert rule["labels"]["severity"] in ("page", "ticket"), rule["alert"]
        assert rule["expr"].count("(") == rule["expr"].count(")"), rule["alert"]


def test_every_alert_has_a_summary_a_description_and_a_runbook_section() -> None:
    anchors = _runbook_anchors()
    for rule in _rules():
        annotations = rule["annotations"]
        assert set(annotations) == {"summary", "description", "runbook_url"}, rule["alert"]
        assert annotations["summary"].strip(), rule["alert"]
        assert annotations["description"].strip(), rule["alert"]
        page, _, anchor = annotations["runbook_url"].partition("#")
        assert page == "docs/runbook.md", rule["alert"]
        assert anchor in anchors, f"{rule['alert']}: no section #{anchor} in docs/runbook.md"
        assert anchor == rule["alert"].lower(), "the section is named after its alert"


def test_the_runbook_has_a_section_for_each_alert_and_no_other() -> None:
    text = RUNBOOK.read_text(encoding="utf-8")
    alerts_section = text.split("\n## Alerts\n", 1)[1].split("\n## ", 1)[0]
    sections = re.findall(r"^### (\S+)$", alerts_section, re.M)
    assert sorted(sections) == sorted(rule["alert"] for rule in _rules())
