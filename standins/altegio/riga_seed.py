"""Seed data of the sandbox's salon in Riga (location 1004), whose catalogue and team are written
in Cyrillic, as many salons keep them."""

from __future__ import annotations

from dataclasses import replace

from standins.altegio.seed import (
    _MIN,
    AURORA,
    AURORA_MITTE,
    MON,
    SANDBOX_CHAIN_ID,
    SAT,
    Category,
    Salon,
    Service,
    _days,
    _hours,
)

SANDBOX_CYRILLIC_COMPANY_ID = 1004

_RIGA_DAYS = _days(range(MON, SAT + 1), _hours(("10:00", "20:00")))
AVRORA_RIGA = Salon(
    location=replace(
        AURORA_MITTE.location,
        id=SANDBOX_CYRILLIC_COMPANY_ID,
        title="Салон Аврора",
        timezone_name="Europe/Riga",
        country="Latvia",
        city="Rīga",
        address="Brīvības iela 40",
        zip="LV-1050",
        coordinate_lat=56.9571,
        coordinate_lon=24.1214,
        group_id=SANDBOX_CHAIN_ID,
        phone_confirmation=False,
    ),
    categories=(Category(801, "Волосы", 60), Category(802, "Ногти", 50)),
    services=(
        Service(13001, "Женская стрижка", 801, 35, 50, 60 * _MIN, 100),
        Service(13002, "Мужская стрижка", 801, 25, 25, 30 * _MIN, 90),
        Service(13003, "Маникюр классический", 802, 25, 25, 45 * _MIN, 100),
        Service(13004, "Педикюр", 802, 40, 40, 60 * _MIN, 80),
        Service(13005, "Коррекция бровей", 802, 20, 20, 30 * _MIN, 90),
    ),
    staff=tuple(
        replace(AURORA.staff[1], id=ident, name=name, service_ids=services, schedule=_RIGA_DAYS)
        for ident, name, services in (
            (2301, "Анна Петрова", frozenset({13001, 13002})),
            (2302, "София Иванова", frozenset({13003, 13004, 13005})),
        )
    ),
)
