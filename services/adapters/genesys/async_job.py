"""Waiting for a Genesys WFM asynchronous operation: one reading of the answer and one loop for every route.

Several WFM routes answer a long request in one of these ways (the field names differ a little):

* done, with the result inline (``result``);
* done, with the result behind a pre-signed ``downloadUrl`` (GET it without the Authorization header);
* ``Processing``: poll a job route (adherence explanations: ``job.id``), wait for the notification
  that carries ``{operationId, downloadUrl}`` (schedule search), or ask again (staffing requirement);
* ``Error`` or ``Canceled``.

:func:`read_job` reads any of them into a :class:`JobState`; :func:`follow` asks again (backing off
through the injected sleep, and waiting for a notification when the operation has an id) until it is
done; :func:`job_result` fetches a done operation's result.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from services.adapters.genesys.backoff import Backoff, Sleep, real_sleep
from services.adapters.genesys.client import GenesysClient, as_object
from services.adapters.genesys.errors import GenesysAsyncPending, GenesysJobFailed, GenesysMalformed
from services.adapters.genesys.parse import obj

log = logging.getLogger(__name__)

FAILED = ("Error", "Canceled")


@dataclass(frozen=True, slots=True)
class JobState:
    """One answer, read: done or not, where a done one's result is, and how to follow a pending one."""

    done: bool
    body: dict[str, Any]  # the answer itself: a done one may say more (the staffing requirement's results)
    result: dict[str, Any] | None = None
    download_url: str | None = None
    job_id: str | None = None  # a job route to poll
    operation_id: str | None = None  # a notification to wait for


@dataclass(frozen=True, slots=True)
class JobWait:
    """How long to follow an operation: at most ``answers`` answers, ``backoff`` apart (through ``sleep``)."""

    answers: int
    backoff: Backoff
    sleep: Sleep = real_sleep


def read_job(body: dict[str, Any], what: str) -> JobState:
    """Read an answer (a query's, a job's or an envelope's); raises :class:`GenesysJobFailed` on a failed job."""
    job = obj(body.get("job")) or body
    status = body.get("status") or body.get("state") or job.get("status")
    job_id = job.get("id") if isinstance(job.get("id"), str) else None
    operation_id = body.get("operationId") if isinstance(body.get("operationId"), str) else None
    result, url = body.get("result"), body.get("downloadUrl")
    if isinstance(result, dict):
        return JobState(True, body, result=result)
    if isinstance(url, str) and url:
        return JobState(True, body, download_url=url)
    if status in FAILED:
        detail = f" (job {job_id}: {job.get('error')!r})" if job_id else ""
        raise GenesysJobFailed(f"{what} ended with status {status}{detail}")
    if status == "Complete":
        return JobState(True, body)
    if status == "Processing" or (status is None and job_id is not None):
        return JobState(False, body, job_id=job_id, operation_id=operation_id)
    raise GenesysMalformed(f"{what}: unknown status {status!r}")


async def job_result(client: GenesysClient, state: JobState, what: str) -> dict[str, Any]:
    """A done operation's result: inline, or downloaded (pre-signed: no Authorization header)."""
    if state.result is not None:
        return state.result
    if state.download_url:
        return as_object(await client.download(state.download_url), f"{what} download")
    raise GenesysMalformed(f"{what}: Complete without result or downloadUrl")


async def follow(answer: Any, again: Callable[[JobState], Awaitable[Any]], *, what: str, wait: JobWait,
                 notices: AsyncResults | None = None) -> JobState:
    """The done state of the operation ``answer`` started, asking ``again`` (a poll or the same request)
    after each wait. A notification of any of its operations ends the wait early; the last answer is
    waited on only when such a notification may still come."""
    pending: list[str] = []
    try:
        for round_ in range(wait.answers):
            state = read_job(as_object(answer, what), what)
            if state.done:
                return state
            last = round_ + 1 == wait.answers
            delay = wait.backoff.delay(round_)
            if state.operation_id is not None and notices is not None:
                pending.append(state.operation_id)
                log.info("%s is processing (operation %s); waiting up to %.1fs", what, state.operation_id, delay)
                notified = await notices.wait_any(pending, delay, wait.sleep)
                if notified is not None:
                    return _notified(notified, what)
            elif not last:
                log.info("%s is processing; asking again in %.1fs", what, delay)
                await wait.sleep(delay)
            if not last:
                answer = await again(state)
        raise GenesysAsyncPending(f"{what} still processing after {wait.answers} answer(s)")
    finally:
        for operation_id in pending:
            if notices is not None:
                notices.forget(operation_id)


def _notified(body: Mapping[str, Any], what: str) -> JobState:
    url = body.get("downloadUrl")
    if not isinstance(url, str) or not url:
        raise GenesysMalformed(f"{what}: async notification without downloadUrl")
    return JobState(True, dict(body), download_url=url)


class AsyncResults:
    """Futures for WFM async operations, resolved by notifications (which may arrive before the POST returns)."""

    def __init__(self, keep: int = 256) -> None:
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._early: dict[str, dict[str, Any]] = {}
        self._keep = keep

    def expect(self, operation_id: str) -> asyncio.Future[dict[str, Any]]:
        future = self._waiting.get(operation_id)
        if future is None:
            future = asyncio.get_running_loop().create_future()
            self._waiting[operation_id] = future
            if operation_id in self._early:
                future.set_result(self._early.pop(operation_id))
        return future

    def forget(self, operation_id: str) -> None:
        self._waiting.pop(operation_id, None)

    def resolve(self, body: dict[str, Any]) -> None:
        operation_id = body.get("operationId")
        if not isinstance(operation_id, str):
            return
        future = self._waiting.pop(operation_id, None)
        if future is None:
            self._early[operation_id] = body
            while len(self._early) > self._keep:
                self._early.pop(next(iter(self._early)))
        elif not future.done():
            future.set_result(body)

    async def wait_any(self, operation_ids: list[str], timeout: float, sleep: Sleep) -> dict[str, Any] | None:
        """The notification of any of these operations, or None after ``timeout`` (through the injected sleep)."""
        futures = [self.expect(o) for o in operation_ids]
        done_now = next((f for f in futures if f.done()), None)
        if done_now is not None:
            return done_now.result()
        sleeper = asyncio.ensure_future(sleep(timeout))
        waiters = {asyncio.ensure_future(asyncio.shield(f)) for f in futures}
        try:
            await asyncio.wait({sleeper, *waiters}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeper, *waiters):
                task.cancel()
        for future in futures:
            if future.done() and not future.cancelled():
                return future.result()
        return None
