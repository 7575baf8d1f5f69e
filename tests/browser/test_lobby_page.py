"""The lobby page in a real headless browser against a real demo gateway: tiles load,
filters narrow them as the lobby API does, and a spin on the game page moves the shown
balance by exactly the bet and the win that the wallet recorded.

Each run keeps a screenshot of the lobby in `test-artifacts/lobby.png`; README shows a
copy (`docs/images/lobby.png`).
"""

from __future__ import annotations

import re
from decimal import Decimal

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import ARTIFACTS
from tests.system.served import Served

pytestmark = pytest.mark.timeout(120)

LOBBY_QUERY = {"brand": "demo", "market": "MT", "device": "desktop", "currency": "EUR"}
SEARCH_TEXT = "gold"
ANY_TEXT = re.compile(r".+")


def _api_total(lobby_api: httpx.Client, **filters: str) -> int:
    response = lobby_api.get("/v1/lobby/games", params={**LOBBY_QUERY, **filters, "limit": "1"})
    assert response.status_code == 200, response.text
    total: int = response.json()["total"]
    return total


def _shown_total(page: Page, total: int) -> None:
    expect(page.locator("#total")).to_have_attribute("data-total", str(total))


def _amount(text: str) -> Decimal:
    """`99.00 EUR` -> Decimal("99.00")."""
    return Decimal(text.split()[0])


def test_the_lobby_loads_tiles_and_filters_and_switches_narrow_them(
    page: Page, gateway: Served, lobby_api: httpx.Client
) -> None:
    page.goto(f"{gateway.url}/lobby")
    everything = _api_total(lobby_api)
    _shown_total(page, everything)
    expect(page.locator(".tile").first).to_be_visible()
    expect(page.locator("#balance")).to_have_text("100.00 EUR")
    page.wait_for_load_state("networkidle")  # the tiles' images too
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "lobby.png")

    page.get_by_role("checkbox", name="live").check()
    live = _api_total(lobby_api, vertical="live")
    assert 0 < live < everything
    _shown_total(page, live)
    verticals = page.locator(".tile").evaluate_all("tiles => tiles.map(t => t.dataset.vertical)")
    assert set(verticals) == {"live"}

    page.get_by_role("checkbox", name="live").uncheck()
    page.get_by_label("Search").fill(SEARCH_TEXT)
    found = _api_total(lobby_api, q=SEARCH_TEXT)
    assert 0 < found < everything
    _shown_total(page, found)

    page.get_by_label("Search").fill("")
    page.get_by_role("radio", name="Mobile").check()
    page.locator("#market").select_option("SE")
    elsewhere = _api_total(lobby_api, device="mobile", market="SE")
    assert 0 < elsewhere < everything
    _shown_total(page, elsewhere)


def test_a_tile_is_reached_and_launched_from_the_keyboard(page: Page, gateway: Served) -> None:
    page.goto(f"{gateway.url}/lobby")
    first = page.locator(".tile").first
    expect(first).to_be_visible()
    title = first.locator("h3").inner_text()
    expect(first.get_by_role("button")).to_have_accessible_name(f"Play {title}")
    first.focus()
    expect(first).to_be_focused()
    page.keyboard.press("Enter")
    page.wait_for_url("**/lobby/play?**")
    expect(page.locator("#title")).to_have_text(title)


def test_a_spin_moves_the_balance_by_the_bet_and_the_win(
    page: Page, gateway: Served, admin: httpx.Client
) -> None:
    page.goto(f"{gateway.url}/lobby")
    page.get_by_label("Provider").select_option("gamegate")
    expect(page.locator(".tile").first).to_have_attribute("data-provider", "gamegate")
    page.locator(".tile").first.get_by_role("button").click()
    page.wait_for_url("**/lobby/play?**")
    expect(page.locator("body")).to_have_attribute("data-mode", "real")
    expect(page.locator("#balance")).to_contain_text("EUR")
    before = _amount(page.locator("#balance").inner_text())

    page.get_by_role("button", name="Spin").click()
    result = page.locator("#result")
    expect(result).to_have_attribute("data-round", ANY_TEXT)
    round_id = result.get_attribute("data-round")
    stake = Decimal(result.get_attribute("data-stake") or "")
    win = Decimal(result.get_attribute("data-win") or "")
    after = _amount(page.locator("#balance").inner_text())
    assert after == before - stake + win

    wallet = admin.get("/v1/players/demo-1/balance").json()
    assert Decimal(wallet["total"]) == after
    newest = admin.get("/v1/players/demo-1/transactions", params={"limit": "2"}).json()["items"]
    moves = [(item["kind"], Decimal(item["amount"]), item["round_id"]) for item in newest]
    assert moves == [("credit", win, round_id), ("debit", stake, round_id)]
