"""Typed keys for what the composition root puts on the application and the request."""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

from adapters.providers.base import ProviderAdapter
from core.catalogue.live import LiveCatalogue
from core.registers import ExclusionRegister
from core.reporting.store import ReportingQueries, ReportingStore
from core.service import WalletService
from core.wallet.store import WalletStore
from gateway.catalogue_views import GameFragments
from gateway.clock import Clock
from gateway.credentials import OperatorKeys
from gateway.lobby_answers import LobbyAnswers
from gateway.metrics import Metrics
from gateway.request_info import RequestInfo
from gateway.rules_holder import LiveRules
from gateway.settings import Settings

__all__ = [
    "ADAPTERS",
    "CATALOGUE",
    "CLOCK",
    "GAME_FRAGMENTS",
    "LOBBY_ANSWERS",
    "METRICS",
    "OPERATOR_KEYS",
    "REGISTERS",
    "REPORTING",
    "REPORTING_STORE",
    "REQUEST_INFO",
    "RULES",
    "SERVICE",
    "SETTINGS",
    "STORE",
]

SETTINGS = web.AppKey("settings", Settings)
CLOCK = web.AppKey[Clock]("clock")
METRICS = web.AppKey("metrics", Metrics)
OPERATOR_KEYS = web.AppKey("operator_keys", OperatorKeys)
STORE = web.AppKey[WalletStore]("store")
"""Set once the store is open (startup); absent before and after."""
SERVICE = web.AppKey("service", WalletService)
ADAPTERS = web.AppKey[Mapping[str, ProviderAdapter]]("adapters")
"""Provider instance name -> its adapter; built at startup, after the store opens."""

REGISTERS = web.AppKey[Mapping[str, ExclusionRegister]]("registers")
"""Market -> its self-exclusion register (cached); a market absent has none. Set at
startup (`gateway.registers`); ask it through `core.registers.check_register`."""

REPORTING = web.AppKey[ReportingQueries]("reporting")
"""What the request stream and the report routes ask of reporting: the client of the
relay child's store (`gateway.relay_process`), or the store this process holds
(`REPORTING_STORE`); set at startup (`gateway.reporting_context`), absent before and
after and when there is none. Never asked by `/readyz`: reporting is not on the bet path."""
REPORTING_STORE = web.AppKey[ReportingStore]("reporting_store")
"""The reporting store, when this process holds it itself (no relay child): what the
in-process relay (`gateway.relay.relay_context`) writes."""

RULES = web.AppKey("rules", LiveRules)
"""The jurisdiction rules: `app[RULES].rules_for(market, brand, at_us)`; loaded in
`create_app`, swapped whole by a reload."""

CATALOGUE = web.AppKey("catalogue", LiveCatalogue)
"""The served catalogue; loaded at startup, before the first request."""
LOBBY_ANSWERS = web.AppKey("lobby_answers", LobbyAnswers)
GAME_FRAGMENTS = web.AppKey("game_fragments", GameFragments)

REQUEST_INFO = web.RequestKey("request_info", RequestInfo)
