"""The surplus desk: measure, offer, start, decline, finish and recall, for one unit at a time.

``evaluate`` runs on the monitor's schedule (each replica for the units it owns); ``start`` and
``decline`` are the agent's clicks, on any replica. The seat count of an interval is the only
thing two replicas race on, and the store takes a seat atomically (first to accept wins).
"""

from __future__ import annotations

import asyncio
import logging
import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from services.booking.config import SelfPacedItem
from services.booking.ports import ActivityWriter, OfflineActivity
from services.config import SurplusConfig, SurplusUnitConfig
from services.domain.model import AgentSchedule, AgentState, Roster
from services.domain.states import ActivityCategory, RoutingStatus, normalize_category
from services.domain.surplus import (
    INTERVAL,
    Candidate,
    SurplusFigures,
    eligible,
    in_quiet_hours,
    interval_start,
    project,
    recall_plan,
)
from services.domain.surplus_signals import refine
from services.ports import Clock, WorkforceSource
from services.surplus.ports import Offer, SurplusNotifier, SurplusStore, Trainee
from services.surplus.requirement import RequirementSource
from services.surplus.signals import FloorSignals

log = logging.getLogger(__name__)
ON_QUEUE = (RoutingStatus.IDLE, RoutingStatus.INTERACTING, RoutingStatus.COMMUNICATING)


@dataclass(frozen=True, slots=True)
class SurplusReport:
    mu_id: str
    figures: SurplusFigures | None
    offered: tuple[Offer, ...] = ()
    recalled: tuple[str, ...] = ()
    finished: tuple[str, ...] = ()
    note: str = ""


@dataclass(frozen=True, slots=True)
class Decision:
    """What a click did: ``started``, ``declined``, ``full``, ``expired``, or the earlier decision."""

    outcome: str
    offer: Offer | None
    repeated: bool = False
    by: str = ""
    at: str = ""
    ends: datetime | None = None


@dataclass(frozen=True, slots=True)
class SurplusStatus:
    """One unit for ``/adherence surplus``: the latest figures, trainees, and the audit trail."""

    mu_id: str
    mu_name: str
    figures: Mapping[str, str]
    trainees: Sequence[Trainee]
    history: Sequence[Mapping[str, str]]


