"""The Redis wallet answers every command exactly as the reference model does.

The same state machine as `test_wallet_model` (its rules, its model, its comparison of
every answer, inherited unchanged) against one redis-server and a three-master
cluster, both with `appendfsync always`. Only what touches the backend is Redis's own:
opening an empty wallet, the restart rule (a new store, new connections, the same
data), and the invariants, which read the players' groups as one instant each
(`gg_dump_group_v2`) and hold them to `verify`'s per-player and per-group checks and
to the model. `verify` runs over the whole wallet after every example.

Fewer examples than SQLite's run by default (`WALLET_MODEL_REDIS_EXAMPLES`), to keep
the suite's time; seeds and soaks work as there (`HYPOTHESIS_SEED`).
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from typing import Any

import pytest
from hypothesis import settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from adapters.stores.redis_keys import group_keys, group_of, player_keys
from adapters.stores.redis_lua import DUMP_GROUP
from adapters.stores.redis_store import RedisWalletStore
from adapters.stores.redis_verify import verify_redis_wallet
from adapters.stores.redis_verify_player import PlayerChecks, PlayerDump
from core.money import CurrencyTable
from core.wallet.records import PlayerRecord
from tests.property import test_wallet_model as sqlite_model
from tests.property.test_wallet_model import PLAYERS, WalletMachine
from tests.property.wallet_model import Model, MPlayer
from tests.redis_servers import RedisCluster, RedisServer, shared_cluster, shared_server

EXAMPLES = int(os.environ.get("WALLET_MODEL_REDIS_EXAMPLES", "25"))
STEPS_PER_EXAMPLE = sqlite_model.STEPS_PER_EXAMPLE
STEPS_MIN = min(1_000, EXAMPLES * STEPS_PER_EXAMPLE * 3 // 4)
SETTINGS = settings(sqlite_model.SETTINGS, max_examples=EXAMPLES)
_BIRTH = sqlite_model._BIRTH


class RedisWalletMachine(WalletMachine):
    """One example: an emptied Redis wallet, its own event loop, and the model beside it."""

    servers: RedisServer | RedisCluster

    def __init__(self) -> None:
        RuleBasedStateMachine.__init__(self)  # not WalletMachine's: it opens a file
        self.servers.flush()
        self.loop = asyncio.new_event_loop()
        self.store: Any = self._open()
        self.model = Model()
        self.sent = []
        self.next_id = 0
        self.next_round = 0
        self.started = False
        for player_id, (currency, order) in PLAYERS.items():
            record = PlayerRecord(player_id, "demo", "MT", currency, _BIRTH, funding_order=order)
            self.loop.run_until_complete(self.store.create_player(record))
            self.model.players[player_id] = MPlayer(currency, order)
        self.client = self._client()

    def _open(self) -> RedisWalletStore:
        return self.loop.run_until_complete(RedisWalletStore.open(self.servers.url))

    def _client(self) -> Any:
        return self.servers.client()

    def teardown(self) -> None:
        try:
            self.client.close()
            self.loop.run_until_complete(self.store.close())
            report = verify_redis_wallet(self.servers.url)
            assert report.ok, "\n".join(report.lines())
        finally:
            self.loop.close()

    @rule()
    def restart(self) -> None:
        """Close and reopen the store: nothing is kept in the process between calls."""
        self.loop.run_until_complete(self.store.close())
        self.store = self._open()
        sqlite_model._Stats.restarts += 1

    # -- invariants --------------------------------------------------------------------

    def _dumps(self) -> dict[str, PlayerDump]:
        """Each player's group as one instant, checked as `verify` checks it."""
        failures: list[str] = []
        checks = PlayerChecks(CurrencyTable(), lambda name, detail: failures.append(detail))
        dumps: dict[str, PlayerDump] = {}
        for player_id in PLAYERS:
            group = group_keys(group_of(player_id))
            keys = player_keys(player_id)
            reply = self.client.fcall_ro(
                DUMP_GROUP, 7, group.house, group.players,
                keys.player, keys.txs, keys.rounds, keys.history, keys.round_index,
            )  # fmt: skip
            dumps[player_id] = PlayerDump.parse(player_id, reply[2])
            checks.check(dumps[player_id])
        assert failures == [], failures
        return dumps

    @invariant()
    def ledger_is_balanced_and_matches_the_model(self) -> None:
        sqlite_model._Stats.steps += self.started  # the first check runs before any step
        self.started = True
        totals: Counter[str] = Counter()
        for player_id, dump in self._dumps().items():
            for stored in dump.txs.values():
                for _, currency, amount in stored.entries:
                    totals[currency] += amount
            real, bonus = self.model.balance(player_id)
            currency = PLAYERS[player_id][0]
            assert dump.state.balances.get(currency, (0, 0)) == (real, bonus), player_id
            balance = self.loop.run_until_complete(self.store.balance(player_id, currency))
            assert (balance.real_minor, balance.bonus_minor) == (real, bonus)
            if real < 0 or bonus < 0:
                assert player_id in self.model.reversed_win, f"{player_id} negative without debt"
        assert all(total == 0 for total in totals.values()), f"entries do not sum to zero: {totals}"

    @invariant()
    def each_players_history_is_exactly_their_rows_of_the_log(self) -> None:
        for player_id, dump in self._dumps().items():
            logged = sorted((s.record.seq for s in dump.txs.values()), reverse=True)
            history = self.loop.run_until_complete(self.store.transactions(player_id, limit=1_000))
            assert [record.seq for record in history] == logged, player_id


class ServerMachine(RedisWalletMachine):
    servers = property(lambda self: shared_server())


class ClusterMachine(RedisWalletMachine):
    servers = property(lambda self: shared_cluster())


@pytest.mark.slow
@pytest.mark.redis
@pytest.mark.timeout(900)  # a failure shrinks for minutes; the seed is printed up front
@pytest.mark.parametrize("machine", [ServerMachine, ClusterMachine], ids=["redis", "cluster"])
def test_the_redis_wallet_answers_exactly_like_the_reference_model(
    machine: type[RedisWalletMachine],
) -> None:
    sqlite_model.run_model(machine, SETTINGS, steps_min=STEPS_MIN)
