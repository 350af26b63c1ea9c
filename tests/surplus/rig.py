"""The surplus desk on the simulated contact center, a ManualClock and the real Redis."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from redis.asyncio import Redis

from services.adapters.booking.redis_stores import RedisActivityLog
from services.adapters.redis.surplus import RedisSurplusStore
from services.adapters.redis_keys import BookingKeys
from services.adapters.simulated import SimulatedContactCenter, day_start
from services.adapters.simulated.demand import DemandWindow, ShapedDemand
from services.adapters.simulated.overlay import Overlay
from services.adapters.simulated.wfm import SimulatedWfmWriter
from services.booking.config import SelfPacedItem
from services.booking.demand import SyntheticDemand
from services.clock import ManualClock
from services.config import OrgConfig, SimulatorConfig, SurplusConfig
from services.domain.states import ActivityCategory
from services.domain.surplus import INTERVAL, interval_start
from services.surplus import DemandRequirement, Offer, SurplusDesk, Trainee
from services.surplus.desk import ON_QUEUE

DAY = date(2026, 5, 18)
ITEMS = {"gdpr": SelfPacedItem(name="GDPR refresher", length=timedelta(minutes=45)),
         "kb": SelfPacedItem(name="Knowledge base tour", length=timedelta(minutes=30))}


@dataclass
class RecordingNotifier:
    """The agents' DMs, as the desk sends them (the Slack adapter is tested against the fake Slack)."""

    offers: list[Offer] = field(default_factory=list)
    recalls: list[tuple[Trainee, datetime]] = field(default_factory=list)

    async def offer(self, offer: Offer) -> None:
        self.offers.append(offer)

    async def recall(self, mu_id: str, trainee: Trainee, back_by: datetime) -> None:
        self.recalls.append((trainee, back_by))


@dataclass
class Rig:
    sim: SimulatedContactCenter
    clock: ManualClock
    start: datetime
    mu_id: str
    config: OrgConfig
    writer: SimulatedWfmWriter
    notifier: RecordingNotifier
    requirement: DemandRequirement

    async def short_notice_meeting(self, trainees: set[str], count: int) -> list[str]:
        """A supervisor pulls ``count`` agents on queue (not trainees) into a meeting over the next
        interval: the surprise the look-ahead could not see, so service needs trainees back."""
        states = await self.sim.live_states(self.mu_id)
        idle = sorted(a for a, s in states.items() if s.routing in ON_QUEUE and a not in trainees)
        start = interval_start(self.clock.now()) + INTERVAL
        for agent in idle[:count]:
            self.sim.apply_activity(Overlay(f"meeting|{agent}", agent, start, start + 2 * INTERVAL,
                                            ActivityCategory.MEETING))
        return idle[:count]

    def desk(self, redis: Redis, prefix: str) -> SurplusDesk:
        """One replica's desk: its own store on its own connection, the same Redis."""
        return SurplusDesk(source=self.sim, requirement=self.requirement, store=RedisSurplusStore(redis, prefix),
                           writer=self.writer, notifier=self.notifier, config=self.config.surplus,
                           items=dict(ITEMS), clock=self.clock)


def build_rig(redis: Redis, prefix: str, windows: list[tuple[timedelta, timedelta, float]], *,
              agents_per_team: int = 20, margin: float = 1.0, max_team_share: float = 0.5) -> Rig:
    config = OrgConfig(simulator=SimulatorConfig(management_units=1, teams_per_unit=2,
                                                 agents_per_team=agents_per_team),
                       surplus=SurplusConfig(enabled=True, margin=margin, max_team_share=max_team_share))
    start = day_start(config.simulator, DAY)
    clock = ManualClock(start)
    sim = SimulatedContactCenter.build(config.simulator, clock, DAY)
    mu_id = next(iter(sim._world.units))
    shaped = ShapedDemand(SyntheticDemand(), [DemandWindow(start + a, start + b, f) for a, b, f in windows])
    writer = SimulatedWfmWriter(RedisActivityLog(redis, BookingKeys(prefix)), sim)
    return Rig(sim, clock, start, mu_id, config, writer, RecordingNotifier(), DemandRequirement(sim, shaped))
