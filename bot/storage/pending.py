"""Writes kept while another program holds the database file, and tried again later."""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot.storage.engine import StorageUnavailable

log = logging.getLogger(__name__)


class PendingWrites:
    """Writes that must not be lost to a database locked for a while (a backup, another
    program holding it): tried now, and kept and tried again later when the file is busy.

    Only for writes that are safe to repeat (upserts, INSERT OR IGNORE): a booking Altegio has
    confirmed is confirmed to the client whatever the database does, and reaches it later.
    """

    def __init__(self) -> None:
        self._waiting: list[tuple[str, Callable[[], None]]] = []

    def __len__(self) -> int:
        return len(self._waiting)

    def run(self, what: str, write: Callable[[], None]) -> bool:
        """Write now; False when the database refused and the write waits for `retry`."""
        if self._waiting:
            # Earlier writes first, so the file never holds a later state under an older one.
            self.retry()
        if not self._waiting:
            try:
                write()
                return True
            except StorageUnavailable as exc:
                log.error("cannot write %s to the database (%s); will try again", what, exc)
        self._waiting.append((what, write))
        return False

    def retry(self) -> int:
        """Write what waits, in order; returns how many still wait."""
        while self._waiting:
            what, write = self._waiting[0]
            try:
                write()
            except StorageUnavailable as exc:
                log.warning("%s still waits for the database (%s)", what, exc)
                break
            self._waiting.pop(0)
            log.info("%s written to the database at last", what)
        return len(self._waiting)
