"""Training in surplus in Slack, over the fake Slack Web API: the offer DM (Block Kit valid), Start now
and Not now through the real Bolt app (first decision wins, a replay says what happened), the recall
DM, ``/adherence surplus`` and the App Home section."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from redis.asyncio import Redis

from handlers.app import build_app
from handlers.surplus import SlackSurplusNotifier
from presentation.blocks.home import home_view
from presentation.blocks.surplus import (
    SURPLUS_DECLINE,
    SURPLUS_START,
    in_training_blocks,
    offer_message,
    offer_value,
    recall_message,
    surplus_status,
)
from testing.fake_slack import FakeSlack
from tests.slack import signed
from tests.slack.blockkit import assert_valid_blocks, assert_valid_view
from tests.slack.rig import SlackRig
from tests.surplus.rig import build_rig
from tests.surplus.test_surplus_desk import IN_QUIET, PEAK, QUIET


async def test_offers_recalls_and_clicks_over_slack(redis_client: Redis, redis_prefix: str) -> None:
    surplus = build_rig(redis_client, redis_prefix, [QUIET, PEAK], agents_per_team=8)
    roster = await surplus.sim.roster(surplus.mu_id)
    users = {a.email.lower(): f"U{n:08d}" for n, a in enumerate(roster.agents.values())}
    fake = await FakeSlack(users_by_email=users).start()
    try:
        rig = SlackRig(redis_client, redis_prefix, fake)
        notifier = SlackSurplusNotifier(rig.client, surplus.sim)
        desk = replace(surplus.desk(redis_client, redis_prefix), notifier=notifier)
        app = build_app(replace(rig.deps, surplus=desk), signing_secret=signed.SIGNING_SECRET, token=None,
                        client=rig.client)
        surplus.clock.set(surplus.start + IN_QUIET)
        offers = (await desk.evaluate(surplus.mu_id)).offered
        assert len(offers) >= 2
        _assert_offered_by_dm(await fake.wait_for("chat.postMessage", len(offers)), offers, roster, users)

        async def click(action: str, value: str, user: str, hook: str) -> None:
            payload = signed.block_action(action_id=action, value=value, user_id=user,
                                          response_url=fake.response_url(hook), block_id="offer")
            response = await app.async_dispatch(signed.bolt_request(signed.interactive_body(payload)))
            assert response.status == 200

        first, second = offers[0], offers[1]
        await click(SURPLUS_START, offer_value(first), "U1", "1")
        await click(SURPLUS_START, offer_value(first), "U1", "2")  # a double click
        await click(SURPLUS_DECLINE, offer_value(second), "U2", "3")
        replies = await fake.wait_for("webhook", 3)
        texts = [r["text"] for r in replies]  # each click answers on its own task: in any order
        assert sum(t.startswith(f"Enjoy {first.item_name}") for t in texts) == 1
        assert sum(t.startswith("This offer was already started by <@U1>") for t in texts) == 1
        assert texts.count("No problem, maybe another time.") == 1
        assert set(await desk.store.trainees(surplus.mu_id)) == {first.agent_id}

        # /adherence surplus: the figures, the trainee, who was offered what and why, and the decline.
        await rig.app.async_dispatch(signed.bolt_request(signed.command_body(signed.slash_command(
            command="/adherence", text="surplus", user_id="U0SUP0001", response_url=fake.response_url("4")))))
        rig_app_answer = await fake.wait_for("webhook", 4)
        assert rig_app_answer[3]["text"] == "Training in surplus is off."  # an app without the desk says so
        await app.async_dispatch(signed.bolt_request(signed.command_body(signed.slash_command(
            command="/adherence", text="surplus", user_id="U0SUP0001", response_url=fake.response_url("5")))))
        status = (await fake.wait_for("webhook", 5))[4]
        assert_valid_blocks(status["blocks"])
        shown = str(status["blocks"])
        assert "seat(s) free" in shown and f"{first.agent_id}: {first.item_name}" in shown
        assert f"offered {second.item_id} to {second.agent_id}" in shown and f"declined {second.agent_id}" in shown

        # The peak: the trainee is asked back by DM.
        surplus.clock.set(surplus.start + IN_QUIET + timedelta(minutes=1))
        await surplus.short_notice_meeting({first.agent_id}, 1000)
        recalled = (await desk.evaluate(surplus.mu_id)).recalled
        assert recalled == (first.agent_id,)
        recall = (await fake.wait_for("chat.postMessage", len(offers) + 1))[-1]
        assert_valid_blocks(recall.body["blocks"])
        assert recall.body["text"].startswith("Back to queue please")
    finally:
        await fake.stop()


def _assert_offered_by_dm(posts, offers, roster, users: dict[str, str]) -> None:
    """One DM per offer, to the agent, with Start and Decline buttons, naming the item and its length."""
    for post, offer in zip(posts, offers, strict=True):
        agent = roster.agents[offer.agent_id]
        assert post.body["channel"] == "D" + users[agent.email.lower()]
        blocks = post.body["blocks"]
        assert_valid_blocks(blocks)
        buttons = blocks[-1]["elements"]
        assert [b["action_id"] for b in buttons] == [SURPLUS_START, SURPLUS_DECLINE]
        assert offer.item_name in post.body["text"] and f"{offer.minutes} min" in post.body["text"]


async def test_every_surplus_message_passes_block_kit_validation(redis_client: Redis, redis_prefix: str) -> None:
    surplus = build_rig(redis_client, redis_prefix, [QUIET], agents_per_team=8)
    desk = surplus.desk(redis_client, redis_prefix)
    surplus.clock.set(surplus.start + IN_QUIET)
    offers = (await desk.evaluate(surplus.mu_id)).offered
    assert offers
    await desk.start(surplus.mu_id, offers[0].offer_id, "U1")
    assert_valid_blocks(offer_message(offers[0]).blocks)
    trainees = await desk.in_training()
    assert trainees and trainees[0].agent_id == offers[0].agent_id
    assert_valid_blocks(recall_message(trainees[0], surplus.clock.now()).blocks)
    assert_valid_blocks(surplus_status(await desk.status()).blocks)
    assert_valid_blocks(surplus_status([]).blocks)
    assert_valid_view(home_view([], [], in_training_blocks(trainees, surplus.clock.now())))
    assert_valid_view(home_view([], [], in_training_blocks([], surplus.clock.now())))
