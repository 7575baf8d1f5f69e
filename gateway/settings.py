"""The gateway's settings: one typed object, loaded once at start-up and passed down.

Layers, highest priority first: values passed to `Settings(...)` (the CLI flags), then
`GAMEGATE_*` environment variables (`GAMEGATE_SERVER__PORT=9000`), then the TOML file
named by `config` (`--config` or `GAMEGATE_CONFIG`), then the defaults below. Secrets
never come from the TOML file: provider secrets are files named in `secret_files` or
`GAMEGATE_SECRET_<INSTANCE>_<NAME>` variables, operator API keys are a file in the data
directory or `GAMEGATE_OPERATOR_API_KEYS` (see `gateway.credentials`). This module is the
only place that reads the environment.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from adapters.catalogue.open import check_catalogue_url
from adapters.stores.open import check_wallet_url
from core.catalogue.game import MARKET_PATTERN
from core.model import FundingOrder
from core.money import CurrencyTable
from gateway.launch_urls import check_launch_url

__all__ = [
    "ENV_PREFIX",
    "SECRET_ENV_PREFIX",
    "CatalogueFeedSettings",
    "CatalogueSettings",
    "JurisdictionSettings",
    "ProviderSettings",
    "RegisterSettings",
    "ReportingSettings",
    "ServerSettings",
    "SessionSettings",
    "Settings",
    "SettingsError",
    "WalletSettings",
]

ENV_PREFIX = "GAMEGATE_"
SECRET_ENV_PREFIX = "GAMEGATE_SECRET_"  # noqa: S105 -- a variable name prefix, not a secret

_INSTANCE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_CURRENCY_CODE = re.compile(r"^[A-Z0-9]{2,8}$")
_SECRET_KEYS_IN_FILE = frozenset({"operator_api_keys", "secret_env"})
_CONFIG_FILE_BYTES_MAX = 1_048_576


class SettingsError(Exception):
    """A setting that cannot be used; the message starts with the setting's key."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServerSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65_535)
    """0 picks a free port (the start-up line names it)."""
    request_body_bytes_max: int = Field(default=1_048_576, ge=1_024, le=67_108_864)
    request_timeout_s: float = Field(default=10.0, gt=0, le=300)
    """Last-resort limit per request; keep it above `wallet.store_timeout_s`."""
    shutdown_timeout_s: float = Field(default=10.0, gt=0, le=300)
    header_read_timeout_s: float = Field(default=10.0, ge=0.1, le=300)
    """From accept (or the first byte after a keep-alive pause) until the request head is
    complete; past it the connection is closed (`gateway.connections`)."""
    body_read_timeout_s: float = Field(default=30.0, ge=0.1, le=600)
    """From a complete head until the whole body has arrived: 1 MiB in 30 s is ~35 KB/s."""
    keepalive_idle_timeout_s: float = Field(default=75.0, ge=0.1, le=3_600)
    """An idle keep-alive connection is closed after this; keep it above the idle timeout
    of any proxy or load balancer in front (often 60 s), so they close first."""
    connections_max: int = Field(default=10_000, ge=1, le=1_000_000)
    """Open client connections. At the cap a new one closes the longest-waiting idle one,
    or is closed itself if every connection is busy. Lowered at start-up (with a warning)
    to fit the open-file limit."""
    uvloop: bool = True
    """Use uvloop when it is installed (it is on Linux and macOS)."""
    workers: int = Field(default=1, ge=1, le=64)
    """Gateway processes serving `port` together (SO_REUSEPORT, `gateway.workers`), each
    with its own event loop, connection limits and wallet client. More than one needs a
    wallet that many processes can share (a `redis://` one)."""
    metrics_port: int | None = Field(default=None, ge=1, le=65_535)
    """When set, worker i also serves `/metrics` (and `/healthz`) alone on
    `metrics_port + i`: one scrape target per worker, each exact. With several workers,
    `/metrics` on `port` answers for whichever worker took the connection."""

    @model_validator(mode="after")
    def _metrics_ports_fit(self) -> ServerSettings:
        if self.metrics_port is None:
            return self
        last = self.metrics_port + self.workers - 1
        if last > 65_535:
            raise ValueError(f"metrics_port + workers - 1 = {last} is not a port")
        if self.metrics_port <= self.port <= last:
            raise ValueError(f"port {self.port} is one of the workers' metrics ports")
        return self


