"""Room bookings in Microsoft Graph room mailboxes (used instead of the Redis calendar when configured),
and free/busy of facilitators' mailboxes.

Busy times of rooms and people come from ``POST /users/{mailbox}/calendar/getSchedule``; a booking is an event created
in the room's calendar with ``transactionId`` set to the booking key, so a retried POST never
creates a second event. Tokens come from the client-credentials flow and are cached until shortly
before they expire. Throttling (429) and server errors are retried (tenacity) after Graph's
``Retry-After``, else with backoff; a 401 is retried at once with a fresh token.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from pydantic import SecretStr
from tenacity import AsyncRetrying, RetryCallState, retry_if_result, stop_after_attempt

from services.booking.ports import ExternalIds, RoomBooking, RoomTaken, Span
from services.ports import Clock

log = logging.getLogger(__name__)


#: getSchedule statuses that leave the mailbox free (``workingElsewhere`` is working, not busy).
FREE_STATUSES = frozenset({"free", "workingelsewhere"})
#: Mailboxes per getSchedule call (Exchange's availability service answers at most 100 at once).
SCHEDULES_PER_REQUEST = 50


class GraphError(Exception):
    pass


def _graph_time(when: datetime) -> dict[str, str]:
    return {"dateTime": when.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds"), "timeZone": "UTC"}


def _parse_graph_time(value: Mapping[str, str]) -> datetime:
    text = value["dateTime"].rstrip("Z")
    if "." in text:  # Graph sends seven fractional digits
        head, frac = text.split(".", 1)
        text = f"{head}.{frac[:6]}"
    parsed = datetime.fromisoformat(text)
    zone = value.get("timeZone", "UTC")
    if zone not in ("UTC", "Coordinated Universal Time"):
        raise GraphError(f"unexpected time zone {zone!r} from Graph (we always ask for UTC)")
    return parsed.replace(tzinfo=UTC)


def _worth_retrying(response: httpx.Response) -> bool:
    return response.status_code in (401, 429, 500, 502, 503, 504)


def _wait(state: RetryCallState) -> float:
    """At once after a 401 (with a new token); else Graph's Retry-After, or 1, 2, 4 ... seconds."""
    assert state.outcome is not None
    response: httpx.Response = state.outcome.result()
    if response.status_code == 401:
        return 0.0
    return float(response.headers.get("Retry-After", 2.0 ** (state.attempt_number - 1)))


def _last_response(state: RetryCallState) -> httpx.Response:
    assert state.outcome is not None
    response: httpx.Response = state.outcome.result()
    return response


