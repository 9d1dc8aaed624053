"""What the bot keeps for one client between updates (PTB's `user_data`): a small typed class,
JSON by construction, written to SQLite after every update."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.draft import Draft

KEEP_DONE = 5  # finished bookings whose buttons are still answered quietly


@dataclass(slots=True)
class UserData:
    # The booking in progress, as `Draft.as_json` writes it: what is kept is a snapshot, and
    # a handler's changes to its draft count once it puts the draft back.
    draft: dict[str, Any] | None = None
    done: list[str] = field(default_factory=list)  # the last few finished bookings' flows
    booked_at: str | None = None  # when the client last booked (ISO), for a late /cancel
    # What the client started before choosing a chain's location, to go on with once they
    # choose ("link:<payload>", "text:<text>", "classes"; "": the services). Kept here, not in
    # the chat's data, so that the choice may come at another replica.
    after_location: str | None = None

    def get_draft(self) -> Draft | None:
        return Draft.from_json(self.draft)

    def put_draft(self, draft: Draft | None) -> None:
        """Keep `draft` as the booking in progress; None ends it (its flow counts as done)."""
        previous = self.draft
        if draft is None:
            self.draft = None
            if previous is not None and isinstance(previous.get("flow"), str):
                self.done = [*self.done[-(KEEP_DONE - 1) :], previous["flow"]]
        else:
            self.draft = draft.as_json()

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if self.draft is not None:
            data["draft"] = self.draft
        if self.done:
            data["done"] = list(self.done)
        if self.booked_at is not None:
            data["booked_at"] = self.booked_at
        if self.after_location is not None:
            data["after_location"] = self.after_location
        return data

    @classmethod
    def from_json(cls, data: object) -> UserData:
        """Lenient: anything unreadable (an older or damaged row) starts empty, never fails."""
        if not isinstance(data, dict):
            return cls()
        draft = data.get("draft")
        done = data.get("done")
        booked_at = data.get("booked_at")
        after = data.get("after_location")
        return cls(
            draft=draft if isinstance(draft, dict) else None,
            done=[f for f in done if isinstance(f, str)] if isinstance(done, list) else [],
            booked_at=booked_at if isinstance(booked_at, str) else None,
            after_location=after if isinstance(after, str) else None,
        )
