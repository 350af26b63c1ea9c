"""Coaching from escalation, recurring templates, the forms, and the terminal command."""

from __future__ import annotations

import argparse
import io
from datetime import date, datetime, timedelta

import fakeredis
import pytest
from redis.asyncio import Redis

from bot.book import add_book_arguments, run_book
from services.adapters.booking.redis_stores import RedisTemplates
from services.adapters.booking.workforce import WorkforceBookingData
from services.adapters.redis_keys import BookingKeys
from services.booking.coaching import SearchingCoachingPort
from services.booking.config import BookingConfig
from services.booking.forms import FormValues, parse_form, prefill
from services.booking.model import BookingRequest, RecurrenceSpec, Status
from services.booking.recurring import RecurringTemplates
from services.config import OrgConfig
from services.domain.model import Agent
from services.ports import CoachingRequest
from tests.booking.test_booking_service import Rig
from tests.booking.workforce_fixture import MONDAY, FakeWorkforce, booking_config


class RecordingQM:
    def __init__(self) -> None:
        self.requests: list[CoachingRequest] = []

    async def create_coaching_appointment(self, request: CoachingRequest) -> str:
        self.requests.append(request)
        return f"appt-{len(self.requests)}"


def coaching(start: datetime, supervisor: str = "sup1") -> CoachingRequest:
    return CoachingRequest(idempotency_key="inc-1:coaching", mu_id="mu1", agent_id="t1-a0", facilitator_id=supervisor,
                           name="Adherence coaching", description="Away during queue time", start=start,
                           length_minutes=15)


async def test_coaching_goes_to_the_least_harmful_time_with_the_supervisor_free():
    source = FakeWorkforce()
    qm = RecordingQM()
    port = SearchingCoachingPort(qm, WorkforceBookingData(source, booking_config()), booking_config())
    wanted = MONDAY + timedelta(hours=6, minutes=7)  # 06:07, before anyone works
    assert await port.create_coaching_appointment(coaching(wanted)) == "appt-1"
    (sent,) = qm.requests
    assert wanted <= sent.start <= wanted + booking_config().coaching_within
    assert sent.start.minute % 15 == 0 and 8 <= sent.start.hour < 17
    assert "understaffing" in sent.extra["slot_search"]
    assert sent.extra["slot_search"].endswith("; demand: synthetic curve (simulator)")
    assert sent.idempotency_key == "inc-1:coaching"


async def test_coaching_keeps_the_original_time_when_nothing_fits():
    source = FakeWorkforce(days=0)  # nobody is scheduled at all
    qm = RecordingQM()
    port = SearchingCoachingPort(qm, WorkforceBookingData(source, booking_config()), booking_config())
    wanted = MONDAY + timedelta(hours=10)
    await port.create_coaching_appointment(coaching(wanted))
    assert qm.requests[0].start == wanted


@pytest.mark.redis
async def test_recurring_template_runs_each_period_once_and_reports_team_changes(redis_client: Redis,
                                                                                 redis_prefix: str):
    rig = Rig(redis_client, redis_prefix)
    rig.source.days = 14
    templates = RecurringTemplates(RedisTemplates(redis_client, BookingKeys(redis_prefix)), rig.service, rig.data,
                                   rig.notices, timedelta(days=7))
    base = BookingRequest(id="weekly", requester="U1", mu_id="mu1", type_id="team_meeting", title="Weekly sync",
                          teams=("t1",), date_from=date(2026, 6, 1), date_to=date(2026, 6, 14),
                          recurrence=RecurrenceSpec(frequency="weekly", min_gap_days=4),
                          submitted_at=MONDAY - timedelta(days=2))
    await templates.add(base)
    first = await templates.run_due(MONDAY - timedelta(days=1), ahead=timedelta(days=1))
    assert [r.id for r in first] == ["weekly@2026-06-01"]
    assert (first[0].date_from, first[0].date_to) == (date(2026, 6, 1), date(2026, 6, 7))
    assert await templates.run_due(MONDAY - timedelta(days=1), ahead=timedelta(days=1)) == []  # nothing new
    rig.source.agents["t1-new"] = Agent("t1-new", "Nina New", "t1", "mu1", "nina@example.com")
    del rig.source.agents["t1-a3"]
    second = await templates.run_due(MONDAY + timedelta(days=6), ahead=timedelta(days=1))
    assert [r.id for r in second] == ["weekly@2026-06-08"]
    change = next(text for rid, _, text in rig.notices.seen if rid == "weekly" and "changes" in text)
    assert "joined Nina New" in change and "left t1-a3" in change
    while await rig.service.process_next("w1"):
        pass
    assert await rig.ledger.status("weekly@2026-06-01") == Status.BOOKED
    assert await rig.ledger.status("weekly@2026-06-08") == Status.BOOKED


