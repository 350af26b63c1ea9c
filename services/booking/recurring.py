"""Recurring templates: re-run for each new schedule period, telling the owner who joined or left.

A template holds a request with a recurrence rule. Each period (``recurring_period``, a week by
default) gets its own request ``<template>@<first day>`` - an idempotency key, so running the same
period twice queues nothing new. Team membership is compared with the last run.

The requests of all templates that fall due together are planned jointly by the batch planner
(:mod:`services.booking.joint`) and each placed one is queued with its plan already stored, so the
worker writes it back without searching again; one the joint plan could not place is searched
online as usual (and reaches the work queue with its reason if that fails too).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Protocol

from pydantic import BaseModel, ConfigDict

from services.booking.joint import JointSearch
from services.booking.model import BookingRequest, Progress, Status
from services.booking.ports import BookingData, ProgressNotifier
from services.booking.service import BookingService
from services.booking.translate import attendees_of


class Template(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    request: BookingRequest
    next_from: date
    members: tuple[str, ...] = ()


class TemplateStore(Protocol):
    async def save(self, template: Template) -> None: ...

    async def templates(self) -> Sequence[Template]: ...


class RecurringTemplates:
    def __init__(self, store: TemplateStore, service: BookingService, data: BookingData,
                 notifier: ProgressNotifier, period: timedelta, *, joint: bool = True) -> None:
        self.store, self.service, self.data, self.notifier, self.period = store, service, data, notifier, period
        self.joint = JointSearch(service.search.data, service.search.config) if joint else None

    async def add(self, request: BookingRequest) -> Template:
        template = Template(id=request.id, request=request, next_from=request.date_from)
        await self.store.save(template)
        return template

    async def run_due(self, now: datetime, *, ahead: timedelta = timedelta(days=7)) -> list[BookingRequest]:
        """Queue every period starting within ``ahead`` of ``now`` for every template."""
        due: list[tuple[Template, BookingRequest]] = []
        for template in await self.store.templates():
            while template.next_from <= now.date() + ahead and template.next_from <= template.request.date_to:
                template, request = await self._next_period(template, now)
                due.append((template, request))
        fresh = [r for _, r in due if await self.service.ledger.status(r.id) is None]
        if self.joint is not None and fresh:
            for request_id, found in (await self.joint.find_all(fresh, now)).items():
                if found.placed:  # stored first: the worker writes this plan back instead of searching
                    await self.service.ledger.save_plan(request_id, found.plan().model_dump_json())
        queued: list[BookingRequest] = []
        for template, request in due:
            if await self.service.submit(request):
                queued.append(request)
            await self.store.save(template)
        return queued

    async def _next_period(self, template: Template, now: datetime) -> tuple[Template, BookingRequest]:
        base = template.request
        first = template.next_from
        last = min(first + self.period - timedelta(days=1), base.date_to)
        roster = await self.data.roster(base.mu_id)
        members = attendees_of(base, roster)
        if template.members and tuple(members) != template.members:
            joined = [m for m in members if m not in template.members]
            left = [m for m in template.members if m not in members]
            name = {a.id: a.name for a in roster.agents.values()}
            text = "Team changes since the last run of " + base.title + ": " + "; ".join(
                part for part in (("joined " + ", ".join(name.get(m, m) for m in joined)) if joined else "",
                                  ("left " + ", ".join(name.get(m, m) for m in left)) if left else "") if part)
            await self.notifier.notify(base, Progress(request_id=base.id, status=Status.QUEUED, text=text))
        request = base.model_copy(update={"id": f"{template.id}@{first.isoformat()}", "date_from": first,
                                          "date_to": last, "submitted_at": now, "template_id": template.id})
        updated = template.model_copy(update={"next_from": last + timedelta(days=1), "members": tuple(members)})
        return updated, request
