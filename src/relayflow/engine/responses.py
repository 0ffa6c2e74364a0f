"""Answering the HTTP request that started a run (`respond: from_workflow`).

When the request waits in this process, the answer resolves its future. When it waits in
another process (a worker executes the run on PostgreSQL), the answer is left in the
database for that process to take.
"""

from __future__ import annotations

import asyncio
from typing import Any

from relayflow.sdk import HttpResponse, Responder
from relayflow.store.responses import save_answer
from relayflow.store.writer import Batch, Writer


class Responses:
    """Requests waiting for their run's answer in this process, by run id."""

    def __init__(self, writer: Writer) -> None:
        self.writer = writer
        self._waiting: dict[str, asyncio.Future[HttpResponse | None]] = {}

    def wait_for(self, run_id: str, future: asyncio.Future[HttpResponse | None]) -> None:
        """Resolve `future` with the run's answer (None when it ends without one)."""
        self._waiting[run_id] = future
        future.add_done_callback(lambda _f: self._waiting.pop(run_id, None))

    def forget(self, run_id: str) -> None:
        self._waiting.pop(run_id, None)

    def run_ended(self, run_id: str) -> None:
        """The run finished without answering: whoever waits hears None."""
        waiting = self._waiting.get(run_id)
        if waiting is not None and not waiting.done():
            waiting.set_result(None)

    def responder(self, run: Any, workflow: Any) -> Responder | None:
        """How a step of `run` answers: a waiting future here, the database for another
        process, or None when nobody can be waiting (tests, replays, other triggers)."""
        waiting = self._waiting.get(run.id)
        if waiting is not None:

            async def resolve(response: HttpResponse) -> bool:
                if waiting.done():
                    return False
                waiting.set_result(response)
                return True

            return resolve
        http = workflow.workflow.trigger.http
        if http is None or http.respond != "from_workflow" or run.test or run.replay_of:
            return None
        writer, run_id = self.writer, run.id

        async def hand_over(response: HttpResponse) -> bool:
            statement = save_answer(run_id, response.status, response.headers, response.body)
            await writer.write(Batch([statement]))
            return True

        return hand_over
