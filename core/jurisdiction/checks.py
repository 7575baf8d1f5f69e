"""The jurisdiction checks, written once: registration, launch and lobby, play, bet,
deposit. Each raises the `core.errors` class of the refusing rule's reason, with a
message that names the rule; callers compose them (PAM first, limits after).

`check_stake` and `check_cycle_time` run inside the wallet's atomic step on every bet:
they are a dict lookup and a comparison, and build a message only when they refuse.
"""

from __future__ import annotations

from datetime import date

from core.age import age_years
from core.catalogue.game import Game, Vertical
from core.errors import GatewayError, error_for_reason
from core.jurisdiction.kinds import Checkpoint, KycPendingDepositCap, MaxStake
from core.jurisdiction.resolved import MarketRules
from core.jurisdiction.rule import Rule
from core.limits import LimitKind
from core.model import KycState
from core.money import format_minor

__all__ = [
    "check_cycle_time",
    "check_game",
    "check_kyc_pending_deposit",
    "check_player_may_play",
    "check_registration",
    "check_stake",
    "game_refusal",
    "refusal",
]

_NO_LIMITS_NEEDED = frozenset({Checkpoint.REGISTRATION, Checkpoint.DEMO_LAUNCH})
"""Limits guard money: registering and fun mode need none set."""


def refusal(rule: Rule, message: str) -> GatewayError:
    """The error for `rule`'s reason, its message ending with the rule's id."""
    assert rule.reason is not None, rule.id
    return error_for_reason(rule.reason)(f"{message} (rule {rule.id})")


def check_registration(rules: MarketRules, date_of_birth: date, today: date) -> None:
    """The market's minimum age on `today` (`Underage`)."""
    rule = rules.min_age_rule
    if rule is None:
        return
    minimum = rules.min_age_years
    assert minimum is not None
    if age_years(date_of_birth, today) < minimum:
        raise refusal(rule, f"players in {rules.market} must be at least {minimum}")


def game_refusal(rules: MarketRules, game: Game) -> GatewayError | None:
    """Why the market refuses `game` whatever the player: not certified for the market,
    a vertical it does not allow, a feature it bans for the game's vertical. None: fine.
    For the lobby, which filters many games: nothing is built unless refused."""
    certification = rules.certification_rule
    if certification is not None and rules.market not in game.markets:
        return refusal(certification, f"game {game.key} is not certified for {rules.market}")
    vertical = game.vertical
    refused = rules.vertical_refusal(vertical)
    if refused is not None:
        return refusal(refused, f"{rules.market} does not allow {vertical} games")
    banned = game.features & rules.banned_features_for(vertical)
    if banned:
        feature = min(banned)
        rule = rules.feature_ban(vertical, feature)
        assert rule is not None
        return refusal(rule, f"game {game.key} has {feature}, banned in {rules.market}")
    return None


def check_game(rules: MarketRules, game: Game, *, demo: bool) -> None:
    """`game_refusal` raised, for session creation and launch. Fun mode (`demo`) is
    judged by the same rules: a market's game design rules (UKGC RTS 14) cover free play
    too, and the lobby must not list what launch would refuse."""
    del demo  # the same rules in both modes; kept so callers state the mode
    refused = game_refusal(rules, game)
    if refused is not None:
        raise refused


def check_player_may_play(
    rules: MarketRules,
    *,
    age_years: int,
    kyc: KycState,
    limits_set: frozenset[LimitKind],
    currency: str | None,
    checkpoint: Checkpoint,
) -> None:
    """Minimum age, KYC verified before `checkpoint`, the wallet currency (None: fun
    mode, no money), and the limits the market wants set before money moves."""
    minimum = rules.min_age_years
    if minimum is not None and age_years < minimum:
        assert rules.min_age_rule is not None
        raise refusal(rules.min_age_rule, f"players in {rules.market} must be at least {minimum}")
    if kyc is not KycState.VERIFIED:
        wants_kyc = rules.kyc_required_at(checkpoint)
        if wants_kyc is not None:
            raise refusal(wants_kyc, f"{rules.market} requires verified KYC before {checkpoint}")
    if currency is not None:
        refused = rules.currency_refusal(currency)
        if refused is not None:
            raise refusal(refused, f"{rules.market} does not allow play in {currency}")
    if checkpoint not in _NO_LIMITS_NEEDED:
        missing = rules.required_limits - limits_set
        if missing:
            kind = min(missing)
            rule = rules.required_limit_rule(kind)
            assert rule is not None
            names = ", ".join(sorted(missing))
            raise refusal(rule, f"{rules.market} requires these limits set first: {names}")


def check_stake(
    rules: MarketRules, *, vertical: Vertical, age_years: int, currency: str, stake_minor: int
) -> None:
    """The game cycle's full cost (stake, ante and side bets, a bought feature) against
    the lowest cap for the vertical, the player's age at bet time and the currency."""
    cap = rules.stake_cap_minor(vertical, age_years, currency)
    if cap is None or stake_minor <= cap[1]:
        return
    rule = cap[0]
    assert isinstance(rule.params, MaxStake)
    stated = rule.params.amount
    if stated.currency.code != currency:
        raise refusal(rule, f"{rules.market} caps {vertical} stakes in {stated.currency.code}")
    shown = format_minor(stake_minor, stated.currency)
    raise refusal(rule, f"stake {shown} {currency} is above the {stated} cap for {vertical}")


def check_cycle_time(
    rules: MarketRules, *, vertical: Vertical, now_us: int, last_cycle_start_us: int | None
) -> None:
    """The time since the start of the player's previous game cycle on `vertical`."""
    if last_cycle_start_us is None:
        return
    cycle = rules.min_cycle(vertical)
    if cycle is None:
        return
    rule, min_ms = cycle
    elapsed_us = now_us - last_cycle_start_us
    if elapsed_us < min_ms * 1_000:
        raise refusal(
            rule,
            f"{elapsed_us // 1_000} ms since the last {vertical} game cycle started; "
            f"{rules.market} requires {min_ms} ms",
        )


def check_kyc_pending_deposit(
    rules: MarketRules,
    *,
    kyc: KycState,
    deposited_total_minor: int,
    amount_minor: int,
    currency: str,
) -> None:
    """Deposits in all, this one included, while the player's KYC is not verified."""
    if kyc is KycState.VERIFIED:
        return
    cap = rules.kyc_pending_deposit_cap(currency)
    if cap is None or deposited_total_minor + amount_minor <= cap[1]:
        return
    rule = cap[0]
    assert isinstance(rule.params, KycPendingDepositCap)
    raise refusal(
        rule, f"{rules.market} caps deposits before KYC is verified at {rule.params.amount} in all"
    )
