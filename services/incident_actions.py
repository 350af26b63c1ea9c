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
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from services.domain.escalation import (
    OUTAGE_REASON,
    AgentTrack,
    CardMismatch,
    Incident,
    IncidentClosed,
    IncidentEvent,
    acknowledge,
    closed_done,
    escalate_now,
    excuse,
)
from services.domain.model import Roster
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


class IncidentActions:
    def __init__(self, *, store: ActionStore, rosters: Callable[[str], Roster | None], directory: ChatDirectory,
                 clock: Clock, outage_window: timedelta = timedelta(minutes=30)) -> None:
        self.store, self.rosters, self.directory, self.clock = store, rosters, directory, clock
        self.outage_window = outage_window

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

    async def acknowledge(self, mu_id: str, agent_id: str, incident_id: str, actor: Actor) -> Incident:
        def step(track: AgentTrack, incident: Incident, now: datetime) -> tuple[AgentTrack, IncidentEvent]:
            new, event = acknowledge(incident, actor.name, now)
            return track.model_copy(update={"incident": new}), event

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
                   step: Callable[[AgentTrack, Incident, datetime], tuple[AgentTrack, IncidentEvent]]) -> Incident:
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

