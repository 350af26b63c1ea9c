"""Training-in-surplus seats on a real Redis Cluster: the seat script touches the interval's seat count
and the trainees hash together (one ``{mu}`` slot); concurrent accepts never exceed the seats."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis

from services.adapters.redis.surplus import RedisSurplusStore
from services.surplus import Offer, Trainee

T0 = datetime(2026, 5, 18, 10, 0, tzinfo=UTC)


async def test_concurrent_accepts_take_only_the_seats_there_are(cluster_client: Redis, cluster_prefix: str) -> None:
    one, two = RedisSurplusStore(cluster_client, cluster_prefix), RedisSurplusStore(cluster_client, cluster_prefix)
    await one.set_seats("mu-1", T0, 2)
    trainees = [Trainee(f"a{i}", f"o{i}", "gdpr", "GDPR", f"surplus:o{i}", T0, T0 + timedelta(minutes=45))
                for i in range(6)]
    results = await asyncio.gather(*[(one if i % 2 else two).take_seat("mu-1", T0, t) for i, t in enumerate(trainees)])
    assert sorted(results) == ["full"] * 4 + ["taken"] * 2
    assert len(await one.trainees("mu-1")) == 2
    taken = next(t for t, r in zip(trainees, results, strict=True) if r == "taken")
    assert await two.take_seat("mu-1", T0, taken) == "already"
    # The rest of the unit's state works on the cluster too: offers, decisions, the audit log, figures.
    offer = Offer("o1", "mu-1", "a1", "gdpr", "GDPR", 45, T0, T0 + timedelta(minutes=5), "why")
    await one.save_offer("mu-1", offer)
    assert await two.offer("mu-1", "o1") == offer and (await two.last_offers("mu-1"))["a1"] == offer
    assert await one.decide("mu-1", "o1", {"outcome": "started"}) is None
    assert await two.decide("mu-1", "o1", {"outcome": "declined"}) == {"outcome": "started"}
    await one.log("mu-1", {"event": "started", "agent": "a1"})
    assert (await two.history("mu-1"))[-1]["agent"] == "a1"
