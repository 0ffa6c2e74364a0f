"""Answering the HTTP request that started a run (`respond: from_workflow`).

When the request waits in this process, the answer resolves its future. When it waits in
another process (a worker process of `relayflow up`, or a worker on PostgreSQL), the answer
is left in the database for that process to take; a worker process of `up` also tells the
server at once (`tell`), so it need not wait for its next look at the database.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from relayflow.sdk import HttpResponse, Responder
from relayflow.store.responses import save_answer
from relayflow.store.writer import Batch, Writer


class Responses:
    """Requests waiting for their run's answer in this process, by run id."""

    def __init__(self, writer: Writer, tell: Callable[[str], None] | None = None) -> None:
        self.writer = writer
        self.tell = tell  # a worker process: tells the server an answer is committed
        self._waiting: dict[str, asyncio.Future[HttpResponse | None]] = {}
        self._nudges: dict[str, asyncio.Event] = {}

    def wait_for(self, run_id: str, future: asyncio.Future[HttpResponse | None]) -> None:
        """Resolve `future` with the run's answer (None when it ends without one)."""
        self._waiting[run_id] = future
        self._nudges[run_id] = asyncio.Event()
        future.add_done_callback(lambda _f: self._waiting.pop(run_id, None))

    def forget(self, run_id: str) -> None:
        self._waiting.pop(run_id, None)
        self._nudges.pop(run_id, None)

    def nudged(self, run_id: str) -> asyncio.Event:
        """Set when another process says the answer for `run_id` is in the database."""
        return self._nudges.setdefault(run_id, asyncio.Event())

    def nudge(self, run_id: str) -> None:
        found = self._nudges.get(run_id)
        if found is not None:
            found.set()

    def run_ended(self, run_id: str, workflow: Any = None) -> None:
        """The run finished without answering: whoever waits hears None."""
        waiting = self._waiting.get(run_id)
        if waiting is not None and not waiting.done():
            waiting.set_result(None)
        elif self.tell is not None and _answers(workflow):
            self.tell(run_id)

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
        if not _answers(workflow) or run.test or run.replay_of:
            return None
        writer, run_id, tell = self.writer, run.id, self.tell

        async def hand_over(response: HttpResponse) -> bool:
            statement = save_answer(run_id, response.status, response.headers, response.body)
            await writer.write(Batch([statement]))
            if tell is not None:
                tell(run_id)
            return True

        return hand_over


def _answers(workflow: Any) -> bool:
    """Whether runs of `workflow` (compiled) answer the webhook request that started them."""
    http = workflow.workflow.trigger.http if workflow is not None else None
    return http is not None and http.respond == "from_workflow"
