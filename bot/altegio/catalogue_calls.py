"""What can be booked: the services, the team and its durations, bookable days and free times;
services and team members Altegio refused are kept out of the lists for a while."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Sequence
from datetime import date, timedelta

from bot.altegio import errors
from bot.altegio.cache import TtlCache
from bot.altegio.location_calls import LocationCalls
from bot.altegio.models.catalogue import Catalogue, Staff
from bot.altegio.models.free_times import BookableDates, Nearest, Slot
from bot.altegio.models.lenient import Json
from bot.altegio.own_bookings import Made
from bot.altegio.shared_times import SharedTimes


class CatalogueCalls(LocationCalls):
    """`book_services`, `book_staff`, `book_dates` and `book_times`.

    The state below is set up by `AltegioClient.__init__`.
    """

    _availability_ttl: float  # team members and bookable days
    _queued_at: float = -math.inf  # when clients were last seen queued for the rate limit
    _nearest_ttl: float  # a team member's nearest free times
    shared_times: SharedTimes  # a day's free times, shared while clients queue (`times`)
    _durations_ttl: float
    _withdrawn_ttl: float
    # Services and team members Altegio refused or no longer knows, until when: not offered
    # again even while a list read before the refusal is still cached.
    _withdrawn: dict[tuple[str, int], float]
    _staff_names: dict[int, str]  # for telling the client who left, once Altegio forgot them

    # --- the catalogue -----------------------------------------------------------------------

    async def catalogue(self, staff_id: int | None = None) -> Catalogue:
        params: list[tuple[str, str]] = []
        if staff_id:
            params.append(("staff_id", str(staff_id)))

        async def load() -> Catalogue:
            data = await self._request(
                "GET", f"book_services/{self.company_id}", params=params, route="book_services"
            )
            return Catalogue.from_wire(data)

        catalogue = await self._cache.get(
            f"services:{staff_id or 0}", self._catalogue_ttl, load, stale_if_error=True
        )
        gone = self._gone("service")
        if not gone:
            return catalogue
        return Catalogue(
            tuple(s for s in catalogue.services if s.id not in gone), catalogue.categories
        )

    async def durations(self) -> dict[int, tuple[int, int]]:
        """Each service's shortest and longest duration in seconds, over the team.

        `book_services` carries durations only when asked for one team member, so the team's
        own lists are read (in the background of a long cache, as durations rarely change).
        """

        async def load() -> dict[int, tuple[int, int]]:
            found: dict[int, list[int]] = {}
            for service in (await self.catalogue()).services:
                if service.duration:
                    found.setdefault(service.id, []).append(service.duration)
            members = await self.staff([])  # the whole team, as the visit's plan reads it
            lists = await asyncio.gather(
                *(self.catalogue(m.id) for m in members), return_exceptions=True
            )
            for listed in lists:
                if isinstance(listed, Catalogue):
                    for service in listed.services:
                        if service.duration:
                            found.setdefault(service.id, []).append(service.duration)
            return {sid: (min(lengths), max(lengths)) for sid, lengths in found.items()}

        durations: dict[int, tuple[int, int]] = await self._cache.get(
            "durations", self._durations_ttl, load, stale_if_error=True, stale_while_loading=True
        )
        return durations

    # --- availability ------------------------------------------------------------------------

    async def staff(self, service_ids: Sequence[int]) -> list[Staff]:
        params = services_param(service_ids)

        async def load() -> list[Staff]:
            data = await self._request(
                "GET", f"book_staff/{self.company_id}", params=params, route="book_staff"
            )
            return Staff.list_from_wire(data)

        key = "avail:staff:" + ",".join(map(str, service_ids))
        members = await self._cache.get(
            key, self._availability_ttl, load, refresh_ahead=self._refresh_ahead()
        )
        for member in members:
            self._staff_names[member.id] = member.name
        gone = self._gone("staff")
        return [m for m in members if m.id not in gone]

    async def dates(
        self,
        service_ids: Sequence[int],
        staff_id: int,
        date_from: date,
        date_to: date,
        *,
        background: bool = False,
    ) -> BookableDates:
        """Bookable days, kept `_availability_ttl`; `background`: a read nobody waits for, sent
        only into spare room under the rate limit (else `NoSpareRoom`), never cached or merged
        with a client's read in flight (it may not be sent)."""
        params = [
            *services_param(service_ids),
            ("staff_id", str(staff_id)),
            # `date` too, for servers that predate `date_from`/`date_to` (these override it).
            ("date", date_from.isoformat()),
            ("date_from", date_from.isoformat()),
            ("date_to", date_to.isoformat()),
        ]

        async def load() -> BookableDates:
            data = await self._staff_read(
                staff_id,
                "GET",
                f"book_dates/{self.company_id}",
                params,
                "book_dates",
                background=background,
            )
            return BookableDates.from_wire(data, span=(date_from, date_to))

        if background:
            return await load()

        key = f"{_days_key(staff_id, service_ids)}{date_from}:{date_to}"
        return await self._cache.get(
            key, self._availability_ttl, load, refresh_ahead=self._refresh_ahead()
        )

    def _members(self, service_ids: Sequence[int]) -> frozenset[int] | None:
        """Who offers every one of these services, as the team was last read for them (None:
        not read lately): "any available team member" is one of them."""
        members = self._cache.fresh("avail:staff:" + ",".join(map(str, service_ids)))
        return None if members is None else frozenset(m.id for m in members)

    def in_rush(self) -> bool:
        """Whether clients queue for the rate limit, or did `RUSH_LINGERS` ago: a rush's line
        empties for a moment between its waves, and a read then would spend the limit on what
        a copy read a moment ago knows."""
        now = self._monotonic()
        if self.limiter.waiting:
            self._queued_at = now
            return True
        return now - self._queued_at < RUSH_LINGERS

    def _refresh_ahead(self) -> float:
        """While clients queue for the rate limit, the team and the days are read again in the
        background in the last sixth of their time (the copy served meanwhile, and while that
        read waits its turn), so no client's menu waits behind those reads; otherwise they are
        read when they expire, as ever."""
        return self._availability_ttl / 6 if self.limiter.waiting else 0.0

    async def times(
        self,
        staff_id: int,
        day: date,
        service_ids: Sequence[int],
        *,
        background: bool = False,
        share: bool = False,
    ) -> list[Slot]:
        """Free times on `day`, read fresh. `share`: while clients queue for the rate limit,
        a copy shared with every client asking for the same within a short window
        (`shared_times.py`). `background`: a read nobody waits for, sent only into spare room
        under the rate limit (else `NoSpareRoom`), never shared."""

        async def load() -> list[Slot]:
            company = await self.company()
            data = await self._staff_read(
                staff_id,
                "GET",
                f"book_times/{self.company_id}/{staff_id}/{day.isoformat()}",
                services_param(service_ids),
                "book_times",
                background=background,
            )
            tz = company.tz
            return [s for s in Slot.list_from_wire(data, tz, day) if s.start.date() == day]

        if not share or background or not self.shared_times.ttl:
            return await load()
        key = (staff_id, day, tuple(service_ids))
        return await self.shared_times.read(key, load, queued=self.in_rush())

    async def nearest(
        self, staff_id: int, service_ids: Sequence[int], after: date | None = None
    ) -> Nearest:
        """A team member's nearest free times (`book_staff_seances`); `after`: looked for from
        that day on (`datetime`, which some of Altegio's servers do not take: they answer the
        nearest day all the same), kept as long as the days are.

        Kept for `_nearest_ttl` seconds and shared by every client offered them (the earliest
        times are what everybody is offered first); a booking the bot makes with the team
        member takes its time out of the copy (`took`), a time Altegio refuses as taken drops
        the copy (`forget_times`). When Altegio names the day but gives no times, the day's
        times are read.
        """
        company = await self.company()
        params = services_param(service_ids)
        if after is not None:
            params.append(("datetime", f"{after.isoformat()}T00:00:00"))

        async def load() -> Nearest:
            data = await self._staff_read(
                staff_id,
                "GET",
                f"book_staff_seances/{self.company_id}/{staff_id}",
                params,
                "book_staff_seances",
            )
            found = Nearest.from_wire(data, company.tz)
            if found.day is not None and not found.slots:
                found = Nearest(
                    found.day, tuple(await self.times(staff_id, found.day, service_ids))
                )
            return found

        key = f"avail:near:{staff_id}:{','.join(map(str, service_ids))}"
        if after is None:
            return await self._cache.get(key, self._nearest_ttl, load)
        return await self._cache.get(f"{key}@{after}", self._availability_ttl, load)

    async def day_times(self, staff_id: int, day: date, service_ids: Sequence[int]) -> list[Slot]:
        """A day's free times after the nearest day, for the earliest times offered when others
        are being offered the nearest ones: shared, and kept as long as the days are (what the
        bot books is taken out of them, a time refused drops them, `took`/`forget_times`)."""

        async def load() -> list[Slot]:
            return await self.times(staff_id, day, service_ids)

        key = f"avail:day:{staff_id}:{','.join(map(str, service_ids))}:{day}"
        slots: list[Slot] = await self._cache.get(key, self._availability_ttl, load)
        return slots

    def day_full(self, staff_id: int, service_ids: Sequence[int], day: date) -> None:
        """The day's free times with the team member (0: anyone) had nothing left: it goes from
        the bookable days kept for them and the services, so no client is sent to it again
        until the days are read afresh."""

        def without(kept: object) -> object:
            if not isinstance(kept, BookableDates) or day not in kept.booking_dates:
                return kept
            left = tuple(d for d in kept.booking_dates if d != day)
            return BookableDates(left, kept.working_dates)

        self._cache.patch(_days_key(staff_id, service_ids), without)

    def forget_nearest(self, staff_id: int) -> None:
        """The team member's (0: everyone's) times kept for the earliest offer no longer hold."""
        forget_times(self._cache, staff_id)

    async def _staff_read(
        self,
        staff_id: int,
        method: str,
        path: str,
        params: Sequence[tuple[str, str]],
        route: str,
        *,
        background: bool = False,
    ) -> Json:
        """A read about one team member: Altegio not finding them means they left the online
        booking (fired, hidden, no longer bookable), which the client is told as such."""
        try:
            return await self._request(
                method, path, params=params, route=route, background=background
            )
        except errors.NotFound as exc:
            if not staff_id or not exc.from_altegio:
                raise
            name = self._staff_names.get(staff_id, "")
            self.withdraw_staff(staff_id)
            raise errors.StaffGone(staff_id, name) from exc

    def withdraw_service(self, service_id: int) -> None:
        """Altegio refused the service (438): it is not offered again for a while, and the lists
        are read afresh."""
        self._withdrawn[("service", service_id)] = self._monotonic() + self._withdrawn_ttl
        self._cache.drop("services:")
        self._cache.drop("durations")
        self.forget_availability()

    def withdraw_staff(self, staff_id: int) -> None:
        """The team member no longer takes online bookings: not offered again for a while."""
        self._withdrawn[("staff", staff_id)] = self._monotonic() + self._withdrawn_ttl
        self.forget_availability()

    def _gone(self, kind: str) -> set[int]:
        now = self._monotonic()
        for key in [k for k, until in self._withdrawn.items() if until <= now]:
            del self._withdrawn[key]
        return {ident for (what, ident) in self._withdrawn if what == kind}

    def forget_catalogue(self) -> None:
        """Drop the cached service lists: Altegio refused one of several services (438 names
        none), so the lists read afresh tell which."""
        self._cache.drop("services:")

    def forget_availability(self) -> None:
        """Drop cached staff, days and free times, e.g. after a team member turned out to have
        gone."""
        self._cache.drop("avail:")
        self.shared_times.forget()


