"""One follower for every WFM asynchronous operation (``async_job.py``), against the fake Genesys: the
result inline, behind a downloadUrl, after polling a job, by notification, and the failures. Every
wait goes through the injected sleep, which records it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from services.adapters.genesys.async_job import AsyncResults, JobWait, follow, job_result
from services.adapters.genesys.backoff import Backoff
from services.adapters.genesys.client import GenesysClient
from services.adapters.genesys.errors import GenesysAsyncPending, GenesysJobFailed, GenesysMalformed
from services.adapters.genesys.explanations import Explanations
from services.adapters.genesys.parse import format_time
from services.adapters.genesys.schedules import ScheduleSearch
from testing.fake_genesys import FakeGenesys
from tests.genesys.conftest import START, Sleeps, make_client

WFM = "/api/v2/workforcemanagement"
SEARCH = f"{WFM}/managementunits/mu-a/agentschedules/search"
JOBS = "/adherence/explanations/jobs/"
WINDOW = (START - timedelta(hours=12), START + timedelta(hours=24))
REQUEST = {"startDate": format_time(WINDOW[0]), "endDate": format_time(WINDOW[1]), "userIds": ["agent-a1-1"]}
STEADY = Backoff(base=2.0, cap=2.0, rng=lambda: 1.0)  # every wait 2 s, so the recorded waits are exact


@pytest.fixture
async def client(fake: FakeGenesys) -> AsyncIterator[GenesysClient]:
    client = make_client(fake)
    try:
        yield client
    finally:
        await client.aclose()


async def search_once(client: GenesysClient) -> Any:
    return await client.post(SEARCH, REQUEST, idempotent=True)


async def follow_search(client: GenesysClient, sleeps: Sleeps, *, answers: int = 3,
                        notices: AsyncResults | None = None) -> dict[str, Any]:
    done = await follow(await search_once(client), lambda _: search_once(client), what="schedule search",
                        wait=JobWait(answers, STEADY, sleeps), notices=notices)
    return await job_result(client, done, "schedule search")


async def test_a_result_inline_is_taken_as_it_is(fake: FakeGenesys, client: GenesysClient) -> None:
    sleeps = Sleeps()
    result = await follow_search(client, sleeps)
    assert [s["user"]["id"] for s in result["agentSchedules"]] == ["agent-a1-1"]
    assert len(fake.requests_to(SEARCH)) == 1 and fake.requests_to("/downloads/") == []
    assert sleeps.calls == []


async def test_a_download_url_is_fetched_without_the_bearer_token(fake: FakeGenesys, client: GenesysClient) -> None:
    fake.schedule_mode = "download"
    result = await follow_search(client, Sleeps())
    assert [s["user"]["id"] for s in result["agentSchedules"]] == ["agent-a1-1"]
    downloads = fake.requests_to("/downloads/")
    assert len(downloads) == 1 and downloads[0].authorization is None  # pre-signed: a second auth is refused


async def test_processing_is_asked_again_after_a_backoff(fake: FakeGenesys, client: GenesysClient) -> None:
    fake.schedule_mode, fake.processing_rounds = "processing", 2
    sleeps = Sleeps()
    result = await follow_search(client, sleeps, answers=3)
    assert result["agentSchedules"]
    assert len(fake.requests_to(SEARCH)) == 3  # Processing, Processing, Complete
    assert sleeps.calls == [2.0, 2.0]


async def test_a_job_is_polled_then_its_download_read(fake: FakeGenesys, client: GenesysClient) -> None:
    fake.explanation_mode = "job"
    await fake.add_explanation("agent-a1-1", START - timedelta(minutes=5), 10, push=False)
    sleeps = Sleeps()
    found = await Explanations(client, sleep=sleeps, backoff=STEADY).query("bu-1", "mu-a", *WINDOW)
    assert [(e.agent_id, e.status) for e in found] == [("agent-a1-1", "Approved")]
    assert len(fake.requests_to(JOBS)) == 1 and len(fake.requests_to("/downloads/")) == 1
    assert sleeps.calls == [2.0]


async def test_a_notification_that_came_first_ends_the_wait_at_once(fake: FakeGenesys,
                                                                    client: GenesysClient) -> None:
    fake.schedule_mode = "download"
    url = (await search_once(client))["downloadUrl"]  # a real pre-signed file, for the notification to name
    fake.schedule_mode, fake.processing_rounds = "processing", 100
    notices, sleeps = AsyncResults(), Sleeps()
    first = await search_once(client)
    notices.resolve({"operationId": first["operationId"], "downloadUrl": url})  # before anyone waits for it
    done = await follow(first, lambda _: search_once(client), what="schedule search",
                        wait=JobWait(3, STEADY, sleeps), notices=notices)
    assert (await job_result(client, done, "schedule search"))["agentSchedules"]
    assert sleeps.calls == []  # nothing waited for
    assert len(fake.requests_to(SEARCH)) == 2  # the search for the URL and the one that was Processing


@pytest.mark.parametrize("status", ["Error", "Canceled"])
async def test_a_failed_search_is_a_typed_error(fake: FakeGenesys, client: GenesysClient, status: str) -> None:
    fake.fail(SEARCH, 200, body={"status": status, "operationId": "op-1", "result": None, "downloadUrl": None})
    with pytest.raises(GenesysJobFailed, match=f"schedule search of mu-a ended with status {status}"):
        await ScheduleSearch(client, sleep=Sleeps()).search("mu-a", ["agent-a1-1"], *WINDOW)


async def test_a_failed_job_is_a_typed_error_naming_the_job(fake: FakeGenesys, client: GenesysClient) -> None:
    fake.explanation_mode = "job"
    fake.fail(JOBS, 200, body={"id": "job-7", "status": "Error", "error": {"code": "internal"}})
    with pytest.raises(GenesysJobFailed, match="job-7"):
        await Explanations(client, sleep=Sleeps()).query("bu-1", "mu-a", *WINDOW)


async def test_a_job_processing_forever_gives_up_without_a_last_useless_wait(fake: FakeGenesys,
                                                                              client: GenesysClient) -> None:
    fake.explanation_mode = "job"
    fake.fail(JOBS, 200, times=100, body={"id": "job-8", "status": "Processing"})
    sleeps = Sleeps()
    with pytest.raises(GenesysAsyncPending):
        await Explanations(client, sleep=sleeps, backoff=STEADY, max_polls=3).query("bu-1", "mu-a", *WINDOW)
    assert len(fake.requests_to(JOBS)) == 3
    assert sleeps.calls == [2.0, 2.0, 2.0]  # one wait before each poll, none after the last


@pytest.mark.parametrize("body", [{"status": "Queued"}, {"status": "Complete", "result": None, "downloadUrl": None}])
async def test_an_unreadable_answer_is_malformed(fake: FakeGenesys, client: GenesysClient,
                                                 body: dict[str, Any]) -> None:
    fake.fail(SEARCH, 200, body=body)
    with pytest.raises(GenesysMalformed):
        await ScheduleSearch(client, sleep=Sleeps()).search("mu-a", ["agent-a1-1"], *WINDOW)
