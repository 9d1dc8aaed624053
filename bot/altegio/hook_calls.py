"""The location's webhook settings (`GET`/`POST hooks_settings`, reference §12.1): read and
written with an admin user token, which a client's token or the partner token alone cannot do."""

from __future__ import annotations

from typing import Any

from bot.altegio import errors
from bot.altegio.location_calls import LocationCalls
from bot.altegio.transport import Retry


class HookCalls(LocationCalls):
    """`hooks_settings`: the URLs a location posts its events to, and which events."""

    async def hook_settings(self, user_token: str) -> dict[str, Any]:
        """The location's settings as they stand (every app's URLs and flags)."""
        data = await self._request(
            "GET",
            f"hooks_settings/{self.company_id}",
            user_token=user_token,
            route="hooks_settings",
        )
        return _settings(data)

    async def set_hook_settings(self, settings: dict[str, Any], user_token: str) -> dict[str, Any]:
        """Replace the location's settings as a whole (a POST keeps nothing it does not name).
        Setting the same twice does the same, so a lost answer may be sent again."""
        data = await self._request(
            "POST",
            f"hooks_settings/{self.company_id}",
            body=settings,
            user_token=user_token,
            retry=Retry.READ,
            route="hooks_settings.post",
        )
        return _settings(data) if data else dict(settings)


def _settings(data: Any) -> dict[str, Any]:
    # Newer backends add `url_settings`, `schedule` and the like: kept as they come.
    if data is None or data == []:
        return {}
    if isinstance(data, list) and len(data) == 1:
        data = data[0]  # the settings wrapped in a list, as older answers wrap single objects
    if not isinstance(data, dict):
        raise errors.UnexpectedResponse("hooks_settings: not an object")
    return dict(data)
