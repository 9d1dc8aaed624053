"""`altegio-bot doctor`'s Altegio lines: the partner token and the location (`company`), what can
be booked online, and the webhooks where the admin token is set; with `ALTEGIO_GROUP_ID`, the
chain's locations first (`companies?group_id`), then each location's online booking.

Read only, through an httpx transport (the seam); no secret is put into a line's words.
"""

from __future__ import annotations

from dataclasses import replace

import httpx

from bot.altegio import errors
from bot.altegio.client import AltegioClient
from bot.altegio.models import Company
from bot.doctor_marks import Check, fail, ok, warn
from bot.settings import Settings
from bot.workflows import hook_subscription


def _client(
    settings: Settings, company_id: int, transport: httpx.AsyncBaseTransport | None
) -> AltegioClient:
    return AltegioClient(
        partner_token=settings.partner_token,
        company_id=company_id,
        base_url=settings.altegio_base_url,
        transport=transport,
        timeout=httpx.Timeout(15.0),
        max_attempts=1,
    )


def _location_line(settings: Settings, company: Company, company_id: int) -> str:
    sms = "confirms bookings by SMS code" if company.phone_confirmation else "no SMS code"
    return f"{company.title} (location {company_id}), timezone {company.timezone}, {sms}"


async def check_altegio(
    settings: Settings, transport: httpx.AsyncBaseTransport | None = None
) -> list[Check]:
    """The partner token and the location (`company`), then what can be booked online."""
    thing = "Altegio location"
    client = _client(settings, settings.altegio_company_id, transport)
    company_id = settings.altegio_company_id
    try:
        try:
            company = await client.company()
        except errors.AltegioError as exc:
            return [fail(thing, altegio_failure(settings, exc))]
        found = _location_line(settings, company, company_id)
        if settings.sandbox:
            found += (
                "; ALTEGIO_PARTNER_TOKEN is not set, so this is the embedded sandbox location "
                "(nothing real is booked)"
            )
        checks = [ok(thing, found)]
        try:
            bookable = await _bookable(client)
        except errors.AltegioError as exc:
            return [*checks, fail("Online booking", altegio_failure(settings, exc))]
        counts = _counts(bookable)
        if 0 in bookable:
            checks.append(
                fail(
                    "Online booking",
                    f"{counts}: nothing can be booked; turn on online booking for services and "
                    "team members in Altegio",
                )
            )
        else:
            checks.append(ok("Online booking", counts))
        if settings.altegio_user_token:
            fine, found = await hook_subscription.status_line(client, settings)
            checks.append((ok if fine else warn)("Altegio webhooks", found))
        return checks
    finally:
        await client.aclose()


async def _bookable(client: AltegioClient) -> tuple[int, int]:
    """How many services and team members are bookable online (none of either: nothing is)."""
    services = (await client.catalogue()).services
    staff = [m for m in await client.staff([]) if m.bookable]
    return len(services), len(staff)


def _counts(bookable: tuple[int, int]) -> str:
    return f"{bookable[0]} services and {bookable[1]} team members bookable online"


async def check_chain(
    settings: Settings, transport: httpx.AsyncBaseTransport | None = None
) -> tuple[list[Check], Settings]:
    """With `ALTEGIO_GROUP_ID`: the chain's locations as Altegio lists them, the location a
    client who has not chosen is at (ALTEGIO_COMPANY_ID, else the chain's first), and each
    location's online booking; the settings with that location, once known."""
    group = settings.altegio_group_id
    assert group is not None
    thing = "Altegio chain"
    client = _client(settings, settings.altegio_company_id, transport)
    try:
        listed = await client.chain(group)
    except errors.AltegioError as exc:
        return [fail(thing, _chain_failure(settings, exc))], settings
    finally:
        await client.aclose()
    if not listed:
        sandbox = " (the sandbox's chain is 100)" if settings.sandbox else ""
        return [
            fail(
                thing,
                f"Altegio lists no location of chain {group}{sandbox}: set ALTEGIO_GROUP_ID to "
                "the id of the chain (the group its locations belong to in Altegio), or leave "
                "it out and name the one location in ALTEGIO_COMPANY_ID",
            )
        ], settings
    home = settings.altegio_company_id or listed[0].id
    settings = replace(settings, altegio_company_id=home)
    each = "; ".join(f"{c.title} ({c.id}, {c.timezone})" for c in listed)
    found = f"chain {group}, {len(listed)} locations: {each}"
    if settings.sandbox:
        found += (
            "; ALTEGIO_PARTNER_TOKEN is not set, so this is the embedded sandbox chain "
            "(nothing real is booked)"
        )
    if all(c.id != home for c in listed):
        checks = [
            warn(
                thing,
                f"{found}; ALTEGIO_COMPANY_ID {home} is not one of them: clients who have not "
                "chosen a location are shown it all the same; name one of the chain's, or leave "
                "it out (the chain's first is then shown)",
            )
        ]
    else:
        checks = [ok(thing, found)]
    checks.extend(await _each_location(settings, listed, home, transport))
    return checks, settings


