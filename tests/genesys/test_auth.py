"""OAuth client credentials against the fake login host: caching, renewal, 401 retry, shared refresh."""

from __future__ import annotations

import asyncio
import base64
import logging

import pytest

from services.adapters.genesys.client import ClientOptions
from services.adapters.genesys.errors import GenesysAuthError, GenesysUnavailable
from testing.fake_genesys import FakeGenesys
from tests.genesys.conftest import Monotonic, Sleeps, make_client

BUS = "/api/v2/workforcemanagement/businessunits"


async def test_token_is_fetched_once_with_basic_auth_and_reused(fake: FakeGenesys) -> None:
    client = make_client(fake)
    try:
        for _ in range(3):
            await client.get(BUS)
    finally:
        await client.aclose()
    assert fake.token_requests == 1
    token_call = fake.requests_to("/oauth/token")[0]
    expected = base64.b64encode(b"fake-client:fake-secret").decode()
    assert token_call.authorization == f"Basic {expected}"
    api_calls = fake.requests_to(BUS)
    assert {c.authorization for c in api_calls} == {f"Bearer {next(iter(fake.tokens))}"}


async def test_token_is_renewed_shortly_before_it_expires(fake: FakeGenesys) -> None:
    fake.token_lifetime = 600  # margin = min(300, 10%) = 60 s
    monotonic = Monotonic()
    client = make_client(fake, monotonic=monotonic)
    try:
        await client.get(BUS)
        monotonic.value += 530  # 70 s left: still fresh
        await client.get(BUS)
        assert fake.token_requests == 1
        monotonic.value += 15  # 55 s left: inside the margin, renewed before use (no 401 needed)
        await client.get(BUS)
    finally:
        await client.aclose()
    assert fake.token_requests == 2
    assert all(r.status == 200 for r in fake.requests_to(BUS))


async def test_a_401_refreshes_once_and_retries(fake: FakeGenesys) -> None:
    client = make_client(fake)
    try:
        await client.get(BUS)
        fake.expire_tokens()  # Genesys revoked or expired the token early
        body = await client.get(BUS)
    finally:
        await client.aclose()
    assert body["entities"][0]["id"] == "bu-1"
    assert fake.token_requests == 2
    assert [r.status for r in fake.requests_to(BUS)] == [200, 401, 200]


async def test_a_persistent_401_fails_after_exactly_one_refresh(fake: FakeGenesys) -> None:
    client = make_client(fake)
    fake.fail(BUS + "$", 401, times=5)
    try:
        with pytest.raises(GenesysAuthError):
            await client.get(BUS)
    finally:
        await client.aclose()
    assert fake.token_requests == 2  # the initial token + one refresh, not a loop
    assert len(fake.requests_to(BUS)) == 2


async def test_concurrent_callers_share_one_refresh(fake: FakeGenesys) -> None:
    client = make_client(fake, options=ClientOptions(max_concurrency=25))
    try:
        await client.get(BUS)
        fake.expire_tokens()
        results = await asyncio.gather(*(client.get(BUS) for _ in range(20)))
    finally:
        await client.aclose()
    assert all(r["entities"] for r in results)
    assert fake.token_requests == 2  # 20 requests got a 401, one refresh served them all


async def test_concurrent_first_requests_share_one_token_fetch(fake: FakeGenesys) -> None:
    fake.slow("/oauth/token", 0.1)
    client = make_client(fake, options=ClientOptions(max_concurrency=25))
    try:
        await asyncio.gather(*(client.get(BUS) for _ in range(10)))
    finally:
        await client.aclose()
    assert fake.token_requests == 1


async def test_wrong_secret_is_a_clear_auth_error_and_never_logged(fake: FakeGenesys,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client = make_client(fake, secret="wrong-secret-value")
    try:
        with pytest.raises(GenesysAuthError, match="invalid_client"):
            await client.get(BUS)
    finally:
        await client.aclose()
    assert "wrong-secret-value" not in caplog.text
    assert "wrong-secret-value" not in repr(client._auth)


async def test_token_endpoint_outage_is_retried_with_backoff(fake: FakeGenesys) -> None:
    sleeps = Sleeps()
    fake.fail("/oauth/token", 503, times=2)
    client = make_client(fake, sleep=sleeps)
    try:
        await client.get(BUS)
    finally:
        await client.aclose()
    assert [r.status for r in fake.requests_to("/oauth/token")] == [503, 503, 200]
    assert len(sleeps.calls) == 2


async def test_token_endpoint_down_for_good_is_unavailable(fake: FakeGenesys) -> None:
    fake.fail("/oauth/token", 503, times=50)
    client = make_client(fake, options=ClientOptions(max_attempts=3))
    try:
        with pytest.raises(GenesysUnavailable):
            await client.get(BUS)
    finally:
        await client.aclose()
    assert len(fake.requests_to("/oauth/token")) == 3
    assert fake.requests_to(BUS) == []  # never called the API without a token
