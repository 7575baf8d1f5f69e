"""Scheduled syncs: an instance's feed is synced at start and on its interval; a feed
that cannot be read is counted and changes nothing."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

from core.catalogue.game import Device
from core.catalogue.live import LiveCatalogue
from core.catalogue.query import LobbyQuery
from gateway.catalogue_schedule import scheduled_syncs
from gateway.keys import CATALOGUE
from tests.gateway.conftest import MakeClient, app_of

WAIT_S = 10.0
POLL_S = 0.05


def _feed(*codes: str) -> str:
    games = [{"code": c, "title": c.title(), "studio": "S", "vertical": "slots", "markets": ["MT"]}
             for c in codes]  # fmt: skip
    return json.dumps({"games": games})


def _listed(live: LiveCatalogue) -> set[str]:
    query = LobbyQuery(brand="demo", market="MT", device=Device.DESKTOP, limit=200)
    return {listed.game.code for listed in live.index.query(query).games}


async def _until(check: Callable[[], bool], what: str) -> None:
    for _ in range(int(WAIT_S / POLL_S)):
        if check():
            return
        await asyncio.sleep(POLL_S)
    raise AssertionError(f"not within {WAIT_S} s: {what}")


async def test_the_feed_is_synced_at_start_and_on_its_interval(
    make_client: MakeClient, tmp_path: Path
) -> None:
    feed = tmp_path / "data" / "feeds" / "fake.json"
    feed.parent.mkdir(parents=True)
    feed.write_text(_feed("a", "b"))
    catalogue = {"url": "feeds/fake.json", "sync_interval_s": 1}
    client = await make_client(providers={"fake": {"protocol": "fake", "catalogue": catalogue}})
    app = app_of(client)
    live = app[CATALOGUE]
    async with scheduled_syncs(app):
        await _until(lambda: _listed(live) == {"a", "b"}, "the first sync")
        feed.write_text("not json")
        await asyncio.sleep(1.5)  # at least one tick reads the bad feed
        assert _listed(live) == {"a", "b"}
        feed.write_text(_feed("a", "b", "c"))
        await _until(lambda: _listed(live) == {"a", "b", "c"}, "the next sync")
    text = await (await client.get("/metrics")).text()
    assert 'gamegate_catalogue_syncs_total{provider="fake",result="invalid"}' in text
    assert 'gamegate_catalogue_syncs_total{provider="fake",result="applied"} 2.0' in text


async def test_instances_without_an_interval_are_not_synced(
    make_client: MakeClient, tmp_path: Path
) -> None:
    feed = tmp_path / "data" / "fake.json"
    feed.parent.mkdir(parents=True)
    feed.write_text(_feed("a"))
    catalogue = {"url": "fake.json"}
    client = await make_client(providers={"fake": {"protocol": "fake", "catalogue": catalogue}})
    app = app_of(client)
    async with scheduled_syncs(app):
        await asyncio.sleep(0.3)
    assert _listed(app[CATALOGUE]) == set()
