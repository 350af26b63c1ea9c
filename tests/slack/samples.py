"""Incidents and views in every state a card can show, built with the real domain functions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.domain.escalation import (
    DEFAULT_POLICY,
    FiredTier,
    Incident,
    IncidentStatus,
    TierAction,
    acknowledge,
    close,
    escalate_now,
)
from services.domain.model import Person
from services.ports import IncidentView, StormView

T0 = datetime(2026, 5, 18, 9, 0, tzinfo=UTC)
SUPERVISOR = Person("sup", "Sam Supervisor", "sam@example.com")
OPS = Person("ops", "Olga Ops", "olga@example.com")


def incident(agent_id: str = "a1", *, started: datetime = T0, storm_id: str | None = None) -> Incident:
    return Incident(id=f"mu-1.{agent_id}.{int(started.timestamp())}", mu_id="mu-1", agent_id=agent_id,
                    team_id="t1", started_at=started, policy=DEFAULT_POLICY, category="OnQueueWork",
                    presence="AWAY", routing="OFF_QUEUE", last_out_at=started, storm_id=storm_id)


def with_card(item: Incident) -> Incident:
    fired = FiredTier(index=0, action=TierAction.CHAT_CARD, at=item.started_at + timedelta(minutes=5))
    return item.model_copy(update={"fired": (fired,)})


def view(item: Incident, now: datetime, *, name: str = "Alex Agent", link: str | None = None) -> IncidentView:
    return IncidentView(incident=item, agent_name=name, team_name="Billing", mu_name="North",
                        supervisors=[SUPERVISOR], ops_managers=[OPS], now=now, card_link=link)


def every_state() -> dict[str, IncidentView]:
    """open (no tier), open (card), acknowledged, escalated, excused, resolved, all tiers fired."""
    base = incident()
    carded = with_card(base)
    acked, _ = acknowledge(carded, "Sam Supervisor", T0 + timedelta(minutes=6))
    escalated, _ = escalate_now(carded, "Sam Supervisor", T0 + timedelta(minutes=7))
    excused, _ = close(carded, IncidentStatus.EXCUSED, T0 + timedelta(minutes=8), by="Sam Supervisor",
                       reason="system_issue: VPN down")
    resolved, _ = close(carded.model_copy(update={"back_in_since": T0 + timedelta(minutes=26)}),
                        IncidentStatus.RESOLVED, T0 + timedelta(minutes=27), reason="back in adherence")
    all_fired = escalated
    for minute in (8,):
        all_fired, _ = escalate_now(all_fired, "Olga Ops", T0 + timedelta(minutes=minute))
    outage, _ = close(carded, IncidentStatus.EXCUSED, T0 + timedelta(minutes=9), by="Olga Ops", reason="outage")
    return {
        "open": view(base, T0 + timedelta(minutes=3)),
        "card": view(carded, T0 + timedelta(minutes=5)),
        "acknowledged": view(acked, T0 + timedelta(minutes=6)),
        "ack_expired": view(acked, T0 + timedelta(minutes=25)),
        "escalated": view(escalated, T0 + timedelta(minutes=7), link="https://test.slack.com/archives/D1/p1"),
        "all_fired": view(all_fired, T0 + timedelta(minutes=10)),
        "excused": view(excused, T0 + timedelta(minutes=8)),
        "outage": view(outage, T0 + timedelta(minutes=9)),
        "resolved": view(resolved, T0 + timedelta(minutes=27)),
    }


def storm(count: int = 4, *, closed_by_outage: bool = False) -> StormView:
    items = []
    for i in range(count):
        item = with_card(incident(f"a{i}", storm_id="storm-1"))
        if closed_by_outage:
            item, _ = close(item, IncidentStatus.EXCUSED, T0 + timedelta(minutes=9), by="Olga Ops", reason="outage")
        items.append(view(item, T0 + timedelta(minutes=9), name=f"Agent <{i}> & co"))
    return StormView(storm_id="storm-1", mu_id="mu-1", mu_name="North", team_id="t1", team_name="Billing",
                     incidents=items, supervisors=[SUPERVISOR], now=T0 + timedelta(minutes=9),
                     closed=closed_by_outage)