class GraphRoomCalendar:
    def __init__(self, client: httpx.AsyncClient, *, tenant_id: str, client_id: str, client_secret: SecretStr,
                 mailboxes: Mapping[str, str], clock: Clock, graph_url: str = "https://graph.microsoft.com/v1.0",
                 login_url: str = "https://login.microsoftonline.com", attempts: int = 4,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep, ids: ExternalIds | None = None) -> None:
        self.client, self.tenant_id, self.client_id, self.client_secret = client, tenant_id, client_id, client_secret
        self.mailboxes, self.clock = dict(mailboxes), clock
        self.graph_url, self.login_url = graph_url.rstrip("/"), login_url.rstrip("/")
        self.attempts, self.sleep = attempts, sleep
        self._token: tuple[str, datetime] | None = None
        self._events: dict[str, tuple[str, str]] = {}  # booking key -> (mailbox, event id)
        self.ids = ids  # the same, kept in Redis: a cancel after a restart still finds the event

    async def authenticate(self) -> None:
        """Fetch a token now (``check``): raises :class:`GraphError` if the tenant refuses the credentials."""
        await self._bearer()

    async def _bearer(self) -> str:
        now = self.clock.now()
        if self._token and self._token[1] > now:
            return self._token[0]
        response = await self.client.post(
            f"{self.login_url}/{self.tenant_id}/oauth2/v2.0/token",
            data={"grant_type": "client_credentials", "client_id": self.client_id,
                  "client_secret": self.client_secret.get_secret_value(),
                  "scope": "https://graph.microsoft.com/.default"})
        if response.status_code != 200:
            raise GraphError(f"token request failed with HTTP {response.status_code}")
        body = response.json()
        self._token = (body["access_token"], now + timedelta(seconds=int(body.get("expires_in", 3600)) - 60))
        return self._token[0]

    async def _call(self, method: str, path: str, json: Any = None) -> httpx.Response:
        """One Graph call, tried ``attempts`` times at most (tenacity); the last response is returned as it is."""
        retrying = AsyncRetrying(stop=stop_after_attempt(self.attempts), retry=retry_if_result(_worth_retrying),
                                 wait=_wait, sleep=self.sleep, retry_error_callback=_last_response)
        return await retrying(self._attempt, method, path, json)

    async def _attempt(self, method: str, path: str, json: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {await self._bearer()}"}
        response = await self.client.request(method, f"{self.graph_url}{path}", json=json, headers=headers)
        if response.status_code == 401:
            self._token = None  # expired early: the next attempt fetches a new one
        elif _worth_retrying(response):
            log.warning("Graph %s %s: HTTP %d", method, path, response.status_code)
        return response

    def _mailbox(self, room_id: str) -> str:
        try:
            return self.mailboxes[room_id]
        except KeyError:
            raise GraphError(f"room {room_id!r} has no mailbox configured") from None

    async def busy(self, room_ids: Sequence[str], start: datetime, end: datetime) -> Mapping[str, Sequence[Span]]:
        wanted = {self._mailbox(r).lower(): r for r in room_ids if r in self.mailboxes}
        found = await self._free_busy(list(wanted), start, end)
        return {room: found.get(address, []) for address, room in wanted.items()}

    async def busy_people(self, emails: Mapping[str, str], start: datetime,
                          end: datetime) -> Mapping[str, Sequence[Span]]:
        """People's busy times (the ``PersonCalendars`` port): person id -> spans, from their mailboxes."""
        wanted: dict[str, list[str]] = {}
        for person, address in emails.items():
            wanted.setdefault(address.lower(), []).append(person)
        found = await self._free_busy(list(wanted), start, end)
        return {person: found.get(address, []) for address, people in wanted.items() for person in people}

    async def _free_busy(self, addresses: Sequence[str], start: datetime, end: datetime) -> dict[str, list[Span]]:
        """``getSchedule`` for these mailboxes (lower-cased): every item not free is busy (tentative, oof...)."""
        out: dict[str, list[Span]] = {}
        for i in range(0, len(addresses), SCHEDULES_PER_REQUEST):
            out.update(await self._free_busy_chunk(addresses[i:i + SCHEDULES_PER_REQUEST], start, end))
        return out

    async def _free_busy_chunk(self, addresses: Sequence[str], start: datetime, end: datetime) -> dict[str, list[Span]]:
        response = await self._call("POST", f"/users/{addresses[0]}/calendar/getSchedule", json={
            "schedules": list(addresses), "startTime": _graph_time(start), "endTime": _graph_time(end),
            "availabilityViewInterval": 15})
        if response.status_code != 200:
            raise GraphError(f"getSchedule failed with HTTP {response.status_code}")
        out: dict[str, list[Span]] = {address: [] for address in addresses}
        for schedule in response.json().get("value", []):
            address = str(schedule.get("scheduleId", "")).lower()
            if address not in out:
                log.warning("Graph returned a schedule we did not ask for: %r", schedule.get("scheduleId"))
                continue
            if "error" in schedule:
                raise GraphError(f"Graph cannot read {address}: {schedule['error'].get('message', '')}")
            for item in schedule.get("scheduleItems", []):
                if str(item.get("status", "busy")).lower() in FREE_STATUSES:
                    continue
                try:
                    out[address].append((_parse_graph_time(item["start"]), _parse_graph_time(item["end"])))
                except (KeyError, ValueError, GraphError):
                    log.warning("skipping a malformed schedule item of %s", address)
        return out

    async def book(self, booking: RoomBooking) -> str:
        mailbox = self._mailbox(booking.room_id)
        if booking.key in self._events:
            return self._events[booking.key][1]
        stored = await self.ids.get(booking.key) if self.ids else None
        if stored is not None:  # booked before a restart
            return stored.partition("|")[2]
        taken = (await self.busy([booking.room_id], booking.start, booking.end)).get(booking.room_id, ())
        if any(s < booking.end and e > booking.start for s, e in taken):
            raise RoomTaken(f"{booking.room_id} is busy from {min(s for s, _ in taken):%H:%M}")
        response = await self._call("POST", f"/users/{mailbox}/events", json={
            "subject": booking.subject, "start": _graph_time(booking.start), "end": _graph_time(booking.end),
            "showAs": "busy", "transactionId": booking.key,
            "body": {"contentType": "text", "content": f"Booked by the scheduling bot for {booking.organizer}."}})
        if response.status_code not in (200, 201):
            raise GraphError(f"creating the room event failed with HTTP {response.status_code}")
        event_id = str(response.json()["id"])
        self._events[booking.key] = (mailbox, event_id)
        if self.ids:
            await self.ids.put(booking.key, f"{mailbox}|{event_id}")
        return event_id

    async def cancel(self, key: str) -> None:
        found = self._events.pop(key, None)
        stored = await self.ids.pop(key) if self.ids else None
        if found is None and stored is not None:
            mailbox_text, _, event_text = stored.partition("|")
            found = (mailbox_text, event_text)
        if found is None:
            log.warning("room booking %s is not known here; nothing to cancel in Graph", key)
            return
        mailbox, event_id = found
        response = await self._call("DELETE", f"/users/{mailbox}/events/{event_id}")
        if response.status_code not in (204, 404):
            raise GraphError(f"deleting the room event failed with HTTP {response.status_code}")
