"""The weekly digest against a scripted week: audit entries produced by real monitor ticks and real card
actions (acknowledge, approve exception) on the real Redis, with a manual clock jumping from day to day;
then the digest sent by Slack DM (fake Slack) and email (aiosmtpd), once per ops manager and week."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from aiosmtpd.smtp import SMTP
from redis.asyncio import Redis

from handlers.digest_notifier import SlackDigestNotifier
from services.adapters.email.digest import SmtpDigestMailer
from services.adapters.email.mailer import SmtpSettings
from services.adapters.redis.codec import event_to_json
from services.adapters.redis.digest import RedisAuditHistory, RedisDigestLedger
from services.adapters.redis.store import RedisStore
from services.adapters.redis_keys import UnitKeys
from services.adapters.slack.client import make_web_client
from services.adapters.slack.directory import SlackDirectory
from services.clock import ManualClock
from services.config import DigestConfig, OrgConfig
from services.digest import UnitDigest, WeeklyDigests, render_text
from services.domain.escalation import EventKind, IncidentEvent
from services.domain.model import ScheduledActivity
from services.domain.states import ActivityCategory, Presence, RoutingStatus
from services.incident_actions import Actor, IncidentActions
from services.monitor import Monitor
from testing.fake_slack import BOT_TOKEN, FakeSlack
from testing.memory_history import MemoryAdherenceHistory
from tests.email.smtp_server import Inbox, serve
from tests.monitor.scripted import ScriptedSource
from tests.slack.blockkit import assert_valid_blocks
from tests.slack.rig import SUPERVISOR_ID

MONDAY = datetime(2026, 5, 18, tzinfo=UTC)  # a Monday
TICK = timedelta(seconds=15)
SAM = Actor(SUPERVISOR_ID, "Sam Supervisor")
SCHEDULED_DAY = 8 * 3600  # every agent is on queue 08:00-16:00 every day of the week


def day_at(day: int, hhmm: str) -> datetime:
    hours, minutes = (int(p) for p in hhmm.split(":"))
    return MONDAY + timedelta(days=day, hours=hours, minutes=minutes)


class Week:
    def __init__(self, redis: Redis, prefix: str, fake: FakeSlack) -> None:
        self.clock = ManualClock(day_at(0, "08:50"))
        self.source = ScriptedSource(self.clock)
        week = [ScheduledActivity(day_at(d, "08:00"), day_at(d, "16:00"), ActivityCategory.ON_QUEUE_WORK)
                for d in range(8)]
        for agent, team in (("a0", "t1"), ("a1", "t1"), ("a2", "t1"), ("b0", "t2")):
            self.source.add_agent(agent, week, team_id=team)
            self.source.set_state(agent, Presence.ON_QUEUE, RoutingStatus.IDLE, since=day_at(0, "07:00"))
        self.redis, self.prefix = redis, prefix
        self.store = RedisStore(redis, prefix)
        self.monitor = Monitor(source=self.source, store=self.store, config=OrgConfig(), clock=self.clock)
        client = make_web_client(BOT_TOKEN, base_url=fake.api_url)
        self.directory = SlackDirectory(client)
        self.client = client
        self.actions = IncidentActions(store=self.store, rosters=self.monitor.roster, directory=self.directory,
                                       clock=self.clock)

    async def until(self, when: datetime) -> None:
        while self.clock.now() <= when:
            await self.monitor.tick()
            self.clock.advance(TICK)

    async def begin(self, when: datetime) -> None:
        """Jump to five minutes before ``when`` and tick up to it: the next tick is exactly at ``when``."""
        self.clock.set(when - timedelta(minutes=5))
        await self.until(when - TICK)

    def away(self, agent: str) -> None:
        self.source.set_state(agent, Presence.AWAY, RoutingStatus.OFF_QUEUE)

    def back(self, agent: str) -> None:
        self.source.set_state(agent, Presence.ON_QUEUE, RoutingStatus.IDLE)

    async def incident_id(self, agent: str) -> str:
        track = await self.store.load_track("mu-1", agent)
        assert track is not None and track.incident is not None
        return track.incident.id

    async def agent_replied(self, agent: str, note: str) -> None:
        """The contract for an agent's reply to a nudge: an ``agent_replied`` audit entry with the event JSON."""
        track = await self.store.load_track("mu-1", agent)
        assert track is not None and track.incident is not None
        body = json.loads(event_to_json(IncidentEvent(EventKind.OPENED, track.incident, self.clock.now(),
                                                      actor=agent, note=note)))
        event = json.dumps({**body, "kind": "agent_replied"})
        await self.redis.xadd(UnitKeys(self.prefix, "mu-1").audit, {
            "kind": "agent_replied", "incident": track.incident.id, "agent": agent, "event": event})

    async def play(self) -> None:
        """The scripted week. Each agent goes out exactly on a tick, so its out-seconds are exact."""
        # Monday: a0 out 09:00-09:20; card 09:05, acknowledged 09:08 (so no email).
        await self.begin(day_at(0, "09:00"))
        self.away("a0")
        await self.until(day_at(0, "09:07") + timedelta(seconds=45))
        await self.actions.acknowledge("mu-1", "a0", await self.incident_id("a0"), SAM)
        await self.until(day_at(0, "09:19") + timedelta(seconds=45))
        self.back("a0")
        await self.until(day_at(0, "09:22"))

        # Tuesday: a1 out 10:00; card 10:05; reply after the card 10:06; acknowledged 10:10, excused 10:12
        # (12 min out), back 10:13.
        await self.begin(day_at(1, "10:00"))
        self.away("a1")
        await self.until(day_at(1, "10:05") + timedelta(seconds=45))
        await self.agent_replied("a1", "on my way")
        await self.until(day_at(1, "10:09") + timedelta(seconds=45))
        await self.actions.acknowledge("mu-1", "a1", await self.incident_id("a1"), SAM)
        await self.until(day_at(1, "10:11") + timedelta(seconds=45))
        await self.actions.approve_exception("mu-1", "a1", await self.incident_id("a1"), SAM,
                                             until=day_at(1, "10:30"), reason_code="system_issue")
        await self.until(day_at(1, "10:12") + timedelta(seconds=45))
        self.back("a1")
        await self.until(day_at(1, "10:14"))

        # Wednesday: b0 out 11:00-11:03, no card (the first tier is at 5 min).
        await self.begin(day_at(2, "11:00"))
        self.away("b0")
        await self.until(day_at(2, "11:02") + timedelta(seconds=45))
        self.back("b0")
        await self.until(day_at(2, "11:05"))

        # Thursday: a2 out 09:00-09:08, says "on my way" at 09:02, before the 09:05 card.
        await self.begin(day_at(3, "09:00"))
        self.away("a2")
        await self.until(day_at(3, "09:01") + timedelta(seconds=45))
        await self.agent_replied("a2", "on my way")
        await self.until(day_at(3, "09:07") + timedelta(seconds=45))
        self.back("a2")
        await self.until(day_at(3, "09:10"))

        # Friday: b0 out 10:00-10:16, nobody acknowledges: card 10:05, email 10:15.
        await self.begin(day_at(4, "10:00"))
        self.away("b0")
        await self.until(day_at(4, "10:15") + timedelta(seconds=45))
        self.back("b0")
        await self.until(day_at(4, "10:18"))