class WalletSettings(_Section):
    url: str = ""
    """The wallet; its scheme picks the backend (`adapters.stores.open`), a relative path
    is relative to the data directory. Empty: the embedded wallet in the data directory."""
    synchronous: Literal["FULL", "EXTRA", "NORMAL"] = "FULL"
    """Embedded wallet durability. FULL fsyncs every group commit: nothing acknowledged
    is lost."""
    batch_ops_max: int = Field(default=512, ge=1, le=100_000)
    queue_depth_max: int = Field(default=20_000, ge=1, le=10_000_000)
    commit_delay_s: float = Field(default=0.0005, ge=0, le=0.01)
    """Under concurrent load, how long a small group commit waits for more operations."""
    store_timeout_s: float = Field(default=5.0, gt=0, le=120)

    @field_validator("url")
    @classmethod
    def _known_backend(cls, url: str) -> str:
        """A URL no backend takes fails here, with the settings, naming `wallet.url`."""
        check_wallet_url(url)
        return url


class SessionSettings(_Section):
    ttl_s: int = Field(default=3_600, ge=60, le=604_800)


class CatalogueFeedSettings(_Section):
    """Where an instance's game list comes from and how hard to try (`gamegate catalogue
    sync`, `POST /v1/catalogue/instances/{instance}/sync`)."""

    url: str = Field(min_length=1)
    """An http(s) URL, or a file path (relative to the data directory)."""
    format: str = Field(default="gamegate_json", pattern=r"^[a-z0-9_]{1,32}$")
    """`gamegate_json`, `gamegate_csv`, `hub88`, `pragmatic` (`adapters.catalogue.feeds`)."""
    method: Literal["GET", "POST"] = "GET"
    timeout_s: float = Field(default=10.0, gt=0, le=300)
    """Per attempt: connect, each read, and the whole transfer."""
    retries_max: int = Field(default=3, ge=0, le=10)
    """Further attempts after a timeout, a connection error, a 5xx or a 429."""
    feed_bytes_max: int = Field(default=67_108_864, ge=1_024, le=1_073_741_824)
    retire_share_max: float = Field(default=0.2, ge=0, le=1)
    """A full feed that would retire more than this share of the instance's listed games
    is refused unless confirmed: a provider's partial list must not empty a lobby."""
    sync_interval_s: float | None = Field(default=None, ge=1, le=604_800)
    """Sync from the feed on this interval (the first at start-up), in one process;
    None: only on request. Mind the provider's limit (Hub88: one list call a minute)."""
    markets_default: frozenset[str] = frozenset()
    """Markets the instance's games are certified for when its feed does not say (a
    Pragmatic list has no such field): the operator's contract with the provider."""

    @field_validator("markets_default")
    @classmethod
    def _market_codes(cls, markets: frozenset[str]) -> frozenset[str]:
        for market in markets:
            if not MARKET_PATTERN.match(market):
                raise ValueError(f"{market!r} is not an ISO 3166 market code (MT, CA-ON)")
        return markets


class ProviderSettings(_Section):
    """One provider instance: a protocol, its options and where its secrets live."""

    protocol: str = Field(pattern=r"^[a-z0-9_]{1,32}$")
    enabled: bool = True
    """A disabled instance is not mounted and accepts no sessions."""
    options: dict[str, Any] = Field(default_factory=dict)
    """Protocol options, passed to the adapter as they are."""
    secret_files: dict[str, str] = Field(default_factory=dict)
    """Secret name -> file path; relative paths are relative to the data directory."""
    catalogue: CatalogueFeedSettings | None = None
    """The instance's game feed; None: games arrive only by import."""
    launch_url: str = ""
    """Template of the provider's game URL for `POST /v1/launch`, e.g.
    `https://games.example/{code}?token={token}&lang={language}&device={device}&mode={mode}`.
    Fields: code, game, token (empty in demo mode), mode, language, device, currency,
    market, brand, return_url, reality_check_s (seconds, empty when none), each
    URL-encoded. An absolute http(s) URL or a site path."""

    @field_validator("launch_url")
    @classmethod
    def _launch_url_template(cls, template: str) -> str:
        return check_launch_url(template) if template else template