# A rush is taken to go on this many seconds after its line was last seen (`in_rush`).
RUSH_LINGERS = 5.0

# The copies of free times kept for the earliest offer, per team member: the nearest day's
# (`book_staff_seances`) and the days after it. Days (`book_dates`) are kept per team member too.
_TIMES = ("avail:near:{}:", "avail:day:{}:")


def forget_times(
    cache: TtlCache, staff_id: int, concerned: Callable[[int, tuple[int, ...]], bool] | None = None
) -> None:
    """Altegio refused a time with the team member (0: with anyone) as taken: their kept times
    and days are read afresh, and so are "anyone's" days. The team and everyone else's times
    stay: the refusal tells nothing of them. `concerned(member, services)` narrows a refusal
    with anyone to the copies of the members who could have seen to it (without it, every
    member's)."""
    if not staff_id:
        for prefix in (*_TIMES, "avail:dates:"):
            if concerned is None:
                cache.drop(prefix.split("{}")[0])
                continue
            for key in cache.kept(prefix.split("{}")[0]):
                if concerned(*_whose(key)):
                    cache.drop(key)
        return
    for prefix in (*_TIMES, "avail:dates:{}:"):
        cache.drop(prefix.format(staff_id))
    cache.drop("avail:dates:0:")


def kept_length(cache: TtlCache, staff_id: int, raw: str, service_ids: Sequence[int]) -> int | None:
    """How long the time `raw` with the team member lasts, as the times kept for the earliest
    offer say (None: none of them knows it)."""
    services = ",".join(map(str, service_ids))
    near, day = (prefix.format(staff_id) + services for prefix in _TIMES)
    for key, kept in {**cache.kept(near), **cache.kept(day)}.items():
        if key in (near, day) or key.startswith((near + "@", day + ":")):
            slots = kept.slots if isinstance(kept, Nearest) else kept
            found = next((s.length for s in slots if s.raw == raw and s.length), None)
            if found:
                return int(found)
    return None


