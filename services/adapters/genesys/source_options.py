"""``SourceOptions``: how ``GenesysSource`` subscribes, reconciles and refreshes (defaults fit production)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

from services.adapters.genesys.notifications import HubOptions

StateTopics = Literal["activity", "presence_routing"]


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
