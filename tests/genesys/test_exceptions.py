"""Adherence explanations: approved ones become exception windows; Slack approvals are written back."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from services.adapters.genesys.errors import GenesysUnavailable
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


def added(fake: FakeGenesys, agent: str) -> list[str]:
    """The write-back POSTs the fake received (its query route, which shares the prefix, left out)."""
    return [r.method for r in fake.requests_to(f"/agents/{agent}/adherence/explanations$", "POST")]


async def test_an_approval_from_slack_is_written_back_as_an_approved_explanation(
        fake: FakeGenesys, clock: ManualClock, source: GenesysSource) -> None:
    job = await source.approve_exception("agent-a2-1", START, START + timedelta(minutes=30), "approved in Slack",
                                         ref="mu-a.agent-a2-1.1779091200")
    assert job
    [written] = fake.explanations.values()
    assert (written["agent"]["id"], written["status"], written["lengthMinutes"], written["notes"], written["type"]) \
        == ("agent-a2-1", "Approved", 30, "approved in Slack [adherence-bot ref: mu-a.agent-a2-1.1779091200]", "Late")
    # looked for it first, over the window, on the agent's own query route
    [lookup] = fake.requests_to("/agents/agent-a2-1/adherence/explanations/query")
    assert lookup.body == {"startDate": "2026-05-18T07:59:00.000Z", "endDate": "2026-05-18T08:31:00.000Z"}
    assert added(fake, "agent-a2-1") == ["POST"]
    await eventually(lambda: any(e.agent_id == "agent-a2-1" for e in source._explained.get("mu-a", {}).values()),
                     what="the write-back's notification")
    assert ("agent-a2-1", 30) in await window(source, clock)


async def test_a_write_back_whose_answer_is_lost_is_found_on_the_retry_not_written_twice(
        fake: FakeGenesys, source: GenesysSource, caplog: pytest.LogCaptureFixture) -> None:
    fake.lose_response("/agents/agent-a1-1/adherence/explanations$", method="POST")  # stored, then no answer
    caplog.set_level(logging.INFO, logger="services.adapters.genesys.explanations")
    job = await source.approve_exception("agent-a1-1", START, START + timedelta(minutes=10), "approved in Slack",
                                         ref="mu-a.agent-a1-1.1779091200")
    assert job is None  # nothing new was written by the retry
    [written] = fake.explanations.values()
    assert written["notes"].endswith("[adherence-bot ref: mu-a.agent-a1-1.1779091200]")
    assert added(fake, "agent-a1-1") == ["POST"]  # the client did not send it again blindly
    assert len(fake.requests_to("/agents/agent-a1-1/adherence/explanations/query")) == 2  # before, and after
    assert any("already written" in r.getMessage() and r.levelno == logging.INFO for r in caplog.records)


async def test_an_explanation_written_before_is_found_in_a_job_answer_and_only_its_own_reference_counts(
        fake: FakeGenesys, source: GenesysSource) -> None:
    fake.explanation_mode = "job"
    ref = "mu-a.agent-a1-2.1779091200"
    await fake.add_explanation("agent-a1-2", START, 10, notes="Approved in Slack [adherence-bot ref: "
                               f"{ref}0]", push=False)  # another approval: a longer reference with this one's prefix
    assert await source.approve_exception("agent-a1-2", START, START + timedelta(minutes=10), "ok", ref=ref)
    assert len(fake.explanations) == 2 and added(fake, "agent-a1-2") == ["POST"]
    assert fake.requests_to("/adherence/explanations/jobs/")  # the lookup followed the job
    # the bot crashed before the outbox recorded the step: the retry finds it (even denied in WFM since)
    [mine] = [e for e in fake.explanations.values() if e["notes"].endswith(f"{ref}]")]
    mine["status"] = "Denied"
    assert await source.approve_exception("agent-a1-2", START, START + timedelta(minutes=10), "ok", ref=ref) is None
    assert len(fake.explanations) == 2 and added(fake, "agent-a1-2") == ["POST"]


async def test_a_failed_lookup_fails_the_write_back_without_writing(fake: FakeGenesys,
                                                                    source: GenesysSource) -> None:
    fake.fail("/agents/agent-a1-3/adherence/explanations/query", 503, times=100)
    with pytest.raises(GenesysUnavailable):
        await source.approve_exception("agent-a1-3", START, START + timedelta(minutes=10), "ok",
                                       ref="mu-a.agent-a1-3.1779091200")
    assert fake.explanations == {} and added(fake, "agent-a1-3") == []