class RegisterSettings(_Section):
    """A market's national self-exclusion register (`[registers.GB]`): asked at
    registration, session creation and deposits, its answers cached. Whether a register
    that does not answer refuses is the market's jurisdiction rule, not a setting here."""

    kind: Literal["http", "file"]
    """`http`: a GAMSTOP-style lookup at `url`; `file`: a list at `path` (demo mode)."""
    name: str = Field(default="", max_length=32, pattern=r"^[A-Za-z0-9 ._-]*$")
    """Shown in refusals and logs (`GAMSTOP`); empty: the market and kind (`gb-http`)."""
    url: str = Field(default="", pattern=r"^(https?://\S+)?$")
    api_key_file: str = ""
    """The file holding the register's API key, relative to the data directory."""
    path: str = ""
    """The list of a `file` register, relative to the data directory."""
    timeout_s: float = Field(default=2.0, gt=0, le=30)
    """Per attempt, connect to last byte: a player is waiting."""
    retries_max: int = Field(default=1, ge=0, le=5)
    """Further attempts after a timeout, a connection error or a 5xx."""
    cache_ttl_s: float = Field(default=300.0, ge=0, le=86_400)
    """How long a "not excluded" answer is reused: the stale answer that lets an excluded
    person play, so keep it short."""
    cache_excluded_ttl_s: float = Field(default=3_600.0, ge=0, le=86_400)
    """How long an "excluded" answer is reused: staleness only keeps someone out longer."""
    cache_entries_max: int = Field(default=100_000, ge=1, le=10_000_000)

    @model_validator(mode="after")
    def _fields_of_the_kind(self) -> RegisterSettings:
        needed = ("url", "api_key_file") if self.kind == "http" else ("path",)
        foreign = ("path",) if self.kind == "http" else ("url", "api_key_file")
        missing = [name for name in needed if not getattr(self, name)]
        if missing:
            raise ValueError(f"a {self.kind} register needs {' and '.join(missing)}")
        stray = [name for name in foreign if getattr(self, name)]
        if stray:
            raise ValueError(f"{' and '.join(stray)} is not a setting of a {self.kind} register")
        return self


class CatalogueSettings(_Section):
    url: str = ""
    """The catalogue store; empty: `catalogue.db` in the data directory (its own file,
    so the wallet file keeps its single writer)."""

    @field_validator("url")
    @classmethod
    def _known_store(cls, url: str) -> str:
        check_catalogue_url(url)
        return url

    reload_interval_s: float = Field(default=2.0, ge=0.05, le=3_600)
    """How often each gateway process checks whether another one changed the catalogue."""
    lobby_max_age_s: int = Field(default=60, ge=0, le=86_400)
    """`Cache-Control: private, max-age=` of lobby answers; 0 makes clients revalidate."""
    new_games_days: int = Field(default=60, ge=1, le=3_650)
    """The automatic `new` category: games released within this many days."""
    import_bytes_max: int = Field(default=67_108_864, ge=1_024, le=1_073_741_824)
    """A feed uploaded to the import endpoint, decoded. Its raw body still has to fit
    `server.request_body_bytes_max`: send a large feed gzip-compressed."""
    answers_cached_max: int = Field(default=4_096, ge=0, le=1_000_000)
    """Lobby answers kept per catalogue version (a repeat query is served from memory);
    0 turns the answer cache off."""
    answers_cached_bytes_max: int = Field(default=67_108_864, ge=0, le=4_294_967_296)
    """Their bodies, in all: the least recently used go first past either bound."""


class ReportingSettings(_Section):
    """The reporting store and what feeds it (`core/reporting`): the relay of the
    wallet's log, and the stream of request records. Never on the bet path."""

    url: str = ""
    """Empty: DuckDB at `<data_dir>/reporting.duckdb` (its own file); `duckdb:///abs/path`,
    `duckdb:relative` (to the data directory)."""
    relay: bool = True
    """`gamegate serve` runs the relay (worker 0 of a group); false when `gamegate relay`
    runs elsewhere."""
    relay_in_process: bool = False
    """Run the relay as a task in serve's own process (the old way; for tests and tiny
    sites) instead of a child process. The child (`gateway.relay_process`) holds the
    reporting store and answers every serve process on a unix socket, so the relay's
    Python work does not share the wallet's GIL (loadtests/RESULTS.md)."""
    relay_socket_timeout_s: float = Field(default=5.0, gt=0, le=120)
    """How long serve waits for one answer of the relay's child (a batch of request
    records, a report) before counting it failed."""
    relay_batch_seqs_max: int = Field(default=5_000, ge=1, le=1_000_000)
    """Wallet records the relay reads and applies per reporting transaction."""
    relay_poll_interval_s: float = Field(default=0.2, ge=0.01, le=60)
    """How often an idle relay looks for new wallet records."""
    relay_step_interval_s: float = Field(default=0.5, ge=0, le=60)
    """While the relay keeps pace, at most one reporting transaction this often: fewer,
    larger transactions cost the machine less (loadtests/RESULTS.md, session 7); the lag
    stays below about this plus one step. 0: step as fast as records come."""
    relay_metrics_port: int | None = Field(default=None, ge=0, le=65_535)
    """When set, `gamegate relay` serves `/metrics` (the relay's lag and counts, the
    process's CPU and memory) and `/healthz` on `server.host`:this (0: any free port, named
    on stdout); `--metrics-port` overrides it. `gamegate serve` ignores it (its relay is on
    its own `/metrics`)."""
    requests_queue_max: int = Field(default=10_000, ge=0, le=1_000_000)
    """Request records waiting for the store; past it they are dropped and counted
    (0: no request records)."""
    requests_batch_max: int = Field(default=1_000, ge=1, le=100_000)
    requests_flush_interval_s: float = Field(default=1.0, ge=0.01, le=60)