NOW = datetime(2026, 5, 30, 12, tzinfo=MONDAY.tzinfo)


@pytest.mark.parametrize(("values", "teams", "field", "message"), [
    ({"date_from": "2026-13-01"}, ["t1"], "date_from", "YYYY-MM-DD"),
    ({"date_from": "2026-05-01"}, ["t1"], "date_from", "past"),
    ({"date_from": "2026-06-05", "date_to": "2026-06-01"}, ["t1"], "date_to", "on or after"),
    ({"date_to": "2026-09-30"}, ["t1"], "date_to", "28 days"),
    ({"earliest": "9am"}, ["t1"], "earliest", "time of day"),
    ({"earliest": "12:00", "latest": "09:00"}, ["t1"], "latest", "later than"),
    ({"duration": "20m"}, ["t1"], "duration", "multiple of 15"),
    ({}, [], "teams", "at least one"),
    ({"type": "party"}, ["t1"], "type", "choose one of"),
    ({"repeat": "weekly", "every": "0"}, ["t1"], "every", "from 1 to 52"),
    ({"location": "moon"}, ["t1"], "location", "choose one of"),
])
def test_form_errors_name_the_field(values, teams, field, message):
    request, errors = parse_form(FormValues(values, teams=teams), config=booking_config(), request_id="x",
                                 requester="U1", mu_id="mu1", now=NOW)
    assert request is None
    assert message in errors[field]


def test_form_defaults_and_recurrence():
    request, errors = parse_form(FormValues({"repeat": "weekly", "min_gap": "4", "count": "2"}, teams=["t1"]),
                                 config=booking_config(), request_id="x", requester="U1", mu_id="mu1", now=NOW)
    assert errors == {} and request is not None
    assert request.title == "Team meeting" and request.date_from == date(2026, 5, 31)
    assert request.date_to == date(2026, 6, 13)  # the type's default two-week window
    assert request.recurrence == RecurrenceSpec(frequency="weekly", min_gap_days=4, count=2)


def test_prefill_reads_what_follows_the_command():
    form = prefill('team:blue with:@ana training 1h30m 09:00-12:00 2026-06-01..2026-06-03 weekly gap:4 '
                   '"Onboarding refresher" room:hq', teams={"blue": "t1"}, people={"ana": "t1-a0"},
                   types={"training": "training"})
    assert form.teams == ["t1"] and form.people == ["t1-a0"]
    assert form.values == {"type": "training", "duration": "1h30m", "earliest": "09:00", "latest": "12:00",
                           "date_from": "2026-06-01", "date_to": "2026-06-03", "repeat": "weekly", "min_gap": "4",
                           "location": "hq", "title": "Onboarding refresher"}


def test_booking_config_errors_name_the_key():
    with pytest.raises(ValueError, match=r"types\.x\.search"):
        BookingConfig.model_validate({"types": {"team_meeting": {"name": "T"}, "x": {"name": "X", "search": "no"}}})
    with pytest.raises(ValueError, match="already used"):
        BookingConfig.model_validate({"locations": {"a": {"name": "A", "rooms": {"r": {"name": "R", "capacity": 2}}},
                                                    "b": {"name": "B", "rooms": {"r": {"name": "R", "capacity": 2}}}}})
    assert OrgConfig.model_validate({"booking": {"horizon": "14d"}}).booking.horizon == timedelta(days=14)


