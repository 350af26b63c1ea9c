"""``python -m bot run`` with ``[surplus] enabled``: the desk is wired, measures the simulator's units,
and ``/adherence surplus`` answers with the live figures."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import aiohttp
from redis.asyncio import Redis

from bot.service import run_service
from bot.settings import Settings
from testing.fake_slack import BOT_TOKEN, FakeSlack
from tests.conftest import TEST_REDIS_URL
from tests.slack.signed import command_body, signed_headers, slash_command
from tests.slack.test_service import _free_port, _wait_for


async def test_the_service_wires_training_in_surplus(fake_slack: FakeSlack, redis_client: Redis,
                                                     tmp_path: Path) -> None:
    config = tmp_path / "bot.toml"
    config.write_text('[surplus]\nenabled = true\n\n[booking.self_paced.gdpr]\nname = "GDPR"\nlength = "30m"\n')
    port, prefix, stop = _free_port(), f"test-svc-{uuid.uuid4().hex[:8]}", asyncio.Event()
    settings = Settings(slack_bot_token=BOT_TOKEN, slack_signing_secret="s" * 32, slack_api_url=fake_slack.api_url,
                        redis_url=TEST_REDIS_URL, redis_prefix=prefix, genesys_client_id=None, smtp_host=None,
                        bot_config=config)
    service = asyncio.create_task(run_service(settings, http=True, port=port, stop=stop))
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as session:
            await _wait_for(f"{base}/health", session, 200)
            for _ in range(200):  # the first surplus run starts with the service; wait for its figures
                if await redis_client.exists(f"{prefix}:{{mu-1}}:surplus:figures"):
                    break
                await asyncio.sleep(0.1)
            body = command_body(slash_command(command="/adherence", text="surplus", user_id="U0SUP0001",
                                              response_url=fake_slack.response_url("s")))
            headers = signed_headers(body, content_type="application/x-www-form-urlencoded", secret="s" * 32)
            async with session.post(f"{base}/slack/events", data=body, headers=headers) as response:
                assert response.status == 200
            [answer] = await fake_slack.wait_for("webhook", 1)
            shown = str(answer["blocks"])
            assert "Training in surplus" in shown and "on queue" in shown and "required" in shown
    finally:
        stop.set()
        assert await asyncio.wait_for(service, 20) == 0
        keys = [k async for k in redis_client.scan_iter(match=f"{prefix}:*")]
        if keys:
            await redis_client.delete(*keys)
