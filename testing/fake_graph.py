"""A fake Microsoft Graph on 127.0.0.1: token endpoint, getSchedule (free/busy of room and people
mailboxes, in the ``scheduleInformation`` shape) and events of room mailboxes."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web


def _parse(value: dict[str, str]) -> datetime:
    return datetime.fromisoformat(value["dateTime"].split(".")[0]).replace(tzinfo=UTC)


#: availabilityView digits: 0 free (and workingElsewhere, for backward compatibility), 1 tentative, 2 busy, 3 oof.
VIEW_CODE = {"free": 0, "workingelsewhere": 0, "tentative": 1, "busy": 2, "oof": 3}


@dataclass
class FakeGraph:
    events: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # mailbox -> events
    tokens_issued: int = 0
    throttle_next: int = 0  # answer this many Graph calls with 429 first
    calls: list[tuple[str, str]] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def add_busy(self, mailbox: str, start: datetime, end: datetime, status: str = "busy",
                 subject: str = "Appointment") -> None:
        """An event in ``mailbox`` (a person or a room) shown as ``status`` (busy, tentative, oof, free...)."""
        def when(value: datetime) -> dict[str, str]:
            return {"dateTime": value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds"),
                    "timeZone": "UTC"}

        self.events.setdefault(mailbox, []).append({"id": f"evt{next(self._ids)}", "subject": subject,
                                                    "showAs": status, "start": when(start), "end": when(end)})

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/tenant-1/oauth2/v2.0/token", self.token)
        app.router.add_post("/v1.0/users/{mailbox}/calendar/getSchedule", self.get_schedule)
        app.router.add_post("/v1.0/users/{mailbox}/events", self.create_event)
        app.router.add_delete("/v1.0/users/{mailbox}/events/{event_id}", self.delete_event)
        return app

    async def token(self, request: web.Request) -> web.Response:
        form = await request.post()
        if form.get("grant_type") != "client_credentials" or form.get("client_secret") != "graph-secret":
            return web.json_response({"error": "invalid_client"}, status=401)
        self.tokens_issued += 1
        return web.json_response({"token_type": "Bearer", "expires_in": 3599,
                                  "access_token": f"tok{self.tokens_issued}"})

    def _guard(self, request: web.Request) -> web.Response | None:
        self.calls.append((request.method, request.path))
        if not request.headers.get("Authorization", "").startswith("Bearer tok"):
            return web.json_response({"error": {"code": "InvalidAuthenticationToken"}}, status=401)
        if self.throttle_next:
            self.throttle_next -= 1
            return web.json_response({"error": {"code": "TooManyRequests"}}, status=429, headers={"Retry-After": "2"})
        return None

    async def get_schedule(self, request: web.Request) -> web.Response:
        if (refused := self._guard(request)) is not None:
            return refused
        body = await request.json()
        if not isinstance(body.get("schedules"), list) or "startTime" not in body or "endTime" not in body:
            return web.json_response({"error": {"code": "ErrorInvalidRequest",
                                                "message": "schedules, startTime and endTime are required"}},
                                     status=400)
        if {body["startTime"].get("timeZone"), body["endTime"].get("timeZone")} != {"UTC"}:
            return web.json_response({"error": {"code": "ErrorInvalidTimeZone",
                                                "message": "this fake only speaks UTC"}}, status=400)
        start, end = _parse(body["startTime"]), _parse(body["endTime"])
        step = timedelta(minutes=int(body.get("availabilityViewInterval", 30)))
        value = []
        for mailbox in body["schedules"]:
            events = [e for e in self.events.get(mailbox, []) if _parse(e["start"]) < end and _parse(e["end"]) > start]
            items = [{"isPrivate": False, "status": e.get("showAs", "busy"), "subject": e["subject"], "location": "",
                      "start": {"dateTime": e["start"]["dateTime"] + ".0000000", "timeZone": "UTC"},
                      "end": {"dateTime": e["end"]["dateTime"] + ".0000000", "timeZone": "UTC"}} for e in events]
            view, slot = [], start
            while slot < end:
                codes = [VIEW_CODE.get(str(e.get("showAs", "busy")).lower(), 2) for e in events
                         if _parse(e["start"]) < slot + step and _parse(e["end"]) > slot]
                view.append(str(max(codes, default=0)))
                slot += step
            value.append({"scheduleId": mailbox, "availabilityView": "".join(view), "scheduleItems": items,
                          "workingHours": {"daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"],
                                           "startTime": "08:00:00.0000000", "endTime": "17:00:00.0000000",
                                           "timeZone": {"name": "UTC"}}})
        return web.json_response({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata"
                                                    "#Collection(microsoft.graph.scheduleInformation)", "value": value})

    async def create_event(self, request: web.Request) -> web.Response:
        if (refused := self._guard(request)) is not None:
            return refused
        body = await request.json()
        mailbox = request.match_info["mailbox"]
        for event in self.events.get(mailbox, []):  # transactionId: a retried POST returns the same event
            if body.get("transactionId") and event.get("transactionId") == body["transactionId"]:
                return web.json_response(event, status=201)
        event = {**body, "id": f"evt{next(self._ids)}"}
        self.events.setdefault(mailbox, []).append(event)
        return web.json_response(event, status=201)

    async def delete_event(self, request: web.Request) -> web.Response:
        if (refused := self._guard(request)) is not None:
            return refused
        mailbox, event_id = request.match_info["mailbox"], request.match_info["event_id"]
        before = len(self.events.get(mailbox, []))
        self.events[mailbox] = [e for e in self.events.get(mailbox, []) if e["id"] != event_id]
        return web.Response(status=204 if len(self.events[mailbox]) < before else 404)
