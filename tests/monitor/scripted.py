"""The scripted monitor source (one unit whose agents do exactly what a test says), plus recording ports."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from services.domain.model import ManagementUnit, Person
from services.ports import Clock, CoachingRequest, IncidentView, MessageRef, StormView
from testing.workforce import MemoryWorkforce


class ScriptedSource(MemoryWorkforce):
    """One unit, a supervisor ``sup`` and an ops manager ``ops``; teams appear with their first agent;
    states change only when the test says so, and each read confirms them."""

    def __init__(self, clock: Clock, mu_id: str = "mu-1") -> None:
        super().__init__(clock)
        self.add_unit(ManagementUnit(mu_id, "Scripted unit", ops_manager_ids=("ops",)))
        self.people.update({"sup": Person("sup", "Sam Supervisor", "sam@example.com"),
                            "ops": Person("ops", "Olga Ops", "olga@example.com")})


@dataclass
class Recorder:
    """In-memory ChatPort + EmailPort + CoachingPort that remember every call, in order."""

    clock: Clock
    calls: list[tuple[str, str, datetime]] = field(default_factory=list)
    fail_next: int = 0
    appointments: dict[str, CoachingRequest] = field(default_factory=dict)

    def _record(self, what: str, incident_id: str) -> None:
        if self.fail_next:
            self.fail_next -= 1
            raise ConnectionError(f"{what} failed (scripted)")
        self.calls.append((what, incident_id, self.clock.now()))

    async def post_incident_card(self, view: IncidentView) -> MessageRef:
        self._record("post_card", view.incident.id)
        return MessageRef("D1", f"{len(self.calls)}.000", permalink=f"https://slack.example/{len(self.calls)}")

    async def update_incident_card(self, ref: MessageRef, view: IncidentView, event: object) -> None:
        self._record(f"update_card:{view.incident.status.value}", view.incident.id)

    async def post_storm_card(self, view: StormView) -> MessageRef:
        self._record(f"post_storm:{len(view.incidents)}", view.storm_id)
        return MessageRef("C1", f"{len(self.calls)}.000")

    async def update_storm_card(self, ref: MessageRef, view: StormView) -> None:
        self._record(f"update_storm:{len(view.incidents)}", view.storm_id)

    async def send_escalation_email(self, view: IncidentView) -> None:
        self._record("email", view.incident.id)

    async def create_coaching_appointment(self, request: CoachingRequest) -> str:
        self._record("coaching", request.idempotency_key)
        self.appointments[request.idempotency_key] = request
        return request.idempotency_key

    def kinds(self) -> list[str]:
        return [what for what, _, _ in self.calls]
