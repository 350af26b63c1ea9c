"""``/adherence neutral``, the App Home section and form, and Cancel: signed payloads through the Bolt app,
the real use case on real Redis (``RedisNeutralWindows``), answers through the fake Slack Web API."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from redis.asyncio import Redis

from handlers.app import build_app
from handlers.deps import HandlerDeps
from presentation.neutral_payloads import NEUTRAL_CANCEL, NEUTRAL_PLAN_MODAL, NEUTRAL_PLAN_OPEN, NeutralRef
from services.adapters.redis.neutral import RedisNeutralWindows
from services.domain.model import ManagementUnit
from services.neutral import NeutralDesk
from testing.fake_slack import FakeSlack
from tests.slack import signed
from tests.slack.blockkit import assert_valid_blocks, assert_valid_view
from tests.slack.rig import MU, OPS_ID, STRANGER_ID, SUPERVISOR_ID, SlackRig

pytestmark = pytest.mark.redis
BERLIN = "Europe/Berlin"  # 2026-05-18 is summer time: UTC+2


class NeutralRig(SlackRig):
    def __init__(self, redis: Redis, prefix: str, fake: FakeSlack) -> None:
        super().__init__(redis, prefix, fake)
        self.source.mu = ManagementUnit(MU, "Scripted unit", BERLIN, ("ops",))
        self.windows = RedisNeutralWindows(redis, prefix)
        ids = iter(f"w{n}" for n in range(1, 100))
        self.desk = NeutralDesk(store=self.windows, rosters=lambda: [u.roster for u in self.monitor.units.values()],
                                directory=self.directory, clock=self.clock, new_id=lambda: next(ids))
        self.deps = HandlerDeps(actions=self.actions, queries=self.queries, clock=self.clock,
                                after_action=self._wake, neutral=self.desk)
        self.app = build_app(self.deps, signing_secret=signed.SIGNING_SECRET, token=None, client=self.client)

    async def home_click(self, action_id: str, value: str, user_id: str) -> None:
        """A button in the App Home tab: the payload has a view container and no response_url."""
        payload = signed.block_action(action_id=action_id, value=value, user_id=user_id, response_url="",
                                      block_id="neutral.x")
        payload.pop("response_url")
        payload.pop("channel")
        payload.pop("message")
        payload["container"] = {"type": "view", "view_id": "V0HOME001"}
        payload["view"] = {"id": "V0HOME001", "type": "home", "blocks": []}
        await self.send(signed.interactive_body(payload))


@pytest.fixture
async def rig(redis_client: Redis, redis_prefix: str, fake_slack: FakeSlack) -> AsyncIterator[NeutralRig]:
    rig = NeutralRig(redis_client, redis_prefix, fake_slack)
    await rig.run_until(0)
    yield rig


async def reply(rig: NeutralRig, fake: FakeSlack, text: str, user: str, hook: str = "1") -> dict[str, Any]:
    before = len(fake.webhook_posts)  # the answer runs after the ack: wait for this one, not an earlier one
    await rig.command(f"neutral {text}".strip(), user, hook=hook)
    post: dict[str, Any] = (await fake.wait_for("webhook", before + 1))[-1]
    assert post["response_type"] == "ephemeral"
    assert_valid_blocks(post["blocks"])
    return post


def blocks_text(post: dict[str, Any]) -> str:
    return json.dumps(post["blocks"], ensure_ascii=False)


async def test_an_ops_manager_plans_a_window_in_the_units_time_zone(rig: NeutralRig, fake_slack: FakeSlack) -> None:
    post = await reply(rig, fake_slack, "Team t1 14:00-15:30 system maintenance", OPS_ID)
    assert "Neutral window planned" in blocks_text(post) and "system maintenance" in blocks_text(post)
    (window,) = await rig.windows.neutral_windows(MU)
    assert (window.team_id, window.reason, window.created_by) == ("t1", "system maintenance", "Olga Ops")
    assert (window.start.astimezone(UTC), window.end.astimezone(UTC)) == (
        datetime(2026, 5, 18, 12, 0, tzinfo=UTC), datetime(2026, 5, 18, 13, 30, tzinfo=UTC))
    assert rig.woken == 1
    # With a date, for the whole unit (matched by its name).
    await reply(rig, fake_slack, "scripted unit 2026-05-19 08:00-09:00 team event", OPS_ID, hook="2")
    unit = next(w for w in await rig.windows.neutral_windows(MU) if w.id == "w2")
    assert unit.team_id is None and unit.start.astimezone(UTC) == datetime(2026, 5, 19, 6, 0, tzinfo=UTC)


@pytest.mark.parametrize(("text", "user", "expected"), [
    ("Nope 14:00-15:30 maintenance", OPS_ID,
     "No team or unit matches “Nope”. Teams and units: Scripted unit (whole unit), Team t1 (Scripted unit)"),
    ("Team t1 15:30-14:00 maintenance", OPS_ID, "ends (2026-05-18 14:00) before it starts (2026-05-18 15:30)"),
    ("Team t1 09:00-10:00 maintenance", OPS_ID, "That window ended already"),  # 10:00 Berlin = 08:00 UTC < 09:00
    ("Team t1 at two maintenance", OPS_ID, "I need a time range like `14:00-15:30`"),
    ("Team t1 14:00-15:30", OPS_ID, "Say why after the time range"),
    ("Team t1 14:00-25:30 maintenance", OPS_ID, "25:30 is not a time of day"),
    ("Team t1 14:00-15:30 maintenance", SUPERVISOR_ID, "Only the ops managers of Scripted unit may plan"),
    ("Team t1 14:00-15:30 maintenance", STRANGER_ID, "Only the ops managers of Scripted unit may plan"),
])
async def test_bad_input_and_strangers_are_answered_clearly_and_nothing_is_saved(
        rig: NeutralRig, fake_slack: FakeSlack, text: str, user: str, expected: str) -> None:
    await rig.command(f"neutral {text}", user)
    post = (await fake_slack.wait_for("webhook"))[-1]
    assert post["response_type"] == "ephemeral"
    if "blocks" in post:
        assert_valid_blocks(post["blocks"])
    assert expected in json.dumps(post, ensure_ascii=False)
    assert await rig.windows.neutral_windows(MU) == []


async def test_cancel_is_idempotent_and_audited(rig: NeutralRig, fake_slack: FakeSlack, redis_client: Redis,
                                                redis_prefix: str) -> None:
    await reply(rig, fake_slack, "Team t1 14:00-15:30 system maintenance", OPS_ID)
    value = NeutralRef(mu_id=MU, window_id="w1").dump()
    await rig.click(NEUTRAL_CANCEL, value, SUPERVISOR_ID, hook="2")
    refused = (await fake_slack.wait_for("webhook", 2))[-1]
    assert "Only the ops managers of Scripted unit may cancel" in refused["text"]
    await rig.click(NEUTRAL_CANCEL, value, OPS_ID, hook="3")
    first = (await fake_slack.wait_for("webhook", 3))[-1]
    assert first["text"].startswith("☑️ Cancelled the neutral window for Team t1")
    await rig.click(NEUTRAL_CANCEL, value, OPS_ID, hook="4")
    second = (await fake_slack.wait_for("webhook", 4))[-1]
    assert second["text"].startswith("ℹ️ Already cancelled by Olga Ops at <!date^")
    assert "Nothing changed" in second["text"]
    (window,) = await rig.windows.neutral_windows(MU)
    assert window.cancelled_by == "Olga Ops"
    entries = await redis_client.xrange(f"{redis_prefix}:{{{MU}}}:audit") or []
    assert [f["kind"] for _, f in entries if f and str(f["kind"]).startswith("neutral")] == [
        "neutral_planned", "neutral_cancelled"]
    listed = await reply(rig, fake_slack, "", OPS_ID, hook="5")
    assert "No neutral window is planned" in blocks_text(listed)


async def test_listed_in_the_team_snapshot_and_by_adherence_neutral(rig: NeutralRig, fake_slack: FakeSlack) -> None:
    await reply(rig, fake_slack, "Team t1 14:00-15:30 system maintenance", OPS_ID)
    await rig.command("team Team t1", SUPERVISOR_ID, hook="2")
    snapshot = (await fake_slack.wait_for("webhook", 2))[-1]
    assert_valid_blocks(snapshot["blocks"])
    assert "🗓️ Neutral window planned: <!date^" in blocks_text(snapshot)
    supervisor = await reply(rig, fake_slack, "list", SUPERVISOR_ID, hook="3")
    assert "system maintenance" in blocks_text(supervisor) and NEUTRAL_CANCEL not in blocks_text(supervisor)
    ops = await reply(rig, fake_slack, "", OPS_ID, hook="4")
    assert NEUTRAL_CANCEL in blocks_text(ops)
    assert await rig.desk.listed_for(STRANGER_ID) == []


async def test_app_home_lists_windows_and_plans_one_through_the_form(rig: NeutralRig, fake_slack: FakeSlack) -> None:
    await reply(rig, fake_slack, "Team t1 14:00-15:30 system maintenance", OPS_ID)
    await rig.event({"type": "app_home_opened", "user": OPS_ID, "channel": "D0HOME001", "tab": "home",
                     "event_ts": "1700000000.1"})
    await rig.event({"type": "app_home_opened", "user": SUPERVISOR_ID, "channel": "D0HOME002", "tab": "home",
                     "event_ts": "1700000000.2"})
    published = {p.body["user_id"]: p.body["view"] for p in await fake_slack.wait_for("views.publish", 2)}
    for view in published.values():
        assert_valid_view(view)
        assert "system maintenance" in json.dumps(view)
    assert NEUTRAL_PLAN_OPEN in json.dumps(published[OPS_ID]) and NEUTRAL_CANCEL in json.dumps(published[OPS_ID])
    assert NEUTRAL_PLAN_OPEN not in json.dumps(published[SUPERVISOR_ID])

    await rig.home_click(NEUTRAL_PLAN_OPEN, "plan", OPS_ID)
    modal = (await fake_slack.wait_for("views.open"))[0].body["view"]
    assert_valid_view(modal)
    scope = next(b for b in modal["blocks"] if b["block_id"] == "scope")
    assert [o["value"] for o in scope["element"]["options"]] == [f"{MU}/", f"{MU}/t1"]

    def values(start: str | None, end: str, reason: str = "team event") -> dict[str, Any]:
        return {"scope": {"value": {"type": "static_select", "selected_option": {
                    "text": {"type": "plain_text", "text": "x"}, "value": f"{MU}/"}}},
                "day": {"value": {"type": "datepicker", "selected_date": "2026-05-20"}},
                "start": {"value": {"type": "timepicker", "selected_time": start}},
                "end": {"value": {"type": "timepicker", "selected_time": end}},
                "reason": {"value": {"type": "plain_text_input", "value": reason}}}

    missing = json.loads((await rig.submit(NEUTRAL_PLAN_MODAL, "", values(None, "10:00", ""), OPS_ID)).body)
    assert missing["response_action"] == "errors" and set(missing["errors"]) == {"start", "reason"}
    backwards = json.loads((await rig.submit(NEUTRAL_PLAN_MODAL, "", values("11:00", "10:00"), OPS_ID)).body)
    assert "before it starts" in backwards["errors"]["end"]
    refused = json.loads((await rig.submit(NEUTRAL_PLAN_MODAL, "", values("09:00", "10:00"), SUPERVISOR_ID)).body)
    assert refused["response_action"] == "update" and "Only the ops managers" in json.dumps(refused)
    assert len(await rig.windows.neutral_windows(MU)) == 1
    response = await rig.submit(NEUTRAL_PLAN_MODAL, "", values("09:00", "10:00"), OPS_ID)
    assert response.status == 200 and not response.body
    planned = next(w for w in await rig.windows.neutral_windows(MU) if w.id == "w2")
    assert planned.team_id is None and planned.start.astimezone(UTC) == datetime(2026, 5, 20, 7, 0, tzinfo=UTC)
    home = (await fake_slack.wait_for("views.publish", 3))[-1].body["view"]  # redrawn after planning
    assert_valid_view(home)
    assert "team event" in json.dumps(home)

    # Cancel from App Home: answered in a small modal (no response_url there), twice the same way.
    value = NeutralRef(mu_id=MU, window_id="w2").dump()
    await rig.home_click(NEUTRAL_CANCEL, value, OPS_ID)
    await rig.home_click(NEUTRAL_CANCEL, value, OPS_ID)
    notices = [c.body["view"] for c in (await fake_slack.wait_for("views.open", 3))[1:]]
    for notice in notices:
        assert_valid_view(notice)
    assert "Cancelled the neutral window" in json.dumps(notices[0], ensure_ascii=False)
    assert "Already cancelled by Olga Ops" in json.dumps(notices[1], ensure_ascii=False)
