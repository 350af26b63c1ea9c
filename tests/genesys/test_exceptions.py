"""Adherence explanations: approved ones become exception windows; Slack approvals are written back."""

from __future__ import annotations

from datetime import timedelta

from services.adapters.genesys.source import GenesysSource
from services.clock import ManualClock
from testing.fake_genesys import FakeGenesys
from tests.genesys.conftest import START, eventually

QUERY = "/businessunits/bu-1/adherence/explanations/query"
LOOKBACK = timedelta(minutes=15)


async def window(source: GenesysSource, clock: ManualClock) -> list[tuple[str, int]]:
    found = await source.approved_exceptions("mu-a", clock.now() - LOOKBACK, clock.now())
    return sorted((w.agent_id, int((w.end - w.start).total_seconds() // 60)) for w in found)


async def test_only_approved_explanations_of_the_unit_become_windows(fake: FakeGenesys, clock: ManualClock,
                                                                     source: GenesysSource) -> None:
    await fake.add_explanation("agent-a1-1", START - timedelta(minutes=5), 10, notes="traffic", push=False)
    await fake.add_explanation("agent-a1-2", START - timedelta(minutes=5), 10, status="Pending", push=False)
    await fake.add_explanation("agent-a2-1", START - timedelta(minutes=5), 10, status="Denied", push=False)
    await fake.add_explanation("agent-b1-1", START - timedelta(minutes=5), 10, push=False)  # other unit
    await fake.add_explanation("agent-a2-2", START - timedelta(hours=3), 10, push=False)  # long ago
    found = await source.approved_exceptions("mu-a", START - LOOKBACK, START)
    assert [(w.agent_id, w.start, w.end, w.reason, w.approved_by, w.source) for w in found] == [
        ("agent-a1-1", START - timedelta(minutes=5), START + timedelta(minutes=5), "traffic", "sup-1", "wfm")]
    query = fake.requests_to(QUERY)[0]
    assert query.body["managementUnitIds"] == ["mu-a"]


async def test_results_are_cached_briefly_and_updated_by_notifications(fake: FakeGenesys, clock: ManualClock,
                                                                       source: GenesysSource) -> None:
    assert await window(source, clock) == []
    await fake.add_explanation("agent-a1-3", clock.now() - timedelta(minutes=2), 5)  # pushed on the BU topic
    await eventually(lambda: bool(source._explained.get("mu-a")), what="explanation notification")
    assert await window(source, clock) == [("agent-a1-3", 5)]
    assert len(fake.requests_to(QUERY)) == 1  # served from the cache + the pushed update
    clock.advance(timedelta(seconds=61))
    assert await window(source, clock) == [("agent-a1-3", 5)]
    assert len(fake.requests_to(QUERY)) == 2  # the cache expired: asked again


async def test_a_job_answer_is_polled_and_downloaded(fake: FakeGenesys, clock: ManualClock,
                                                     source: GenesysSource) -> None:
    fake.explanation_mode = "job"
    await fake.add_explanation("agent-a2-3", START - timedelta(minutes=1), 20, push=False)
    assert await window(source, clock) == [("agent-a2-3", 20)]
    assert fake.requests_to("/adherence/explanations/jobs/")
    assert fake.requests_to("/downloads/")[0].authorization is None


async def test_genesys_outage_keeps_the_last_known_windows(fake: FakeGenesys, clock: ManualClock,
                                                           source: GenesysSource) -> None:
    await fake.add_explanation("agent-a1-1", START - timedelta(minutes=5), 10, push=False)
    assert await window(source, clock) == [("agent-a1-1", 10)]
    fake.fail(QUERY, 503, times=100)
    clock.advance(timedelta(minutes=2))
    assert await window(source, clock) == [("agent-a1-1", 10)]


async def test_an_approval_from_slack_is_written_back_as_an_approved_explanation(
        fake: FakeGenesys, clock: ManualClock, source: GenesysSource) -> None:
    job = await source.approve_exception("agent-a2-1", START, START + timedelta(minutes=30), "approved in Slack")
    assert job
    [written] = fake.explanations.values()
    assert (written["agent"]["id"], written["status"], written["lengthMinutes"], written["notes"], written["type"]) \
        == ("agent-a2-1", "Approved", 30, "approved in Slack", "Late")
    await eventually(lambda: any(e.agent_id == "agent-a2-1" for e in source._explained.get("mu-a", {}).values()),
                     what="the write-back's notification")
    assert ("agent-a2-1", 30) in await window(source, clock)

