"""Booking form input (Slack modal or terminal): parse, validate field by field, and prefill from text.

Errors are returned per field so the modal can show each next to its input; nothing is queued
unless every field is valid.
"""

from __future__ import annotations

import difflib
import re
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TypeVar

from pydantic import ValidationError

from services.booking.config import BookingConfig, MeetingType, parse_clock, parse_days
from services.booking.model import BookingRequest, RecurrenceSpec
from services.domain.durations import parse_duration

FIELDS = ("type", "title", "teams", "people", "facilitator", "location", "date_from", "date_to", "earliest",
          "latest", "duration", "repeat", "every", "min_gap", "count", "until",
          "target_teams", "target_below", "target_days")  # the last three: a training target (targeting.py)
REPEATS = ("none", "daily", "weekly", "monthly")
T = TypeVar("T")


@dataclass
class FormValues:
    """Raw values as typed: strings, and lists for the multi-selects."""

    values: dict[str, str] = field(default_factory=dict)
    teams: list[str] = field(default_factory=list)
    people: list[str] = field(default_factory=list)
    target_teams: list[str] = field(default_factory=list)  # a target instead of a list (``target:``)

    @property
    def has_target(self) -> bool:
        return bool(self.target_teams or self.get("target_below"))

    def get(self, name: str) -> str:
        return self.values.get(name, "").strip()


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError("write the date as YYYY-MM-DD") from None


def _int(text: str, lo: int, hi: int) -> int:
    if not text.isdigit() or not lo <= int(text) <= hi:
        raise ValueError(f"a whole number from {lo} to {hi}")
    return int(text)


class _Errors(dict[str, str]):
    def check(self, name: str, parse: Callable[[], T]) -> T | None:
        """Run ``parse``; on ``ValueError`` remember the message for ``name`` and give ``None``."""
        try:
            return parse()
        except ValueError as error:
            self[name] = str(error)
            return None


def resolve_names(wanted: list[str], known: Mapping[str, str], what: str, where: str) -> tuple[list[str], str]:
    """Ids for ``wanted`` (ids or names, any case) among ``known`` (id -> name), and an error naming what exists."""
    lookup = {**{k.lower(): k for k in known}, **{v.lower(): k for k, v in known.items()}}
    ids, unknown = [], []
    for name in wanted:
        found = lookup.get(name.strip().lower())
        if found is None:
            unknown.append(name)
        else:
            ids.append(found)
    if not unknown:
        return list(dict.fromkeys(ids)), ""
    close = difflib.get_close_matches(unknown[0].lower(), list(lookup), n=1, cutoff=0.6)
    hint = f" Did you mean {known[lookup[close[0]]]!r}?" if close else ""
    listed = ", ".join(f"{n} ({k})" for k, n in list(known.items())[:20]) or "none"
    return ids, f"unknown {what} {', '.join(map(repr, unknown))}.{hint} {what.capitalize()}s in {where}: {listed}"


