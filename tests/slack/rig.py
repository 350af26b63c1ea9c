"""The Slack app wired to the real use cases: Monitor + IncidentActions + AdherenceQueries on real Redis
(or on another state store passed as ``store``), a scripted WFM source, the fake Slack Web API, and an
injected clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from redis.asyncio import Redis
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from handlers.app import AdherenceApp, build_app
from handlers.deps import HandlerDeps
from services.adapters.redis.store import RedisStore
from services.adapters.slack.client import make_web_client
from services.adapters.slack.directory import SlackDirectory
from services.clock import ManualClock
from services.config import OrgConfig
from services.domain.escalation import Incident
from services.domain.model import ScheduledActivity
from services.domain.states import ActivityCategory, Presence, RoutingStatus
from services.incident_actions import IncidentActions
from services.monitor import Monitor
from services.ports import StateStore
from services.queries import AdherenceQueries
from testing.fake_slack import BOT_TOKEN, FakeSlack
from tests.monitor.scripted import ScriptedSource
from tests.slack import signed
from tests.slack.conftest import RecordingSleep

T0 = datetime(2026, 5, 18, 9, 0, tzinfo=UTC)
TICK = timedelta(seconds=15)
ON_QUEUE_DAY = [ScheduledActivity(T0 - timedelta(hours=1), T0 + timedelta(hours=7), ActivityCategory.ON_QUEUE_WORK)]
SUPERVISOR_ID, OPS_ID, STRANGER_ID = "U0SUP0001", "U0OPS0001", "U0STRANGE"
MU = "mu-1"


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


class SlackRig:
    def __init__(self, redis: Redis, prefix: str, fake: FakeSlack, *, agents: int = 2,
                 config: OrgConfig | None = None, store: StateStore | None = None) -> None:
        self.fake, self.redis, self.prefix = fake, redis, prefix
        self.clock = ManualClock(T0)
        self.config = config or OrgConfig()
        self.source = ScriptedSource(self.clock)
        for i in range(agents):
            self.source.add_agent(f"a{i}", ON_QUEUE_DAY)
            self.source.set_state(f"a{i}", Presence.ON_QUEUE, RoutingStatus.IDLE, since=at(-60))
        self.store: StateStore = store or RedisStore(redis, prefix)
        self.monitor = Monitor(source=self.source, store=self.store, config=self.config, clock=self.clock)
        self.sleeps = RecordingSleep()
        self.client = make_web_client(BOT_TOKEN, base_url=fake.api_url, sleep=self.sleeps)
        self.directory = SlackDirectory(self.client)
        self.actions = IncidentActions(store=self.store, rosters=self.monitor.roster, directory=self.directory,
                                       clock=self.clock, shift_ends=self.monitor.shift_end,
                                       reasons=self.config.explanation_reasons_for)
        self.queries = AdherenceQueries(monitor=self.monitor, store=self.store, directory=self.directory,
                                        clock=self.clock)
        self.woken = 0
        self.deps = HandlerDeps(actions=self.actions, queries=self.queries, clock=self.clock,
                                after_action=self._wake)
        self.app: AdherenceApp = build_app(self.deps, signing_secret=signed.SIGNING_SECRET, token=None,
                                           client=self.client)

    async def _wake(self) -> None:
        self.woken += 1

    async def run_until(self, minutes: float) -> None:
        while self.clock.now() <= at(minutes):
            await self.monitor.tick()
            self.clock.advance(TICK)

    async def open_incident(self, agent_id: str = "a0", minutes: float = 6) -> Incident:
        """Agent goes Away at T0 + 1 min; returns its incident after ``minutes`` more (tier 1 fired)."""
        await self.run_until(1)
        self.source.set_state(agent_id, Presence.AWAY, RoutingStatus.OFF_QUEUE)
        await self.run_until(1 + minutes)
        return await self.incident(agent_id)

    async def incident(self, agent_id: str = "a0") -> Incident:
        track = await self.store.load_track(MU, agent_id)
        assert track is not None and track.incident is not None
        return track.incident

    async def dispatch(self, request: AsyncBoltRequest) -> BoltResponse:
        return await self.app.async_dispatch(request)

    async def click(self, action_id: str, value: str, user_id: str, *, hook: str = "1",
                    block_id: str = "actions.1.open") -> BoltResponse:
        return await self.send(self.click_body(action_id, value, user_id, hook=hook, block_id=block_id))

    def click_body(self, action_id: str, value: str, user_id: str, *, hook: str = "1",
                   block_id: str = "actions.1.open") -> str:
        """The body Slack would POST for one click (send it twice with one timestamp to replay it)."""
        payload = signed.block_action(action_id=action_id, value=value, user_id=user_id,
                                      response_url=self.fake.response_url(hook), block_id=block_id)
        return signed.interactive_body(payload)

    async def send(self, body: str, timestamp: int | None = None) -> BoltResponse:
        """Dispatch a signed body; the same body and timestamp again is a byte-identical replay."""
        return await self.dispatch(signed.bolt_request(body, timestamp=timestamp))

    async def command(self, text: str, user_id: str, *, command: str = "/adherence", hook: str = "1") -> BoltResponse:
        fields = signed.slash_command(command=command, text=text, user_id=user_id,
                                      response_url=self.fake.response_url(hook))
        return await self.dispatch(signed.bolt_request(signed.command_body(fields)))

    async def submit(self, callback_id: str, private_metadata: str, values: dict[str, Any],
                     user_id: str) -> BoltResponse:
        return await self.send(self.submit_body(callback_id, private_metadata, values, user_id))

    def submit_body(self, callback_id: str, private_metadata: str, values: dict[str, Any], user_id: str) -> str:
        payload = signed.view_submission(callback_id=callback_id, private_metadata=private_metadata,
                                         values=values, user_id=user_id)
        return signed.interactive_body(payload)

    async def event(self, event: dict[str, Any]) -> BoltResponse:
        body = signed.event_body(signed.event_callback(event))
        return await self.dispatch(signed.bolt_request(body, content_type="application/json"))
