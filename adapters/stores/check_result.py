"""One verification check's result, as every wallet backend's `verify` reports it."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CheckResult"]


@dataclass(slots=True)
class CheckResult:
    """One check: its first mismatch (what, where, expected vs found) and how many."""

    name: str
    """What the check establishes, as the report's line shows it."""
    first_failure: str = ""
    failures: int = 0

    @property
    def ok(self) -> bool:
        return self.failures == 0

    def fail(self, detail: str) -> None:
        if self.failures == 0:
            self.first_failure = detail
        self.failures += 1

    def line(self) -> str:
        if self.ok:
            return f"PASS {self.name}"
        more = f" (+{self.failures - 1} more)" if self.failures > 1 else ""
        return f"FAIL {self.name}: {self.first_failure}{more}"
