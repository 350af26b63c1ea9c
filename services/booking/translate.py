"""From a booking request (teams, people, a meeting type) to the slot engine's request."""

from __future__ import annotations

from services.booking.config import BookingConfig, parse_clock, parse_days
from services.booking.model import BookingRequest
from services.domain.model import Roster
from services.domain.slots import Reason, Recurrence, SlotRequest


class RequestError(ValueError):
    """The request cannot be searched as written (unknown team, no facilitator, no rooms...)."""

    def __init__(self, message: str, reason: Reason = Reason.INVALID_REQUEST) -> None:
        super().__init__(message)
        self.reason = reason


def attendees_of(request: BookingRequest, roster: Roster) -> tuple[str, ...]:
    """Team members (in roster order) then named people, without duplicates."""
    unknown = [t for t in request.teams if t not in roster.teams]
    if unknown:
        raise RequestError(f"unknown team {', '.join(unknown)} in {roster.mu.name}", Reason.UNKNOWN_PERSON)
    members = [a.id for a in roster.agents.values() if a.team_id in request.teams]
    return tuple(dict.fromkeys([*members, *request.people]))


def facilitator_of(request: BookingRequest, roster: Roster, config: BookingConfig) -> str | None:
    """The chosen facilitator, or the default for the meeting type (a team's supervisor)."""
    if request.facilitator:
        return request.facilitator
    role = config.meeting_type(request.type_id).facilitator_role
    if role in ("none", "any"):
        return None
    if role == "trainer":
        raise RequestError("choose a trainer to facilitate this training", Reason.NO_FACILITATOR_TIME)
    teams = list(request.teams) or [roster.agents[p].team_id for p in request.people if p in roster.agents]
    for team_id in teams:
        team = roster.teams.get(team_id)
        if team and team.supervisor_ids:
            return team.supervisor_ids[0]
    raise RequestError("no supervisor is known for these attendees; choose a facilitator",
                       Reason.NO_FACILITATOR_TIME)


def to_slot_request(request: BookingRequest, roster: Roster, config: BookingConfig) -> SlotRequest:
    meeting = config.meeting_type(request.type_id)
    profile = config.profile(request.type_id)
    attendees = attendees_of(request, roster)
    if not attendees:
        raise RequestError("nobody to invite: the chosen teams have no agents")
    too_many = len(attendees) > meeting.max_attendees and not meeting.split_sessions
    if len(attendees) < meeting.min_attendees or too_many:
        raise RequestError(f"a {meeting.name} takes {meeting.min_attendees} to {meeting.max_attendees} attendees, "
                           f"not {len(attendees)}")
    if meeting.room and not config.rooms():
        raise RequestError("this meeting type needs a room but no rooms are configured under [booking.locations]")
    if request.location is not None and request.location not in config.locations:
        raise RequestError(f"unknown location {request.location!r}")
    rec = request.recurrence

    return SlotRequest(
        id=request.id,
        kind=request.type_id,
        attendees=attendees,
        duration_minutes=request.duration_minutes or int(meeting.duration.total_seconds() // 60),
        window_start=request.date_from,
        window_end=request.date_to,
        facilitator=facilitator_of(request, roster, config),
        room_needed=meeting.room,
        equipment=frozenset(meeting.equipment),
        location=request.location,
        earliest_minute=request.earliest_minute if request.earliest_minute is not None
        else parse_clock(meeting.earliest),
        latest_minute=request.latest_minute if request.latest_minute is not None else parse_clock(meeting.latest),
        weekdays=parse_days(meeting.days),
        preferred_minute=profile.preferred_minute,
        recurrence=None if rec is None else Recurrence(rec.frequency, rec.every, rec.min_gap_days, rec.count,
                                                       rec.until),
        split_sessions=meeting.split_sessions,
        params=profile.params(relaxed=request.relaxed),
    )
