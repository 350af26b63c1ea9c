"""Deliver incident events from the outbox: cards, emails, coaching appointments.

Each outbox entry is delivered in stream order per incident; a failed delivery is retried with
backoff (by the injected clock) and later entries of the same incident wait for it. Every step is
recorded as delivered before the entry is acknowledged, so a restart repeats nothing that finished.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from services import log_context, telemetry
from services.config import OrgConfig
from services.domain.escalation import EventKind, Incident, IncidentEvent, TierAction
from services.domain.model import Roster
from services.ports import (
    ChatPort,
    Clock,
    CoachingPort,
    CoachingRequest,
    DeliveryError,
    DispatchStore,
    EmailPort,
    IncidentView,
    MessageRef,
    OutboxEntry,
    StormView,
)

log = logging.getLogger(__name__)

RosterLookup = Callable[[str], Roster | None]


@dataclass(frozen=True, slots=True)
class DrainReport:
    delivered: int = 0
    failed: int = 0
    waiting: int = 0


class OutboxDispatcher:
    def __init__(self, *, store: DispatchStore, chat: ChatPort, email: EmailPort, coaching: CoachingPort,
                 rosters: RosterLookup, clock: Clock, config: OrgConfig, consumer: str = "dispatcher",
                 max_attempts: int = 8, backoff: timedelta = timedelta(seconds=5)) -> None:
        self.store, self.chat, self.email, self.coaching = store, chat, email, coaching
        self.rosters, self.clock, self.config = rosters, clock, config
        self.consumer, self.max_attempts, self.backoff = consumer, max_attempts, backoff
        self._lock = asyncio.Lock()  # one drain at a time in this process (the tick job also drains)
        self._storms: set[tuple[str, str]] = set()  # grouped cards to refresh once per drain (debounce)

    @log_context.isolated  # each entry focuses the log context on its incident; the caller's stays as it was
    async def drain(self, mu_ids: list[str]) -> DrainReport:
        async with self._lock:
            report = await self._drain(mu_ids)
            for mu_id, storm_id in sorted(self._storms):
                log_context.focus(mu_id=mu_id, incident_id=storm_id)
                try:
                    with telemetry.delivery("storm-card"):
                        await self._storm_card(mu_id, storm_id)
                except Exception as error:  # kept in the set: refreshed on the next drain
                    log.warning("grouped card %s not refreshed yet: %s", storm_id, error)
                else:
                    self._storms.discard((mu_id, storm_id))
            return report

    async def _drain(self, mu_ids: list[str]) -> DrainReport:
        delivered = failed = waiting = 0
        for mu_id in mu_ids:
            blocked: set[str] = set()  # incidents with an earlier entry still undelivered
            for entry in await self.store.read_outbox(mu_id, self.consumer):
                incident_id = entry.event.incident.id
                log_context.focus_incident(entry.event.incident)
                if incident_id in blocked:
                    waiting += 1
                    continue
                if await self.store.was_delivered(mu_id, entry.delivery_key):
                    await self.store.mark_delivered(mu_id, entry, self.clock.now())
                    continue
                attempts, next_at = await self.store.retry_state(mu_id, entry.entry_id)
                if next_at is not None and self.clock.now() < next_at:
                    blocked.add(incident_id)
                    waiting += 1
                    continue
                try:
                    await self._deliver(mu_id, entry)
                except Exception as error:  # every adapter failure is retried the same way
                    failed += 1
                    blocked.add(incident_id)
                    await self._retry_later(mu_id, entry, attempts + 1, error)
                    continue
                await self.store.mark_delivered(mu_id, entry, self.clock.now())
                delivered += 1
        return DrainReport(delivered, failed, waiting)

    async def _retry_later(self, mu_id: str, entry: OutboxEntry, attempts: int, error: Exception) -> None:
        if isinstance(error, DeliveryError) and not error.retryable:
            log.error("giving up delivering %s: %s (retrying cannot help)", entry.delivery_key, error)
            await self.store.give_up(mu_id, entry)
            return
        if attempts >= self.max_attempts:
            log.error("giving up delivering %s after %d attempts: %s", entry.delivery_key, attempts, error)
            await self.store.give_up(mu_id, entry)
            return
        delay = self.backoff * (2 ** (attempts - 1))
        log.warning("delivery of %s failed (attempt %d, retry in %s): %s", entry.delivery_key, attempts, delay, error)
        await self.store.schedule_retry(mu_id, entry.entry_id, attempts, self.clock.now() + delay)

    async def _deliver(self, mu_id: str, entry: OutboxEntry) -> None:
        event = entry.event
        incident = event.incident
        if event.kind is EventKind.TIER_FIRED and event.tier is not None:
            action = event.tier.action
            if action is TierAction.CHAT_CARD:
                await self._step(mu_id, entry, "card", lambda: self._post_or_update(mu_id, event))
                return
            view = await self.view(mu_id, incident)
            if action is TierAction.EMAIL:
                await self._step(mu_id, entry, "email", lambda: self.email.send_escalation_email(view))
            elif action is TierAction.COACHING:
                await self._step(mu_id, entry, "coaching", lambda: self._book_coaching(view))
        await self._step(mu_id, entry, "card-update", lambda: self._update_card(mu_id, event))

    async def _step(self, mu_id: str, entry: OutboxEntry, name: str, run: Callable[[], Awaitable[object]]) -> None:
        key = f"{entry.delivery_key}:{name}"
        if await self.store.was_delivered(mu_id, key):
            return
        with telemetry.delivery(name):
            await run()
        await self.store.mark_step_delivered(mu_id, key, self.clock.now())
        log.debug("delivered %s", key)

    async def _post_or_update(self, mu_id: str, event: IncidentEvent) -> None:
        incident = event.incident
        if incident.storm_id:
            self._storms.add((mu_id, incident.storm_id))
            return
        ref = await self.store.card_ref(mu_id, incident.id)
        view = incident_view(incident, self.rosters(mu_id), self.clock.now(), ref)
        if ref is None:
            ref = await self.chat.post_incident_card(view)
            await self.store.save_card_ref(mu_id, incident.id, ref)
        else:
            await self.chat.update_incident_card(ref, view, event)

    async def _update_card(self, mu_id: str, event: IncidentEvent) -> None:
        incident = event.incident
        if incident.storm_id:
            self._storms.add((mu_id, incident.storm_id))
            return
        ref = await self.store.card_ref(mu_id, incident.id)
        if ref is not None:  # no card yet (chat tier not reached): nothing to update
            view = incident_view(incident, self.rosters(mu_id), self.clock.now(), ref)
            await self.chat.update_incident_card(ref, view, event)

    async def _storm_card(self, mu_id: str, storm_id: str) -> None:
        key = f"storm:{storm_id}"
        tracks = await self.store.load_tracks(mu_id)
        members = [t.incident for t in tracks.values() if t.incident is not None and t.incident.storm_id == storm_id]
        members += await self.store.closed_in_storm(mu_id, storm_id, exclude={m.id for m in members})
        if not members:
            return
        roster = self.rosters(mu_id)
        first = members[0]
        team = roster.teams.get(first.team_id) if roster else None
        ref = await self.store.card_ref(mu_id, key)
        now = self.clock.now()
        views = [incident_view(m, roster, now, ref) for m in sorted(members, key=lambda m: m.started_at)]
        storm = StormView(
            storm_id=storm_id, mu_id=mu_id, mu_name=roster.mu.name if roster else mu_id,
            team_id=first.team_id, team_name=team.name if team else first.team_id, incidents=views,
            supervisors=roster.supervisors_of(first.agent_id) if roster else [], now=now,
            closed=all(m.is_closed for m in members),
            team_channel=team.slack_channel if team else None,
        )
        if ref is None:
            ref = await self.chat.post_storm_card(storm)
            await self.store.save_card_ref(mu_id, key, ref)
        else:
            await self.chat.update_storm_card(ref, storm)

    async def _book_coaching(self, view: IncidentView) -> str:
        incident = view.incident
        coaching = self.config.coaching
        facilitator = view.supervisors[0].id if view.supervisors else None
        request = CoachingRequest(
            idempotency_key=f"{incident.id}:coaching",
            mu_id=incident.mu_id,
            agent_id=incident.agent_id,
            facilitator_id=facilitator,
            name=f"{coaching.name}: {view.agent_name}",
            description=(f"{view.agent_name} was out of adherence for {incident.minutes_out(view.now):.0f} minutes"
                         f" (scheduled {incident.category or 'unknown'},"
                         f" actual {incident.presence}/{incident.routing})."),
            start=view.now + coaching.lead_time,
            length_minutes=int(coaching.length.total_seconds() // 60),
        )
        return await self.coaching.create_coaching_appointment(request)

    async def view(self, mu_id: str, incident: Incident) -> IncidentView:
        """The incident as people see it, with the link to its (or its storm's) card when there is one."""
        roster = self.rosters(mu_id)
        ref = await self.store.card_ref(mu_id, f"storm:{incident.storm_id}" if incident.storm_id else incident.id)
        return incident_view(incident, roster, self.clock.now(), ref)


def incident_view(incident: Incident, roster: Roster | None, now: datetime, ref: MessageRef | None) -> IncidentView:
    agent = roster.agents.get(incident.agent_id) if roster else None
    team = roster.teams.get(incident.team_id) if roster else None
    return IncidentView(
        incident=incident,
        agent_name=agent.name if agent else incident.agent_id,
        team_name=team.name if team else incident.team_id,
        mu_name=roster.mu.name if roster else incident.mu_id,
        supervisors=roster.supervisors_of(incident.agent_id) if roster else [],
        ops_managers=roster.ops_managers() if roster else [],
        now=now,
        card_link=ref.permalink if ref else None,
        team_channel=team.slack_channel if team else None,
    )
