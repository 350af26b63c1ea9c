"""A fake Genesys Cloud: real HTTP + WebSocket servers on 127.0.0.1 speaking the documented wire format.

Two hosts, like the real thing: the login host serves ``/oauth/token``; the API host serves the REST
routes the adapter uses and the Notification Service WebSockets (``connectUri`` points at it).
Downloads (``downloadUrl``) are served without auth and refuse an Authorization header, as a
pre-signed storage URL would.

One module per API family, composed here: ``auth`` (the login host, bearer check), ``faults``
(request log, fault injection), ``structure`` (units and users), ``presence`` (presence and routing),
``notifications`` (channels, subscriptions, WebSocket), ``schedules``, ``explanations``, ``forecast``,
``intraday`` (WFM), ``coaching`` (QM) and ``analytics`` (queue observations); ``core`` holds the org,
the event bus and the downloads they share.

Tests drive it through the scenario API (``set_presence``, ``publish_schedule``,
``drop_sockets``...) and inject faults with :meth:`FakeGenesys.fail` / :meth:`FakeGenesys.slow`.
"""

from __future__ import annotations

import asyncio
import socket

from aiohttp import web

from services.ports import Clock
from testing.fake_genesys.analytics import FakeAnalytics
from testing.fake_genesys.auth import AuthApi
from testing.fake_genesys.coaching import CoachingApi
from testing.fake_genesys.explanations import ExplanationsApi
from testing.fake_genesys.faults import FaultsApi
from testing.fake_genesys.forecast import FakeForecasts
from testing.fake_genesys.intraday import FakeIntraday
from testing.fake_genesys.notifications import NotificationsApi
from testing.fake_genesys.presence import PresenceApi
from testing.fake_genesys.schedules import SchedulesApi
from testing.fake_genesys.structure import StructureApi


def _bound_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


class FakeGenesys(AuthApi, FaultsApi, StructureApi, PresenceApi, NotificationsApi, SchedulesApi, ExplanationsApi,
                  CoachingApi):
    def __init__(self, clock: Clock | None = None, *, client_id: str = "fake-client",
                 client_secret: str = "fake-secret") -> None:
        super().__init__(clock)
        self.client_id, self.client_secret = client_id, client_secret
        self.forecasts = FakeForecasts(self)  # forecast, planning-group and WFM-agent routes
        self.intraday = FakeIntraday(self)  # intraday figures (the surplus)
        self.analytics = FakeAnalytics()  # queue observations (the surplus)
        self._runners: list[web.AppRunner] = []

    async def start(self) -> FakeGenesys:
        login = web.Application(middlewares=[self._observe])
        self._auth_routes(login.router)
        api = web.Application(middlewares=[self._observe, self._authenticate])
        self._routes(api.router)
        for app, attr in ((login, "login_url"), (api, "api_url")):
            runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
            await runner.setup()
            sock = _bound_socket()
            await web.SockSite(runner, sock).start()
            self._runners.append(runner)
            setattr(self, attr, f"http://127.0.0.1:{sock.getsockname()[1]}")
        return self

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._close_sockets()
        for runner in self._runners:
            await runner.cleanup()

    async def __aenter__(self) -> FakeGenesys:
        return await self.start()

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    async def outage(self, down: bool = True) -> None:
        """A Genesys outage: sockets dropped and refused, every REST route answering 500; ``False`` ends it."""
        self.ws_refuse = self.rest_down = down
        if down:
            await self.drop_sockets()

    def _routes(self, router: web.UrlDispatcher) -> None:
        self._structure_routes(router)
        self._schedule_routes(router)
        self._explanation_routes(router)
        self._presence_routes(router)
        self._notification_routes(router)
        self._coaching_routes(router)
        router.add_get("/downloads/{id}", self._download)
        self.forecasts.routes(router)
        self.intraday.routes(router)
        self.analytics.routes(router)
        self._socket_routes(router)
