"""Demo mode (`gamegate serve --demo`, used by `make run`): credentials and data to play with.

On the first run this writes demo secrets under `<data_dir>/secrets/` (the documented
operator key and, for each provider instance, the files named in its `secret_files`,
made by its protocol's `demo_secrets()`), then seeds the demo brand's players. Both
steps are idempotent: existing files are kept, seeding replays its own keys. Unless the
settings name one, the demo market gets a file self-exclusion register
(`<data_dir>/registers/MT.txt`) listing `DEMO_EXCLUDED_PLAYER`, a player that is not
seeded: registering it shows the refusal while the seeded players play as before.
"""

from __future__ import annotations

import datetime
import os
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from adapters.providers.registry import PROTOCOLS, ProtocolSpec
from core.catalogue.game import Game
from core.catalogue.live import LiveCatalogue
from core.errors import GatewayError
from core.model import BonusGrant, Deposit, FundingOrder, KycState, MoneyCommand
from core.money import Currency, minor_from_decimal
from core.service import WalletService
from core.wallet.records import PlayerRecord
from gateway.credentials import OPERATOR_KEYS_FILE, secret_path
from gateway.demo_catalogue import demo_games
from gateway.settings import ProviderSettings, RegisterSettings, Settings

__all__ = [
    "DEMO_BRAND",
    "DEMO_EXCLUDED_PLAYER",
    "DEMO_LOBBY_KEY",
    "DEMO_OPERATOR_KEY",
    "DEMO_PLAYERS",
    "DemoPlayer",
    "prepare",
    "seed",
]

DEMO_OPERATOR_KEY = "demo-operator-key"
"""The documented operator API key of demo mode (role admin). Never use demo mode in production."""
DEMO_LOBBY_KEY = "demo-lobby-key-0001"
"""The documented lobby key of demo mode (role lobby: catalogue reads and launch only)."""
DEMO_BRAND = "demo"
DEMO_JURISDICTION = "MT"
DEMO_DATE_OF_BIRTH = datetime.date(1990, 1, 1)
DEMO_EXCLUDED_PLAYER = "demo-excluded"
"""Listed by the demo register, never seeded: `POST /v1/players` with it is refused."""
DEMO_REGISTER_FILE = Path("registers") / f"{DEMO_JURISDICTION}.txt"
_DEMO_REGISTER_TEXT = f"""\
# The demo self-exclusion register of market {DEMO_JURISDICTION} (gamegate serve --demo).
# One entry per line, `player_id <id>` or `email <address>`; an edit takes effect on the
# next lookup. No seeded demo player is listed; registering this one is refused:
player_id {DEMO_EXCLUDED_PLAYER}
"""

Warn = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class DemoPlayer:
    player_id: str
    currency: str
    deposit: str
    bonus: str | None = None


DEMO_PLAYERS = (
    DemoPlayer("demo-1", "EUR", "100.00"),
    DemoPlayer("demo-2", "EUR", "250.00", bonus="25.00"),
    DemoPlayer("demo-3", "EUR", "5.00"),
    DemoPlayer("demo-4", "EUR", "1000.00"),
    DemoPlayer("demo-jpy", "JPY", "10000"),
    DemoPlayer("demo-kwd", "KWD", "25.125"),
)
"""EUR has 2 decimals, JPY none, KWD 3: the balances show each currency's exponent."""


def prepare(
    settings: Settings, warn: Warn, *, protocols: Mapping[str, ProtocolSpec] = PROTOCOLS
) -> Settings:
    """Write missing demo secrets; disable instances whose protocol is not available yet."""
    for directory in (settings.data_dir, settings.data_dir / "secrets"):
        _private_directory(directory)
    keys_file = settings.data_dir / OPERATOR_KEYS_FILE
    _write_secret(
        keys_file,
        f"# <key> <role> [name] per line\n{DEMO_OPERATOR_KEY} admin demo-operator\n"
        f"{DEMO_LOBBY_KEY} lobby demo-lobby\n".encode(),
    )
    _add_demo_lobby_key(keys_file)
    providers: dict[str, ProviderSettings] = {}
    for name, provider in settings.providers.items():
        spec = protocols.get(provider.protocol)
        if spec is None and provider.enabled:
            warn(
                f"provider instance {name!r} skipped: protocol {provider.protocol!r} "
                "is not available in this build"
            )
            provider = provider.model_copy(update={"enabled": False})
        elif spec is not None:
            _write_instance_secrets(settings, name, provider, spec, warn)
        providers[name] = provider
    brands = {DEMO_BRAND: FundingOrder.REAL_FIRST, **settings.brands}
    registers = dict(settings.registers)
    if DEMO_JURISDICTION not in registers:
        # a register list holds personal data (emails): owner-only, like a secret
        _write_secret(settings.data_dir / DEMO_REGISTER_FILE, _DEMO_REGISTER_TEXT.encode())
        registers[DEMO_JURISDICTION] = RegisterSettings(
            kind="file", name="demo-register", path=str(DEMO_REGISTER_FILE)
        )
    update = {"providers": providers, "brands": brands, "registers": registers}
    return settings.model_copy(update=update)


