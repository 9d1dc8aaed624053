"""The lines of `altegio-bot doctor`'s report: what was checked, and a mark saying whether it
works (✓), must be fixed (✗, with the fix) or is worth a look (!)."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Mark(enum.Enum):
    OK = "✓"
    FAIL = "✗"
    WARN = "!"


@dataclass(frozen=True, slots=True)
class Check:
    """One line of the report: the thing checked, and what was found or what is wrong (and the
    fix)."""

    mark: Mark
    thing: str
    found: str

    @property
    def passed(self) -> bool:
        """A warning passes: the bot works, something deserves a look."""
        return self.mark is not Mark.FAIL


def ok(thing: str, found: str) -> Check:
    return Check(Mark.OK, thing, found)


def fail(thing: str, found: str) -> Check:
    return Check(Mark.FAIL, thing, found)


def warn(thing: str, found: str) -> Check:
    return Check(Mark.WARN, thing, found)


def all_passed(checks: list[Check]) -> bool:
    return all(check.passed for check in checks)
