"""Errors raised by the Altegio client, named by what happened rather than by HTTP code.

AltegioError
├── Unavailable          could not reach Altegio, timed out, or 5xx after retries
│   ├── OutcomeUnknown   a write was sent but its answer never came: it may or may not have happened
│   ├── CircuitOpen      Altegio kept failing, so the client is not calling it for a while
│   └── ForeignAnswer    something on the way answered instead of Altegio (a proxy's 404 page)
├── RateLimited          429 after retries
├── NoSpareRoom          a background read found no spare room under the rate limit: not sent
├── AuthError            401 / 403 (bad partner token, no rights)
├── NotFound             404: unknown location, record or hash
│   └── StaffGone        a team member's times are not found: they no longer take bookings
├── Rejected             422 (and 403 with a business code): Altegio understood and said no
│   ├── InvalidPhone     431
│   ├── WrongCode        432
│   ├── SlotTaken        433 (and 437, two appointments of one request overlap)
│   │   └── ClassFull    a group class has fewer free seats than asked for (no code is documented)
│   ├── Blacklisted      434
│   ├── NameRequired     435
│   ├── NoStaffAvailable 436
│   ├── ServiceUnavailable 438
│   ├── EmailRequired    the location wants an e-mail address (no code is documented)
│   └── CommentRequired  the location wants a comment (no code is documented)
└── UnexpectedResponse   a body the client cannot parse

Where Altegio refuses in its older form, with a sentence and no code, the refusal is named by
what the sentence says (`refusal_by_meaning`); a sentence it does not recognise stays a plain
`Rejected`.
"""

from __future__ import annotations

import re


class AltegioError(Exception):
    """Base of everything the Altegio client raises."""


class Unavailable(AltegioError):
    """Altegio could not be reached or kept failing."""


class OutcomeUnknown(Unavailable):
    """A write was sent, but whether Altegio carried it out is not known.

    `answered`: Altegio did answer with success, in a body that could not be read or that named
    nothing; most likely it was carried out.
    """

    def __init__(self, message: str = "outcome unknown", *, answered: bool = False) -> None:
        super().__init__(message)
        self.answered = answered


class CircuitOpen(Unavailable):
    """Altegio failed too often in a row; calls fail at once until a short pause is over."""


class ForeignAnswer(Unavailable):
    """A page from something between the bot and Altegio (a proxy's or gateway's 404): it says
    nothing about what was asked."""


class RateLimited(AltegioError):
    """Altegio answered 429 and kept doing so within the retry budget."""

    def __init__(self, message: str = "rate limited", retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class NoSpareRoom(AltegioError):
    """A background read (the waiting list's watcher) was not sent: clients' requests had the
    rate limit's room. Nothing reached Altegio; it is tried again later."""


class AuthError(AltegioError):
    """The partner or user token was refused (401/403)."""


class NotFound(AltegioError):
    """Altegio does not know the location, record or hash asked for (404).

    `from_altegio` is true when the answer was Altegio's own JSON; a 404 with an empty body
    could come from anything on the way and proves nothing about the record.
    """

    def __init__(self, message: str = "not found", *, from_altegio: bool = True) -> None:
        super().__init__(message)
        self.from_altegio = from_altegio


class StaffGone(NotFound):
    """A team member's free times or days are not found: they no longer take bookings."""

    def __init__(self, staff_id: int, name: str = "") -> None:
        super().__init__(f"team member {staff_id} not found")
        self.staff_id = staff_id
        self.name = name


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


class KnownTaken(SlotTaken):
    """The bot's own bookings leave nobody free for the time (`own_bookings.py`): refused
    without a request, nothing reached Altegio."""


class ClassFull(SlotTaken):
    """A group class has fewer free seats left than were asked for: Altegio documents no code
    for it, so it is told by reading the event again after a refusal."""


class Blacklisted(Rejected):
    """434: the salon does not accept online bookings from this phone."""


class NameRequired(Rejected):
    """435: the client's name is missing."""


class NoStaffAvailable(Rejected):
    """436: "any team member" was asked for, and nobody is free."""


class ServiceUnavailable(Rejected):
    """438: the service is no longer offered."""


class EmailRequired(Rejected):
    """The location asks for the client's e-mail address (read from the refusal's words)."""


class CommentRequired(Rejected):
    """The location asks for a comment (read from the refusal's words)."""


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


# Altegio words its older refusals, and those without a documented code, as a sentence in the
# location's language (English and Russian in the reference; the other languages of Altegio's
# markets alike). Most specific first; word stems so that inflections match.
_MEANINGS: tuple[tuple[type[Rejected], re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern, re.IGNORECASE))
    for kind, pattern in (
        (Blacklisted, r"black\s*list|чёрн\w* спис|черн\w* спис|чорн\w* спис|cannot book online"),
        (
            WrongCode,
            r"\bcode\b|\bкод\w*|\bcodi|\bkod\w*|\bcódigo|\bkoodi|\bkods?\b",
        ),
        (
            InvalidPhone,
            r"phone|телефон|номер|telefon|teléfono|tālru|telefono|numer",
        ),
        (EmailRequired, r"e-?mail|почт|пошт|e-?pa?st|el\.\s*pa[sš]t"),
        (CommentRequired, r"comment|коммент|комент|kommentar|comentario|komentarz|kommentaar"),
        (
            NameRequired,
            r"\bname\b|\bимя\b|\bимени\b|ім['ʼ’]?я|\bnamen?\b|\bnombre\b|\bnome\b"
            r"|imi[eę]|\bvārd|\bvard|\bnimi",
        ),
        (
            NoStaffAvailable,
            r"no (?:team member|staff|specialist|master)|нет (?:свободных )?(?:сотрудник|мастер"
            r"|специалист)|немає (?:вільних )?(?:співробітник|майстр|спеціаліст)",
        ),
        (
            ServiceUnavailable,
            r"\bservice|услуг|послуг|dienstleistung|servicio|serviço|usług|pakalpojum|paslaug"
            r"|teenus",
        ),
        (
            SlotTaken,
            r"taken|not working|cannot be booked|occupied|занят|нерабоч"
            r"|нельзя записаться|зайнят|неробоч|besetzt|vergeben|ocupad|zajęt|aizņemt|užimt"
            r"|hõivatud|kinni",
        ),
    )
)


def refusal_by_meaning(message: str) -> type[Rejected]:
    """The refusal a sentence without a code describes; `Rejected` when it is not recognised."""
    for kind, pattern in _MEANINGS:
        if pattern.search(message):
            return kind
    return Rejected
