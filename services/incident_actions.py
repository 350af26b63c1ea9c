"""What supervisors do from a card: acknowledge, escalate now, approve an exception, mark an outage.

Each action checks who may act (the agent's supervisors and the unit's ops managers), applies the
pure transition, and writes it compare-and-set with its audit entry; a concurrent change (a tick,
another click) makes it re-read and try again, so the first press wins and none is lost.

Every click is idempotent. A second Acknowledge, a second approval, a click on a closed alert or
a replayed Mark as outage raises :class:`AlreadyDone` saying what happened, who did it and when;
Escalate fires only the tier after the ones the card showed, so a replay or a double click cannot
fire the tier after next.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from services.domain.escalation import (
    OUTAGE_REASON,
    AgentTrack,
    AlreadyAcknowledged,
    AlreadyEscalated,
    CardMismatch,
    Done,
    EscalationError,
    Incident,
    IncidentClosed,
    IncidentEvent,
    NothingToEscalate,
    ReplyKind,
    acknowledge,
    agent_replies,
    approve_explanation,
    closed_done,
    escalate_now,
    excuse,
    fired_done,
    snooze,
    unacknowledge,
    unsnooze,
)
from services.domain.model import Person, Roster
from services.ports import ActionStore, ChatDirectory, Clock, TrackChange

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class Actor:
    slack_user_id: str
    name: str


class NotAllowed(Exception):
    code = "not_allowed"


class IncidentNotFound(Exception):
    code = "incident_not_found"


class CannotSnooze(EscalationError):
    code = "cannot_snooze"


#: Snooze menu choices -> length ("shift": until the agent's current shift ends).
SNOOZE_LENGTHS = {"15": timedelta(minutes=15), "60": timedelta(hours=1), "240": timedelta(hours=4)}
SNOOZE_UNTIL_SHIFT_END = "shift"

ShiftEnds = Callable[[str, str, datetime], datetime | None]
ReasonCodes = Callable[[str], Sequence[str]]


class IncidentActions:
    def __init__(self, *, store: ActionStore, rosters: Callable[[str], Roster | None], directory: ChatDirectory,
                 clock: Clock, outage_window: timedelta = timedelta(minutes=30),
                 shift_ends: ShiftEnds | None = None, reasons: ReasonCodes | None = None,
                 explanation_hold: timedelta = timedelta(minutes=15)) -> None:
        self.store, self.rosters, self.directory, self.clock = store, rosters, directory, clock
        self.outage_window = outage_window
        self.shift_ends, self.reasons = shift_ends, reasons
        #: After an approved explanation, how long a still-out agent is left alone before a new incident.
        self.explanation_hold = explanation_hold

    async def may_act(self, mu_id: str, agent_id: str, slack_user_id: str) -> None:
        """Raise NotAllowed unless this user may act on the agent's alerts (checked before a modal opens)."""
        await self._authorize(mu_id, agent_id, Actor(slack_user_id, ""))

    async def check_open(self, mu_id: str, agent_id: str, incident_id: str, slack_user_id: str) -> None:
        """Before the exception modal opens: the user may act and the incident is still open.

        A double click on a card whose alert was meanwhile excused gets "already excused by ..." at
        once instead of a form that could only be refused.
        """
        await self._authorize(mu_id, agent_id, Actor(slack_user_id, ""))
        await self._current(mu_id, agent_id, incident_id)

    async def acknowledge(self, mu_id: str, agent_id: str, incident_id: str, actor: Actor, *,
                          shown_acks: int | None = None) -> Incident:
        def step(track: AgentTrack, incident: Incident, now: datetime) -> tuple[AgentTrack, IncidentEvent]:
            new, event = acknowledge(incident, actor.name, now, shown_acks=shown_acks)
            return track.model_copy(update={"incident": new}), event

        return await self._act(mu_id, agent_id, incident_id, actor, step)

    async def unacknowledge(self, mu_id: str, agent_id: str, incident_id: str, actor: Actor, *,
                            shown_acks: int | None) -> Incident:
        """Back to escalation: a tier whose time (from the incident's start) passed fires at the next tick."""
        def step(track: AgentTrack, incident: Incident, now: datetime) -> tuple[AgentTrack, IncidentEvent]:
            new, event = unacknowledge(incident, actor.name, now, shown_acks=shown_acks)
            return track.model_copy(update={"incident": new}), event

        return await self._act(mu_id, agent_id, incident_id, actor, step)

    async def snooze(self, mu_id: str, agent_id: str, incident_id: str, actor: Actor, *, choice: str,
                     shown: int | None) -> Incident:
        """Hold every tier for the chosen length (or until the agent's shift ends)."""
        def step(track: AgentTrack, incident: Incident, now: datetime) -> tuple[AgentTrack, IncidentEvent]:
            new, event = snooze(incident, actor.name, self._snooze_until(mu_id, agent_id, choice, now), now,
                                shown=shown)
            return track.model_copy(update={"incident": new}), event

        return await self._act(mu_id, agent_id, incident_id, actor, step)

    def _snooze_until(self, mu_id: str, agent_id: str, choice: str, now: datetime) -> datetime:
        if choice in SNOOZE_LENGTHS:
            return now + SNOOZE_LENGTHS[choice]
        if choice != SNOOZE_UNTIL_SHIFT_END:
            raise CannotSnooze(f"unknown snooze length {choice!r}")
        end = self.shift_ends(mu_id, agent_id, now) if self.shift_ends else None
        if end is None or end <= now:
            raise CannotSnooze("the end of this agent's shift is not known; pick a length instead")
        return end

    async def unsnooze(self, mu_id: str, agent_id: str, incident_id: str, actor: Actor, *,
                       shown: int | None) -> Incident:
        def step(track: AgentTrack, incident: Incident, now: datetime) -> tuple[AgentTrack, IncidentEvent]:
            new, event = unsnooze(incident, actor.name, now, shown=shown)
            return track.model_copy(update={"incident": new}), event

        return await self._act(mu_id, agent_id, incident_id, actor, step)

    # ---- the agent's side: only the agent answers their nudge --------------------------------------
    def explanation_reasons(self, mu_id: str) -> list[str]:
        return list(self.reasons(mu_id)) if self.reasons else ["other"]

    async def check_agent(self, mu_id: str, agent_id: str, incident_id: str, slack_user_id: str) -> None:
        """Before the explain modal opens: this is the agent, and the incident is still open."""
        await self._authorize_agent(mu_id, agent_id, Actor(slack_user_id, ""))
        await self._current(mu_id, agent_id, incident_id)

    async def agent_reply(self, mu_id: str, agent_id: str, incident_id: str, actor: Actor, *, kind: ReplyKind,
                          shown: int | None, reason_code: str | None = None, note: str = "") -> Incident:
        await self._authorize_agent(mu_id, agent_id, actor)
        if kind is ReplyKind.EXPLANATION and reason_code not in self.explanation_reasons(mu_id):
            raise CardMismatch(f"{reason_code!r} is not one of this unit's reasons")

        def step(track: AgentTrack, incident: Incident, now: datetime) -> tuple[AgentTrack, IncidentEvent]:
            new, event = agent_replies(incident, kind, actor.name, now, shown=shown, reason_code=reason_code,
                                       note=note)
            return track.model_copy(update={"incident": new}), event

        return await self._act(mu_id, agent_id, incident_id, actor, step, authorized=True)

    async def approve_explanation(self, mu_id: str, agent_id: str, incident_id: str, actor: Actor, *,
                                  shown: int | None) -> Incident:
        """Excuse the incident with the agent's reason for its real window; written back to the WFM by the
        outbox. Supervisors and ops managers only, and never the agent themselves."""
        if await self._agent_user(mu_id, agent_id) == actor.slack_user_id:
            raise NotAllowed("You cannot approve your own explanation; your supervisor does.")

        def step(track: AgentTrack, incident: Incident, now: datetime) -> tuple[AgentTrack, IncidentEvent]:
            return approve_explanation(track, actor.name, now, shown=shown, suppress=self.explanation_hold)

        return await self._act(mu_id, agent_id, incident_id, actor, step)

    async def escalate(self, mu_id: str, agent_id: str, incident_id: str, actor: Actor, *,
                       shown: int | None) -> Incident:
        """Fire the tier after the ``shown`` tiers the card displayed; never more than one per card state.

        A click that cannot say what its card showed (``None``) fires nothing: guessing "the next
        tier" is exactly what let a replayed click fire the tier after next.
        """
        if shown is None:
            raise CardMismatch("this card is too old to escalate from; use the latest card of this alert")

        def step(track: AgentTrack, incident: Incident, now: datetime) -> tuple[AgentTrack, IncidentEvent]:
            new, event = escalate_now(incident, actor.name, now, shown=shown)
            return track.model_copy(update={"incident": new}), event

        return await self._act(mu_id, agent_id, incident_id, actor, step)

    async def approve_exception(self, mu_id: str, agent_id: str, incident_id: str, actor: Actor, *,
                                until: datetime, reason_code: str, note: str = "") -> Incident:
        reason = f"{reason_code}: {note}" if note else reason_code

        def step(track: AgentTrack, incident: Incident, now: datetime) -> tuple[AgentTrack, IncidentEvent]:
            if until <= now:
                raise ValueError("the exception must end in the future")
            excused, event = excuse(track, actor.name, until, reason, now)
            # The WFM write-back rides on the committed event: the outbox delivers it (with retries),
            # so the modal is answered at once whatever Genesys is doing.
            return excused, replace(event, write_back=excused.exception)

        return await self._act(mu_id, agent_id, incident_id, actor, step)

    async def mark_outage(self, mu_id: str, storm_id: str, actor: Actor, *, marked: bool | None = None) -> int:
        """Excuse every open incident of a storm: the outage window counts as neutral for all of them.

        ``marked`` is whether the card already showed the storm as an outage. A card that did not
        (a replay, a double click, or a card from before the mark) changes nothing once someone has
        marked it, and is told who did and when.
        """
        for _ in range(MAX_ATTEMPTS):
            now = self.clock.now()
            tracks = await self.store.load_tracks(mu_id)
            members = {a: t for a, t in tracks.items() if t.incident is not None and t.incident.storm_id == storm_id}
            closed: list[Incident] = []
            if not marked or not members:  # a click is rare; the scan of the closed incidents is fine
                closed = await self.store.closed_in_storm(mu_id, storm_id, exclude={
                    t.incident.id for t in members.values() if t.incident is not None})
            marks = [i for i in closed if i.close_reason == OUTAGE_REASON]
            if marks and not marked:
                raise IncidentClosed(closed_done(min(marks, key=lambda i: i.closed_at or i.started_at)))
            if not members:
                last = max(closed, key=lambda i: i.closed_at or i.started_at, default=None)
                raise IncidentClosed(closed_done(last) if last else None,
                                     "every alert of this outage is already closed")
            await self._authorize(mu_id, next(iter(members)), actor)
            changes, events = [], []
            for agent_id, track in members.items():
                new, event = excuse(track, actor.name, now + self.outage_window, OUTAGE_REASON, now)
                changes.append(TrackChange(agent_id, track.version, new))
                events.append(event)
            result = await self.store.commit(mu_id, changes=changes, events=events, day=now.date())
            if not result.rejected:
                return len(changes)
        raise RuntimeError("the outage alert kept changing; try again")

    # ---- the storm card: every open member at once ------------------------------------------------
    async def acknowledge_all(self, mu_id: str, storm_id: str, actor: Actor) -> int:
        def step(members: dict[str, AgentTrack], now: datetime) -> list[tuple[AgentTrack, IncidentEvent]]:
            out = []
            for track in members.values():
                if track.incident is not None and track.incident.acked_by is None:
                    new, event = acknowledge(track.incident, actor.name, now)
                    out.append((track.model_copy(update={"incident": new}), event))
            if not out:
                first = min((t.incident for t in members.values() if t.incident is not None),
                            key=lambda i: i.acked_at or i.started_at)
                raise AlreadyAcknowledged(Done("acknowledged", first.acked_by, first.acked_at))
            return out

        return await self._act_on_storm(mu_id, storm_id, actor, step)

    async def escalate_all(self, mu_id: str, storm_id: str, actor: Actor, *, shown: int | None) -> int:
        """Fire the tier after the ``shown`` ones for every open member the card showed at that tier."""
        if shown is None:
            raise CardMismatch("this card is too old to escalate from; use the latest card of this outage")

        def step(members: dict[str, AgentTrack], now: datetime) -> list[tuple[AgentTrack, IncidentEvent]]:
            out = []
            incidents = [t.incident for t in members.values() if t.incident is not None]
            for track in members.values():
                incident = track.incident
                if incident is not None and len(incident.fired) == shown and incident.next_tier is not None:
                    new, event = escalate_now(incident, actor.name, now, shown=shown)
                    out.append((track.model_copy(update={"incident": new}), event))
            if not out:
                ahead = [i for i in incidents if len(i.fired) > shown]
                if ahead:
                    raise AlreadyEscalated(fired_done(min(ahead, key=lambda i: i.fired[shown].at).fired[shown]))
                raise NothingToEscalate(None, "every tier has already fired")
            return out

        return await self._act_on_storm(mu_id, storm_id, actor, step)

    async def _act_on_storm(self, mu_id: str, storm_id: str, actor: Actor,
                            step: Callable[[dict[str, AgentTrack], datetime],
                                           list[tuple[AgentTrack, IncidentEvent]]]) -> int:
        for _ in range(MAX_ATTEMPTS):
            now = self.clock.now()
            tracks = await self.store.load_tracks(mu_id)
            members = {a: t for a, t in tracks.items() if t.incident is not None and t.incident.storm_id == storm_id}
            if not members:
                closed = await self.store.closed_in_storm(mu_id, storm_id, exclude=set())
                last = max(closed, key=lambda i: i.closed_at or i.started_at, default=None)
                raise IncidentClosed(closed_done(last) if last else None,
                                     "every alert of this outage is already closed")
            await self._authorize(mu_id, next(iter(members)), actor)
            done = step(members, now)
            changes = [TrackChange(t.agent_id, members[t.agent_id].version, t) for t, _ in done]
            result = await self.store.commit(mu_id, changes=changes, events=[e for _, e in done], day=now.date())
            if not result.rejected:
                log.info("storm %s: %s for %d agents by %s", storm_id, done[0][1].kind.value, len(done), actor.name)
                return len(done)
        raise RuntimeError("the outage alert kept changing; try again")

    async def _current(self, mu_id: str, agent_id: str,
                       incident_id: str) -> tuple[AgentTrack, Incident]:
        """The track holding ``incident_id`` open, or the refusal that says how it ended."""
        track = await self.store.load_track(mu_id, agent_id)
        incident = track.incident if track else None
        if track is None or incident is None or incident.id != incident_id:
            closed = await self.store.closed_incident(mu_id, incident_id)
            if closed is not None:
                raise IncidentClosed(closed_done(closed))
            raise IncidentNotFound("this alert is no longer known (it may have expired)")
        return track, incident

    async def _act(self, mu_id: str, agent_id: str, incident_id: str, actor: Actor,
                   step: Callable[[AgentTrack, Incident, datetime], tuple[AgentTrack, IncidentEvent]], *,
                   authorized: bool = False) -> Incident:
        if not authorized:
            await self._authorize(mu_id, agent_id, actor)
        for _ in range(MAX_ATTEMPTS):
            now = self.clock.now()
            track, incident = await self._current(mu_id, agent_id, incident_id)
            new_track, event = step(track, incident, now)
            result = await self.store.commit(
                mu_id, changes=[TrackChange(agent_id, track.version, None if new_track.empty else new_track)],
                events=[event], day=now.date())
            if not result.rejected:
                log.info("%s: %s by %s", incident_id, event.kind.value, actor.name)
                return event.incident
        raise RuntimeError("the alert kept changing while you acted on it; try again")

    async def _authorize(self, mu_id: str, agent_id: str, actor: Actor) -> None:
        roster = self.rosters(mu_id)
        if roster is None or agent_id not in roster.agents:
            raise IncidentNotFound("this agent is not in a monitored management unit")
        allowed = [*roster.supervisors_of(agent_id), *roster.ops_managers()]
        for person in allowed:
            if await self.directory.user_id_for(person) == actor.slack_user_id:
                return
        names = ", ".join(p.name for p in allowed) or "nobody is configured"
        raise NotAllowed(f"Only the agent's supervisors and the unit's ops managers may act on this alert ({names}).")


    async def _agent_user(self, mu_id: str, agent_id: str) -> str | None:
        """The agent's own chat user (by email, or ``slack_user_id`` in the config)."""
        roster = self.rosters(mu_id)
        agent = roster.agents.get(agent_id) if roster else None
        if agent is None:
            raise IncidentNotFound("this agent is not in a monitored management unit")
        return await self.directory.user_id_for(Person(agent.id, agent.name, agent.email))

    async def _authorize_agent(self, mu_id: str, agent_id: str, actor: Actor) -> None:
        """Only the agent answers their own nudge: nobody else may, nor see it."""
        user = await self._agent_user(mu_id, agent_id)
        if user is None or user != actor.slack_user_id:
            raise NotAllowed("Only the agent this message was sent to may answer it.")
