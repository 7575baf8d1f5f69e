"""The file-list register of demo mode: entries, comments, reload on change, bounds."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from adapters.registers.file_register import FileRegister
from core.registers import RegisterUnavailable, Verdict
from tests.registers.fakes import subject


def _write(path: Path, text: str) -> None:
    """Write and move the modification time on, as an edit a second later would."""
    path.write_text(text)
    status = path.stat()
    os.utime(path, ns=(status.st_atime_ns, status.st_mtime_ns + 1_000_000_000))


@pytest.fixture
def listing(tmp_path: Path) -> Path:
    path = tmp_path / "excluded.txt"
    _write(
        path, "# demo register\n\nplayer_id p-excluded\nemail Someone@Example.COM\n  # indented\n"
    )
    return path


async def test_a_listed_player_id_is_excluded(listing: Path) -> None:
    register = FileRegister(listing, name="demo")
    assert await register.lookup(subject("p-excluded")) is Verdict.EXCLUDED
    assert await register.lookup(subject("p-other")) is Verdict.NOT_EXCLUDED


async def test_a_listed_email_is_excluded_whatever_its_case(listing: Path) -> None:
    register = FileRegister(listing, name="demo")
    listed = subject("p-2", identity={"email": " someone@example.com"})
    assert await register.lookup(listed) is Verdict.EXCLUDED
    assert await register.lookup(subject("p-2", identity={})) is Verdict.NOT_EXCLUDED


async def test_comments_are_not_entries(listing: Path) -> None:
    register = FileRegister(listing, name="demo")
    assert await register.lookup(subject("#")) is Verdict.NOT_EXCLUDED
    assert await register.lookup(subject("demo")) is Verdict.NOT_EXCLUDED


async def test_an_edit_takes_effect_on_the_next_lookup(listing: Path) -> None:
    register = FileRegister(listing, name="demo")
    assert await register.lookup(subject("p-new")) is Verdict.NOT_EXCLUDED
    _write(listing, "player_id p-new\n")
    assert await register.lookup(subject("p-new")) is Verdict.EXCLUDED
    assert await register.lookup(subject("p-excluded")) is Verdict.NOT_EXCLUDED


async def test_an_atomic_replace_takes_effect(listing: Path) -> None:
    register = FileRegister(listing, name="demo")
    await register.lookup(subject())
    replacement = listing.with_suffix(".new")
    _write(replacement, "player_id p-1\n")
    replacement.replace(listing)
    assert await register.lookup(subject("p-1")) is Verdict.EXCLUDED


async def test_a_file_whose_signature_is_unchanged_is_not_read_again(listing: Path) -> None:
    """Reads follow (mtime, size, inode): same-size bytes written in place with the old
    mtime put back are not seen, which shows a lookup does not read the file each time."""
    register = FileRegister(listing, name="demo")
    await register.lookup(subject())
    status = listing.stat()
    text = listing.read_text()
    with listing.open("r+") as file:
        file.write(text.replace("p-excluded", "p-included"))
    os.utime(listing, ns=(status.st_atime_ns, status.st_mtime_ns))
    assert await register.lookup(subject("p-excluded")) is Verdict.EXCLUDED
    assert await register.lookup(subject("p-included")) is Verdict.NOT_EXCLUDED


async def test_a_missing_file_is_no_answer(tmp_path: Path) -> None:
    register = FileRegister(tmp_path / "absent.txt", name="demo")
    with pytest.raises(RegisterUnavailable, match=r"absent\.txt"):
        await register.lookup(subject())


async def test_a_file_over_the_bound_is_no_answer(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    _write(path, "player_id p-1\n" * 10)
    register = FileRegister(path, name="demo", file_bytes_max=100)
    with pytest.raises(RegisterUnavailable, match="larger than 100 bytes"):
        await register.lookup(subject())
    _write(path, "player_id p-1\n")
    assert await register.lookup(subject("p-1")) is Verdict.EXCLUDED


@pytest.mark.parametrize("line", ["someone@example.com", "passport X123", "player_id", "email   "])
async def test_a_malformed_line_is_no_answer_naming_its_number_only(
    tmp_path: Path, line: str
) -> None:
    path = tmp_path / "bad.txt"
    _write(path, f"player_id p-1\n{line}\n")
    register = FileRegister(path, name="demo")
    with pytest.raises(RegisterUnavailable, match="line 2 ") as caught:
        await register.lookup(subject("p-1"))
    assert "example.com" not in str(caught.value)
    assert "X123" not in str(caught.value)
