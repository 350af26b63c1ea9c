"""Bad input answered where it is typed: the modal (inline errors), the slash command's words, the CLI."""

from __future__ import annotations

import argparse
import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import fakeredis
import pytest
from redis.asyncio import Redis

from bot.book import add_book_arguments, run_book
from presentation.blocks.booking import bookings_message, note_message
from services.booking.commands import read_command
from services.booking.config import MeetingType
from services.booking.forms import FormValues, parse_form
from services.config import OrgConfig
from testing.fake_slack import FakeSlack
from tests.booking.test_booking_slack import SCHEDULER, SlackBooking, form, text_value
from tests.booking.workforce_fixture import MONDAY, booking_config
from tests.slack.blockkit import assert_valid_blocks, assert_valid_view

NOW = MONDAY - timedelta(days=1)
TEAMS = {"t1": "Blue", "t2": "Green"}


@pytest.fixture
async def slack(redis_client: Redis, redis_prefix: str) -> AsyncIterator[SlackBooking]:
    server = await FakeSlack().start()
    yield SlackBooking(redis_client, redis_prefix, server)
    await server.stop()


@pytest.mark.parametrize(("text", "word", "did_you_mean"), [
    ("list", "list", None),
    ("LIST", "list", None),
    ("queue", "queue", None),
    ("optimise 14", "optimise", None),
    ("optimize", "optimise", None),
    ("help", "help", None),
    ("register r1", "register", None),
    ("lsit", None, "list"),
    ("qeueu", None, "queue"),
    ("optimse", None, "optimise"),
    ("Team sync", None, None),  # a title
    ("help desk training", None, None),  # a title that starts with a command word
    ("list of changes", None, None),
    ("Retro", None, None),
    ('"list"', None, None),  # quoted: the title "list"
    ("team:Blue", None, None),
])
def test_the_command_knows_its_words_and_still_takes_titles(text: str, word: str | None, did_you_mean: str | None):
    read = read_command(text)
    assert (read.word, read.did_you_mean) == (word, did_you_mean)


def _parse(**values: str) -> dict[str, str]:
    form_values = FormValues(values={"type": "team_meeting", **values}, teams=values.pop("teams", "t1").split(","))
    request, errors = parse_form(form_values, config=booking_config(), request_id="r", requester="U1", mu_id="mu1",
                                 now=NOW, known_teams=TEAMS, known_people={"t1-a0": "Agent t10"},
                                 unit_name="Unit One")
    assert (request is None) == bool(errors)
    return errors


def test_an_earliest_start_no_slot_can_satisfy_is_refused_on_that_field():
    errors = _parse(earliest="23:45", duration="30m")
    assert set(errors) == {"earliest"}
    assert "starting at 23:45 would end after 16:00" in errors["earliest"]
    assert "the latest start is 15:30" in errors["earliest"]
    assert _parse(earliest="15:30", duration="30m") == {}
    assert "latest" in _parse(latest="09:15", duration="30m")  # 09:00 at the earliest + 30m > 09:15


def test_the_day_ending_at_midnight_is_named():
    late = MeetingType(name="Night huddle", earliest="18:00", latest="24:00", days=["Mon", "Tue", "Wed", "Thu",
                                                                                   "Fri", "Sat", "Sun"])
    config = booking_config().model_copy(update={"types": {**booking_config().types, "night": late}})
    _, errors = parse_form(FormValues(values={"type": "night", "earliest": "23:45", "duration": "30m"},
                                      teams=["t1"]), config=config, request_id="r", requester="U1", mu_id="mu1",
                           now=NOW)
    assert errors["earliest"].startswith("a 30-minute night huddle starting at 23:45 would end after midnight")


def test_a_range_without_the_types_weekdays_is_refused():
    errors = _parse(date_from="2026-06-06", date_to="2026-06-07")  # Sat-Sun for a Mon-Fri type
    assert "Mon, Tue, Wed, Thu, Fri only" in errors["date_to"]


def test_an_unknown_team_is_refused_with_the_teams_that_exist():
    errors = _parse(teams="Blu")
    assert errors["teams"] == ("unknown team 'Blu'. Did you mean 'Blue'? Teams in Unit One: Blue (t1), Green (t2)")
    assert _parse(teams="green") == {}  # names work too, in any case


async def test_the_modal_refuses_an_impossible_earliest_start_inline(slack: SlackBooking):
    values = form(earliest={"value": {"type": "timepicker", "selected_time": "23:45"}}, duration=text_value("30m"))
    response = await slack.submit(values, {"unit": "mu1", "rid": "slack-late"})
    body = json.loads(response.body)
    assert body["response_action"] == "errors"
    assert set(body["errors"]) == {"earliest"} and "latest start is 15:30" in body["errors"]["earliest"]
    assert not await slack.rig.service.process_next("w1")  # nothing queued, no "Needs review" later
    assert await slack.rig.ledger.status("slack-late") is None
    assert slack.fake.calls_to("chat.postMessage") == []