async def test_book_command_books_on_the_simulated_contact_center():
    from services.adapters.simulated.source import SimulatedContactCenter
    from services.clock import ManualClock
    from services.config import SimulatorConfig

    clock = ManualClock(datetime(2026, 6, 1, 7, 45, tzinfo=MONDAY.tzinfo))
    sim = SimulatedContactCenter.build(SimulatorConfig(), clock)
    parser = argparse.ArgumentParser()
    add_book_arguments(parser)
    out = io.StringIO()
    redis = fakeredis.FakeAsyncRedis()
    assert await run_book(parser.parse_args(["--demo", "--register"]), source=sim, org=OrgConfig(), clock=clock,
                          redis=redis, out=out) == 0
    text = out.getvalue()
    assert text.count("[BOOKED]") >= 3
    assert "Manual work queue" in text and "All-hands before opening" in text
    assert "Attendance register" in text and "agent_id" in text
    out = io.StringIO()
    args = parser.parse_args(["--team", "mu-1-t2", "--title", "Retro", "--duration", "30m", "--between",
                              "09:00-16:00"])
    fresh = fakeredis.FakeAsyncRedis()  # nothing booked yet on this one
    assert await run_book(args, source=sim, org=OrgConfig(), clock=clock, redis=fresh, out=out) == 0
    assert "[BOOKED]" in out.getvalue() and "Retro" in out.getvalue()
    out = io.StringIO()
    bad = parser.parse_args(["--team", "mu-1-t2", "--duration", "7m"])
    assert await run_book(bad, source=sim, org=OrgConfig(), clock=clock, redis=redis, out=out) == 2
    assert "--duration" in out.getvalue()


@pytest.mark.parametrize(("changes", "reason", "words"), [
    ({"type_id": "training", "teams": ("t1",)}, "no_facilitator_time", "choose a trainer"),
    ({"teams": ("nope",)}, "unknown_person", "unknown team nope"),
    ({"teams": (), "people": ("t1-a0", "ghost")}, "unknown_person", "ghost"),
    ({"location": "moon"}, "invalid_request", "unknown location"),
])
async def test_requests_that_cannot_be_searched_say_why(changes, reason, words):
    from services.booking.search import SlotSearch

    base = BookingRequest(id="x", requester="U1", mu_id="mu1", type_id="team_meeting", title="T", teams=("t1",),
                          date_from=date(2026, 6, 1), date_to=date(2026, 6, 5), submitted_at=MONDAY)
    found = await SlotSearch(WorkforceBookingData(FakeWorkforce(), booking_config()), booking_config()).find(
        base.model_copy(update=changes), MONDAY - timedelta(days=1))
    assert not found.placed
    assert found.outcome.reason == reason and words in found.outcome.detail


@pytest.mark.redis
async def test_intake_turns_a_multi_week_recurring_request_into_a_template_and_queues_the_rest(
        redis_client: Redis, redis_prefix: str):
    from services.booking.intake import BookingIntake

    rig = Rig(redis_client, redis_prefix)
    rig.source.days = 14
    templates = RecurringTemplates(RedisTemplates(redis_client, BookingKeys(redis_prefix)), rig.service, rig.data,
                                   rig.notices, timedelta(days=7))
    intake = BookingIntake(rig.service, templates, period=timedelta(days=7), ahead=timedelta(days=1))
    weekly = BookingRequest(id="sync", requester="U1", mu_id="mu1", type_id="team_meeting", title="Weekly sync",
                            teams=("t1",), date_from=date(2026, 6, 1), date_to=date(2026, 6, 14),
                            recurrence=RecurrenceSpec(frequency="weekly", min_gap_days=4),
                            submitted_at=MONDAY - timedelta(days=1))
    assert await intake.submit(weekly)
    assert [t.id for t in await templates.store.templates()] == ["sync"]
    assert [r.id for r in await intake.run_templates(MONDAY + timedelta(days=6))] == ["sync@2026-06-08"]
    once = weekly.model_copy(update={"id": "once", "recurrence": None, "date_to": date(2026, 6, 1)})
    assert await intake.submit(once)
    assert [t.id for t in await templates.store.templates()] == ["sync"]  # a one-off is queued, not templated
    while await rig.service.process_next("w1"):
        pass
    for request_id in ("sync@2026-06-01", "sync@2026-06-08", "once"):
        assert await rig.ledger.status(request_id) == Status.BOOKED, request_id
