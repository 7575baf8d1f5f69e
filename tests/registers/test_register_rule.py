"""The one register rule: excluded refuses; no answer refuses only where the market fails closed."""

from __future__ import annotations

from datetime import date

import pytest

from core.errors import ExclusionCheckUnavailable, Reason, RegisterExcluded, SelfExcluded
from core.registers import RegisterSubject, RegisterUnavailable, Verdict, check_register
from core.wallet.records import PlayerRecord
from tests.registers.fakes import ScriptedRegister, subject


async def test_excluded_is_refused_with_the_register_reason() -> None:
    registers = {"GB": ScriptedRegister(Verdict.EXCLUDED, name="gamstop")}
    with pytest.raises(RegisterExcluded) as caught:
        await check_register(registers, subject(), fail_closed=False)
    assert caught.value.reason is Reason.REGISTER_EXCLUDED
    assert isinstance(caught.value, SelfExcluded)
    assert "gamstop" in caught.value.message


@pytest.mark.parametrize("verdict", [Verdict.NOT_EXCLUDED, Verdict.PREVIOUSLY_EXCLUDED])
async def test_not_or_previously_excluded_passes(verdict: Verdict) -> None:
    registers = {"GB": ScriptedRegister(verdict)}
    assert await check_register(registers, subject(), fail_closed=True) is None


async def test_a_market_without_a_register_is_not_checked() -> None:
    gb = ScriptedRegister(Verdict.EXCLUDED)
    assert await check_register({"GB": gb}, subject(market="MT"), fail_closed=True) is None
    assert gb.asked == []


async def test_no_answer_refuses_where_the_market_fails_closed() -> None:
    registers = {"GB": ScriptedRegister(RegisterUnavailable("timed out"), name="gamstop")}
    with pytest.raises(ExclusionCheckUnavailable) as caught:
        await check_register(registers, subject(), fail_closed=True)
    assert caught.value.reason is Reason.EXCLUSION_CHECK_UNAVAILABLE
    assert isinstance(caught.value.__cause__, RegisterUnavailable)


async def test_no_answer_passes_where_the_market_fails_open_and_is_handed_back() -> None:
    failure = RegisterUnavailable("timed out")
    registers = {"GB": ScriptedRegister(failure)}
    assert await check_register(registers, subject(), fail_closed=False) is failure


def test_a_subject_is_built_from_the_player_record() -> None:
    player = PlayerRecord(
        player_id="p-9",
        brand="acme",
        jurisdiction="GB",
        currency="GBP",
        date_of_birth=date(1985, 5, 17),
        identity=(("email", "p9@example.com"), ("last_name", "Nine")),
    )
    made = RegisterSubject.of(player)
    assert (made.player_id, made.market, made.date_of_birth) == ("p-9", "GB", date(1985, 5, 17))
    assert dict(made.identity) == {"email": "p9@example.com", "last_name": "Nine"}


def test_identity_stays_out_of_the_repr() -> None:
    text = repr(subject())
    assert "p-1" in text
    for value in ("Ada", "Lovelace", "ada@example.com", "1990"):
        assert value not in text


def test_unknown_identity_fields_are_refused() -> None:
    with pytest.raises(ValueError, match="passport"):
        subject(identity={"passport": "X123"})


def test_the_identity_is_read_only() -> None:
    given = {"email": "a@example.com"}
    made = subject(identity=given)
    given["email"] = "changed@example.com"
    assert made.identity["email"] == "a@example.com"
    with pytest.raises(TypeError):
        made.identity["email"] = "x"  # type: ignore[index]