async def test_a_mistyped_command_word_gets_did_you_mean_and_opens_nothing(slack: SlackBooking):
    await slack.command("/book-meeting", "lsit")
    (answer,) = await slack.fake.wait_for("webhook")
    assert "Did you mean `/book-meeting list`?" in answer["text"]
    assert 'quote it: `/book-meeting "lsit"`' in answer["text"]
    assert slack.fake.calls_to("views.open") == []


async def test_a_title_is_still_a_title(slack: SlackBooking):
    for text in ("Team sync", "help desk training"):
        await slack.command("/book-meeting", text)
    opened = slack.fake.calls_to("views.open")
    views = [{b["block_id"]: b for b in c.body["view"]["blocks"]} for c in opened]
    assert [v["title"]["element"]["initial_value"] for v in views] == ["Team sync", "help desk"]
    # It says what it understood: "training" was read as the type.
    assert views[1]["type"]["element"]["initial_option"]["value"] == "training"
    assert "type *Training*" in views[1]["unit"]["elements"][0]["text"]
    assert "title *help desk*" in views[1]["unit"]["elements"][0]["text"]
    for call in opened:
        assert_valid_view(call.body["view"])


async def test_an_unknown_team_in_the_command_is_refused_with_the_teams_that_exist(slack: SlackBooking):
    await slack.command("/book-meeting", "team:Purple 45m")
    (answer,) = await slack.fake.wait_for("webhook")
    assert "unknown team 'Purple'" in answer["text"] and "Blue (t1), Green (t2)" in answer["text"]
    assert slack.fake.calls_to("views.open") == []


async def test_optimise_and_list_answer(slack: SlackBooking):
    await slack.command("/book-meeting", "optimise 14", user=SCHEDULER)
    await slack.command("/book-meeting", "optimise")
    await slack.command("/book-meeting", "list")
    await slack.command("/book-meeting", "help")
    placeholder, refused, listed, helped = await slack.fake.wait_for("webhook", 4)
    assert "next 14 days" in placeholder["text"] and "agent-hours of understaffing" in placeholder["text"]
    assert refused["text"] == "Only schedulers can optimise upcoming bookings."
    assert listed["text"] == "You have no upcoming bookings."
    assert "/book-meeting lsit" not in helped["text"] and "`/book-meeting list`" in helped["text"]
    for answer in (placeholder, refused, listed, helped):
        assert_valid_blocks(answer["blocks"])
    assert_valid_blocks(note_message("x" * 5000)[1])
    assert_valid_blocks(bookings_message([], note="n")[1])


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    add_book_arguments(parser)
    return parser


async def _cli(*argv: str, redis: fakeredis.FakeAsyncRedis | None = None) -> tuple[int, str]:
    from services.adapters.simulated.source import SimulatedContactCenter
    from services.clock import ManualClock
    from services.config import SimulatorConfig

    clock = ManualClock(datetime(2026, 6, 1, 7, 45, tzinfo=UTC))
    sim = SimulatedContactCenter.build(SimulatorConfig(), clock)
    out = io.StringIO()
    code = await run_book(_parser().parse_args(list(argv)), source=sim, org=OrgConfig(), clock=clock,
                          redis=redis or fakeredis.FakeAsyncRedis(), out=out)
    return code, out.getvalue()


async def test_cli_value_errors_name_the_flags_that_exist():
    code, out = await _cli("--team", "mu-1-t2", "--from", "2026-13-01")
    assert code == 2 and "error: --from: write the date as YYYY-MM-DD" in out
    code, out = await _cli("--team", "Purple")
    assert code == 2 and "error: --team: unknown team 'Purple'" in out and "mu-1-t1" in out
    code, out = await _cli("--team", "mu-1-t2", "--between", "23:45-24:00", "--duration", "30m",
                           "--type", "one_to_one")
    assert code == 2 and "error: --between:" in out
    code, out = await _cli("--team", "mu-1-t2", "--gap", "x", "--repeat", "weekly")
    assert code == 2 and "error: --gap:" in out
    assert "--min-gap" not in out and "--date-from" not in out


async def test_book_demo_removes_what_it_wrote():
    redis = fakeredis.FakeAsyncRedis()
    await redis.set("adh:keep", "1")  # the bot's own state is not touched
    code, out = await _cli("--demo", redis=redis)
    assert code == 0 and out.count("[BOOKED]") >= 3
    assert "Demo over: removed what it wrote" in out
    assert [key async for key in redis.scan_iter()] == [b"adh:keep"]


def test_schedulers_must_be_people():
    with pytest.raises(ValueError, match=r"booking.schedulers: 'ghost' is not defined under \[people\]"):
        OrgConfig.model_validate({"people": {"sam": {"name": "Sam"}}, "booking": {"schedulers": ["ghost"]}})
    config = OrgConfig.model_validate({"people": {"sam": {"name": "Sam"}},
                                       "booking": {"schedulers": ["sam"], "hold_timeout": "10m",
                                                   "types": {"m": {"name": "M", "auto_schedule": False}},
                                                   "default_type": "m"}})
    assert config.booking.schedulers == ["sam"] and config.booking.hold_timeout == timedelta(minutes=10)
    assert config.booking.types["m"].auto_schedule is False