@dataclass
class SurplusDesk:
    source: WorkforceSource
    requirement: RequirementSource
    store: SurplusStore
    writer: ActivityWriter
    notifier: SurplusNotifier
    config: SurplusConfig
    items: dict[str, SelfPacedItem]
    clock: Clock
    signals: FloorSignals | None = None  # Genesys intraday figures and waiting contacts (None: not read)
    _roster: dict[str, Roster] = field(default_factory=dict)
    _locks: dict[str, asyncio.Lock] = field(default_factory=dict)

    # --- measure, offer, recall ---------------------------------------------------------------------

    async def evaluate(self, mu_id: str) -> SurplusReport:
        # One evaluation of a unit at a time in this replica: the minute's and one the watch started
        # would otherwise read the same trainees and recall (and DM) the same agents twice.
        async with self._lock(mu_id):
            return await self._evaluate(mu_id)

    async def _evaluate(self, mu_id: str) -> SurplusReport:
        policy = self.config.for_unit(mu_id)
        if not policy.enabled:
            return SurplusReport(mu_id, None, note="surplus is off for this unit")
        now = self.clock.now()
        interval = interval_start(now)
        roster = await self._roster_of(mu_id)
        trainees = await self.store.trainees(mu_id)
        finished = await self._finish(mu_id, trainees, now)
        active = {a: t for a, t in trainees.items() if a not in finished and t.recalled_at is None}
        states = await self.source.live_states(mu_id)
        away = _away(trainees, set(finished), states)
        on_queue = {a for a, s in states.items() if s.routing in ON_QUEUE and a not in away}
        intervals = self._intervals(policy, now)
        required = await self.requirement.required(mu_id, interval, intervals)
        schedules = await self.source.schedules(mu_id, now, max(now + timedelta(hours=1),
                                                                interval + intervals * INTERVAL))
        off_queue = [a for a in roster.agents if a not in on_queue and a not in away and a in schedules]
        back_soon = len(away) - len(active)
        projected = tuple(p + back_soon for p in project(now, intervals, on_queue, off_queue,
                                                         lambda a, when: _on_queue_at(schedules.get(a), when)))
        waiting, vetoed, why = 0, tuple[int, ...](), tuple[str, ...]()
        if self.signals is not None:  # docs/surplus.md "Intraday and waiting contacts"
            reading = await self.signals.read(mu_id, interval, intervals)
            refined = refine(required, reading, max_occupancy=self.config.max_occupancy,
                             min_service_level=self.config.min_service_level)
            required, vetoed, why = refined.required, refined.vetoed, refined.why + reading.notes
            waiting = reading.waiting or 0
        figures = SurplusFigures(now, len(on_queue), len(active), required, policy.margin or 0.0,
                                 waiting=waiting, projected=projected, vetoed=vetoed, why=why)
        await self.store.save_figures(mu_id, _figure_fields(figures))
        # Each item's seats hold over the intervals it spans from now (the look-ahead at least).
        item_seats = {i: figures.seats_over(self._span(policy, item, now)) for i, item in self._items_for(policy)}
        await self.store.set_seats(mu_id, interval, figures.seats)
        for item_id, seats in item_seats.items():
            await self.store.set_seats(mu_id, interval, seats, item_id)
        if figures.shortfall:
            chosen = recall_plan({a: t.end for a, t in active.items()}, now, interval + INTERVAL,
                                 figures.short(0), figures.short(1))
            recalled = await self._recall(mu_id, active, chosen, now) if chosen else []
            return SurplusReport(mu_id, figures, recalled=tuple(recalled), finished=tuple(finished))
        tz_minute = _local_minute(now, roster)
        if max(item_seats.values(), default=0) <= figures.in_training:
            return SurplusReport(mu_id, figures, finished=tuple(finished), note="no surplus")
        if in_quiet_hours(tz_minute, _windows(policy.quiet_hours or [])):
            return SurplusReport(mu_id, figures, finished=tuple(finished), note="quiet hours: no offers")
        offers = await self._offer(mu_id, policy, roster, figures, item_seats, on_queue, states, trainees,
                                   schedules, now)
        return SurplusReport(mu_id, figures, offered=tuple(offers), finished=tuple(finished))

    async def watch(self, mu_id: str) -> SurplusReport | None:
        """Between evaluations, a cheap look at the live states: when fewer agents are on queue than this
        interval requires while trainees are out (a sudden loss: an outage, a team pulled off the
        floor), evaluate now, so the recall goes at once rather than at the next evaluation. None when
        nothing needs it (no trainee out, or enough on queue). The trigger reads the requirement
        without the Genesys intraday refinement (no API call); the evaluation it starts reads them all."""
        if not self.config.for_unit(mu_id).enabled or self._lock(mu_id).locked():
            return None  # off, or an evaluation is running now anyway
        now = self.clock.now()
        trainees = await self.store.trainees(mu_id)
        ended = {a for a, t in trainees.items() if t.end <= now}
        if not any(a not in ended and t.recalled_at is None for a, t in trainees.items()):
            return None
        states = await self.source.live_states(mu_id)
        away = _away(trainees, ended, states)
        active = sum(1 for a, t in trainees.items() if a not in ended and t.recalled_at is None)
        on_queue = sum(1 for a, s in states.items() if s.routing in ON_QUEUE and a not in away)
        required = (await self.requirement.required(mu_id, interval_start(now), 1))[0]
        if on_queue + len(away) - active >= required - 1e-9:
            return None
        log.info("surplus %s: %d on queue for %.0f required between evaluations; evaluating now",
                 mu_id, on_queue, required)
        await self.store.log(mu_id, {"event": "sudden_loss", "on_queue": str(on_queue), "back_soon":
                                     str(len(away) - active), "required": f"{required:.1f}", "at": now.isoformat()})
        return await self.evaluate(mu_id)

    async def _offer(self, mu_id: str, policy: SurplusUnitConfig, roster: Roster, figures: SurplusFigures,
                     item_seats: Mapping[str, int], on_queue: set[str], states: Mapping[str, AgentState],
                     trainees: dict[str, Trainee],
                     schedules: Mapping[str, AgentSchedule], now: datetime) -> list[Offer]:
        last = await self.store.last_offers(mu_id)
        outstanding = 0
        for o in last.values():
            if o.expires > now and await self.store.decision(mu_id, o.offer_id) is None:
                outstanding += 1
        if max(item_seats.values(), default=0) - figures.in_training - outstanding <= 0:
            return []
        idle = [a for a in on_queue if _idle(states, a)]
        team_size: dict[str, int] = {}
        for agent in roster.agents.values():
            team_size[agent.team_id] = team_size.get(agent.team_id, 0) + 1
        in_training: dict[str, int] = {}
        for agent_id in trainees:
            team = roster.agents[agent_id].team_id if agent_id in roster.agents else ""
            in_training[team] = in_training.get(team, 0) + 1
        delivered = {(a, t.item_id) for a, t in trainees.items()} | {
            (o.agent_id, o.item_id) for o in last.values()}
        offers: list[Offer] = []
        for item_id, item in self._items_for(policy):
            free = item_seats.get(item_id, 0) - figures.in_training
            budget = free - outstanding - len(offers)  # seats for this item, less offers still open
            if budget <= 0:
                continue
            audience = frozenset(item.audience) or None
            candidates = [Candidate(a, roster.agents[a].team_id, _shift_end(schedules.get(a)),
                                    last[a].at if a in last else None)
                          for a in idle if a in roster.agents and (a, item_id) not in delivered
                          and a not in {o.agent_id for o in offers}]
            chosen = eligible(candidates, now, last_hour=self.config.last_hour + item.length,
                              cooldown=self.config.offer_cooldown, audience=audience, team_size=team_size,
                              team_in_training=in_training, max_share=policy.max_team_share or 0.0)
            for candidate in chosen[:budget]:
                in_training[candidate.team_id] = in_training.get(candidate.team_id, 0) + 1
                offer = Offer(uuid.uuid4().hex[:12], mu_id, candidate.agent_id, item_id, item.name,
                              int(item.length.total_seconds() // 60), now, now + self.config.offer_expires,
                              why=(f"{figures.available} on queue + {figures.in_training} in training vs "
                                   f"required {', '.join(f'{r:.1f}' for r in figures.required)}: "
                                   f"{free} seat(s) free over the {self._span(policy, item, now)} "
                                   f"interval(s) it spans"))
                await self.store.save_offer(mu_id, offer)
                await self.store.log(mu_id, {"event": "offered", "agent": offer.agent_id, "item": item_id,
                                             "offer": offer.offer_id, "why": offer.why, "at": now.isoformat()})
                await self.notifier.offer(offer)
                offers.append(offer)
        return offers

    async def _recall(self, mu_id: str, active: dict[str, Trainee], chosen: list[str], now: datetime) -> list[str]:
        back_by = now + self.config.recall_grace
        for agent_id in chosen:
            trainee = active[agent_id]
            await self.writer.cancel_activity(trainee.activity_key)
            if back_by < trainee.end:
                await self.writer.write_activity(self._activity(mu_id, trainee, f"{trainee.activity_key}#r",
                                                                trainee.start, back_by))
            await self.store.update_trainee(mu_id, replace(trainee, end=min(back_by, trainee.end), recalled_at=now))
            await self.store.log(mu_id, {"event": "recalled", "agent": agent_id, "item": trainee.item_id,
                                         "left": str(int((trainee.end - now).total_seconds() // 60)) + " min",
                                         "at": now.isoformat()})
            await self.notifier.recall(mu_id, trainee, back_by)
        log.info("surplus %s: recalled %d agent(s) to queue (%s)", mu_id, len(chosen), ", ".join(chosen))
        return chosen

    async def _finish(self, mu_id: str, trainees: dict[str, Trainee], now: datetime) -> list[str]:
        done = [a for a, t in trainees.items() if t.end <= now]
        for agent_id in done:
            await self.store.release(mu_id, agent_id)
            await self.store.log(mu_id, {"event": "finished", "agent": agent_id, "item": trainees[agent_id].item_id,
                                         "minutes": str(int((trainees[agent_id].end - trainees[agent_id].start)
                                                            .total_seconds() // 60)), "at": now.isoformat()})
        return done

    # --- the agent's clicks -------------------------------------------------------------------------

    async def start(self, mu_id: str, offer_id: str, by: str) -> Decision:
        now = self.clock.now()
        offer = await self.store.offer(mu_id, offer_id)
        if offer is None:
            return Decision("expired", None)
        if now >= offer.expires:
            return Decision("expired", offer)
        first = await self.store.decide(mu_id, offer_id, {"outcome": "started", "by": by, "at": now.isoformat()})
        if first is not None:
            return Decision(first.get("outcome", ""), offer, True, first.get("by", ""), first.get("at", ""))
        trainee = Trainee(offer.agent_id, offer_id, offer.item_id, offer.item_name, f"surplus:{offer_id}", now,
                          now + timedelta(minutes=offer.minutes))
        taken = await self.store.take_seat(mu_id, interval_start(now), trainee, offer.item_id)
        if taken == "full":
            await self.store.decide(mu_id, offer_id + ":full", {"outcome": "full", "at": now.isoformat()})
            await self.store.log(mu_id, {"event": "seat_gone", "agent": offer.agent_id, "offer": offer_id,
                                         "at": now.isoformat()})
            return Decision("full", offer)
        try:
            await self.writer.write_activity(self._activity(mu_id, trainee, trainee.activity_key, trainee.start,
                                                            trainee.end))
        except Exception:
            await self.store.release(mu_id, offer.agent_id)  # the seat goes back: nothing was written
            raise
        await self.store.log(mu_id, {"event": "started", "agent": offer.agent_id, "item": offer.item_id,
                                     "offer": offer_id, "until": trainee.end.isoformat(), "at": now.isoformat()})
        return Decision("started", offer, ends=trainee.end)

    async def decline(self, mu_id: str, offer_id: str, by: str) -> Decision:
        now = self.clock.now()
        offer = await self.store.offer(mu_id, offer_id)
        if offer is None:
            return Decision("expired", None)
        first = await self.store.decide(mu_id, offer_id, {"outcome": "declined", "by": by, "at": now.isoformat()})
        if first is not None:
            return Decision(first.get("outcome", ""), offer, True, first.get("by", ""), first.get("at", ""))
        await self.store.log(mu_id, {"event": "declined", "agent": offer.agent_id, "item": offer.item_id,
                                     "offer": offer_id, "at": now.isoformat()})
        return Decision("declined", offer)

    # --- what people read ----------------------------------------------------------------------------

    async def status(self) -> list[SurplusStatus]:
        """Every unit with surplus on: live figures, who is in training, offers and decisions (and why)."""
        out: list[SurplusStatus] = []
        for unit in await self.source.management_units():
            if not self.config.for_unit(unit.id).enabled:
                continue
            trainees = await self.store.trainees(unit.id)
            out.append(SurplusStatus(unit.id, unit.name, await self.store.figures(unit.id),
                                     sorted(trainees.values(), key=lambda t: t.end),
                                     await self.store.history(unit.id, 40)))
        return out

    async def in_training(self) -> list[Trainee]:
        """Everyone in training the bot delivered, now (the supervisors' App Home)."""
        now = self.clock.now()
        out: list[Trainee] = []
        for unit in await self.source.management_units():
            if self.config.for_unit(unit.id).enabled:
                out += [t for t in (await self.store.trainees(unit.id)).values() if t.end > now]
        return sorted(out, key=lambda t: t.end)

    # --- helpers ------------------------------------------------------------------------------------

    def _activity(self, mu_id: str, trainee: Trainee, key: str, start: datetime, end: datetime) -> OfflineActivity:
        item = self.items.get(trainee.item_id)
        category = normalize_category(item.category) if item else None
        return OfflineActivity(key, mu_id, trainee.item_name, category or ActivityCategory.TRAINING,
                               trainee.item_id, start, end, (trainee.agent_id,), None)

    def _intervals(self, policy: SurplusUnitConfig, now: datetime) -> int:
        """The intervals measured: the look-ahead, and every interval the longest item would span."""
        return max([1 + (policy.look_ahead or 0)] + [self._span(policy, item, now) for _, item in
                                                     self._items_for(policy)])

    @staticmethod
    def _span(policy: SurplusUnitConfig, item: SelfPacedItem, now: datetime) -> int:
        """This interval and the look-ahead, and at least every interval ``item`` started now touches:
        a surplus must hold for as long as the training takes the agent off queue."""
        touched = math.ceil((now - interval_start(now) + item.length) / INTERVAL - 1e-9)
        return max(1 + (policy.look_ahead or 0), touched)

    def _items_for(self, policy: SurplusUnitConfig) -> list[tuple[str, SelfPacedItem]]:
        allowed = policy.activity_types
        return [(i, item) for i, item in self.items.items() if not allowed or i in allowed]

    def _lock(self, mu_id: str) -> asyncio.Lock:
        return self._locks.setdefault(mu_id, asyncio.Lock())

    async def _roster_of(self, mu_id: str) -> Roster:
        roster = self._roster.get(mu_id)
        if roster is None:
            roster = self._roster[mu_id] = await self.source.roster(mu_id)
        return roster


def _away(trainees: Mapping[str, Trainee], ended: set[str], states: Mapping[str, AgentState]) -> set[str]:
    """The trainees not counted by their live state: those in training, and those recalled and not back
    yet (due within the grace: they count as staff, so one shortfall is not recalled twice). Trainees
    whose activity ended and recalled ones already back count by their live state."""
    return {a for a, t in trainees.items() if a not in ended and (
        t.recalled_at is None or not (a in states and states[a].routing in ON_QUEUE))}


def _idle(states: Mapping[str, AgentState], agent_id: str) -> bool:
    state = states.get(agent_id)
    return state is not None and state.routing is RoutingStatus.IDLE


def _on_queue_at(schedule: AgentSchedule | None, when: datetime) -> bool:
    activity = schedule.activity_at(when) if schedule else None
    return activity is not None and activity.category is ActivityCategory.ON_QUEUE_WORK


def _shift_end(schedule: AgentSchedule | None) -> datetime | None:
    if schedule is None or not schedule.activities:
        return None
    return max(a.end for a in schedule.activities)


def _local_minute(now: datetime, roster: Roster) -> int:
    local = now.astimezone(ZoneInfo(roster.mu.time_zone or "UTC"))
    return local.hour * 60 + local.minute


def _windows(texts: Sequence[str]) -> list[tuple[int, int]]:
    out = []
    for text in texts:
        start, end = text.split("-")
        out.append((int(start[:2]) * 60 + int(start[3:]), int(end[:2]) * 60 + int(end[3:])))
    return out


def _figure_fields(figures: SurplusFigures) -> dict[str, str]:
    return {"at": figures.at.isoformat(), "available": str(figures.available),
            "in_training": str(figures.in_training), "required": ",".join(f"{r:.1f}" for r in figures.required),
            "margin": str(figures.margin), "seats": str(figures.seats), "free": str(figures.free_seats),
            "shortfall": str(figures.shortfall), "waiting": str(figures.waiting),
            "signals": "; ".join(figures.why)}
