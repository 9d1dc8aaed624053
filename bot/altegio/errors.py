"""Errors raised by the Altegio client, named by what happened rather than by HTTP code.

AltegioError
├── Unavailable          could not reach Altegio, timed out, or 5xx after retries
│   ├── OutcomeUnknown   a write was sent but its answer never came: it may or may not have happened
│   └── CircuitOpen      Altegio kept failing, so the client is not calling it for a while
├── RateLimited          429 after retries
├── AuthError            401 / 403 (bad partner token, no rights)
├── NotFound             404: unknown location, record or hash
├── Rejected             422 (and 403 with a business code): Altegio understood and said no
│   ├── InvalidPhone     431
│   ├── WrongCode        432
│   ├── SlotTaken        433 (and 437, two appointments of one request overlap)
│   ├── Blacklisted      434
│   ├── NameRequired     435
│   ├── NoStaffAvailable 436
│   └── ServiceUnavailable 438
└── UnexpectedResponse   a body the client cannot parse
"""

from __future__ import annotations


class AltegioError(Exception):
    """Base of everything the Altegio client raises."""


class Unavailable(AltegioError):
    """Altegio could not be reached or kept failing."""


class OutcomeUnknown(Unavailable):
    """A write was sent, but whether Altegio carried it out is not known."""


class CircuitOpen(Unavailable):
    """Altegio failed too often in a row; calls fail at once until a short pause is over."""


class RateLimited(AltegioError):
    """Altegio answered 429 and kept doing so within the retry budget."""

    def __init__(self, message: str = "rate limited", retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class AuthError(AltegioError):
    """The partner or user token was refused (401/403)."""


class NotFound(AltegioError):
    """Altegio does not know the location, record or hash asked for (404)."""


class UnexpectedResponse(AltegioError):
    """A successful answer whose body the client could not make sense of."""


class Rejected(AltegioError):
    """Altegio understood the request and refused it; `codes` holds its business codes."""

    def __init__(
        self, message: str, codes: tuple[int, ...] = (), appointment_ids: tuple[int, ...] = ()
    ) -> None:
        super().__init__(message)
        self.codes = codes
        self.appointment_ids = appointment_ids


class InvalidPhone(Rejected):
    """431: the phone number has an invalid format."""


class WrongCode(Rejected):
    """432: the SMS confirmation code is wrong or expired."""


class SlotTaken(Rejected):
    """433/437: the time is already taken or is outside working hours."""


class Blacklisted(Rejected):
    """434: the salon does not accept online bookings from this phone."""


class NameRequired(Rejected):
    """435: the client's name is missing."""


class NoStaffAvailable(Rejected):
    """436: "any team member" was asked for, and nobody is free."""


class ServiceUnavailable(Rejected):
    """438: the service is no longer offered."""


# Most specific first: when Altegio reports several codes the first match wins.
CODE_ERRORS: dict[int, type[Rejected]] = {
    434: Blacklisted,
    432: WrongCode,
    431: InvalidPhone,
    435: NameRequired,
    438: ServiceUnavailable,
    436: NoStaffAvailable,
    433: SlotTaken,
    437: SlotTaken,
}
