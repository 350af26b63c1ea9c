"""What the Genesys source knows of the org's structure: units, rosters, agent ids, topics.

Shared by the source (which fills it), the event router (which matches topics to agents) and the
reconciler (which reads the agents a channel carries). Topics are matched case-insensitively.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from services.adapters.genesys.parse import CodeInfo, Explanation
from services.adapters.genesys.source_options import SourceOptions
from services.adapters.genesys.structure import UnitInfo
from services.adapters.genesys.unit_adherence import unit_of_topic, unit_topic
from services.adapters.genesys.unit_topics import TopicChoice
from services.domain.model import Roster


@dataclass
class SourceCatalog:
    units: dict[str, UnitInfo] = field(default_factory=dict)
    rosters: dict[str, tuple[datetime, Roster]] = field(default_factory=dict)  # fetched at, roster
    roster_stale: set[str] = field(default_factory=set)  # refetched with the next roster read
    codes: dict[str, dict[str, CodeInfo]] = field(default_factory=dict)  # business unit -> activity codes
    definitions: dict[str, str] = field(default_factory=dict)  # presence definition id -> system presence
    topic_choice: TopicChoice = field(default_factory=TopicChoice)  # decided at start
    explained: dict[str, dict[str, Explanation]] = field(default_factory=dict)  # unit -> explanation id -> it
    _agent_by_key: dict[str, str] = field(default_factory=dict)  # lower-cased id -> id
    _channel_agents: dict[tuple[str, ...], tuple[str, ...]] = field(default_factory=dict)

    def set_roster(self, mu_id: str, at: datetime, roster: Roster) -> None:
        self.rosters[mu_id] = (at, roster)
        self.roster_stale.discard(mu_id)
        for agent_id in roster.agents:
            self._agent_by_key[agent_id.lower()] = agent_id
        self._channel_agents.clear()  # a unit topic's agents are the unit's members: recomputed on demand

    def agent(self, key: str) -> str | None:
        """The agent id a topic or a record names, whatever its case (None: not an agent we know)."""
        return self._agent_by_key.get(key.lower())

    def agent_count(self) -> int:
        return len(self._agent_by_key)

    def unit_named(self, key: str) -> str | None:
        return next((u for u in self.units if u.lower() == key.lower()), None)

    def all_agents(self) -> list[str]:
        return [a for _, roster in self.rosters.values() for a in roster.agents]

    def per_user_agents(self) -> list[str]:
        """Agents of the units that do not use the unit adherence topic (one or two topics each)."""
        return [a for mu_id, (_, roster) in self.rosters.items() if not self.topic_choice.uses_unit_topic(mu_id)
                for a in roster.agents]

    def topics(self, options: SourceOptions) -> list[str]:
        """Every topic the source subscribes: schedules, explanations, forecasts, async results, states."""
        topics: list[str] = []
        for bu_id in dict.fromkeys(u.bu_id for u in self.units.values()):
            topics.append(f"v2.workforcemanagement.businessunits.{bu_id}.schedules")
            topics.append(f"v2.workforcemanagement.businessunits.{bu_id}.adherence.explanations")
            topics.append(f"v2.workforcemanagement.businessunits.{bu_id}.forecasts.staffingrequirement")
        for mu_id in self.units:
            topics.append(f"v2.workforcemanagement.managementunits.{mu_id}.schedules")
        if options.async_results_user_id:
            topics.append(f"v2.workforcemanagement.users.{options.async_results_user_id}.schedules.search")
        topics += [unit_topic(mu_id) for mu_id in self.rosters if self.topic_choice.uses_unit_topic(mu_id)]
        for agent_id in self.per_user_agents():
            if options.state_topics == "activity":
                topics.append(f"v2.users.{agent_id}.activity")
            else:
                topics += [f"v2.users.{agent_id}.presence", f"v2.users.{agent_id}.routingStatus"]
        return topics

    def agents_in(self, topics: tuple[str, ...]) -> tuple[str, ...]:
        """The agents whose states these topics carry (cached per topic tuple until a roster changes)."""
        agents = self._channel_agents.get(topics)
        if agents is None:
            found: list[str] = []
            for topic in topics:
                unit = unit_of_topic(topic)
                if unit is not None:
                    cached = self.rosters.get(unit)
                    found += cached[1].agents if cached is not None else []
                    continue
                parts = topic.split(".")
                if len(parts) == 4 and parts[1] == "users":
                    agent = self.agent(parts[2])
                    if agent is not None:
                        found.append(agent)
            agents = self._channel_agents[topics] = tuple(dict.fromkeys(found))
        return agents