@pytest.fixture
async def week(redis_client: Redis, redis_prefix: str, fake_slack: FakeSlack) -> Week:
    played = Week(redis_client, redis_prefix, fake_slack)
    await played.play()
    return played


def digests(week: Week, **kwargs: object) -> WeeklyDigests:
    return WeeklyDigests(audit=RedisAuditHistory(week.redis, week.prefix), board=week.store, source=week.source,
                         rosters=lambda: [u.roster for u in week.monitor.units.values()], clock=week.clock,
                         config=DigestConfig(), **kwargs)  # type: ignore[arg-type]


async def built(week: Week) -> UnitDigest:
    week.clock.set(day_at(7, "08:00"))  # the next Monday, 08:00 UTC
    roster = week.monitor.units["mu-1"].roster
    return await digests(week).build(roster, day_at(0, "08:00"), day_at(7, "08:00"))


async def test_the_digest_figures_follow_from_the_scripted_week(week: Week) -> None:
    digest = await built(week)
    t1, t2 = digest.teams
    assert (t1.team_id, t2.team_id) == ("t1", "t2")
    assert t1.figures.incidents == 3 and t2.figures.incidents == 2
    assert dict(t1.figures.tiers) == {"chat_card": 3} and dict(t2.figures.tiers) == {"chat_card": 1, "email": 1}
    assert t2.figures.acknowledged == 0 and t2.figures.median_ack_minutes is None
    assert t1.figures.acknowledged == 2
    assert t1.figures.median_ack_minutes == pytest.approx(4.0)  # 3 min (Mon) and 5 min (Tue) after the card
    assert dict(t1.figures.approvals) == {"Sam Supervisor": 1}
    assert t1.explained_names == ("Agent a2",)  # a1 replied after its card
    # Out-of-adherence seconds: a0 20 min, a1 12 min (until excused), a2 8 min; b0 3 + 16 min. Five days
    # have out-seconds (someone of the unit was out), each with 8 scheduled hours per agent.
    assert digest.adherence_days == tuple(date(2026, 5, 18 + d) for d in range(5))
    assert t1.adherence_pct == pytest.approx(100 * (1 - (20 + 12 + 8) * 60 / (3 * 5 * SCHEDULED_DAY)))
    assert t2.adherence_pct == pytest.approx(100 * (1 - (3 + 16) * 60 / (5 * SCHEDULED_DAY)))
    assert "adherence % from 5 of 7 days" in digest.coverage
    text = render_text(digest)
    assert "Team t1" in text and "exceptions approved by Sam Supervisor 1" in text
    assert "explained before the card: Agent a2" in text


