"""Locations: what Altegio's records told about each, kept across restarts."""

from __future__ import annotations

import json
from typing import Any

from bot.storage.engine import Sql


class LocationRows:
    """The `locations` table, keyed by Altegio's company id."""

    sql: Sql

    def location_facts(self, company_id: int) -> dict[str, Any]:
        """What records told about a location (phone, currency, rules), kept across restarts."""
        row = self.sql.execute(
            "SELECT facts FROM locations WHERE company_id = ?", (company_id,)
        ).fetchone()
        data = json.loads(row[0]) if row else {}
        return data if isinstance(data, dict) else {}

    def save_location_facts(self, company_id: int, facts: dict[str, Any]) -> None:
        with self.sql.transaction():
            self.sql.execute(
                "INSERT INTO locations (company_id, facts) VALUES (?, ?) "
                "ON CONFLICT (company_id) DO UPDATE SET facts = excluded.facts",
                (company_id, json.dumps(facts)),
            )
