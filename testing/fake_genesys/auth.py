"""The login host (``/oauth/token``, client credentials) and the bearer check of the API host."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Awaitable, Callable

from aiohttp import web

from services.ports import Clock
from testing.fake_genesys.core import FakeCore
from testing.fake_genesys.wire import error_response

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class AuthApi(FakeCore):
    def __init__(self, clock: Clock | None = None) -> None:
        super().__init__(clock)
        self.client_id, self.client_secret = "fake-client", "fake-secret"
        self.token_lifetime = 86399
        self.tokens: set[str] = set()
        self.token_requests = 0

    def expire_tokens(self) -> None:
        """Every issued token becomes invalid (a revocation, or expiry on Genesys's side): 401 until refreshed."""
        self.tokens.clear()

    def _auth_routes(self, router: web.UrlDispatcher) -> None:
        router.add_post("/oauth/token", self._token)

    async def _token(self, request: web.Request) -> web.Response:
        self.token_requests += 1
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        form = await request.post()
        if request.headers.get("Authorization") != f"Basic {expected}":
            return web.json_response({"error": "invalid_client", "description": "client not found",
                                      "error_description": "client not found"}, status=401)
        if form.get("grant_type") != "client_credentials":
            return web.json_response({"error": "unsupported_grant_type"}, status=400)
        token = f"tok-{uuid.uuid4().hex}"
        self.tokens.add(token)
        return web.json_response({"access_token": token, "token_type": "bearer", "expires_in": self.token_lifetime})

    @web.middleware
    async def _authenticate(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith("/api/"):
            header = request.headers.get("Authorization", "")
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or token not in self.tokens:
                return error_response(401, "bad.credentials", "Invalid login credentials.")
        return await handler(request)
