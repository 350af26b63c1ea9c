"""The HTTP wrapper against the fake: rate limits, outages, timeouts, typed errors, paging, concurrency."""

from __future__ import annotations

import asyncio
import logging

import pytest

from services.adapters.genesys.backoff import Backoff
from services.adapters.genesys.client import ClientOptions
from services.adapters.genesys.errors import (
    GenesysBadRequest,
    GenesysForbidden,
    GenesysNotFound,
    GenesysRateLimited,
    GenesysUnavailable,
    parse_retry_after,
)
from testing.fake_genesys import FakeGenesys
from tests.genesys.conftest import Sleeps, make_client

BUS = "/api/v2/workforcemanagement/businessunits"


async def test_429_waits_exactly_the_retry_after_seconds(fake: FakeGenesys) -> None:
    sleeps = Sleeps()
    fake.fail(BUS + "$", 429, retry_after="7")
    client = make_client(fake, sleep=sleeps)
    try:
        body = await client.get(BUS)
    finally:
        await client.aclose()
    assert body["entities"]
    assert sleeps.calls == [7.0]
    assert [r.status for r in fake.requests_to(BUS)] == [429, 200]


async def test_429_is_retried_even_for_a_post(fake: FakeGenesys) -> None:
    sleeps = Sleeps()
    fake.fail("/api/v2/coaching/appointments", 429, retry_after="2", method="POST")
    client = make_client(fake, sleep=sleeps)
    try:
        await client.post("/api/v2/coaching/appointments", {"name": "x", "description": "d", "lengthInMinutes": 15,
                                                            "dateStart": "2026-05-19T10:00:00Z", "attendeeIds": ["u"]})
    finally:
        await client.aclose()
    assert sleeps.calls == [2.0]
    assert len(fake.appointments) == 1


async def test_429_on_every_attempt_raises_rate_limited_with_retry_after(fake: FakeGenesys) -> None:
    fake.fail(BUS + "$", 429, retry_after="3", times=10)
    client = make_client(fake, options=ClientOptions(max_attempts=3))
    try:
        with pytest.raises(GenesysRateLimited) as caught:
            await client.get(BUS)
    finally:
        await client.aclose()
    assert caught.value.retry_after == 3.0
    assert len(fake.requests_to(BUS)) == 3


async def test_429_asking_for_a_long_wait_is_not_waited_inside_the_call(fake: FakeGenesys) -> None:
    sleeps = Sleeps()
    fake.fail(BUS + "$", 429, retry_after="600")
    client = make_client(fake, sleep=sleeps, options=ClientOptions(max_retry_after=120))
    try:
        with pytest.raises(GenesysRateLimited) as caught:
            await client.get(BUS)
    finally:
        await client.aclose()
    assert caught.value.retry_after == 600.0
    assert sleeps.calls == []


async def test_5xx_backs_off_exponentially_with_jitter_and_gives_up(fake: FakeGenesys) -> None:
    sleeps = Sleeps()
    fake.fail(BUS + "$", 503, times=10)
    options = ClientOptions(max_attempts=4, backoff=Backoff(base=1.0, factor=2.0, cap=30.0))
    client = make_client(fake, sleep=sleeps, options=options)
    try:
        with pytest.raises(GenesysUnavailable) as caught:
            await client.get(BUS)
    finally:
        await client.aclose()
    assert caught.value.status == 503
    assert len(fake.requests_to(BUS)) == 4  # bounded
    assert len(sleeps.calls) == 3
    for attempt, delay in enumerate(sleeps.calls):
        ceiling = 2.0 ** attempt
        assert ceiling / 2 <= delay <= ceiling


async def test_5xx_then_success_recovers(fake: FakeGenesys) -> None:
    fake.fail(BUS + "$", 500, times=2)
    client = make_client(fake)
    try:
        body = await client.get(BUS)
    finally:
        await client.aclose()
    assert body["entities"][0]["id"] == "bu-1"
    assert [r.status for r in fake.requests_to(BUS)] == [500, 500, 200]


async def test_5xx_on_a_non_idempotent_post_is_not_blindly_repeated(fake: FakeGenesys) -> None:
    fake.fail("/api/v2/coaching/appointments", 500, method="POST")
    client = make_client(fake)
    try:
        with pytest.raises(GenesysUnavailable):
            await client.post("/api/v2/coaching/appointments", {"name": "x"})
    finally:
        await client.aclose()
    assert len(fake.requests_to("/api/v2/coaching/appointments", "POST")) == 1


async def test_slow_responses_time_out_and_are_retried(fake: FakeGenesys) -> None:
    fake.slow(BUS + "$", 1.0, times=1)
    client = make_client(fake, options=ClientOptions(timeout=0.2))
    try:
        body = await client.get(BUS)
    finally:
        await client.aclose()
    assert body["entities"]
    assert len(fake.requests_to(BUS)) == 2


async def test_error_logs_carry_the_genesys_context_id(fake: FakeGenesys, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    client = make_client(fake)
    try:
        with pytest.raises(GenesysNotFound) as caught:
            await client.get(f"{BUS}/no-such-bu")
    finally:
        await client.aclose()
    context_id = caught.value.context_id
    assert context_id
    assert f"contextId={context_id}" in caplog.text
    assert context_id in str(caught.value)


async def test_statuses_are_narrowed_into_typed_errors(fake: FakeGenesys) -> None:
    fake.fail(BUS + "$", 403, body={"status": 403, "code": "missing.permissions", "message": "wfm:agent:view",
                                    "contextId": "ctx-403"})
    fake.fail(BUS + "$", 400)
    client = make_client(fake)
    try:
        with pytest.raises(GenesysForbidden) as forbidden:
            await client.get(BUS)
        with pytest.raises(GenesysBadRequest):
            await client.get(BUS)
    finally:
        await client.aclose()
    assert forbidden.value.code == "missing.permissions"
    assert forbidden.value.context_id == "ctx-403"


async def test_paging_follows_page_count(fake: FakeGenesys) -> None:
    for i in range(7):
        fake.add_user(f"extra-{i}", "mu-a")
    client = make_client(fake)
    try:
        ids = [u["id"] async for u in client.paged("/api/v2/users", page_size=5)]
    finally:
        await client.aclose()
    assert len(ids) == len(fake.users)
    assert len(set(ids)) == len(ids)
    assert [r.query["pageNumber"] for r in fake.requests_to("/api/v2/users$")] == [
        [str(n)] for n in range(1, -(-len(fake.users) // 5) + 1)]


async def test_concurrency_is_bounded_per_client(fake: FakeGenesys) -> None:
    fake.slow(BUS + "$", 0.05, times=30)
    client = make_client(fake, options=ClientOptions(max_concurrency=3))
    try:
        await asyncio.gather(*(client.get(BUS) for _ in range(12)))
    finally:
        await client.aclose()
    assert fake.max_in_flight == 3


async def test_connection_refused_is_unavailable_after_bounded_retries(fake: FakeGenesys) -> None:
    sleeps = Sleeps()
    client = make_client(fake, sleep=sleeps, options=ClientOptions(max_attempts=3))
    await fake.stop()
    try:
        with pytest.raises(GenesysUnavailable):
            await client.get(BUS)
    finally:
        await client.aclose()
    assert len(sleeps.calls) == 2


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 5, 18, 8, 0, tzinfo=UTC)
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after("Mon, 18 May 2026 08:00:30 GMT", now) == 30.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