def _times_of_day(meeting: MeetingType, earliest: int | None, latest: int | None, duration: int | None,
                  errors: _Errors) -> None:
    """Refuse times of day no slot can satisfy (e.g. 23:45 for 30 minutes), on the field that causes it."""
    length = duration or int(meeting.duration.total_seconds() // 60)
    first = earliest if earliest is not None else parse_clock(meeting.earliest)
    last = latest if latest is not None else parse_clock(meeting.latest)
    if first + length <= min(last, 1440):
        return
    if "earliest" in errors or "latest" in errors:
        return
    def clock(minute: int) -> str:
        return f"{minute // 60:02d}:{minute % 60:02d}"
    end = min(last, 1440)
    limit = f"the latest start is {clock(end - length)}" if end - length >= 0 else "no start fits"
    if earliest is not None:
        errors["earliest"] = (f"a {length}-minute {meeting.name.lower()} starting at {clock(first)} would end after "
                              f"{clock(end) if end < 1440 else 'midnight'}; {limit}")
    else:
        errors["latest"] = f"a {length}-minute {meeting.name.lower()} cannot end by {clock(end)} (it starts " \
                           f"{clock(first)} at the earliest)"


def parse_form(form: FormValues, *, config: BookingConfig, request_id: str, requester: str, mu_id: str,
               now: datetime, notify_channel: str | None = None, known_teams: Mapping[str, str] | None = None,
               known_people: Mapping[str, str] | None = None,
               unit_name: str = "this unit") -> tuple[BookingRequest | None, dict[str, str]]:
    """A valid request, or ``None`` and one message per invalid field.

    With ``known_teams`` / ``known_people`` (id -> name), teams and people may be given by name and
    an unknown one is refused here, naming those that exist, instead of failing in the search.
    """
    errors = _Errors()
    teams, people = _who(form, known_teams, known_people, unit_name, errors)
    type_id = form.get("type") or config.default_type
    meeting = config.types.get(type_id)
    if meeting is None:
        errors["type"] = f"choose one of {', '.join(config.types)}"
    title = form.get("title") or (meeting.name if meeting else "")
    if not title:
        errors["title"] = "give the activity a title"
    elif len(title) > 150:
        errors["title"] = "keep the title under 150 characters"
    first, last = _date_range(form, meeting, config, now.date(), errors)

    earliest = errors.check("earliest", lambda: parse_clock(form.get("earliest"))) if form.get("earliest") else None
    latest = errors.check("latest", lambda: parse_clock(form.get("latest"))) if form.get("latest") else None
    if earliest is not None and latest is not None and earliest >= latest:
        errors["latest"] = "must be later than the earliest time"
    duration = errors.check("duration", lambda: _minutes(form.get("duration"))) if form.get("duration") else None
    if not form.teams and not form.people:
        errors["teams"] = "choose at least one team or person"
    if meeting is not None:
        _times_of_day(meeting, earliest, latest, duration, errors)
        _days_of_week(meeting, first, last, errors)
    recurrence = _recurrence(form, errors)
    location = form.get("location") or None
    if location is not None and location not in config.locations:
        errors["location"] = f"choose one of {', '.join(config.locations) or '(no locations configured)'}"
    if errors or first is None or last is None:
        return None, dict(errors)
    try:
        request = BookingRequest(
            id=request_id, requester=requester, notify_channel=notify_channel, mu_id=mu_id, type_id=type_id,
            title=title, teams=tuple(teams), people=tuple(people),
            facilitator=form.get("facilitator") or None, location=location, date_from=first, date_to=last,
            earliest_minute=earliest, latest_minute=latest, duration_minutes=duration, recurrence=recurrence,
            submitted_at=now)
    except ValidationError as error:
        return None, {"title": error.errors()[0]["msg"].removeprefix("Value error, ")}
    return request, {}


def _who(form: FormValues, known_teams: Mapping[str, str] | None, known_people: Mapping[str, str] | None,
         unit_name: str, errors: _Errors) -> tuple[list[str], list[str]]:
    """The teams and people asked for, names resolved to ids where the unit's are known."""
    teams, people = list(form.teams), list(form.people)
    if known_teams is not None and teams:
        teams, problem = resolve_names(teams, known_teams, "team", unit_name)
        if problem:
            errors["teams"] = problem
    if known_people is not None and people:
        people, problem = resolve_names(people, known_people, "person", unit_name)
        if problem:
            errors["people"] = problem
    return teams, people


def _date_range(form: FormValues, meeting: MeetingType | None, config: BookingConfig, today: date,
                errors: _Errors) -> tuple[date | None, date | None]:
    """The first and last day to search (from tomorrow over the type's window when not given)."""
    first = errors.check("date_from", lambda: _date(form.get("date_from")) if form.get("date_from")
                         else today + timedelta(days=1))
    span = meeting.window if meeting else timedelta(days=14)
    last = errors.check("date_to", lambda: _date(form.get("date_to")) if form.get("date_to")
                        else (first or today) + span - timedelta(days=1))
    if first is not None and first < today:
        errors["date_from"] = "the date range cannot start in the past"
    if first is not None and last is not None and last < first:
        errors["date_to"] = "the range must end on or after its first day"
    elif last is not None and last > today + config.horizon:
        errors["date_to"] = f"bookings reach at most {config.horizon.days} days ahead"
    return first, last


def _days_of_week(meeting: MeetingType, first: date | None, last: date | None, errors: _Errors) -> None:
    """A range shorter than a week must hold one of the type's days."""
    if first is None or last is None or first > last or (last - first).days >= 7:
        return
    allowed = parse_days(meeting.days)
    if not any((first + timedelta(days=d)).weekday() in allowed for d in range((last - first).days + 1)):
        errors["date_to"] = f"a {meeting.name.lower()} is booked on {', '.join(meeting.days)} only; " \
                            "this range has none of those days"


def _recurrence(form: FormValues, errors: _Errors) -> RecurrenceSpec | None:
    repeat = form.get("repeat") or "none"
    if repeat not in REPEATS:
        errors["repeat"] = "none, daily, weekly or monthly"
        return None
    if repeat == "none":
        return None
    every = errors.check("every", lambda: _int(form.get("every") or "1", 1, 52))
    gap = errors.check("min_gap", lambda: _int(form.get("min_gap") or "0", 0, 365))
    count = errors.check("count", lambda: _int(form.get("count"), 1, 366)) if form.get("count") else None
    until = errors.check("until", lambda: _date(form.get("until"))) if form.get("until") else None
    if every is not None and gap is not None and not {"count", "until"} & errors.keys():
        return RecurrenceSpec(frequency=repeat, every=every, min_gap_days=gap, count=count, until=until)
    return None


def _minutes(text: str) -> int:
    minutes = parse_duration(text).total_seconds() / 60
    if minutes < 15 or minutes > 600 or minutes % 15:
        raise ValueError("a multiple of 15 minutes, at most 10h (e.g. 45m, 1h30m)")
    return int(minutes)


_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:\.\.(\d{4}-\d{2}-\d{2}))?$")
_HOURS = re.compile(r"^(\d{1,2}:\d{2})-(\d{1,2}:\d{2})$")
_DURATION = re.compile(r"^\d+(?:h|m)(?:\d+m)?$")


