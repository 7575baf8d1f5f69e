"""Demo secrets end up readable by their owner only, whatever the umask and whatever
mode an existing secrets directory had."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway import demo
from gateway.credentials import OPERATOR_KEYS_FILE
from gateway.settings import ProviderSettings, Settings
from tests.conftest import file_mode
from tests.gateway.fake_protocol import FAKE_PROTOCOLS


@pytest.mark.usefixtures("open_umask")
def test_demo_secrets_and_their_directories_are_the_owners_only(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "secrets").mkdir(parents=True)
    (data / "secrets").chmod(0o755)  # left so by a person, or an older build
    settings = Settings(
        data_dir=data,
        providers={
            "fake": ProviderSettings(
                protocol="fake", secret_files={"hmac_key": "secrets/fake/hmac_key"}
            )
        },
    )
    demo.prepare(settings, print, protocols=FAKE_PROTOCOLS)
    assert file_mode(data) == 0o700
    assert file_mode(data / "secrets") == 0o700
    assert file_mode(data / "secrets" / "fake") == 0o700
    assert file_mode(data / OPERATOR_KEYS_FILE) == 0o600
    assert file_mode(data / "secrets" / "fake" / "hmac_key") == 0o600