class JurisdictionSettings(_Section):
    dir: Path = Path("config/jurisdictions")
    """Rule files, `<MARKET>.toml` and `brands/<brand>.toml` (`config/jurisdictions/
    README.md`); relative to the working directory. At the default, a directory that is
    not there means no market has rules (a warning); named here, it must exist."""

    @field_validator("dir")
    @classmethod
    def _absolute_dir(cls, directory: Path) -> Path:
        return directory.expanduser().absolute()


class Settings(BaseSettings):
    """Everything the gateway can be configured with."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    config: Path | None = None
    """The TOML file the other values were read from (`--config`, `GAMEGATE_CONFIG`)."""
    data_dir: Path = Path("data")
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    server: ServerSettings = ServerSettings()
    wallet: WalletSettings = WalletSettings()
    sessions: SessionSettings = SessionSettings()
    catalogue: CatalogueSettings = CatalogueSettings()
    brands: dict[str, FundingOrder] = Field(default_factory=dict)
    """Brand name -> the order in which a bet consumes real and bonus money."""
    currencies_extra: dict[str, int] = Field(default_factory=dict)
    """Currency code -> exponent, added to the ISO 4217 and crypto defaults."""
    providers: dict[str, ProviderSettings] = Field(default_factory=dict)
    jurisdictions: JurisdictionSettings = JurisdictionSettings()
    reporting: ReportingSettings = ReportingSettings()
    registers: dict[str, RegisterSettings] = Field(default_factory=dict)
    """Market (ISO 3166, `GB`, `CA-ON`) -> its self-exclusion register."""
    operator_api_keys: SecretStr | None = Field(default=None, repr=False)
    """From `GAMEGATE_OPERATOR_API_KEYS` only: `key:role,key:role`."""
    secret_env: dict[str, SecretStr] = Field(default_factory=dict, repr=False)
    """Every `GAMEGATE_SECRET_*` variable, captured once at load time."""

    @field_validator("data_dir")
    @classmethod
    def _absolute_data_dir(cls, data_dir: Path) -> Path:
        return data_dir.expanduser().absolute()

    @field_validator("providers")
    @classmethod
    def _instance_names(cls, providers: dict[str, ProviderSettings]) -> dict[str, ProviderSettings]:
        for name in providers:
            if not _INSTANCE_NAME.match(name):
                raise ValueError(
                    f"provider instance name {name!r} must be lower-case letters, digits, '-', '_'"
                )
        return providers

    @field_validator("registers")
    @classmethod
    def _register_markets(
        cls, registers: dict[str, RegisterSettings]
    ) -> dict[str, RegisterSettings]:
        for market in registers:
            if not MARKET_PATTERN.match(market):
                raise ValueError(f"{market!r} is not an ISO 3166 market code (GB, CA-ON)")
        return registers

    @field_validator("currencies_extra")
    @classmethod
    def _currencies(cls, extra: dict[str, int]) -> dict[str, int]:
        for code, exponent in extra.items():
            if not _CURRENCY_CODE.match(code) or not 0 <= exponent <= 18:
                raise ValueError(f"currency {code!r}: code is 2-8 of A-Z0-9, exponent 0-18")
        CurrencyTable(extra)  # raises ValueError if an exponent contradicts a known one
        return extra

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            _SecretEnvSource(settings_cls),
            _TomlFileSource(settings_cls),
        )


class _SecretEnvSource(PydanticBaseSettingsSource):
    """Collects `GAMEGATE_SECRET_*` variables; `gateway.credentials` assigns them."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        found = {
            name.upper(): value
            for name, value in os.environ.items()
            if name.upper().startswith(SECRET_ENV_PREFIX)
        }
        return {"secret_env": found} if found else {}


class _TomlFileSource(PydanticBaseSettingsSource):
    """The TOML file named by `config`, which the higher layers (flags, env) decide."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        path = self.current_state.get("config")
        if path is None:
            return {}
        return read_config_file(Path(path))


def read_config_file(path: Path) -> dict[str, Any]:
    """Parse the TOML config; errors name the file, and secrets in it are refused."""
    try:
        with path.open("rb") as file:
            text = file.read(_CONFIG_FILE_BYTES_MAX + 1)
    except OSError as exc:
        raise SettingsError(f"config: cannot read {path}: {exc.strerror}") from exc
    if len(text) > _CONFIG_FILE_BYTES_MAX:
        raise SettingsError(f"config: {path} is larger than {_CONFIG_FILE_BYTES_MAX} bytes")
    try:
        values = tomllib.loads(text.decode())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SettingsError(f"config: {path} is not valid TOML: {exc}") from exc
    leaked = sorted(_SECRET_KEYS_IN_FILE & values.keys())
    if leaked:
        raise SettingsError(f"{leaked[0]}: secrets come from the environment or secret files only")
    return values
