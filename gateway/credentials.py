"""Secrets, from files or the environment only: provider key material and operator API keys.

A provider instance's secrets are the files named in its `secret_files` (relative to
the data directory), each overridden by `GAMEGATE_SECRET_<INSTANCE>_<NAME>`; a variable
for a name that has no file adds that secret. Operator API keys are the lines
`<key> <role>` of `<data_dir>/secrets/operator_api_keys`, or `GAMEGATE_OPERATOR_API_KEYS`
(`key:role,key:role`), which replaces the file when set.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from gateway.settings import SECRET_ENV_PREFIX, Settings, SettingsError

__all__ = [
    "OPERATOR_KEYS_FILE",
    "OperatorKeys",
    "Role",
    "instance_secrets",
    "load_operator_keys",
    "secret_env_name",
    "secret_path",
    "secret_values",
]

OPERATOR_KEYS_FILE = Path("secrets") / "operator_api_keys"
SECRET_FILE_BYTES_MAX = 65_536
OPERATOR_KEYS_MAX = 1_000
OPERATOR_KEY_LENGTH_MIN = 16


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
class OperatorKeys:
    """Keys by their SHA-256, so a lookup compares digests and never the key text."""

    roles_by_digest: MappingProxyType[bytes, Role]

    def role(self, key: str) -> Role | None:
        return self.roles_by_digest.get(_digest(key))

    def __len__(self) -> int:
        return len(self.roles_by_digest)


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


def load_operator_keys(settings: Settings) -> OperatorKeys:
    """Operator API keys from `GAMEGATE_OPERATOR_API_KEYS`, else from the key file."""
    pairs, source = _operator_key_pairs(settings)
    return OperatorKeys(MappingProxyType(_roles(pairs, source)))


def secret_values(settings: Settings, instances: Iterable[str]) -> list[bytes]:
    """Every secret the process holds, for the log redactor: the key material of the
    given provider instances and the operator API keys."""
    values = [value for name in instances for value in instance_secrets(settings, name).values()]
    values.extend(
        key.encode("utf-8", "surrogateescape") for key, _ in _operator_key_pairs(settings)[0]
    )
    return values


def _operator_key_pairs(settings: Settings) -> tuple[list[tuple[str, str]], str]:
    """(key, role) pairs and where they came from."""
    pairs: list[tuple[str, str]] = []
    if settings.operator_api_keys is not None:
        source = "operator_api_keys"
        for item in settings.operator_api_keys.get_secret_value().split(","):
            if item.strip():
                key, _, role = item.strip().rpartition(":")
                pairs.append((key, role))
    else:
        path = settings.data_dir / OPERATOR_KEYS_FILE
        source = str(path)
        if path.exists():
            text = _read_secret_file(path, "operator_api_keys").decode()
            for line in text.splitlines():
                if line.strip() and not line.lstrip().startswith("#"):
                    key, _, role = line.strip().partition(" ")
                    pairs.append((key, role.strip()))
    return pairs, source


def _roles(pairs: list[tuple[str, str]], source: str) -> dict[bytes, Role]:
    if len(pairs) > OPERATOR_KEYS_MAX:
        raise SettingsError(f"operator_api_keys: more than {OPERATOR_KEYS_MAX} keys in {source}")
    roles: dict[bytes, Role] = {}
    known = ", ".join(role.value for role in Role)
    for index, (key, role) in enumerate(pairs, start=1):
        if len(key) < OPERATOR_KEY_LENGTH_MIN:
            raise SettingsError(
                f"operator_api_keys: key {index} in {source} is shorter than "
                f"{OPERATOR_KEY_LENGTH_MIN} characters"
            )
        try:
            roles[_digest(key)] = Role(role)
        except ValueError:
            raise SettingsError(
                f"operator_api_keys: key {index} in {source} has role {role!r} (known: {known})"
            ) from None
    return roles
