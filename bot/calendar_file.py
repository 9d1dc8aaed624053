"""An appointment as an iCalendar (`.ics`) file, in the salon's own timezone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from icalendar import Alarm, Calendar, Event


@dataclass(frozen=True, slots=True)
class CalendarEntry:
    uid: str
    title: str
    start: datetime  # aware, in the salon's zone
    length: int  # seconds
    location: str = ""
    description: str = ""


def ics(entry: CalendarEntry, stamp: datetime) -> bytes:
    """The file's bytes; times carry the salon's TZID with its VTIMEZONE, so calendars in any
    zone show the visit at the right moment, daylight-saving changes included."""
    calendar = Calendar()
    calendar.add("prodid", "-//altegio-bot//appointment//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = Event()
    event.add("uid", entry.uid)
    event.add("dtstamp", stamp)
    event.add("dtstart", entry.start)
    event.add("dtend", entry.start + timedelta(seconds=max(entry.length, 15 * 60)))
    event.add("summary", entry.title)
    if entry.location:
        event.add("location", entry.location)
    if entry.description:
        event.add("description", entry.description)
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", entry.title)
    alarm.add("trigger", timedelta(hours=-2))
    event.add_component(alarm)
    calendar.add_component(event)
    calendar.add_missing_timezones()
    data: bytes = calendar.to_ical()
    return data
