"""Altegio's v2 envelope: the `data` and `meta` of an answer, and the codes of a refusal."""

from __future__ import annotations

from collections.abc import Mapping

from bot.altegio.models.lenient import Json, as_dict, as_int, as_list, as_str


def unwrap(body: Json) -> tuple[Json, dict[str, Json]]:
    """Split a v2 envelope into (data, meta); a bare body is its own data."""
    if isinstance(body, Mapping) and "success" in body:
        meta = body.get("meta")
        return body.get("data"), as_dict(meta)
    return body, {}


def error_codes(body: Json) -> tuple[tuple[int, ...], tuple[int, ...], str]:
    """Business codes, offending appointment ids and the message of an error body."""
    codes: list[int] = []
    ids: list[int] = []
    message = ""
    if not isinstance(body, Mapping):
        return (), (), ""
    meta = as_dict(body.get("meta"))
    message = as_str(meta.get("message"))
    for item in as_list(meta.get("errors")):
        entry = as_dict(item)
        code = as_int(entry.get("code"))
        if code is not None:
            codes.append(code)
        ident = as_int(entry.get("id"))
        if ident is not None:
            ids.append(ident)
        message = message or as_str(entry.get("message"))
    legacy = as_dict(body.get("errors"))
    legacy_code = as_int(legacy.get("code"))
    if legacy_code is not None:
        codes.append(legacy_code)
    message = message or as_str(legacy.get("message"))
    return tuple(codes), tuple(ids), message