def _funding(demo: DemoPlayer, currency: Currency) -> list[MoneyCommand]:
    """The seed deposit (and bonus) under fixed keys such as `seed-demo-1`."""
    deposit_minor = minor_from_decimal(demo.deposit, currency)
    commands: list[MoneyCommand] = [
        Deposit(f"seed-{demo.player_id}", demo.player_id, currency.code, deposit_minor)
    ]
    if demo.bonus is not None:
        bonus_minor = minor_from_decimal(demo.bonus, currency)
        key = f"seed-bonus-{demo.player_id}"
        commands.append(BonusGrant(key, demo.player_id, currency.code, bonus_minor))
    return commands


def _write_instance_secrets(
    settings: Settings, name: str, provider: ProviderSettings, spec: ProtocolSpec, warn: Warn
) -> None:
    """All or nothing: key pairs must match, so partial sets are left for a person."""
    paths = {key: secret_path(settings, file) for key, file in provider.secret_files.items()}
    missing = [key for key, path in paths.items() if not path.exists()]
    if not missing:
        return
    if len(missing) < len(paths):
        warn(f"provider instance {name!r}: some secret files exist, missing ones not generated")
        return
    generated = spec.demo_secrets()
    for key in paths.keys() - generated.keys():
        warn(f"provider instance {name!r}: protocol has no demo value for secret {key!r}")
    for key, value in generated.items():
        default = settings.data_dir / "secrets" / name / key
        _write_secret(paths.get(key, default), value)


def _add_demo_lobby_key(keys_file: Path) -> None:
    """A demo key file written before the lobby existed gains the demo lobby key (the
    lobby page needs it); a key file a person wrote, without the demo admin key, is
    left alone."""
    lines = keys_file.read_text().splitlines()
    keys = {line.split(" ", 1)[0] for line in lines if line.strip()}
    if DEMO_OPERATOR_KEY in keys and DEMO_LOBBY_KEY not in keys:
        with keys_file.open("a") as file:
            file.write(f"{DEMO_LOBBY_KEY} lobby\n")


def _private_directory(directory: Path) -> None:
    """Create `directory` 0700, or take group and other access off an existing one of
    ours (an older build, or `mkdir -p` under another umask, may have left it open)."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    status = directory.stat()
    mode = stat.S_IMODE(status.st_mode)
    if mode & 0o077 and status.st_uid == os.geteuid():
        directory.chmod(mode & ~0o077)


def _write_secret(path: Path, value: bytes) -> None:
    """Create `path` readable by its owner only; an existing file is never replaced."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "wb") as file:
        file.write(value)


DEMO_CATALOGUE_SOURCE = "demo"


async def seed_catalogue(
    live: LiveCatalogue, settings: Settings, *, today: datetime.date, at_us: int
) -> None:
    """Sync the generated demo catalogue into every enabled instance (a full feed per
    instance, so a game the generator no longer makes is retired, never deleted), then
    swap the index once. A restart on the same day changes nothing."""
    instances = [name for name, provider in settings.providers.items() if provider.enabled]
    by_instance: dict[str, list[Game]] = {name: [] for name in instances}
    for game in demo_games(instances, today=today):
        by_instance[game.instance].append(game)
    for instance, games in by_instance.items():
        await live.store.sync(
            instance,
            games,
            full=True,
            source=DEMO_CATALOGUE_SOURCE,
            retire_share_max=1.0,
            confirmed=True,
            at_us=at_us,
        )
    await live.load()


async def seed(service: WalletService, settings: Settings, warn: Warn, *, at_us: int) -> None:
    """Create the demo players (verified at `at_us`, the first start) and fund them,
    replaying the same keys on every start; a player seeded before is kept as it is."""
    funding_order = settings.brands.get(DEMO_BRAND, FundingOrder.REAL_FIRST)
    for demo in DEMO_PLAYERS:
        player = PlayerRecord(
            player_id=demo.player_id,
            brand=DEMO_BRAND,
            jurisdiction=DEMO_JURISDICTION,
            currency=demo.currency,
            date_of_birth=DEMO_DATE_OF_BIRTH,
            funding_order=funding_order,
            kyc=KycState.VERIFIED,
            kyc_changed_at_us=at_us,
        )
        commands = _funding(demo, service.currencies.get(demo.currency))
        try:
            if await service.find_player(demo.player_id) is None:
                await service.create_player(player)
            await service.execute(commands, session_token=None)
        except GatewayError as error:
            warn(
                f"demo player {demo.player_id!r} not seeded: {error.reason.value}: {error.message}"
            )