async def _each_location(
    settings: Settings,
    listed: list[Company],
    home: int,
    transport: httpx.AsyncBaseTransport | None,
) -> list[Check]:
    """The home location's line as for one location, then one line for the online booking of
    every location, and one for their webhooks where the admin token is set."""
    checks: list[Check] = []
    booking: list[str] = []
    broken: list[str] = []
    hooks: list[str] = []
    hooks_fine = True
    for company_id in dict.fromkeys([home, *(c.id for c in listed)]):
        client = _client(settings, company_id, transport)
        try:
            try:
                company = await client.company()
                bookable = await _bookable(client)
            except errors.AltegioError as exc:
                broken.append(
                    f"location {company_id}: {_location_failure(settings, exc, company_id)}"
                )
                continue
            if company_id == home:
                line = _location_line(settings, company, company_id)
                checks.append(
                    ok("Altegio location", f"{line}; shown to a client who has not chosen")
                )
            name = f"{company.title} ({company_id})"
            if 0 in bookable:
                broken.append(
                    f"{name}: {_counts(bookable)}: nothing can be booked; turn on online booking "
                    "for its services and team members in Altegio"
                )
            else:
                booking.append(f"{name}: {_counts(bookable).removesuffix(' bookable online')}")
            if settings.altegio_user_token:
                fine, found = await hook_subscription.status_line(client, settings)
                hooks_fine = hooks_fine and fine
                hooks.append(f"{name}: {found}")
        finally:
            await client.aclose()
    if broken:
        checks.append(fail("Online booking", "; ".join(broken)))
    else:
        checks.append(ok("Online booking", "bookable online at " + "; ".join(booking)))
    if hooks:
        checks.append((ok if hooks_fine else warn)("Altegio webhooks", "; ".join(hooks)))
    return checks


def _chain_failure(settings: Settings, exc: errors.AltegioError) -> str:
    group = settings.altegio_group_id
    if isinstance(exc, errors.AuthError):
        return (
            f"ALTEGIO_PARTNER_TOKEN is not accepted by Altegio for the locations of chain "
            f"{group}: copy the API key from your Altegio Marketplace developer account, and "
            "make sure the chain's locations have your application connected"
        )
    return altegio_failure(settings, exc)


def _location_failure(settings: Settings, exc: errors.AltegioError, company_id: int) -> str:
    if isinstance(exc, errors.NotFound) and exc.from_altegio:
        return (
            "the chain lists it, but Altegio knows no such location (`company` is not found): "
            "check the location in Altegio"
        )
    return altegio_failure(settings, exc, company_id)


def altegio_failure(
    settings: Settings, exc: errors.AltegioError, company_id: int | None = None
) -> str:
    company_id = settings.altegio_company_id if company_id is None else company_id
    where = settings.altegio_base_url
    if isinstance(exc, errors.AuthError):
        status = "HTTP 403" if "403" in str(exc) else "HTTP 401"
        return (
            f"ALTEGIO_PARTNER_TOKEN is not accepted by Altegio for location {company_id} "
            f"({status}): copy the API key from your Altegio Marketplace developer account, "
            "and make sure the location has your application connected"
        )
    if isinstance(exc, errors.NotFound) and exc.from_altegio:
        sandbox = " (the sandbox has 1001, 1002, 1003 and 1004)" if settings.sandbox else ""
        return (
            f"Altegio knows no location {company_id}: set ALTEGIO_COMPANY_ID to the salon's "
            f"location id{sandbox}"
        )
    if isinstance(exc, errors.NotFound | errors.ForeignAnswer):
        return (
            f"something other than Altegio answered at {where}: check ALTEGIO_BASE_URL "
            "(https://api.alteg.io/api) and any proxy on the way"
        )
    if isinstance(exc, errors.RateLimited):
        return "Altegio asks to slow down just now: run doctor again in a minute"
    if isinstance(exc, errors.Unavailable):
        return (
            f"Altegio cannot be reached at {where}: check the network and ALTEGIO_BASE_URL, "
            "then run doctor again"
        )
    return f"Altegio answered unexpectedly ({type(exc).__name__}): check ALTEGIO_BASE_URL"
