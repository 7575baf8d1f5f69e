"""Secrets, from files or the environment only: provider key material and operator API keys.

A provider instance's secrets are the files named in its `secret_files` (relative to
the data directory), each overridden by `GAMEGATE_SECRET_<INSTANCE>_<NAME>`; a variable
for a name that has no file adds that secret. A self-exclusion register's API key is the
file named by its `api_key_file`. Operator API keys are the lines
`<key> <role> [name]` of `<data_dir>/secrets/operator_api_keys`, or
`GAMEGATE_OPERATOR_API_KEYS` (`key:role,key:role`), which replaces the file when set. A
key's name is who the audit trail says made a change; unnamed keys are named by a
fingerprint (`key-` and 12 hex digits of the key's SHA-256), never by the key.
"""

from __future__ import annotations

import enum
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from gateway.settings import SECRET_ENV_PREFIX, Settings, SettingsError

__all__ = [
    "OPERATOR_KEYS_FILE",
    "KeyHolder",
    "OperatorKeys",
    "Role",
    "instance_secrets",
    "load_operator_keys",
    "register_api_keys",
    "secret_env_name",
    "secret_path",
    "secret_values",
]

OPERATOR_KEYS_FILE = Path("secrets") / "operator_api_keys"
SECRET_FILE_BYTES_MAX = 65_536
OPERATOR_KEYS_MAX = 1_000
OPERATOR_KEY_LENGTH_MIN = 16
_KEY_NAME = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")


class Role(enum.StrEnum):
    """What an operator API key may do. `admin` may do everything, `viewer` only read,
    `lobby` (an operator's lobby front end) only read the catalogue and launch games."""

    ADMIN = "admin"
    VIEWER = "viewer"
    LOBBY = "lobby"

    def allows(self, *, write: bool, lobby: bool = False) -> bool:
        """`lobby` marks the lobby API's handlers (catalogue reads and launch)."""
        if self is Role.ADMIN:
            return True
        if self is Role.LOBBY:
            return lobby
        return not write


@dataclass(frozen=True, slots=True)
class KeyHolder:
    role: Role
    name: str


@dataclass(frozen=True, slots=True)
class OperatorKeys:
    """Keys by their SHA-256, so a lookup compares digests and never the key text."""

    holders_by_digest: MappingProxyType[bytes, KeyHolder]

    def holder(self, key: str) -> KeyHolder | None:
        return self.holders_by_digest.get(_digest(key))

    def role(self, key: str) -> Role | None:
        holder = self.holder(key)
        return None if holder is None else holder.role

    def __len__(self) -> int:
        return len(self.holders_by_digest)


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def secret_env_name(instance: str, name: str) -> str:
    """`GAMEGATE_SECRET_<INSTANCE>_<NAME>`, upper-cased, `-` written as `_`."""
    return f"{SECRET_ENV_PREFIX}{instance}_{name}".upper().replace("-", "_")


def secret_path(settings: Settings, relative_or_absolute: str) -> Path:
    path = Path(relative_or_absolute).expanduser()
    return path if path.is_absolute() else settings.data_dir / path


def instance_secrets(settings: Settings, instance: str) -> dict[str, bytes]:
    """The secrets of one provider instance; a missing one stops start-up, naming it."""
    provider = settings.providers[instance]
    secrets: dict[str, bytes] = {}
    for name, file_name in provider.secret_files.items():
        from_env = settings.secret_env.get(secret_env_name(instance, name))
        if from_env is not None:
            secrets[name] = from_env.get_secret_value().encode()
            continue
        key = f"providers.{instance}.secret_files.{name}"
        secrets[name] = _read_secret_file(secret_path(settings, file_name), key)
    prefix = secret_env_name(instance, "")
    for env_name, value in settings.secret_env.items():
        name = env_name.removeprefix(prefix).lower()
        claimed = not env_name.startswith(prefix) or not name or name in secrets
        if not claimed and not _longer_instance_claims(settings, instance, env_name):
            secrets[name] = value.get_secret_value().encode()
    return secrets


def _longer_instance_claims(settings: Settings, instance: str, env_name: str) -> bool:
    """True if a longer instance name (`hub88_eu` for `hub88`) owns this variable."""
    return any(
        len(other) > len(instance) and env_name.startswith(secret_env_name(other, ""))
        for other in settings.providers
    )


