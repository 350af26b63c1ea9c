"""The demo's training in surplus: a quiet period then a peak on the simulator's call curve, simulated
agents who accept a seeded share of the offers, and the summary of what was delivered and what it cost."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from redis.asyncio import Redis

from bot.booking_wiring import BookingStack
from bot.container import build_surplus
from bot.settings import Settings
from services.adapters.simulated import SimulatedContactCenter
from services.adapters.simulated.demand import ShapedDemand, quiet_then_peak
from services.adapters.simulated.responder import SimulatedAnswers
from services.booking.config import SelfPacedItem
from services.config import OrgConfig
from services.ports import Clock
from services.surplus import SurplusDesk, SurplusTally

#: Offered in the demo when the configuration names no ``[booking.self_paced]`` items.
DEMO_ITEMS = {"gdpr": SelfPacedItem(name="GDPR refresher (e-learning)", length=timedelta(minutes=45)),
              "kb": SelfPacedItem(name="Knowledge base tour", length=timedelta(minutes=30))}


@dataclass
class DemoSurplus:
    desk: SurplusDesk
    answers: SimulatedAnswers
    tally: SurplusTally

    @classmethod
    def build(cls, settings: Settings, config: OrgConfig, redis: Redis, sim: SimulatedContactCenter, clock: Clock,
              stack: BookingStack, start: datetime, say: object, prefix: str) -> DemoSurplus:
        surplus = config.surplus if config.surplus.enabled else config.surplus.model_copy(update={"enabled": True})
        booking = config.booking if config.booking.self_paced else config.booking.model_copy(
            update={"self_paced": DEMO_ITEMS})
        config = config.model_copy(update={"surplus": surplus, "booking": booking})
        # Agents of a scripted situation (one agent, or a team's outage) are busy with it: they decline.
        busy = {a for s in sim.scenarios for a in (s.agent_id, *s.agent_ids) if a}
        answers = SimulatedAnswers(accept_share=0.5, seed=config.simulator.seed, busy=busy,
                                   say=say if callable(say) else None)
        demand = ShapedDemand(stack.data.demand, quiet_then_peak(start))
        desk = build_surplus(settings, config, redis, sim, clock, stack, answers, demand=demand, prefix=prefix)
        answers.desk = desk
        return cls(desk, answers, SurplusTally())

    async def tick(self, units: list[str]) -> None:
        for mu_id in units:
            report = await self.desk.evaluate(mu_id)
            self.tally.record(report, await self.desk.store.trainees(mu_id))

    def summary_line(self, now: datetime) -> str:
        return (f"Training in surplus: {self.tally.minutes(now):.0f} training minutes delivered "
               f"({self.answers.accepted} offers accepted, {self.answers.declined} declined, "
               f"{self.tally.recalls} recalled); intervals below requirement: {len(self.tally.below)}, "
               f"of them because of training: {len(self.tally.caused)}")
