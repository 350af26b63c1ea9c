"""Deliver incident events from the outbox: cards, emails, coaching appointments, WFM write-backs.

An entry is a few steps, each on one channel (chat, email, coaching, wfm). Each channel is a lane of
its own, run side by side with the others; steps of one incident run in stream order per channel,
not across channels: an SMTP outage (refused or hanging) holds back that incident's later emails,
never its card update or its coaching tier. A failed step is retried with backoff (by the
injected clock, doubling up to ``max_backoff``) for as long as ``give_up_after``, then parked in
the audit trail and logged; a step that cannot succeed (``DeliveryError.retryable`` False) is parked
at once. Every step is recorded as delivered when done, and the entry is acknowledged and
removed only when all its steps are, so a restart repeats nothing that finished. Grouped (storm)
cards to post or refresh are recorded in Redis before the entry asking for them is acknowledged.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from services import log_context, telemetry
from services.config import OrgConfig
from services.domain.escalation import EventKind, Incident, IncidentEvent, TierAction
from services.domain.model import Person, Roster
from services.ports import (
    AgentChat,
    ChatPort,
    Clock,
    CoachingPort,
    CoachingRequest,
    DeliveryError,
    DispatchStore,
    EmailPort,
    ExceptionWriter,
    IncidentView,
    MessageRef,
    OutboxEntry,
    StormEmailPort,
    StormThread,
    StormView,
    TeamsPort,
)

log = logging.getLogger(__name__)

RosterLookup = Callable[[str], Roster | None]


@dataclass(frozen=True, slots=True)
class DrainReport:
    delivered: int = 0
    failed: int = 0
    waiting: int = 0


@dataclass(frozen=True, slots=True)
class _Step:
    channel: str  # per-incident order holds within a channel: "chat", "email", "coaching", "wfm"
    name: str
    run: Callable[[], Awaitable[object]]


@dataclass(slots=True)
class _Work:
    """One outbox entry being delivered in this drain."""

    entry: OutboxEntry
    attempts: int
    backing_off: bool
    remaining: int = 0  # its steps not delivered by the end of this drain
    error: Exception | None = None


class OutboxDispatcher:
    def __init__(self, *, store: DispatchStore, chat: ChatPort, email: EmailPort, coaching: CoachingPort,
                 rosters: RosterLookup, clock: Clock, config: OrgConfig, consumer: str = "dispatcher",
                 exception_writer: ExceptionWriter | None = None, backoff: timedelta = timedelta(seconds=5),
                 max_backoff: timedelta = timedelta(minutes=5), give_up_after: timedelta = timedelta(hours=24),
                 lost_window: timedelta = timedelta(minutes=1), teams: TeamsPort | None = None) -> None:
        self.store, self.chat, self.email, self.coaching = store, chat, email, coaching
        self.rosters, self.clock, self.config = rosters, clock, config
        self.consumer, self.exception_writer = consumer, exception_writer
        self.backoff, self.max_backoff, self.give_up_after = backoff, max_backoff, give_up_after
        self.lost_window = lost_window
        self.teams = teams  # Microsoft Teams webhooks (services/adapters/teams), for the teams that have one
        self._lock = asyncio.Lock()  # one drain at a time in this process (the tick job also drains)
        self.state_lost_at: datetime | None = None  # when Redis was found emptied (cards say so)

    @log_context.isolated  # each entry focuses the log context on its incident; the caller's stays as it was
    async def drain(self, mu_ids: list[str]) -> DrainReport:
        async with self._lock:
            self.state_lost_at = (await self.store.check_epoch(self.clock.now())).lost_at
            report = await self._drain(mu_ids)
            for mu_id in mu_ids:
                for storm_id in await self.store.pending_storms(mu_id):
                    log_context.focus(mu_id=mu_id, incident_id=storm_id)
                    try:
                        with telemetry.delivery("storm-card"):
                            await self._storm_card(mu_id, storm_id)
                    except Exception as error:  # still pending in Redis: refreshed on the next drain
                        log.warning("grouped card %s not refreshed yet: %s", storm_id, error)
                    else:
                        await self.store.storm_done(mu_id, storm_id)
            return report

    async def _drain(self, mu_ids: list[str]) -> DrainReport:
        delivered = failed = waiting = 0
        for mu_id in mu_ids:
            work: list[_Work] = []
            lanes: dict[str, list[tuple[_Work, _Step]]] = {}
            for entry in await self.store.read_outbox(mu_id, self.consumer):
                log_context.focus_incident(entry.event.incident)
                if await self.store.was_delivered(mu_id, entry.delivery_key):
                    await self.store.mark_delivered(mu_id, entry, self.clock.now())
                    continue
                attempts, next_at = await self.store.retry_state(mu_id, entry.entry_id)
                item = _Work(entry, attempts, next_at is not None and self.clock.now() < next_at)
                work.append(item)
                for step in self._steps(mu_id, entry):
                    lanes.setdefault(step.channel, []).append((item, step))
            # One lane per channel, side by side: a slow or failing channel holds back only itself.
            await asyncio.gather(*(self._lane(mu_id, lane) for lane in lanes.values()))
            for item in work:
                if item.remaining == 0:
                    await self.store.mark_delivered(mu_id, item.entry, self.clock.now())
                    delivered += 1
                elif item.error is not None:
                    failed += 1
                    await self._retry_later(mu_id, item.entry, item.attempts + 1, item.error)
                else:
                    waiting += 1
        return DrainReport(delivered, failed, waiting)

    async def _lane(self, mu_id: str, lane: list[tuple[_Work, _Step]]) -> None:
        """One channel's steps in stream order; an incident's later steps wait behind its undelivered one."""
        blocked: set[str] = set()
        for item, step in lane:
            incident_id = item.entry.event.incident.id
            key = f"{item.entry.delivery_key}:{step.name}"
            if await self.store.was_delivered(mu_id, key):
                continue
            if item.backing_off or incident_id in blocked:
                blocked.add(incident_id)
                item.remaining += 1
                continue
            log_context.focus_incident(item.entry.event.incident)  # this lane's task only
            try:
                with telemetry.delivery(step.name):
                    await step.run()
            except Exception as failure:  # every adapter failure is retried the same way
                item.error = item.error or failure
                blocked.add(incident_id)
                item.remaining += 1
                continue
            await self.store.mark_step_delivered(mu_id, key, self.clock.now())
            log.debug("delivered %s", key)

    async def _retry_later(self, mu_id: str, entry: OutboxEntry, attempts: int, error: Exception) -> None:
        if isinstance(error, DeliveryError) and not error.retryable:
            log.error("giving up delivering %s: %s (retrying cannot help)", entry.delivery_key, error)
            await self.store.give_up(mu_id, entry)
            return
        age = self.clock.now() - entry.event.at
        if age >= self.give_up_after:  # an outage this long: the alert is stale, say so and park it
            log.error("giving up delivering %s after %d attempts over %s: %s", entry.delivery_key, attempts, age,
                      error)
            await self.store.give_up(mu_id, entry)
            return
        delay = min(self.max_backoff, self.backoff * (2 ** min(attempts - 1, 20)))
        log.warning("delivery of %s failed (attempt %d, retry in %s): %s", entry.delivery_key, attempts, delay, error)
        await self.store.schedule_retry(mu_id, entry.entry_id, attempts, self.clock.now() + delay)

    def _steps(self, mu_id: str, entry: OutboxEntry) -> list[_Step]:
        event = entry.event
        incident = event.incident
        if event.kind is EventKind.TIER_FIRED and event.tier is not None and event.tier.action is TierAction.CHAT_CARD:
            return [_Step("chat", "card", lambda: self._post_or_update(mu_id, event)), *self._teams_steps(mu_id, event)]
        steps = self._nudge_steps(mu_id, event)
        if event.tier is not None and event.tier.action is TierAction.AGENT_NUDGE and incident.storm_id:
            return steps  # a storm's grouped card waits for its chat tier; the nudge itself is skipped
        if event.kind is EventKind.TIER_FIRED and event.tier is not None:
            if event.tier.action is TierAction.EMAIL:
                steps.append(_Step("email", "email", lambda: self._send_email(mu_id, event)))
            elif event.tier.action is TierAction.COACHING:
                steps.append(_Step("coaching", "coaching", lambda: self._coach(mu_id, incident)))
        window, writer = event.write_back, self.exception_writer
        if window is not None and writer is not None:
            # One approval closes its incident: the incident id names the write-back on every retry.
            steps.append(_Step("wfm", "wfm-exception",
                               lambda: writer.record_exception(mu_id, window, ref=incident.id)))
        steps.append(_Step("chat", "card-update", lambda: self._update_card(mu_id, event)))
        return steps + self._teams_steps(mu_id, event)

    def _teams_steps(self, mu_id: str, event: IncidentEvent) -> list[_Step]:
        """The ``teams_card`` step: tier 1 and each later change of a carded incident, as a new Teams message.
        In the chat lane after the Slack step, so the Slack card exists and the Teams card links to it."""
        teams, incident = self.teams, event.incident
        carded = any(t.action is TierAction.CHAT_CARD for t in incident.fired)
        if teams is None or not carded or not teams.covers(mu_id, incident.team_id):
            return []

        async def post() -> None:
            await teams.post_incident(await self.view(mu_id, incident), event)

        return [_Step("chat", "teams_card", post)]

    async def _send_email(self, mu_id: str, event: IncidentEvent) -> None:
        incident = event.incident
        mailer, tier = self.email, event.tier
        if incident.storm_id and tier is not None and isinstance(mailer, StormEmailPort) \
                and await self._send_storm_email(mu_id, incident.storm_id, tier.index, mailer):
            return
        await self.email.send_escalation_email(await self.view(mu_id, incident))

    async def _send_storm_email(self, mu_id: str, storm_id: str, tier: int, mailer: StormEmailPort) -> bool:
        """One email per storm and tier: the first member whose tier fires sends it for the whole group
        (a delivered key of its own), the others find it sent. False: no group left, send one alone."""
        key = f"storm:{storm_id}:email:{tier}"
        if await self.store.was_delivered(mu_id, key):
            return True
        storm = await self._storm_view(mu_id, storm_id)
        if storm is None:
            return False
        await mailer.send_storm_email(storm)
        await self.store.mark_step_delivered(mu_id, key, self.clock.now())
        names = ", ".join(p.name for p in storm.incidents[0].ops_managers) or "the ops manager"
        await self._storm_note(mu_id, storm_id, f"Email sent to {names} about the {len(storm.incidents)} agents.")
        return True

    async def _storm_note(self, mu_id: str, storm_id: str, text: str) -> None:
        """Best effort: the email is sent and must not be sent again because its thread line failed."""
        ref = await self.store.card_ref(mu_id, f"storm:{storm_id}")
        if ref is None or not isinstance(self.chat, StormThread):
            return
        try:
            await self.chat.post_storm_note(ref, text)
        except Exception as error:
            log.warning("grouped card %s: thread line not posted: %s", storm_id, error)

    async def _storm_line(self, mu_id: str, event: IncidentEvent) -> None:
        """A storm member's transition, as a line in the grouped card's thread (its email: one line, above)."""
        incident, chat = event.incident, self.chat
        if incident.storm_id is None or not isinstance(chat, StormThread):
            return
        if event.tier is not None and event.tier.action is TierAction.EMAIL and isinstance(self.email, StormEmailPort):
            return
        ref = await self.store.card_ref(mu_id, f"storm:{incident.storm_id}")
        if ref is not None:
            await chat.post_storm_history_line(ref, self._view(mu_id, incident, ref), event)

    # ---- the agent-first nudge (a DM lane of its own: the agent's DM never waits on the cards) ----
    def _nudge_steps(self, mu_id: str, event: IncidentEvent) -> list[_Step]:
        incident = event.incident
        if event.kind is EventKind.TIER_FIRED and event.tier is not None:
            if event.tier.action is TierAction.AGENT_NUDGE:
                return [_Step("nudge", "agent-nudge", lambda: self._post_nudge(mu_id, incident))]
            return []
        nudged = any(f.action is TierAction.AGENT_NUDGE for f in incident.fired)
        if nudged and event.kind in (EventKind.AGENT_REPLIED, EventKind.EXCUSED, EventKind.RESOLVED):
            return [_Step("nudge", "nudge-update", lambda: self._update_nudge(mu_id, incident))]
        return []

    async def _post_nudge(self, mu_id: str, incident: Incident) -> None:
        chat = self.chat
        if not isinstance(chat, AgentChat):
            log.info("%s: the chat port sends no direct messages; agent nudge skipped", incident.id)
            return
        if incident.storm_id:  # an outage: the agent is not the one to chase
            log.info("%s: part of storm %s; agent nudge skipped", incident.id, incident.storm_id)
            return
        key = f"nudge:{incident.id}"
        if await self.store.card_ref(mu_id, key) is None:
            ref = await chat.post_agent_nudge(self._view(mu_id, incident, None))
            await self.store.save_card_ref(mu_id, key, ref)

    async def _update_nudge(self, mu_id: str, incident: Incident) -> None:
        ref = await self.store.card_ref(mu_id, f"nudge:{incident.id}")
        if ref is not None and isinstance(self.chat, AgentChat):
            await self.chat.update_agent_nudge(ref, self._view(mu_id, incident, None))

    async def _coach(self, mu_id: str, incident: Incident) -> str:
        return await self._book_coaching(await self.view(mu_id, incident))

    async def _post_or_update(self, mu_id: str, event: IncidentEvent) -> None:
        incident = event.incident
        if incident.storm_id:
            await self.store.add_pending_storm(mu_id, incident.storm_id)
            return
        ref = await self.store.card_ref(mu_id, incident.id)
        view = self._view(mu_id, incident, ref)
        if ref is None:
            ref = await self.chat.post_incident_card(view)
            await self.store.save_card_ref(mu_id, incident.id, ref)
        else:
            await self.chat.update_incident_card(ref, view, event)

    async def _update_card(self, mu_id: str, event: IncidentEvent) -> None:
        incident = event.incident
        if incident.storm_id:
            await self.store.add_pending_storm(mu_id, incident.storm_id)
            await self._storm_line(mu_id, event)
            return
        ref = await self.store.card_ref(mu_id, incident.id)
        if ref is not None:  # no card yet (chat tier not reached): nothing to update
            await self.chat.update_incident_card(ref, self._view(mu_id, incident, ref), event)

    async def _storm_view(self, mu_id: str, storm_id: str) -> StormView | None:
        """The storm's members, open and closed, as the grouped card and email show them."""
        tracks = await self.store.load_tracks(mu_id)
        members = [t.incident for t in tracks.values() if t.incident is not None and t.incident.storm_id == storm_id]
        members += await self.store.closed_in_storm(mu_id, storm_id, exclude={m.id for m in members})
        if not members:
            return None
        roster = self.rosters(mu_id)
        first = members[0]
        team = roster.teams.get(first.team_id) if roster else None
        ref = await self.store.card_ref(mu_id, f"storm:{storm_id}")
        now = self.clock.now()
        views = [replace(incident_view(m, roster, now, ref), state_lost_at=self._lost_at(m))
                 for m in sorted(members, key=lambda m: m.started_at)]
        return StormView(
            storm_id=storm_id, mu_id=mu_id, mu_name=roster.mu.name if roster else mu_id,
            team_id=first.team_id, team_name=team.name if team else first.team_id, incidents=views,
            supervisors=roster.supervisors_of(first.agent_id) if roster else [], now=now,
            closed=all(m.is_closed for m in members),
            team_channel=team.slack_channel if team else None,
        )

    async def _storm_card(self, mu_id: str, storm_id: str) -> None:
        key = f"storm:{storm_id}"
        storm = await self._storm_view(mu_id, storm_id)
        if storm is None:
            return
        ref = await self.store.card_ref(mu_id, key)
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
        ref = await self.store.card_ref(mu_id, f"storm:{incident.storm_id}" if incident.storm_id else incident.id)
        return self._view(mu_id, incident, ref)

    def _view(self, mu_id: str, incident: Incident, ref: MessageRef | None) -> IncidentView:
        view = incident_view(incident, self.rosters(mu_id), self.clock.now(), ref)
        return replace(view, state_lost_at=self._lost_at(incident))

    def _lost_at(self, incident: Incident) -> datetime | None:
        """When Redis lost its state, for an incident open then (or opening right after, from the live
        states): its earlier card may no longer be found, so the new one says it may repeat it."""
        lost = self.state_lost_at
        return lost if lost is not None and incident.started_at <= lost + self.lost_window else None


def incident_view(incident: Incident, roster: Roster | None, now: datetime, ref: MessageRef | None) -> IncidentView:
    agent = roster.agents.get(incident.agent_id) if roster else None
    team = roster.teams.get(incident.team_id) if roster else None
    person = Person(agent.id, agent.name, agent.email) if agent else None
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
        agent=person,
    )
