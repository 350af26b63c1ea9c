"""The real monitor wired to a Genesys source the way ``bot/container.py`` does, for end-to-end tests:
changes evaluated on arrival, ticks that also run the source's maintenance and drain the outbox."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from services.adapters.genesys.source import GenesysSource
from services.adapters.redis.store import RedisStore
from services.clock import ManualClock
from services.config import OrgConfig
from services.dispatch import OutboxDispatcher
from services.domain.escalation import IncidentEvent
from services.domain.model import AgentState
from services.monitor import Monitor
from tests.monitor.scripted import Recorder


@dataclass
class Wired:
    source: GenesysSource
    monitor: Monitor
    dispatcher: OutboxDispatcher
    recorder: Recorder
    clock: ManualClock
    tick_every: timedelta
    on_arrival: list[IncidentEvent] = field(default_factory=list)
    ticked: list[IncidentEvent] = field(default_factory=list)

    async def evaluate_on_arrival(self, mu_id: str, state: AgentState) -> None:
        self.on_arrival.extend(await self.monitor.on_state_change(mu_id, state))

    async def tick(self) -> None:
        await self.source.maintain()  # what the background task does: renewals, periodic reconciliation
        self.ticked.extend((await self.monitor.tick()).events)
        await self.dispatcher.drain(list(self.monitor.units))
        self.clock.advance(self.tick_every)

    @property
    def events(self) -> list[IncidentEvent]:
        return self.ticked + self.on_arrival


def wire(source: GenesysSource, store: RedisStore, config: OrgConfig, clock: ManualClock, *, replica_id: str,
         tick_every: timedelta = timedelta(seconds=15)) -> Wired:
    monitor = Monitor(source=source, store=store, config=config, clock=clock, replica_id=replica_id)
    recorder = Recorder(clock)
    dispatcher = OutboxDispatcher(store=store, chat=recorder, email=recorder, coaching=source.coaching(),
                                  rosters=monitor.roster, clock=clock, config=config)
    wired = Wired(source, monitor, dispatcher, recorder, clock, tick_every)
    source.on_state_changed(wired.evaluate_on_arrival)
    return wired
