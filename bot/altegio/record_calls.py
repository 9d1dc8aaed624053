"""Calls about appointments that exist: one read by its id and hash, the client's own list,
cancelling, and the user token (`user/auth`) that the client's list and changes may take.

Which path lists *all* of a client's appointments with their user token is undocumented (§8.3,
§14.4): the bare `user/records` first (it cannot be read as naming one record), then the
documented `user/records/{id}/{hash}` with a record of the client's the bot knows, then
`user/records/0/0`; the form Altegio answers is remembered and tried first from then on. An
appointment the bot knows no hash of is cancelled at `user/records/{id}`, the hash being needed
only when no user token is sent."""

from __future__ import annotations

from bot.altegio import errors
from bot.altegio.location_calls import LocationCalls
from bot.altegio.models.lenient import Json
from bot.altegio.models.visits import Record, records_from_wire
from bot.altegio.shared_times import SharedTimes
from bot.altegio.transport import Retry

# The forms of the listing path, in the order tried (see above).
LIST_FORMS = ("bare", "known", "zero")


class RecordCalls(LocationCalls):
    """`GET book_record`, `user/records` (read, `DELETE`) and `user/auth`."""

    shared_times: SharedTimes  # free times shared in a rush (`shared_times.py`)
    _list_form: str | None  # the listing path's form Altegio answered, once one has

    async def record(self, record_id: int, record_hash: str, *, urgent: bool = False) -> Record:
        """One appointment by its id and hash. `urgent`: part of a booking the client is
        waiting for, so it goes ahead of other reads."""
        tz = await self.zone()
        data = await self._request(
            "GET",
            f"book_record/{self.company_id}/{record_id}/{record_hash}",
            route="book_record.get",
            urgent=urgent,
        )
        found = records_from_wire(data, tz)
        if not found:
            raise errors.NotFound("record")
        self._learn(found)
        return found[0]

    async def user_records(
        self, record_id: int, record_hash: str, user_token: str | None = None
    ) -> list[Record]:
        """`GET user/records/{id}/{hash}`: with a user token, every appointment of the client
        (Altegio's own list, the second source on a record); without one, the record the hash
        opens."""
        tz = await self.zone()
        data = await self._request(
            "GET",
            f"user/records/{record_id}/{record_hash}",
            user_token=user_token,
            route="user/records",
        )
        found = records_from_wire(data, tz) if data else []
        self._learn(found)
        return found

    async def account_records(
        self, user_token: str, known: tuple[int, str] | None = None
    ) -> list[Record]:
        """Every appointment of the client `user_token` belongs to, at this location, however it
        was made (phone, web page, here), past and future, cancelled ones included: one request
        (`GET user/records` with the token). `known`: one of the client's records (id, hash),
        for the documented path. A refused token raises `AuthError`."""
        tz = await self.zone()
        paths = {"bare": "user/records", "zero": "user/records/0/0"}
        if known is not None and known[1]:
            paths["known"] = f"user/records/{known[0]}/{known[1]}"
        forms = [f for f in LIST_FORMS if f in paths]
        if self._list_form in forms:
            forms.remove(self._list_form)
            forms.insert(0, self._list_form)
        data: Json = None
        for index, form in enumerate(forms):
            try:
                data = await self._request(
                    "GET", paths[form], user_token=user_token, route="user/records"
                )
            except (errors.NotFound, errors.ForeignAnswer):
                # A path not served answers 404, Altegio's JSON or a server's own page.
                if index + 1 < len(forms):
                    continue
                raise
            self._list_form = form
            break
        found = records_from_wire(data, tz) if data else []
        mine = [r for r in found if r.company_id in (None, self.company_id)]
        self._learn(mine)
        return mine

    async def cancel_record(
        self, record_id: int, record_hash: str, user_token: str | None = None
    ) -> None:
        """Cancel an appointment (`DELETE user/records/{id}/{hash}`)."""
        path = f"user/records/{record_id}/{record_hash}" if record_hash else None
        if path is None:
            if not user_token:
                raise errors.AuthError("cancel: neither a record hash nor a user token")
            path = f"user/records/{record_id}"
        try:
            await self._request(
                "DELETE",
                path,
                retry=Retry.WRITE,
                user_token=user_token,
                route="user/records.delete",
            )
        except errors.UnexpectedResponse as exc:
            # A success nobody can read: most likely cancelled; the record itself will tell.
            raise errors.OutcomeUnknown("cancel: an unreadable success", answered=True) from exc
        finally:
            self._cache.drop("avail:")
            self.shared_times.forget()  # the time it frees is shown at the next read

    async def user_auth(self, phone: str, code: str) -> str:
        """Exchange a phone and its SMS code for a user token (`POST user/auth`)."""
        data = await self._request(
            "POST",
            "user/auth",
            body={"phone": phone, "code": code, "company_id": self.company_id},
            retry=Retry.WRITE,
            route="user/auth",
        )
        token = ""
        if isinstance(data, dict):
            token = str(data.get("user_token") or data.get("0") or "")
        if not token:
            raise errors.UnexpectedResponse("user/auth: no token in the answer")
        return token