def _read_secret_file(path: Path, key: str) -> bytes:
    """File bytes with trailing newlines removed (an `echo` into a file adds one)."""
    try:
        with path.open("rb") as file:
            data = file.read(SECRET_FILE_BYTES_MAX + 1)
    except OSError as exc:
        raise SettingsError(f"{key}: cannot read secret file {path}: {exc.strerror}") from exc
    if len(data) > SECRET_FILE_BYTES_MAX:
        raise SettingsError(f"{key}: secret file {path} is larger than {SECRET_FILE_BYTES_MAX}")
    data = data.rstrip(b"\r\n")
    if not data:
        raise SettingsError(f"{key}: secret file {path} is empty")
    return data


def register_api_keys(settings: Settings) -> dict[str, str]:
    """Market -> the API key of its `http` register; a missing or unusable key file
    stops start-up, naming it."""
    keys: dict[str, str] = {}
    for market, register in settings.registers.items():
        if register.kind != "http":
            continue
        key = f"registers.{market}.api_key_file"
        data = _read_secret_file(secret_path(settings, register.api_key_file), key)
        if not data.isascii() or not data.decode().isprintable():
            raise SettingsError(
                f"{key}: the API key must be printable ASCII (it is sent as a header)"
            )
        keys[market] = data.decode()
    return keys


def load_operator_keys(settings: Settings) -> OperatorKeys:
    """Operator API keys from `GAMEGATE_OPERATOR_API_KEYS`, else from the key file."""
    entries, source = _operator_key_entries(settings)
    return OperatorKeys(MappingProxyType(_holders(entries, source)))


def secret_values(settings: Settings, instances: Iterable[str]) -> list[bytes]:
    """Every secret the process holds, for the log redactor: the key material of the
    given provider instances, the registers' API keys and the operator API keys."""
    values = [value for name in instances for value in instance_secrets(settings, name).values()]
    values.extend(key.encode() for key in register_api_keys(settings).values())
    values.extend(
        entry[0].encode("utf-8", "surrogateescape") for entry in _operator_key_entries(settings)[0]
    )
    return values


_KeyEntry = tuple[str, str, str]
"""(key, role, name); the name is empty when the line gives none."""


def _operator_key_entries(settings: Settings) -> tuple[list[_KeyEntry], str]:
    """(key, role, name) entries and where they came from."""
    pairs: list[_KeyEntry] = []
    if settings.operator_api_keys is not None:
        source = "operator_api_keys"
        for item in settings.operator_api_keys.get_secret_value().split(","):
            if item.strip():
                key, _, role = item.strip().rpartition(":")
                pairs.append((key, role, ""))
    else:
        path = settings.data_dir / OPERATOR_KEYS_FILE
        source = str(path)
        if path.exists():
            text = _read_secret_file(path, "operator_api_keys").decode()
            for line in text.splitlines():
                if line.strip() and not line.lstrip().startswith("#"):
                    key, _, rest = line.strip().partition(" ")
                    role, _, name = rest.strip().partition(" ")
                    pairs.append((key, role, name.strip()))
    return pairs, source


def _holders(entries: list[_KeyEntry], source: str) -> dict[bytes, KeyHolder]:
    if len(entries) > OPERATOR_KEYS_MAX:
        raise SettingsError(f"operator_api_keys: more than {OPERATOR_KEYS_MAX} keys in {source}")
    holders: dict[bytes, KeyHolder] = {}
    known = ", ".join(role.value for role in Role)
    for index, (key, role, name) in enumerate(entries, start=1):
        if len(key) < OPERATOR_KEY_LENGTH_MIN:
            raise SettingsError(
                f"operator_api_keys: key {index} in {source} is shorter than "
                f"{OPERATOR_KEY_LENGTH_MIN} characters"
            )
        if not _KEY_NAME.match(name or "x"):
            raise SettingsError(
                f"operator_api_keys: key {index} in {source}: a name is 1-64 of "
                "letters, digits, '.', '_', '-', '@'"
            )
        digest = _digest(key)
        try:
            holders[digest] = KeyHolder(Role(role), name or f"key-{digest.hex()[:12]}")
        except ValueError:
            raise SettingsError(
                f"operator_api_keys: key {index} in {source} has role {role!r} (known: {known})"
            ) from None
    return holders
