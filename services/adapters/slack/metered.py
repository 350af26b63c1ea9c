"""An ``AsyncWebClient`` that records every Web API call's latency and HTTP status (``/metrics``).

``api_call`` is where every method (``chat.postMessage``, ``users.lookupByEmail``...) goes
through, once per call: the latency includes the client's own retries.
"""

from __future__ import annotations

import time
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from services import telemetry


class MeteredWebClient(AsyncWebClient):
    async def api_call(self, api_method: str, **kwargs: Any) -> AsyncSlackResponse:
        start = time.perf_counter()
        status: int | str = "error"  # no HTTP answer at all (connection refused, timeout)
        code = ""
        try:
            response = await super().api_call(api_method, **kwargs)
            status = response.status_code
            return response
        except SlackApiError as error:  # ok: false (e.g. invalid_auth, channel_not_found) or an HTTP error
            status = getattr(error.response, "status_code", "error")
            body = getattr(error.response, "data", None)
            code = str(body.get("error") or "") if isinstance(body, dict) else ""
            raise
        except Exception as error:
            code = type(error).__name__
            raise
        finally:
            telemetry.slack_call(api_method, status, time.perf_counter() - start, code)