def took(cache: TtlCache, staff_id: int, made: Made | None, shared: SharedTimes) -> None:
    """The bot has just booked with the team member (0: anyone): every time kept for the
    earliest offer that the booking may have filled goes, with no read, so no client is offered
    it meanwhile (the same judgement as for the shared copies, `SharedTimes.without`). Where the
    booking's time or length is not known, the copies it may concern are read afresh instead."""
    if made is None:
        # The days stay: a booking seldom fills one, and the day's times are read fresh.
        for prefix in _TIMES:
            cache.drop(prefix.format(staff_id) if staff_id else prefix.split("{}")[0])
        return
    day = made.start.date()
    for prefix in _TIMES:
        for key, kept in cache.kept(prefix.split("{}")[0]).items():
            whose, services = _whose(key)
            if isinstance(kept, Nearest):
                if kept.day != day:
                    continue
                left = shared.without(whose, services, kept.slots, made)
                if len(left) != len(kept.slots):
                    cache.replace(key, Nearest(kept.day, tuple(left)))
            elif kept and kept[0].start.date() == day:
                left = shared.without(whose, services, kept, made)
                if len(left) != len(kept):
                    cache.replace(key, left)


def _whose(key: str) -> tuple[int, tuple[int, ...]]:
    """The team member (0: anyone) and services of a key of `_TIMES` or of the days."""
    parts = key.split(":")
    services = parts[3].split("@")[0]
    return int(parts[2]), tuple(int(i) for i in services.split(",") if i)


def _days_key(staff_id: int, service_ids: Sequence[int]) -> str:
    """Where the bookable days of the team member (0: anyone) for the services are kept, before
    the span read."""
    return f"avail:dates:{staff_id}:{','.join(map(str, service_ids))}:"


def _span(slot: Slot) -> timedelta:
    """How long a free time lasts: its length, or its first minute where Altegio gave none."""
    return timedelta(seconds=slot.length or 60)


def services_param(service_ids: Sequence[int]) -> list[tuple[str, str]]:
    return [("service_ids[]", str(i)) for i in service_ids]
