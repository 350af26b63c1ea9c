"""``GenesysSource``: the WorkforceSource of services/ports.py backed by Genesys Cloud.

Structure and schedules come over REST; live states come over the Notification WebSocket and are
reconciled over REST on start, after every (re)connect of a channel, and every ``reconcile_every``
(so a missed event cannot leave a wrong state). ``live_states`` only reads the in-memory table.

Call :meth:`start` once (it loads the structure, opens the channels and reconciles) and
:meth:`close` at shutdown. A background task calls :meth:`maintain` every ``maintenance_every``
seconds (channel renewal, periodic reconciliation); tests call it directly after moving the clock.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import SecretStr

from services.adapters.genesys.async_job import AsyncResults
from services.adapters.genesys.auth import ClientCredentialsAuth
from services.adapters.genesys.backoff import Sleep, real_sleep
from services.adapters.genesys.client import ClientOptions, GenesysClient
from services.adapters.genesys.coaching import GenesysCoaching
from services.adapters.genesys.errors import GenesysError
from services.adapters.genesys.explanations import Explanations
from services.adapters.genesys.live import LiveStateTable
from services.adapters.genesys.notifications import Channel, HubOptions, NotificationHub
from services.adapters.genesys.parse import (
    CodeInfo,
    Explanation,
    build_schedule,
    obj,
    read_agent_schedules,
    read_explanation,
    read_presence,
    read_routing,
    ref_id,
)
from services.adapters.genesys.regions import resolve_hosts
from services.adapters.genesys.schedules import ScheduleSearch
from services.adapters.genesys.structure import StructureReader, UnitInfo, UserRecord, build_roster
from services.adapters.genesys.unit_adherence import read_unit_adherence, unit_of_topic, unit_topic
from services.adapters.genesys.unit_topics import TopicChoice, choose_topics
from services.config import OrgConfig
from services.domain.model import AgentSchedule, AgentState, ExceptionWindow, ManagementUnit, Roster
from services.ports import Clock, ScheduleChanged, StateChanged

log = logging.getLogger(__name__)

StateTopics = Literal["activity", "presence_routing"]
USERS_PER_STATE_REQUEST = 100
PRESENCES_PER_BULK = 50


@dataclass(frozen=True)
class SourceOptions:
    #: ``activity``: one topic per agent (``v2.users.{id}.activity``: presence + routing together);
    #: ``presence_routing``: ``v2.users.{id}.presence`` and ``v2.users.{id}.routingStatus``.
    state_topics: StateTopics = "activity"
    #: Use ``v2.workforcemanagement.managementunits.{id}.adherence`` (one topic per unit, all its agents)
    #: for every unit where Genesys permits it (probed at start), per-user topics for the others.
    unit_topics: bool = True
    reconcile_every: timedelta = timedelta(minutes=5)
    reconcile_retry: timedelta = timedelta(seconds=30)
    maintenance_every: float = 5.0  # real seconds between background maintain() calls
    roster_refresh: timedelta = timedelta(minutes=15)
    exceptions_ttl: timedelta = timedelta(seconds=60)
    start_timeout: float = 30.0
    supervisors_from_managers: bool = False
    #: The user id whose ``v2.workforcemanagement.users.{id}.schedules.search`` topic carries async
    #: schedule results for this OAuth client, if your org provides one (UNCONFIRMED for client credentials).
    async_results_user_id: str | None = None
    unit_ids: tuple[str, ...] | None = None  # restrict to these management units
    callback_workers: int = 4
    schedule_users_per_request: int = 200
    hub: HubOptions = field(default_factory=HubOptions)


class GenesysSource:
    def __init__(self, client: GenesysClient, *, config: OrgConfig, clock: Clock,
                 options: SourceOptions | None = None, sleep: Sleep = real_sleep,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.client, self.config, self.clock = client, config, clock
        self.options = options or SourceOptions()
        self._sleep = sleep
        self.structure = StructureReader(client)
        self.async_results = AsyncResults()
        self.search = ScheduleSearch(client, results=self.async_results, sleep=sleep,
                                     users_per_request=self.options.schedule_users_per_request)
        self.explanations = Explanations(client, sleep=sleep)
        self.table = LiveStateTable()
        self.hub = NotificationHub(client, clock, handler=self._on_event, on_connected=self._channel_connected,
                                   on_alive=self._channel_alive, on_down=self._channel_down,
                                   options=self.options.hub, sleep=sleep, monotonic=monotonic)
        self._units: dict[str, UnitInfo] = {}
        self._rosters: dict[str, tuple[datetime, Roster]] = {}
        self._roster_stale: set[str] = set()
        self._codes: dict[str, dict[str, CodeInfo]] = {}
        self._definitions: dict[str, str] = {}
        self._agent_by_key: dict[str, str] = {}  # lower-cased id -> id (topics are matched case-insensitively)
        self._channel_agents: dict[tuple[str, ...], tuple[str, ...]] = {}
        self.topic_choice = TopicChoice()  # which units use the unit adherence topic (decided in start)
        self._explained: dict[str, dict[str, Explanation]] = {}
        self._explained_range: dict[str, tuple[datetime, datetime, datetime]] = {}
        self._schedule_callbacks: list[ScheduleChanged] = []
        self._forecast_callbacks: list[Callable[[str, dict[str, Any]], None]] = []
        self._state_callbacks: list[StateChanged] = []
        self._pushed_callbacks: list[Callable[[str, AgentState], None]] = []
        self._queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        self._queued: set[tuple[str, str]] = set()
        self._in_flight: set[tuple[str, str]] = set()
        self._again: set[tuple[str, str]] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._started = False
        self._last_reconcile: datetime | None = None
        self._last_reconcile_attempt: datetime | None = None
        self._unreconciled: set[Channel] = set()  # back up, but their agents' REST reconciliation failed
        self._last_held_attempt: datetime | None = None
        self.reconciliations = 0

    # ---- construction -----------------------------------------------------------------------------------
    @classmethod
    def from_settings(cls, *, client_id: str, client_secret: str | SecretStr, config: OrgConfig, clock: Clock,
                      region: str | None = None, api_url: str | None = None, login_url: str | None = None,
                      options: SourceOptions | None = None, client_options: ClientOptions | None = None,
                      ) -> GenesysSource:
        """Build the source from plain settings (``GENESYS_*`` environment variables)."""
        api, login = resolve_hosts(region, api_url, login_url)
        secret = client_secret if isinstance(client_secret, SecretStr) else SecretStr(client_secret)
        client = GenesysClient(api, ClientCredentialsAuth(client_id, secret, login), options=client_options)
        return cls(client, config=config, clock=clock, options=options)

    def coaching(self) -> GenesysCoaching:
        """The CoachingPort on the same connection (same token, same concurrency bound)."""
        return GenesysCoaching(self.client, sleep=self._sleep)

    async def start(self) -> None:
        """Load the structure, open the channels, reconcile everyone. Raises if Genesys cannot be reached."""
        if self._started:
            return
        await self._load_units()
        try:
            self._definitions = await self.structure.presence_definitions()
        except GenesysError as error:
            log.warning("presence definitions unavailable (%s); relying on systemPresence in payloads", error)
        await asyncio.gather(*(self.roster(mu_id) for mu_id in self._units))
        self._tasks = [asyncio.create_task(self._callback_worker(), name=f"genesys-callbacks-{i}")
                       for i in range(self.options.callback_workers)]
        self.topic_choice = await choose_topics(self.client, list(self._units), enabled=self.options.unit_topics)
        if self.topic_choice.channel is not None:
            self.hub.adopt(*self.topic_choice.channel)
        per_agent = 1 if self.options.state_topics == "activity" else 2
        log.info("live states: %s", self.topic_choice.summary(
            {mu_id: len(roster.agents) for mu_id, (_, roster) in self._rosters.items()}, topics_per_agent=per_agent))
        await self.hub.start(self._topics())
        if not await self.hub.wait_ready(self.options.start_timeout):
            log.warning("not every notification channel is up after %.0fs; REST keeps those agents current",
                        self.options.start_timeout)
        covered = {a for c in self.hub.channels if c.ready.is_set() for a in self._agents_of(c)}
        rest = [a for a in self._all_agents() if a not in covered]
        if rest:
            await self.reconcile(rest)
        self._last_reconcile = self.clock.now()
        self._started = True
        self._tasks.append(asyncio.create_task(self._maintenance_loop(), name="genesys-maintenance"))
        log.info("Genesys source started: %d unit(s), %d agent(s), %d channel(s), %d topic(s)", len(self._units),
                 len(self._agent_by_key), len(self.hub.channels), sum(len(c.topics) for c in self.hub.channels))

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        await self.hub.close()
        await self.client.aclose()

    async def __aenter__(self) -> GenesysSource:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    # ---- WorkforceSource --------------------------------------------------------------------------------
    async def management_units(self) -> Sequence[ManagementUnit]:
        if not self._units:
            await self._load_units()
        return [ManagementUnit(info.mu.id, info.mu.name, info.mu.time_zone,
                               tuple(self.config.unit(mu_id).ops_managers)) for mu_id, info in self._units.items()]

    async def roster(self, mu_id: str) -> Roster:
        cached = self._rosters.get(mu_id)
        now = self.clock.now()
        if cached is not None and mu_id not in self._roster_stale and now - cached[0] < self.options.roster_refresh:
            return cached[1]
        unit = await self._unit(mu_id)
        members = await self.structure.member_ids(mu_id)
        users = await self.structure.users(members)
        managers: Mapping[str, UserRecord] | None = None
        if self.options.supervisors_from_managers or self.config.routing.supervisors_from_genesys_manager:
            wanted = {u.manager_id for u in users.values() if u.manager_id and u.manager_id not in users}
            managers = {**users, **(await self.structure.users(wanted) if wanted else {})}
        roster = build_roster(unit, members, users, self.config, managers)
        self._rosters[mu_id] = (now, roster)
        self._roster_stale.discard(mu_id)
        self.table.set_members(mu_id, roster.agents)
        for agent_id in roster.agents:
            self._agent_by_key[agent_id.lower()] = agent_id
        self._channel_agents.clear()  # a unit topic's agents are the unit's members: recomputed on demand
        if self._started:
            await self.hub.add_topics(self._topics())
        return roster

    async def schedules(self, mu_id: str, start: datetime, end: datetime) -> Mapping[str, AgentSchedule]:
        unit = await self._unit(mu_id)
        roster = await self.roster(mu_id)
        codes = await self._activity_codes(unit.bu_id)
        items = await self.search.search(mu_id, list(roster.agents), start, end)
        by_user, unknown = read_agent_schedules({"agentSchedules": items}, codes, unit.bu_time_zone)
        if unknown:
            log.info("schedule of %s uses activity code(s) %s not loaded yet; reloading codes", mu_id, sorted(unknown))
            codes = await self._activity_codes(unit.bu_id, reload=True)
            by_user, unknown = read_agent_schedules({"agentSchedules": items}, codes, unit.bu_time_zone)
            if unknown:
                log.warning("activities with unknown code(s) %s left out of %s's schedules", sorted(unknown), mu_id)
        agents = dict.fromkeys(roster.agents) | dict.fromkeys(by_user)
        return {agent: build_schedule(agent, by_user.get(agent, ())) for agent in agents}

    async def live_states(self, mu_id: str) -> Mapping[str, AgentState]:
        return self.table.view(mu_id)

    async def approved_exceptions(self, mu_id: str, start: datetime, end: datetime) -> Sequence[ExceptionWindow]:
        now = self.clock.now()
        cached = self._explained_range.get(mu_id)
        fresh = cached is not None and now - cached[0] < self.options.exceptions_ttl
        if not (fresh and cached is not None and cached[1] <= start and end <= cached[2]):
            margin = timedelta(hours=1)
            try:
                unit = await self._unit(mu_id)
                found = await self.explanations.query(unit.bu_id, mu_id, start - margin, end + margin)
            except GenesysError as error:
                log.warning("adherence explanations of %s unavailable (%s); using the last known ones", mu_id, error)
            else:
                self._explained[mu_id] = {e.id: e for e in found}
                self._explained_range[mu_id] = (now, start - margin, end + margin)
        return [e.window() for e in self._explained.get(mu_id, {}).values()
                if e.status == "Approved" and e.start <= end and e.end > start]  # inclusive: "now" is the end

    def on_schedule_changed(self, callback: ScheduleChanged) -> None:
        self._schedule_callbacks.append(callback)

    def on_forecast_changed(self, callback: Callable[[str, dict[str, Any]], None]) -> None:
        """``callback(bu_id, body)`` when a staffing requirement of a business unit was (re)calculated."""
        self._forecast_callbacks.append(callback)

    def on_state_changed(self, callback: StateChanged) -> None:
        """``callback(mu_id, state)`` is awaited when an agent's presence or routing changes."""
        self._state_callbacks.append(callback)

    def on_state_pushed(self, callback: Callable[[str, AgentState], None]) -> None:
        """``callback(mu_id, state)`` is called at once (on the event loop, not awaited) when an agent's
        presence or routing changes: for a consumer that is cheap and coalesces by itself
        (``Monitor.push``), without the queue and task switch per change of :meth:`on_state_changed`."""
        self._pushed_callbacks.append(callback)

    # ---- write-backs --------------------------------------------------------------------------------------
    async def approve_exception(self, agent_id: str, start: datetime, end: datetime, notes: str) -> str | None:
        """Write an exception approved in Slack back to WFM as an approved adherence explanation."""
        minutes = max(1, round((end - start).total_seconds() / 60))
        return await self.explanations.add_approved(agent_id, start, minutes, notes)

    # ---- reconciliation ----------------------------------------------------------------------------------
    async def maintain(self) -> None:
        """Renew channels near expiry; retry held agents; reconcile everyone when due. Safe to call at any time."""
        await self.hub.renew_due()
        now = self.clock.now()
        await self._retry_held(now)
        due = self._last_reconcile is None or now - self._last_reconcile >= self.options.reconcile_every
        retry_ok = (self._last_reconcile_attempt is None
                    or now - self._last_reconcile_attempt >= self.options.reconcile_retry)
        if due and retry_ok:
            self._last_reconcile_attempt = now
            rest_only = self._agents_in(self.hub.unsubscribed)
            if await self.reconcile(self._all_agents()):
                self._last_reconcile = now
                self.table.release(rest_only)  # REST is their only feed: a good reading vouches for them
            else:
                self.table.hold(rest_only, now)

    # ---- feed health --------------------------------------------------------------------------------------
    def feed_down_since(self) -> datetime | None:
        """Since when some agent's state could not be vouched for (None: the whole feed is up)."""
        return self.table.down_since()

    async def _retry_held(self, now: datetime) -> None:
        """Channels back up whose post-connect reconciliation failed: try again every ``reconcile_retry``."""
        waiting = [c for c in self._unreconciled if c.connected]
        if not waiting:
            return
        if self._last_held_attempt is not None and now - self._last_held_attempt < self.options.reconcile_retry:
            return
        self._last_held_attempt = now
        for channel in waiting:
            agents = self._agents_in(channel.topics)
            if await self.reconcile(agents):
                self._unreconciled.discard(channel)
                released = self.table.release(agents)
                log.info("channel %s reconciled after a failed attempt; %d agent(s) no longer held",
                         channel.id, len(released))

    async def reconcile(self, agent_ids: Iterable[str]) -> bool:
        """Read presence + routing of these agents over REST and fix the table. False if Genesys failed."""
        ids = [a for a in dict.fromkeys(agent_ids) if self.table.unit_of(a) is not None]
        if not ids:
            return True
        requested_at = self.clock.now()
        try:
            presences, routings = await self._read_states(ids)
        except GenesysError as error:
            log.warning("REST reconciliation of %d agent(s) failed (%s); their states will go stale", len(ids), error)
            return False
        now = self.clock.now()
        changed = 0
        for agent_id in ids:
            presence, routing = presences.get(agent_id), routings.get(agent_id)
            if presence is None and routing is None:
                continue
            state = self.table.apply(agent_id, now, presence=presence, routing=routing, not_before=requested_at)
            if state is not None:
                changed += 1
                self._notify(agent_id)
        self.reconciliations += 1
        log.info("reconciled %d agent(s) over REST; %d state(s) corrected", len(ids), changed)
        return True

    async def _read_states(self, ids: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
        """``GET /api/v2/users?id=..&expand=presence&expand=routingStatus`` (expand is best effort), then the
        bulk presence route and the per-user routing-status route for whatever the expand left out."""
        chunks = [ids[i:i + USERS_PER_STATE_REQUEST] for i in range(0, len(ids), USERS_PER_STATE_REQUEST)]
        presences: dict[str, Any] = {}
        routings: dict[str, Any] = {}

        async def users(chunk: list[str]) -> None:
            params: dict[str, str | int | list[str]] = {
                "id": chunk, "expand": ["presence", "routingStatus"], "pageSize": USERS_PER_STATE_REQUEST}
            async for user in self.client.paged("/api/v2/users", params, page_size=USERS_PER_STATE_REQUEST):
                user_id = ref_id(user)
                if user_id is None:
                    continue
                presence = read_presence(user.get("presence"), self._definitions)
                if presence is not None:
                    presences[user_id] = presence
                routing = read_routing(user.get("routingStatus"))
                if routing is not None:
                    routings[user_id] = routing

        await asyncio.gather(*(users(c) for c in chunks))
        missing = [a for a in ids if a not in presences]
        bulk = [missing[i:i + PRESENCES_PER_BULK] for i in range(0, len(missing), PRESENCES_PER_BULK)]

        async def bulk_presence(chunk: list[str]) -> None:
            body = await self.client.get("/api/v2/users/presences/purecloud/bulk", {"id": chunk})
            for item in body if isinstance(body, list) else []:
                user_id = item.get("userId") if isinstance(item, dict) else None
                presence = read_presence(item, self._definitions)
                if isinstance(user_id, str) and presence is not None:
                    presences[user_id] = presence

        async def routing_status(user_id: str) -> None:
            routing = read_routing(await self.client.get(f"/api/v2/users/{user_id}/routingstatus"))
            if routing is not None:
                routings[user_id] = routing

        await asyncio.gather(*(bulk_presence(c) for c in bulk),
                             *(routing_status(a) for a in ids if a not in routings))
        return presences, routings

    # ---- notifications -------------------------------------------------------------------------------
    def _topics(self) -> list[str]:
        topics: list[str] = []
        bus = dict.fromkeys(u.bu_id for u in self._units.values())
        for bu_id in bus:
            topics.append(f"v2.workforcemanagement.businessunits.{bu_id}.schedules")
            topics.append(f"v2.workforcemanagement.businessunits.{bu_id}.adherence.explanations")
            topics.append(f"v2.workforcemanagement.businessunits.{bu_id}.forecasts.staffingrequirement")
        for mu_id in self._units:
            topics.append(f"v2.workforcemanagement.managementunits.{mu_id}.schedules")
        if self.options.async_results_user_id:
            topics.append(f"v2.workforcemanagement.users.{self.options.async_results_user_id}.schedules.search")
        topics += [unit_topic(mu_id) for mu_id in self._rosters if self.topic_choice.uses_unit_topic(mu_id)]
        for agent_id in self._per_user_agents():
            if self.options.state_topics == "activity":
                topics.append(f"v2.users.{agent_id}.activity")
            else:
                topics += [f"v2.users.{agent_id}.presence", f"v2.users.{agent_id}.routingStatus"]
        return topics

    def _agents_of(self, channel: Channel) -> tuple[str, ...]:
        """Agents whose topics the channel carries (as Genesys accepted them)."""
        return self._agents_in(channel.permitted)

    def _agents_in(self, topics: tuple[str, ...]) -> tuple[str, ...]:
        agents = self._channel_agents.get(topics)
        if agents is None:
            found: list[str] = []
            for topic in topics:
                unit = unit_of_topic(topic)
                if unit is not None:
                    cached = self._rosters.get(unit)
                    found += cached[1].agents if cached is not None else []
                    continue
                parts = topic.split(".")
                if len(parts) == 4 and parts[1] == "users":
                    agent = self._agent_by_key.get(parts[2].lower())
                    if agent is not None:
                        found.append(agent)
            agents = self._channel_agents[topics] = tuple(dict.fromkeys(found))
        return agents

    async def _channel_connected(self, channel: Channel) -> None:
        if channel.connects > 1:
            log.info("channel %s reconnected; reconciling its agents over REST", channel.id)
        agents = self._agents_in(channel.topics)
        if await self.reconcile(agents):
            self._unreconciled.discard(channel)
            released = self.table.release(agents)
            if released:
                log.info("channel %s reconciled; %d held agent(s) evaluated on their true state again",
                         channel.id, len(released))
        else:
            self._unreconciled.add(channel)
            log.warning("channel %s is up but its agents could not be reconciled; they stay held (no alerts) "
                        "until a reconciliation succeeds", channel.id)

    def _channel_down(self, channel: Channel) -> None:
        agents = self._agents_in(channel.topics)
        self.table.hold(agents, self.clock.now())
        if agents:
            log.warning("channel %s is down; %d agent(s) held (no new incident, no tier) until it is back and "
                        "reconciled", channel.id, len(agents))

    def _channel_alive(self, channel: Channel) -> None:
        self.table.confirm(self._agents_of(channel), self.clock.now())

    def _on_event(self, topic: str, body: dict[str, Any]) -> None:
        parts = topic.split(".")
        if len(parts) == 4 and parts[1] == "users":
            self._on_user_event(parts[2], parts[3].lower(), body)
        elif len(parts) >= 5 and parts[1] == "workforcemanagement":
            self._on_wfm_event(parts[2], parts[3], ".".join(parts[4:]).lower(), body)

    def _on_user_event(self, user_key: str, kind: str, body: dict[str, Any]) -> None:
        agent_id = self._agent_by_key.get(user_key.lower())
        if agent_id is None:
            return
        now = self.clock.now()
        if kind == "activity":
            state = self.table.apply(agent_id, now, presence=read_presence(body.get("presence"), self._definitions),
                                     routing=read_routing(body.get("routingStatus")))
        elif kind == "presence":
            state = self.table.apply(agent_id, now, presence=read_presence(body, self._definitions))
        elif kind == "routingstatus":
            state = self.table.apply(agent_id, now, routing=read_routing(body.get("routingStatus")))
        else:
            return
        if state is not None:
            self._notify(agent_id)

    def _on_wfm_event(self, scope: str, scope_id: str, rest: str, body: dict[str, Any]) -> None:
        if rest == "schedules.search" and scope == "users":
            self.async_results.resolve(body)
        elif rest == "schedules" and scope in ("businessunits", "managementunits"):
            if body.get("status", "Complete") != "Complete":
                return  # Processing: the Complete event follows
            if scope == "managementunits":
                units = [scope_id]
            else:
                result = obj(body.get("result"))
                named = [ref_id(m.get("managementUnit")) for m in result.get("managementUnits") or []
                         if isinstance(m, dict)]
                units = [u for u in named if u] or [u for u, i in self._units.items() if i.bu_id == scope_id]
            for mu_id in dict.fromkeys(units):
                if mu_id in self._units:
                    self._schedule_changed(mu_id)
        elif rest == "adherence" and scope == "managementunits":
            self._on_unit_adherence(scope_id, body)
        elif rest == "forecasts.staffingrequirement" and scope == "businessunits":
            for forecast_callback in self._forecast_callbacks:
                try:
                    forecast_callback(scope_id, body)
                except Exception:
                    log.exception("forecast-changed callback failed for %s", scope_id)
        elif rest == "adherence.explanations":
            explanation = read_explanation(body)
            if explanation is None:
                return
            unit = explanation.mu_id or self.table.unit_of(explanation.agent_id)
            if unit is not None:
                self._explained.setdefault(unit, {})[explanation.id] = explanation
                log.info("adherence explanation %s of %s is now %s", explanation.id, explanation.agent_id,
                         explanation.status)

    def _on_unit_adherence(self, topic_unit: str, body: dict[str, Any]) -> None:
        """One agent's record on the unit adherence topic: its presence and routing, as a per-user event."""
        reading = read_unit_adherence(body, self._definitions)
        if reading is None:
            return
        agent_id = self._agent_by_key.get(reading.agent_id.lower())
        if reading.removed:
            mu_id = next((u for u in self._units if u.lower() == topic_unit.lower()), None)
            if mu_id is not None:
                self._roster_stale.add(mu_id)  # membership changed: refetched with the next roster read
            return
        if agent_id is None:
            return  # not an agent we monitor (yet): the roster refresh brings them in
        state = self.table.apply(agent_id, self.clock.now(), presence=reading.presence, routing=reading.routing)
        if state is not None:
            self._notify(agent_id)

    def _schedule_changed(self, mu_id: str) -> None:
        log.info("published schedule of %s changed (notification)", mu_id)
        self._roster_stale.add(mu_id)  # membership may have changed too: refetched with the schedules
        for callback in self._schedule_callbacks:
            try:
                callback(mu_id)
            except Exception:
                log.exception("schedule-changed callback failed for %s", mu_id)

    # ---- state-change callbacks ----------------------------------------------------------------------------
    def _notify(self, agent_id: str) -> None:
        """Hand the new state to the pushed callbacks now; queue an evaluation of this agent for the
        awaited ones (repeated changes before it runs coalesce into one)."""
        if not self._started or not (self._state_callbacks or self._pushed_callbacks):
            return
        mu_id = self.table.unit_of(agent_id)
        if mu_id is None:
            return
        state = self.table.get(agent_id) if self._pushed_callbacks else None
        if state is not None:
            for pushed in self._pushed_callbacks:
                try:
                    pushed(mu_id, state)
                except Exception:
                    log.exception("state-pushed callback failed for %s", agent_id)
        if not self._state_callbacks:
            return
        key = (mu_id, agent_id)
        if key not in self._queued:
            self._queued.add(key)
            self._queue.put_nowait(key)

    async def _callback_worker(self) -> None:
        while True:
            key = await self._queue.get()
            self._queued.discard(key)
            if key in self._in_flight:
                self._again.add(key)  # the worker handling it re-queues it when done: one at a time per agent
                continue
            self._in_flight.add(key)
            try:
                state = self.table.get(key[1])
                if state is not None:
                    for callback in self._state_callbacks:
                        try:
                            await callback(key[0], state)
                        except Exception:
                            log.exception("state-changed callback failed for %s", key[1])
            finally:
                self._in_flight.discard(key)
                if key in self._again:
                    self._again.discard(key)
                    self._notify(key[1])

    async def _maintenance_loop(self) -> None:
        while True:
            await self._sleep(self.options.maintenance_every)
            try:
                await self.maintain()
            except Exception:
                log.exception("Genesys maintenance failed; will retry")

    # ---- helpers --------------------------------------------------------------------------------------
    async def _load_units(self) -> None:
        units = await self.structure.units()
        wanted = set(self.options.unit_ids) if self.options.unit_ids is not None else None
        self._units = {u.mu.id: u for u in units if wanted is None or u.mu.id in wanted}
        if wanted is not None and (missing := wanted - set(self._units)):
            log.warning("configured management unit(s) %s not found in Genesys", sorted(missing))

    async def _unit(self, mu_id: str) -> UnitInfo:
        if mu_id not in self._units:
            await self._load_units()
        if mu_id not in self._units:
            raise KeyError(f"unknown management unit {mu_id!r}")
        return self._units[mu_id]

    async def _activity_codes(self, bu_id: str, *, reload: bool = False) -> dict[str, CodeInfo]:
        if reload or bu_id not in self._codes:
            self._codes[bu_id] = await self.structure.activity_codes(bu_id)
        return self._codes[bu_id]

    def _all_agents(self) -> list[str]:
        return [a for _, roster in self._rosters.values() for a in roster.agents]

    def _per_user_agents(self) -> list[str]:
        """Agents of the units that do not use the unit adherence topic (one or two topics each)."""
        return [a for mu_id, (_, roster) in self._rosters.items() if not self.topic_choice.uses_unit_topic(mu_id)
                for a in roster.agents]

