"""Training targeted from the bot's own data: "agents of these teams whose adherence over the last N
days is below X %". The selection (pure, over the in-memory history), what is typed (errors by field),
and the /book-training modal through the real app: signed commands, a Preview click inside the modal
(``views.update`` at the fake Slack), and the submission queueing one request with those attendees.
The history the Slack tests read is written by ``RedisStore.commit`` (the monitor's commit) on Redis."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import pytest
from redis.asyncio import Redis

from presentation.blocks.booking import MODAL_CALLBACK
from presentation.blocks.booking_target import ACTION_TARGET_PREVIEW, PREVIEW_BLOCK
from services.adapters.redis.history import RedisAdherenceHistory
from services.adapters.redis.store import RedisStore
from services.booking.forms import prefill
from services.booking.model import Status
from services.booking.targeting import BELOW, DAYS, TEAMS, Target, parse_target, select_agents, window
from services.domain.model import Agent, ManagementUnit, Roster, Team
from testing.fake_slack import FakeSlack
from testing.memory_history import MemoryAdherenceHistory
from tests.booking.test_booking_slack import REQUESTER, SlackBooking, day, multi, select, text_value
from tests.slack import signed
from tests.slack.blockkit import assert_valid_view

TODAY = date(2026, 5, 31)  # the booking rig's clock: Monday 1 June minus 12 hours
SCHEDULED = 8 * 3600.0
#: Adherence % per agent of the booking fixture (teams t1 "Blue" and t2 "Green", four agents each).
ADHERENCE = {"t1-a0": 60.0, "t1-a1": 80.0, "t1-a2": 95.0, "t1-a3": 100.0, "t2-a0": 50.0, "t2-a1": 100.0,
             "t2-a2": 100.0, "t2-a3": 100.0}
KNOWN = {"t1": "Blue", "t2": "Green"}


# ---- the selection, pure ----------------------------------------------------------------------------
def roster() -> Roster:
    mu = ManagementUnit("mu1", "Unit One")
    teams = {"t1": Team("t1", "Blue", "mu1"), "t2": Team("t2", "Green", "mu1")}
    agents = {a: Agent(a, f"Agent {a}", a[:2], "mu1") for a in [*ADHERENCE, "t1-new"]}
    return Roster(mu, teams, agents)


async def memory_history(days: int = 3) -> MemoryAdherenceHistory:
    history = MemoryAdherenceHistory()
    for n in range(days):
        history.add("mu1", TODAY - timedelta(days=n), dict.fromkeys(ADHERENCE, SCHEDULED),
                    {a: SCHEDULED * (100 - pct) / 100 for a, pct in ADHERENCE.items() if pct < 100})
    return history


async def test_selects_exactly_the_agents_below_the_threshold_within_the_named_teams():
    history = await memory_history()
    days = window(TODAY, 7)
    assert days[0] == TODAY - timedelta(days=6) and days[-1] == TODAY
    record = await history.days("mu1", days)
    blue = select_agents(Target(("t1",), 85.0, 7), roster(), record, days)
    assert [(c.agent_id, c.adherence) for c in blue.selected] == [("t1-a0", 60.0), ("t1-a1", 80.0)]
    assert [c.agent_id for c in blue.others] == ["t1-a2", "t1-a3"]
    assert blue.without_data == ("t1-new",)  # no record: never selected on a guess
    assert blue.coverage == "3 of 7 days have data" and blue.problem == ""
    both = select_agents(Target(("t1", "t2"), 85.0, 7), roster(), record, days)
    assert [c.agent_id for c in both.selected] == ["t2-a0", "t1-a0", "t1-a1"]  # lowest first
    assert both.reason() == ("attendees chosen by target: agents of Blue, Green below 85 % adherence over the last "
                             "7 days (3 of 7 days have data): Agent t2-a0 50.0 %, Agent t1-a0 60.0 %, "
                             "Agent t1-a1 80.0 %")
    # Only the days of the window count: a 1-day window sees today only.
    today_only = select_agents(Target(("t1",), 85.0, 1), roster(), record, window(TODAY, 1))
    assert today_only.coverage == "1 of 1 days have data"


async def test_adherence_sums_the_days_of_the_window():
    history = MemoryAdherenceHistory()
    history.add("mu1", TODAY, {"t1-a3": 3600.0}, {"t1-a3": 3600.0})  # out the whole hour today
    history.add("mu1", TODAY - timedelta(days=1), {"t1-a3": 3 * 3600.0})  # three adherent hours yesterday
    days = window(TODAY, 2)
    selection = select_agents(Target(("t1",), 80.0, 2), roster(), await history.days("mu1", days), days)
    assert [(c.agent_id, c.adherence) for c in selection.selected] == [("t1-a3", 75.0)]


async def test_nobody_below_and_no_history_are_said_not_guessed():
    days = window(TODAY, 7)
    record = await (await memory_history()).days("mu1", days)
    nobody = select_agents(Target(("t1",), 50.0, 7), roster(), record, days)
    assert nobody.selected == ()
    assert nobody.problem.startswith("Nobody selected, nothing queued: no agent of Blue is below 50 % over the "
                                     "last 7 days (3 of 7 days have data; lowest: Agent t1-a0 60.0 %)")
    empty = select_agents(Target(("t1",), 85.0, 7), roster(), {}, days)
    assert empty.problem.startswith("No adherence history yet for Blue")


@pytest.mark.parametrize(("teams", "below", "days", "field", "says"), [
    (["Purple"], "85", "7", TEAMS, "unknown team 'Purple'. Teams in Unit One: Blue (t1), Green (t2)"),
    (["Bleu"], "85", "7", TEAMS, "Did you mean 'Blue'?"),
    ([], "85", "7", TEAMS, "choose the teams to target"),
    (["Blue"], "120", "7", BELOW, "from 0 to 100"),
    (["Blue"], "-5", "7", BELOW, "from 0 to 100"),
    (["Blue"], "lots", "7", BELOW, "from 0 to 100"),
    (["Blue"], "", "7", BELOW, "give the adherence threshold"),
    (["Blue"], "85", "0", DAYS, "from 1 to 35"),
    (["Blue"], "85", "40", DAYS, "from 1 to 35"),
])
def test_bad_targets_are_refused_on_their_field(teams: list[str], below: str, days: str, field: str, says: str):
    target, errors = parse_target(teams, below, days, known_teams=KNOWN, unit_name="Unit One")
    assert target is None and list(errors) == [field]
    assert says in errors[field]


def test_a_target_reads_names_percent_signs_and_the_default_days():
    assert parse_target(["blue", "t2"], "85%", "", known_teams=KNOWN, unit_name="U") == (
        Target(("t1", "t2"), 85.0, 7), {})
    form = prefill('target:"Blue,Green" below:85% days:14', teams={"blue": "t1", "green": "t2"}, people={}, types={})
    assert form.target_teams == ["t1", "t2"] and form.get(BELOW) == "85%" and form.get(DAYS) == "14"
    assert form.has_target and not form.get("title")  # nothing of the target is taken as the title


# ---- the modal, through the real app ------------------------------------------------------------------
async def write_history(redis: Redis, prefix: str, days: int = 3) -> None:
    """As the monitor's ticks do: the commit adds scheduled and out seconds to each day's record."""
    store = RedisStore(redis, prefix)
    for n in range(days):
        await store.commit("mu1", changes=[], events=[], day=TODAY - timedelta(days=n),
                           scheduled_seconds=dict.fromkeys(ADHERENCE, SCHEDULED),
                           out_seconds={a: SCHEDULED * (100 - p) / 100 for a, p in ADHERENCE.items() if p < 100})


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    server = await FakeSlack().start()
    yield server
    await server.stop()


@pytest.fixture
async def slack(redis_client: Redis, redis_prefix: str, fake: FakeSlack) -> SlackBooking:
    await write_history(redis_client, redis_prefix)
    return SlackBooking(redis_client, redis_prefix, fake, history=RedisAdherenceHistory(redis_client, redis_prefix))


def training_form(**overrides: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {
        "type": select("training"), "title": text_value("Adherence refresher"), "teams": multi(), "people": multi(),
        "date_from": day(date(2026, 6, 1)), "date_to": day(date(2026, 6, 5)), "duration": text_value("1h"),
        "repeat": select("none"), "facilitator": select("trainer1"), TEAMS: multi("t1"), BELOW: text_value("85"),
        DAYS: text_value("7")}
    values.update(overrides)
    return values


async def submit(slack: SlackBooking, values: dict[str, Any], rid: str) -> dict[str, Any]:
    response = await slack.submit(values, {"unit": "mu1", "rid": rid})
    assert response.status == 200
    return json.loads(response.body) if response.body else {}


async def click_preview(slack: SlackBooking, values: dict[str, Any]) -> Any:
    payload = signed.view_block_action(action_id=ACTION_TARGET_PREVIEW, value="preview", user_id=REQUESTER,
                                       view_id="V0MODAL01", view_hash="17.hash", callback_id=MODAL_CALLBACK,
                                       private_metadata=json.dumps({"unit": "mu1", "rid": "slack-t1",
                                                                    "user": REQUESTER}), values=values)
    return await slack.app.async_dispatch(signed.bolt_request(signed.interactive_body(payload)))


def preview_of(view: dict[str, Any]) -> str:
    (block,) = [b for b in view["blocks"] if b.get("block_id") == PREVIEW_BLOCK]
    return str(block["text"]["text"])


pytestmark = pytest.mark.redis


async def test_the_command_opens_the_modal_with_who_the_target_selects(slack: SlackBooking):
    await slack.command("/book-training", 'target:"Blue,Green" below:85% days:7')
    view = slack.fake.calls_to("views.open")[0].body["view"]
    assert_valid_view(view)
    blocks = {b["block_id"]: b for b in view["blocks"]}
    assert [o["value"] for o in blocks[TEAMS]["element"]["initial_options"]] == ["t1", "t2"]
    assert blocks[BELOW]["element"]["initial_value"] == "85%"
    assert "initial_options" not in blocks["teams"]["element"]  # a target, not a list
    preview = preview_of(view)
    assert preview.startswith("*3 selected*: agents of Blue, Green below 85 % adherence over the last 7 days "
                              "(3 of 7 days have data).")
    assert preview.splitlines()[1:] == ["• Agent t20 — 50.0 %", "• Agent t10 — 60.0 %", "• Agent t11 — 80.0 %"]


async def test_preview_updates_the_open_modal_with_names_and_percentages(slack: SlackBooking):
    await slack.command("/book-training", "")
    opened = slack.fake.calls_to("views.open")[0].body["view"]
    assert_valid_view(opened)
    assert "Press *Preview*" in preview_of(opened)
    response = await click_preview(slack, training_form())
    assert response.status == 200
    (call,) = slack.fake.calls_to("views.update")
    assert call.body["view_id"] == "V0MODAL01" and call.body["hash"] == "17.hash"
    view = call.body["view"]
    assert_valid_view(view)
    assert json.loads(view["private_metadata"])["rid"] == "slack-t1"  # the same request id on submit
    blocks = {b["block_id"]: b for b in view["blocks"]}
    assert blocks["title"]["element"]["initial_value"] == "Adherence refresher"  # what was typed is kept
    assert preview_of(view).splitlines()[1:] == ["• Agent t10 — 60.0 %", "• Agent t11 — 80.0 %"]
    assert not await slack.rig.service.process_next("w1")  # a preview queues nothing


async def test_preview_of_a_bad_target_says_why_in_the_modal(slack: SlackBooking):
    await click_preview(slack, training_form(**{BELOW: text_value("120")}))
    view = slack.fake.calls_to("views.update")[0].body["view"]
    assert_valid_view(view)
    assert "from 0 to 100" in preview_of(view)
    await click_preview(slack, training_form(**{BELOW: text_value("55")}))
    nobody = preview_of(slack.fake.calls_to("views.update")[1].body["view"])
    assert "Nobody selected, nothing queued" in nobody and "lowest: Agent t10 60.0 %" in nobody


async def test_submitting_a_target_queues_one_request_with_those_attendees(slack: SlackBooking):
    assert await submit(slack, training_form(), "slack-target") == {}
    assert await submit(slack, training_form(), "slack-target") == {}  # Slack retried the submission
    queued = await slack.rig.queue.take("w1")
    assert queued is not None
    request = queued.request
    assert request.id == "slack-target" and request.type_id == "training"
    assert request.people == ("t1-a0", "t1-a1") and request.teams == ()
    assert request.target is not None and request.target.startswith(
        "attendees chosen by target: agents of Blue below 85 % adherence over the last 7 days")
    assert await slack.rig.queue.take("w2") is None  # one request
    assert await slack.rig.service.process_next("w1")  # w1 resumes the request it took
    assert await slack.rig.ledger.status("slack-target") == Status.BOOKED
    booked = slack.fake.calls_to("chat.postMessage")[-1].body
    assert "chosen by target" in json.dumps(booked["blocks"])  # the explanation says why these people


@pytest.mark.parametrize(("overrides", "field", "says"), [
    ({BELOW: text_value("101")}, BELOW, "from 0 to 100"),
    ({DAYS: text_value("36")}, DAYS, "from 1 to 35"),
    ({BELOW: text_value("40")}, BELOW, "Nobody selected, nothing queued"),
    ({TEAMS: multi()}, TEAMS, "choose the teams to target"),
    ({"teams": multi("t2")}, TEAMS, "a target replaces the list"),
])
async def test_a_bad_target_is_refused_inline_and_nothing_is_queued(slack: SlackBooking, overrides: dict[str, Any],
                                                                   field: str, says: str):
    body = await submit(slack, training_form(**overrides), "slack-bad-target")
    assert body["response_action"] == "errors" and list(body["errors"]) == [field]
    assert says in body["errors"][field]
    assert await slack.rig.queue.take("w1") is None
    assert await slack.rig.ledger.status("slack-bad-target") is None


async def test_without_history_the_target_says_so(redis_client: Redis, redis_prefix: str, fake: FakeSlack):
    empty = SlackBooking(redis_client, f"{redis_prefix}:empty", fake,
                         history=RedisAdherenceHistory(redis_client, f"{redis_prefix}:empty"))
    body = await submit(empty, training_form(), "slack-no-history")
    assert body["response_action"] == "errors"
    assert body["errors"][TEAMS].startswith("No adherence history yet for Blue")
    assert await empty.rig.queue.take("w1") is None


async def test_an_unknown_target_team_in_the_command_opens_nothing_and_lists_the_teams(slack: SlackBooking):
    await slack.command("/book-training", "target:Purple below:85")
    (answer,) = await slack.fake.wait_for("webhook")
    assert "Nothing opened: unknown team 'Purple'" in answer["text"] and "Blue (t1), Green (t2)" in answer["text"]
    assert slack.fake.calls_to("views.open") == []
