"""``GenesysSource``: the WorkforceSource of services/ports.py backed by Genesys Cloud.

Structure and schedules come over REST; live states come over the Notification WebSocket and are
reconciled over REST on start, after every (re)connect of a channel, and every ``reconcile_every``
(so a missed event cannot leave a wrong state). ``live_states`` only reads the in-memory table.

Call :meth:`start` once (it loads the structure, opens the channels and reconciles) and
:meth:`close` at shutdown. A background task calls :meth:`maintain` every ``maintenance_every``
seconds (channel renewal, periodic reconciliation); tests call it directly after moving the clock.

The jobs live beside it: ``catalog`` (units, rosters, topics), ``events`` (routing notifications by
topic), ``callbacks`` (the state-change callbacks and their workers), ``reconcile`` (REST
reconciliation and the channel hooks), ``state_reads`` (the REST reading), ``source_options``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import datetime, timedelta

from pydantic import SecretStr

from services.adapters.genesys.async_job import AsyncResults
from services.adapters.genesys.auth import ClientCredentialsAuth
from services.adapters.genesys.backoff import Sleep, real_sleep
from services.adapters.genesys.callbacks import StateCallbacks, StatePushed
from services.adapters.genesys.catalog import SourceCatalog
from services.adapters.genesys.client import ClientOptions, GenesysClient
from services.adapters.genesys.coaching import GenesysCoaching
from services.adapters.genesys.errors import GenesysError
from services.adapters.genesys.events import EventRouter, ForecastChanged
from services.adapters.genesys.explanations import Explanations
from services.adapters.genesys.live import LiveStateTable
from services.adapters.genesys.notifications import NotificationHub
from services.adapters.genesys.parse import CodeInfo, Explanation, build_schedule, read_agent_schedules
from services.adapters.genesys.reconcile import Reconciler
from services.adapters.genesys.regions import resolve_hosts
from services.adapters.genesys.schedules import ScheduleSearch
from services.adapters.genesys.source_options import SourceOptions, StateTopics
from services.adapters.genesys.structure import StructureReader, UnitInfo, UserRecord, build_roster
from services.adapters.genesys.topic_fallback import TopicFallback
from services.adapters.genesys.unit_topics import TopicChoice, choose_topics
from services.config import OrgConfig
from services.domain.model import AgentSchedule, AgentState, ExceptionWindow, ManagementUnit, Roster
from services.ports import Clock, ScheduleChanged, StateChanged

log = logging.getLogger(__name__)

__all__ = ["GenesysSource", "SourceOptions", "StateTopics"]


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
        self.catalog = SourceCatalog()
        self._explained: dict[str, dict[str, Explanation]] = self.catalog.explained
        self._explained_range: dict[str, tuple[datetime, datetime, datetime]] = {}
        self.callbacks = StateCallbacks(self.table)
        self.router = EventRouter(self.catalog, self.table, clock, self.async_results, self.callbacks.notify)
        self.reconciler = Reconciler(client, self.catalog, self.table, clock, self.options, self.callbacks.notify)
        self.hub = NotificationHub(client, clock, handler=self.router.on_event,
                                   on_connected=self.reconciler.channel_connected,
                                   on_alive=self.reconciler.channel_alive, on_down=self.reconciler.channel_down,
                                   options=self.options.hub, sleep=sleep, monotonic=monotonic)
        self.fallback = TopicFallback(client, self.catalog, self.hub, self.reconciler, self.options)
        self.hub.on_refused = self.fallback.topics_refused
        self._tasks: list[asyncio.Task[None]] = []
        self._started = False

    @property
    def topic_choice(self) -> TopicChoice:
        """Which units use the unit adherence topic (decided in :meth:`start`)."""
        return self.catalog.topic_choice

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
            self.catalog.definitions = await self.structure.presence_definitions()
        except GenesysError as error:
            log.warning("presence definitions unavailable (%s); relying on systemPresence in payloads", error)
        await asyncio.gather(*(self.roster(mu_id) for mu_id in self.catalog.units))
        self._tasks = self.callbacks.workers(self.options.callback_workers)
        choice = self.catalog.topic_choice = await choose_topics(self.client, list(self.catalog.units),
                                                                 enabled=self.options.unit_topics)
        if choice.channel is not None:
            self.hub.adopt(*choice.channel)
        per_agent = 1 if self.options.state_topics == "activity" else 2
        log.info("live states: %s", choice.summary(
            {mu_id: len(roster.agents) for mu_id, (_, roster) in self.catalog.rosters.items()},
            topics_per_agent=per_agent))
        await self.hub.start(self.catalog.topics(self.options))
        if not await self.hub.wait_ready(self.options.start_timeout):
            log.warning("not every notification channel is up after %.0fs; REST keeps those agents current",
                        self.options.start_timeout)
        covered = {a for c in self.hub.channels if c.ready.is_set() for a in self.catalog.agents_in(c.permitted)}
        rest = [a for a in self.catalog.all_agents() if a not in covered]
        if rest:
            await self.reconcile(rest)
        self.reconciler.last_reconcile = self.clock.now()
        self._started = self.callbacks.enabled = True
        self._tasks.append(asyncio.create_task(self._maintenance_loop(), name="genesys-maintenance"))
        log.info("Genesys source started: %d unit(s), %d agent(s), %d channel(s), %d topic(s)",
                 len(self.catalog.units), self.catalog.agent_count(), len(self.hub.channels),
                 sum(len(c.topics) for c in self.hub.channels))

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        await self.fallback.close()
        await self.hub.close()
        await self.client.aclose()

    async def __aenter__(self) -> GenesysSource:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    # ---- WorkforceSource --------------------------------------------------------------------------------
    async def management_units(self) -> Sequence[ManagementUnit]:
        if not self.catalog.units:
            await self._load_units()
        return [ManagementUnit(info.mu.id, info.mu.name, info.mu.time_zone, tuple(self.config.unit(mu_id).ops_managers))
                for mu_id, info in self.catalog.units.items()]

    async def roster(self, mu_id: str) -> Roster:
        cached = self.catalog.rosters.get(mu_id)
        now = self.clock.now()
        fresh = cached is not None and now - cached[0] < self.options.roster_refresh
        if cached is not None and fresh and mu_id not in self.catalog.roster_stale:
            return cached[1]
        unit = await self._unit(mu_id)
        members = await self.structure.member_ids(mu_id)
        users = await self.structure.users(members)
        managers: Mapping[str, UserRecord] | None = None
        if self.options.supervisors_from_managers or self.config.routing.supervisors_from_genesys_manager:
            wanted = {u.manager_id for u in users.values() if u.manager_id and u.manager_id not in users}
            managers = {**users, **(await self.structure.users(wanted) if wanted else {})}
        roster = build_roster(unit, members, users, self.config, managers)
        self.catalog.set_roster(mu_id, now, roster)
        self.table.set_members(mu_id, roster.agents)
        if self._started:
            await self.hub.add_topics(self.catalog.topics(self.options))
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

    def changed_agents(self, mu_id: str, cursor: int | None) -> tuple[int, Collection[str] | None]:
        """``ports.ChangeReporting``: the agents whose state changed (events, REST reconciliation, a hold
        or its release) since ``cursor``; None when the cursor is lost or unknown (compare every state)."""
        return self.table.changes.since(mu_id, cursor)

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
        self.router.schedule_callbacks.append(callback)

    def on_forecast_changed(self, callback: ForecastChanged) -> None:
        """``callback(bu_id, body)`` when a staffing requirement of a business unit was (re)calculated."""
        self.router.forecast_callbacks.append(callback)

    def on_state_changed(self, callback: StateChanged) -> None:
        """``callback(mu_id, state)`` is awaited when an agent's presence or routing changes."""
        self.callbacks.awaited.append(callback)

    def on_state_pushed(self, callback: StatePushed) -> None:
        """``callback(mu_id, state)`` is called at once (on the event loop, not awaited) when an agent's
        presence or routing changes: for a consumer that is cheap and coalesces by itself
        (``Monitor.push``), without the queue and task switch per change of :meth:`on_state_changed`."""
        self.callbacks.pushed.append(callback)

    # ---- write-backs --------------------------------------------------------------------------------------
    async def approve_exception(self, agent_id: str, start: datetime, end: datetime, notes: str, *,
                                ref: str) -> str | None:
        """Write an exception approved in Slack back to WFM as an approved adherence explanation."""
        minutes = max(1, round((end - start).total_seconds() / 60))
        return await self.explanations.add_approved(agent_id, start, minutes, notes, ref=ref)

    # ---- upkeep and feed health ----------------------------------------------------------------------------
    async def maintain(self) -> None:
        """Renew channels near expiry; retry held agents; reconcile everyone when due. Safe to call at any time."""
        await self.hub.renew_due()
        await self.reconciler.upkeep(self.hub.unsubscribed)

    async def reconcile(self, agent_ids: Iterable[str]) -> bool:
        """Read presence + routing of these agents over REST and fix the table. False if Genesys failed."""
        return await self.reconciler.reconcile(agent_ids)

    def feed_down_since(self) -> datetime | None:
        """Since when some agent's state could not be vouched for (None: the whole feed is up)."""
        return self.table.down_since()

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
        self.catalog.units = {u.mu.id: u for u in units if wanted is None or u.mu.id in wanted}
        if wanted is not None and (missing := wanted - set(self.catalog.units)):
            log.warning("configured management unit(s) %s not found in Genesys", sorted(missing))

    async def _unit(self, mu_id: str) -> UnitInfo:
        if mu_id not in self.catalog.units:
            await self._load_units()
        if mu_id not in self.catalog.units:
            raise KeyError(f"unknown management unit {mu_id!r}")
        return self.catalog.units[mu_id]

    async def _activity_codes(self, bu_id: str, *, reload: bool = False) -> dict[str, CodeInfo]:
        codes = self.catalog.codes
        if reload or bu_id not in codes:
            codes[bu_id] = await self.structure.activity_codes(bu_id)
        return codes[bu_id]