def prefill(text: str, *, teams: Mapping[str, str], people: Mapping[str, str],
            types: Mapping[str, str]) -> FormValues:
    """Read what follows the slash command, e.g. ``team:Blue weekly 45m 09:00-12:00 2026-06-01..2026-06-12 "Sync"``
    (or a training target instead of teams: ``target:"Billing,Support" below:85% days:7``).

    ``teams``/``people``/``types`` map lowercase ids and names to ids. Anything not understood
    becomes the title, so nothing typed is lost.
    """
    form = FormValues()
    try:
        tokens = shlex.split(text)
    except ValueError:
        tokens = text.split()
    title: list[str] = []
    for token in tokens:
        key, _, value = token.partition(":")
        if not (_read_keyed(form, key.lower(), value, teams=teams, people=people, types=types)
                or _read_plain(form, token, teams=teams, types=types)):
            title.append(token)
    if title:
        form.values["title"] = " ".join(title)
    return form


_VALUE_KEYS = {"below": "target_below", "days": "target_days"}
_NUMBER_KEYS = {"every": "every", "gap": "min_gap", "count": "count"}


def _read_keyed(form: FormValues, key: str, value: str, *, teams: Mapping[str, str], people: Mapping[str, str],
                types: Mapping[str, str]) -> bool:
    """A ``key:value`` token into the form; False when it is not one we know (it is read as plain)."""
    if not value:
        return False
    if key in ("team", "teams"):
        form.teams += [teams.get(v.lower(), v) for v in value.split(",") if v]
    elif key in ("with", "people", "person"):
        form.people += [people.get(v.lower().lstrip("@"), v.lstrip("@")) for v in value.split(",") if v]
    elif key == "target":
        form.target_teams += [teams.get(v.strip().lower(), v.strip()) for v in value.split(",") if v.strip()]
    elif key in _VALUE_KEYS:
        form.values[_VALUE_KEYS[key]] = value
    elif key == "type":
        form.values["type"] = types.get(value.lower(), value)
    elif key in ("by", "facilitator"):
        form.values["facilitator"] = people.get(value.lower().lstrip("@"), value.lstrip("@"))
    elif key in ("room", "location", "at") and not _HOURS.match(value):
        form.values["location"] = value
    elif key in _NUMBER_KEYS and value.isdigit():
        form.values[_NUMBER_KEYS[key]] = value
    else:
        return False
    return True


def _read_plain(form: FormValues, token: str, *, teams: Mapping[str, str], types: Mapping[str, str]) -> bool:
    """A repeat, a type, a date range, hours, a duration or a team name; False: part of the title."""
    low = token.lower()
    if low in REPEATS[1:]:
        form.values["repeat"] = low
    elif low in types:
        form.values["type"] = types[low]
    elif match := _RANGE.match(token):
        form.values["date_from"] = match.group(1)
        form.values["date_to"] = match.group(2) or match.group(1)
    elif match := _HOURS.match(token):
        form.values["earliest"], form.values["latest"] = match.group(1), match.group(2)
    elif _DURATION.match(low):
        form.values["duration"] = low
    elif low in teams:
        form.teams.append(teams[low])
    else:
        return False
    return True
