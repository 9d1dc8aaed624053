"""Typed records of what Altegio returns, parsed leniently from the wire.

Altegio sends ids and numbers as ints or strings, `meta` as a list or an object, offsets with or
without a colon, `category` or `categories`, `sex` or `gender`: every parser here accepts all the
variants the API reference lists, and fails with `UnexpectedResponse` only when a field the bot
cannot do without is missing.

The records live in modules by subject: `lenient` (scalars), `envelope` (an answer's data and
refusal codes), `company` and `region` (the location), `catalogue` (services, categories, team),
`free_times` (days and times), `visits` (appointments), `policy_text` (the privacy policy). This
package re-exports their public names, so `from bot.altegio.models import Company` keeps working
wherever the bot and its tests import them; code inside `bot/altegio/` imports the defining
module.
"""

from bot.altegio.models.catalogue import Catalogue, Category, Service, Staff
from bot.altegio.models.company import Company, Facts, Rules
from bot.altegio.models.envelope import error_codes, unwrap
from bot.altegio.models.free_times import BookableDates, Nearest, Slot
from bot.altegio.models.lenient import (
    Json,
    as_bool,
    as_decimal,
    as_dict,
    as_int,
    as_list,
    as_str,
    parse_date,
    parse_datetime,
    require_int,
    zone,
)
from bot.altegio.models.policy_text import policy_text
from bot.altegio.models.region import country_currency, fixed_zone, territory, utc_offset
from bot.altegio.models.visits import (
    CreatedRecord,
    Record,
    RecordService,
    created_records,
    records_from_wire,
)

__all__ = [
    "BookableDates",
    "Catalogue",
    "Category",
    "Company",
    "CreatedRecord",
    "Facts",
    "Json",
    "Nearest",
    "Record",
    "RecordService",
    "Rules",
    "Service",
    "Slot",
    "Staff",
    "as_bool",
    "as_decimal",
    "as_dict",
    "as_int",
    "as_list",
    "as_str",
    "country_currency",
    "created_records",
    "error_codes",
    "fixed_zone",
    "parse_date",
    "parse_datetime",
    "policy_text",
    "records_from_wire",
    "require_int",
    "territory",
    "unwrap",
    "utc_offset",
    "zone",
]
