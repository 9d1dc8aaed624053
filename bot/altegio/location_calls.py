"""The location's own reads: `GET company`, completed by what its records tell, and its privacy
policy."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from zoneinfo import ZoneInfo

from bot.altegio import errors
from bot.altegio.cache import TtlCache
from bot.altegio.models.company import Company, Facts, chain_from_wire
from bot.altegio.models.lenient import Json, as_int, as_list
from bot.altegio.models.policy_text import policy_text
from bot.altegio.models.visits import Record
from bot.altegio.transport import Transport

# The client's parts log under the one name the client always had, so log lines read as before.
log = logging.getLogger("bot.altegio.client")

# `companies` lists 50 a page unless told otherwise; a chain is read up to this many pages.
_CHAIN_PAGE = 50
_CHAIN_PAGES = 10


class LocationCalls(Transport):
    """The location, and what the other groups of calls share: every one of them reads the
    location (its zone, for a start) and keeps its reads in the one cache.

    The state below is set up by `AltegioClient.__init__`.
    """

    _cache: TtlCache
    _catalogue_ttl: float  # the location, its policy and its services are kept this long
    _facts: Facts  # what records told about the location; handed to `_on_facts` when it changes
    _on_facts: Callable[[Facts], None] | None
    # The last location read, the facts it was completed with, and the completed copy.
    _merged: tuple[Company | None, Facts | None, Company | None]

    async def company(self, *, fresh: bool = False) -> Company:
        """The location; `fresh` reads it again now (a salon may have changed a setting), yet
        falls back to the last copy when Altegio does not answer."""

        async def load() -> Company:
            data = await self._request("GET", f"company/{self.company_id}", route="company")
            return Company.from_wire(data)

        if fresh:
            self._cache.expire("company")
        company = await self._cache.get("company", self._catalogue_ttl, load, stale_if_error=True)
        # Read many times an update: the merged copy is kept until either side changes.
        read, facts, merged = self._merged
        if merged is None or read is not company or facts is not self._facts:
            merged = company.with_facts(self._facts)
            self._merged = (company, self._facts, merged)
        return merged

    def company_copy(self) -> Company | None:
        """The location as last read (None before the first read), with no request: for what
        webhooks keep fresh, where its name, zone and phone are all that is needed."""
        return self._merged[2]

    async def zone(self) -> ZoneInfo:
        """The location's timezone, from the copy held once read (records carry local times)."""
        return (self.company_copy() or await self.company()).tz

    def forget_company(self) -> None:
        """A setting turned out to differ from the copy held: read it again next time."""
        self._cache.expire("company")

    @property
    def facts(self) -> Facts:
        return self._facts

    def _learn(self, records: Sequence[Record]) -> None:
        """Keep what records tell about the location (phone, currency, rules): `GET company` is
        documented without them."""
        learned = self._facts
        for record in records:
            block_id = as_int(record.company.get("id"))
            if record.company and block_id in (None, self.company_id):
                learned = record.facts.over(learned)
        if learned != self._facts:
            self._facts = learned
            if self._on_facts is not None:
                self._on_facts(learned)

    async def chain(self, group_id: int) -> list[Company]:
        """The locations of the chain `group_id` (Altegio's "group"), in the chain's order; []
        for a chain Altegio does not know. Kept as long as the location; read page by page
        while a page comes back full."""

        async def load() -> list[Company]:
            data: list[Json] = []
            for page in range(1, _CHAIN_PAGES + 1):
                params = [("group_id", str(group_id)), ("count", str(_CHAIN_PAGE))]
                if page > 1:
                    params.append(("page", str(page)))
                try:
                    listed = as_list(
                        await self._request("GET", "companies", route="companies", params=params)
                    )
                except errors.NotFound:
                    listed = []
                # A service that ignores `page` answers the first page again: stop there.
                if listed and listed[:1] == data[:1]:
                    break
                data.extend(listed)
                if len(listed) < _CHAIN_PAGE:
                    break
            return chain_from_wire(data, group_id)

        chain: list[Company] = await self._cache.get(
            f"chain:{group_id}", self._catalogue_ttl, load, stale_if_error=True
        )
        return chain

    async def privacy_policy(self) -> str | None:
        """The location's own privacy policy as plain text, or None when it has none.

        The answer's shape is undocumented: the text is looked for as the data itself or under
        a likely key; HTML is reduced to text. A location without one may also answer 404.
        """

        async def load() -> str | None:
            try:
                data = await self._request(
                    "GET", f"privacy_policy/{self.company_id}", route="privacy_policy"
                )
            except (
                errors.NotFound,
                errors.ForeignAnswer,
                errors.AuthError,
                errors.Rejected,
            ) as exc:
                # No such policy, or no such endpoint where this location is served, or no right
                # to read it: booking goes on as where no own policy is set.
                log.info("no privacy policy to show (%s)", type(exc).__name__)
                return None
            return policy_text(data)

        policy: str | None = await self._cache.get(
            "privacy_policy", self._catalogue_ttl, load, stale_if_error=True
        )
        return policy
