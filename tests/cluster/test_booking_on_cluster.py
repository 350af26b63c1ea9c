"""The booking queue on a real Redis Cluster: submit (Lua script), take, search, write back (room script,
transactions) and the idempotent resubmit, all on the ``{booking}`` slot."""

from __future__ import annotations

from datetime import timedelta

from redis.asyncio import Redis

from services.booking.model import Status
from tests.booking.test_booking_service import Rig, request
from tests.booking.workforce_fixture import MONDAY


async def test_a_request_is_queued_once_and_booked_over_the_cluster(cluster_client: Redis,
                                                                   cluster_prefix: str) -> None:
    rig = Rig(cluster_client, cluster_prefix)
    assert await rig.service.submit(request("r1", title="Blue sync"))
    assert not await rig.service.submit(request("r1", title="changed"))  # the same id is queued once
    assert await rig.queue.pending() == 0
    assert await rig.service.process_next("w1")
    assert not await rig.service.process_next("w1")
    assert [(rid, status) for rid, status, _ in rig.notices.seen] == [
        ("r1", Status.QUEUED), ("r1", Status.SEARCHING), ("r1", Status.BOOKED)]
    assert await rig.ledger.status("r1") == Status.BOOKED
    written = await rig.activities.activities("mu1", MONDAY, MONDAY + timedelta(days=7))
    assert len(written) == 1
    busy = await rig.rooms.busy(["big"], MONDAY, MONDAY + timedelta(days=7))
    assert len(busy["big"]) == 1
    assert [invite.uid for invite in rig.invites.sent] == ["r1:0:0@booking"]