async def test_with_the_adherence_history_every_day_of_the_week_counts(week: Week) -> None:
    """The monitor's 35-day per-day record (issue 10.8) covers the whole week, not only the 2 days of
    out-seconds; a day without a record (the Sunday here) is left out and said so."""
    history = MemoryAdherenceHistory()
    for d in range(6):  # Monday to Saturday: 8 h scheduled each; a0 out 30 min on Monday, b0 60 min on Friday
        day = date(2026, 5, 18 + d)
        history.add("mu-1", day, dict.fromkeys(["a0", "a1", "a2", "b0"], SCHEDULED_DAY),
                    {"a0": 1800.0} if d == 0 else {"b0": 3600.0} if d == 4 else None)
    week.clock.set(day_at(7, "08:00"))
    roster = week.monitor.units["mu-1"].roster
    digest = await digests(week, history=history).build(roster, day_at(0, "08:00"), day_at(7, "08:00"))
    t1, t2 = digest.teams
    assert digest.adherence_days == tuple(date(2026, 5, 18 + d) for d in range(6))
    assert t1.adherence_pct == pytest.approx(100 * (1 - 1800 / (3 * 6 * SCHEDULED_DAY)))
    assert t2.adherence_pct == pytest.approx(100 * (1 - 3600 / (6 * SCHEDULED_DAY)))
    assert digest.coverage == "adherence % from 6 of 7 days (the monitor's per-day adherence history)"
    assert t1.figures.incidents == 3  # the figures still come from the audit stream


async def test_a_shorter_period_counts_only_its_events(week: Week) -> None:
    week.clock.set(day_at(7, "08:00"))
    roster = week.monitor.units["mu-1"].roster
    digest = await digests(week).build(roster, day_at(1, "00:00"), day_at(3, "00:00"))  # Tuesday and Wednesday
    t1, t2 = digest.teams
    assert (t1.figures.incidents, t2.figures.incidents) == (1, 1)
    assert t1.figures.median_ack_minutes == pytest.approx(5.0) and t1.explained_names == ()


async def test_each_ops_manager_gets_one_digest_a_week_by_slack_and_email(week: Week, fake_slack: FakeSlack) -> None:
    inbox = Inbox()
    server, port = await serve(lambda: SMTP(inbox, hostname="mail.test"))
    try:
        ledger = RedisDigestLedger(week.redis, week.prefix)
        notifiers = [SlackDigestNotifier(week.client, week.directory),
                     SmtpDigestMailer(SmtpSettings(host="127.0.0.1", port=port, starttls=False))]
        job = digests(week, ledger=ledger, notifiers=notifiers)
        week.clock.set(day_at(7, "07:59"))
        assert await job.send_due() == 0  # before Monday 08:00 in the unit's zone: last week's is past its grace
        week.clock.set(day_at(7, "08:15"))
        assert await job.send_due() == 2
        assert await job.send_due() == 0  # a rerun (or another replica) sends nothing again
        again = digests(week, ledger=RedisDigestLedger(week.redis, week.prefix), notifiers=notifiers)
        assert await again.send_due() == 0
    finally:
        server.close()
    (post,) = fake_slack.calls_to("chat.postMessage")
    assert [c.body["users"] for c in fake_slack.calls_to("conversations.open")] == ["U0OPS0001"]
    blocks = post.body["blocks"]
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    assert_valid_blocks(blocks)
    text = json.dumps(blocks, ensure_ascii=False)
    assert "Weekly adherence: Scripted unit" in text and "3 incidents" in text and "explained before the card" in text
    ((_sender, recipients, message),) = inbox.messages
    assert recipients == ["olga@example.com"]
    assert message["Subject"] == "Weekly adherence digest: Scripted unit, week to 2026-05-25"
    body = message.get_body(("plain",))
    assert body is not None and "Team t1" in body.get_content()
