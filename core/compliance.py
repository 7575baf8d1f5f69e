"""The compliance path, in its one order: account (PAM) -> market rules -> the player's limits.

Each step's rule lives in its own module (`core.pam`, `core.jurisdiction`, `core.rg`);
this module only says which rules run for which act, so bets, deposits, withdrawals,
sessions and launches cannot drift apart. The first refusal wins. Bets and cashier
movements are checked inside the wallet's atomic step (`check_movement`, as the store's
guard), sessions and launches before they are opened (`check_session`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

from core.age import age_years
from core.catalogue.game import Game
from core.errors import KycRequired
from core.jurisdiction import (
    Checkpoint,
    MarketRules,
    check_cycle_time,
    check_game,
    check_kyc_pending_deposit,
    check_player_may_play,
    check_registration,
    check_stake,
)
from core.limits import LimitKind
from core.model import Debit, Deposit
from core.pam import AccountUse, check_account
from core.rg import check_bet_limits, check_deposit_limits, check_play_time, limits_set
from core.wallet.figures import PlayFigures, rolled
from core.wallet.records import PlayerRecord
from core.wallet.store import GuardContext, GuardedCommand

__all__ = ["Compliance", "RulesLookup", "day_of"]

RulesLookup = Callable[[str, str, int], MarketRules]
"""(market, brand, time in us) -> the market's rules with the brand's overlay then."""


def _limits_set(rules: MarketRules, player: PlayerRecord, now_us: int) -> frozenset[LimitKind]:
    """The kinds of limit the player has in force, looked at only where the market
    requires some (on every bet otherwise)."""
    if not rules.required_limits:
        return frozenset()
    return limits_set(player.limits, now_us)


def day_of(now_us: int) -> date:
    """The UTC date of `now_us`: the day an age and a rule's dates are judged on."""
    return datetime.fromtimestamp(now_us / 1_000_000, tz=UTC).date()


class Compliance:
    """Which rules run for which act; market rules only where a rule book is loaded."""

    __slots__ = ("_rules",)

    def __init__(self, rules: RulesLookup | None = None) -> None:
        self._rules = rules

    def rules_for(self, player: PlayerRecord, now_us: int) -> MarketRules | None:
        return self.rules_of(player.jurisdiction, player.brand, now_us)

    def rules_of(self, market: str, brand: str, now_us: int) -> MarketRules | None:
        """The market's rules with the brand's overlay at `now_us`; None without a book."""
        return None if self._rules is None else self._rules(market, brand, now_us)

    def check_movement(
        self, command: GuardedCommand, context: GuardContext, game: Game | None
    ) -> None:
        """A bet, deposit or withdrawal, inside the atomic step. `game` is the session's
        game as the catalogue holds it (None: no session, or a game it does not hold)."""
        player, now_us = context.player, context.now_us
        if isinstance(command, Debit):
            check_account(player, AccountUse.PLAY, now_us)
            rules = self.rules_for(player, now_us)
            if rules is not None:
                self._bet_rules(rules, command, context, game)
            if player.limits:
                check_bet_limits(player.limits, context.figures, command.amount_minor, now_us)
        elif isinstance(command, Deposit):
            check_account(player, AccountUse.DEPOSIT, now_us)
            rules = self.rules_for(player, now_us)
            if rules is not None:
                self._may_play(rules, player, now_us, Checkpoint.DEPOSIT)
                check_kyc_pending_deposit(
                    rules,
                    kyc=player.kyc,
                    deposited_total_minor=context.figures.deposited_total_minor,
                    amount_minor=command.amount_minor,
                    currency=command.currency,
                )
            if player.limits:
                check_deposit_limits(player.limits, context.figures, command.amount_minor, now_us)
        else:
            check_account(player, AccountUse.WITHDRAW, now_us)

    def check_session(
        self,
        player: PlayerRecord,
        game: Game,
        figures: PlayFigures | None,
        now_us: int,
    ) -> None:
        """Opening a real-money session on `game` (session creation, launch). `figures`
        may be None for a player without limits (nothing reads them then)."""
        check_account(player, AccountUse.PLAY, now_us)
        rules = self.rules_for(player, now_us)
        if rules is not None:
            self._may_play(rules, player, now_us, Checkpoint.LAUNCH)
            check_game(rules, game, demo=False)
        if player.limits and figures is not None:
            check_play_time(player.limits, rolled(figures, now_us), now_us)

    def check_demo_launch(self, market: str, brand: str, game: Game, now_us: int) -> None:
        """Fun play, with no player: refused where the market wants KYC before any play
        (nobody is verified here), and for a game its rules keep out."""
        rules = self.rules_of(market, brand, now_us)
        if rules is None:
            return
        rule = rules.kyc_required_at(Checkpoint.DEMO_LAUNCH)
        if rule is not None:
            raise KycRequired(f"{rule.id}: {market} requires verified identity before fun play")
        check_game(rules, game, demo=True)

    def check_game_in(self, market: str, brand: str, game: Game, now_us: int) -> None:
        """A game launched for another market than the player's own (the launch names
        one): that market's rules must allow the game too."""
        rules = self.rules_of(market, brand, now_us)
        if rules is not None:
            check_game(rules, game, demo=False)

    def check_may_play(self, player: PlayerRecord, now_us: int) -> None:
        """A provider asking whether the player may play at all (no game named)."""
        check_account(player, AccountUse.PLAY, now_us)

    def check_registration(self, market: str, brand: str, date_of_birth: date, now_us: int) -> None:
        """A new player: the market's minimum age on the day of registration."""
        rules = self.rules_of(market, brand, now_us)
        if rules is not None:
            check_registration(rules, date_of_birth, day_of(now_us))

    def _may_play(
        self, rules: MarketRules, player: PlayerRecord, now_us: int, checkpoint: Checkpoint
    ) -> None:
        check_player_may_play(
            rules,
            age_years=age_years(player.date_of_birth, day_of(now_us)),
            kyc=player.kyc,
            limits_set=_limits_set(rules, player, now_us),
            currency=player.currency,
            checkpoint=checkpoint,
        )

    def _bet_rules(
        self, rules: MarketRules, debit: Debit, context: GuardContext, game: Game | None
    ) -> None:
        player, now_us = context.player, context.now_us
        age = age_years(player.date_of_birth, day_of(now_us))
        check_player_may_play(
            rules,
            age_years=age,
            kyc=player.kyc,
            limits_set=_limits_set(rules, player, now_us),
            currency=player.currency,
            checkpoint=Checkpoint.BET,
        )
        if game is None:
            return
        check_game(rules, game, demo=False)
        vertical = game.vertical
        check_stake(
            rules,
            vertical=vertical,
            age_years=age,
            currency=debit.currency,
            stake_minor=context.round_stake_minor + debit.amount_minor,
        )
        if context.opens_cycle:
            check_cycle_time(
                rules,
                vertical=vertical,
                now_us=now_us,
                last_cycle_start_us=context.figures.cycle_start_us(vertical.value),
            )
