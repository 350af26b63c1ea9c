"""Routes each notification of the Genesys source by its topic: agent states into the live table,
schedule and forecast changes to their callbacks, explanations into the catalog, async results to
the schedule search waiting for them."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from services.adapters.genesys.async_job import AsyncResults
from services.adapters.genesys.catalog import SourceCatalog
from services.adapters.genesys.live import LiveStateTable
from services.adapters.genesys.parse import obj, read_explanation, read_presence, read_routing, ref_id
from services.adapters.genesys.unit_adherence import read_unit_adherence
from services.ports import Clock, ScheduleChanged

log = logging.getLogger(__name__)

ForecastChanged = Callable[[str, dict[str, Any]], None]


class EventRouter:
    def __init__(self, catalog: SourceCatalog, table: LiveStateTable, clock: Clock, async_results: AsyncResults,
                 notify: Callable[[str], None]) -> None:
        self.catalog, self.table, self.clock, self.async_results = catalog, table, clock, async_results
        self._notify = notify  # an agent's state changed
        self.schedule_callbacks: list[ScheduleChanged] = []
        self.forecast_callbacks: list[ForecastChanged] = []

    def on_event(self, topic: str, body: dict[str, Any]) -> None:
        parts = topic.split(".")
        if len(parts) == 4 and parts[1] == "users":
            self._on_user_event(parts[2], parts[3].lower(), body)
        elif len(parts) >= 5 and parts[1] == "workforcemanagement":
            self._on_wfm_event(parts[2], parts[3], ".".join(parts[4:]).lower(), body)

    def _on_user_event(self, user_key: str, kind: str, body: dict[str, Any]) -> None:
        agent_id = self.catalog.agent(user_key)
        if agent_id is None:
            return
        now, definitions = self.clock.now(), self.catalog.definitions
        if kind == "activity":
            state = self.table.apply(agent_id, now, presence=read_presence(body.get("presence"), definitions),
                                     routing=read_routing(body.get("routingStatus")))
        elif kind == "presence":
            state = self.table.apply(agent_id, now, presence=read_presence(body, definitions))
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
            self._on_schedules(scope, scope_id, body)
        elif rest == "adherence" and scope == "managementunits":
            self._on_unit_adherence(scope_id, body)
        elif rest == "forecasts.staffingrequirement" and scope == "businessunits":
            for forecast_callback in self.forecast_callbacks:
                try:
                    forecast_callback(scope_id, body)
                except Exception:
                    log.exception("forecast-changed callback failed for %s", scope_id)
        elif rest == "adherence.explanations":
            self._on_explanation(body)

    def _on_schedules(self, scope: str, scope_id: str, body: dict[str, Any]) -> None:
        if body.get("status", "Complete") != "Complete":
            return  # Processing: the Complete event follows
        if scope == "managementunits":
            units = [scope_id]
        else:
            result = obj(body.get("result"))
            named = [ref_id(m.get("managementUnit")) for m in result.get("managementUnits") or []
                     if isinstance(m, dict)]
            units = [u for u in named if u] or [u for u, i in self.catalog.units.items() if i.bu_id == scope_id]
        for mu_id in dict.fromkeys(units):
            if mu_id in self.catalog.units:
                self._schedule_changed(mu_id)

    def _on_explanation(self, body: dict[str, Any]) -> None:
        explanation = read_explanation(body)
        if explanation is None:
            return
        unit = explanation.mu_id or self.table.unit_of(explanation.agent_id)
        if unit is not None:
            self.catalog.explained.setdefault(unit, {})[explanation.id] = explanation
            log.info("adherence explanation %s of %s is now %s", explanation.id, explanation.agent_id,
                     explanation.status)

    def _on_unit_adherence(self, topic_unit: str, body: dict[str, Any]) -> None:
        """One agent's record on the unit adherence topic: its presence and routing, as a per-user event."""
        reading = read_unit_adherence(body, self.catalog.definitions)
        if reading is None:
            return
        agent_id = self.catalog.agent(reading.agent_id)
        if reading.removed:
            mu_id = self.catalog.unit_named(topic_unit)
            if mu_id is not None:
                self.catalog.roster_stale.add(mu_id)  # membership changed: refetched with the next roster read
            return
        if agent_id is None:
            return  # not an agent we monitor (yet): the roster refresh brings them in
        state = self.table.apply(agent_id, self.clock.now(), presence=reading.presence, routing=reading.routing)
        if state is not None:
            self._notify(agent_id)

    def _schedule_changed(self, mu_id: str) -> None:
        log.info("published schedule of %s changed (notification)", mu_id)
        self.catalog.roster_stale.add(mu_id)  # membership may have changed too: refetched with the schedules
        for callback in self.schedule_callbacks:
            try:
                callback(mu_id)
            except Exception:
                log.exception("schedule-changed callback failed for %s", mu_id)
