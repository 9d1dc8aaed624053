"""Calls about appointments that exist: one read by its id and hash, the client's own list,
cancelling, and the user token (`user/auth`) that the client's list and changes may take."""

from __future__ import annotations

from bot.altegio import errors
from bot.altegio.location_calls import LocationCalls
from bot.altegio.models.visits import Record, records_from_wire
from bot.altegio.transport import Retry


class RecordCalls(LocationCalls):
    """`GET book_record`, `user/records` (read, `DELETE`) and `user/auth`."""

    async def record(self, record_id: int, record_hash: str, *, urgent: bool = False) -> Record:
        """One appointment by its id and hash. `urgent`: part of a booking the client is
        waiting for, so it goes ahead of other reads."""
        company = await self.company()
        data = await self._request(
            "GET",
            f"book_record/{self.company_id}/{record_id}/{record_hash}",
            route="book_record.get",
            urgent=urgent,
        )
        found = records_from_wire(data, company.tz)
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
        company = await self.company()
        data = await self._request(
            "GET",
            f"user/records/{record_id}/{record_hash}",
            user_token=user_token,
            route="user/records",
        )
        found = records_from_wire(data, company.tz) if data else []
        self._learn(found)
        return found

    async def cancel_record(
        self, record_id: int, record_hash: str, user_token: str | None = None
    ) -> None:
        """Cancel an appointment (`DELETE user/records/{id}/{hash}`)."""
        try:
            await self._request(
                "DELETE",
                f"user/records/{record_id}/{record_hash}",
                retry=Retry.WRITE,
                user_token=user_token,
                route="user/records.delete",
            )
        except errors.UnexpectedResponse as exc:
            # A success nobody can read: most likely cancelled; the record itself will tell.
            raise errors.OutcomeUnknown("cancel: an unreadable success", answered=True) from exc
        finally:
            self._cache.drop("avail:")

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
