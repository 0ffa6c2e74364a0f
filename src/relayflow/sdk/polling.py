"""Polling sources: triggers that check an app (a folder, a table, a feed) for new items.

A polling source is a function `poll(ctx) -> Iterator[Polled]` that yields the items it
finds, oldest first, each with the `id` its dedupe strategy compares and, where the source
resumes from a place of its own (a byte offset in a file, a row count), the `position`
after it:

    @polling_source("sql.new_rows", title="New Row", sample=SAMPLE, every=60,
                    dedupe="greatest")
    def new_rows(ctx: PollContext[Inputs]) -> Iterator[Polled]:
        for row in rows_after(ctx.inputs, ctx.cursor):   # ctx.cursor: the greatest id so far
            yield Polled(row, id=row["id"])

Dedupe strategies, as Pipedream names them:
- `greatest`: `ctx.cursor` is the greatest id emitted so far; only greater ids are emitted.
- `unique`: ids already emitted (the newest 10,000 per source) are not emitted again.
- `last`: `ctx.cursor` is the id of the last item emitted; only the items after it in
  this poll's list are emitted (all of them when it is not in the list).
- `position`: the source resumes from `ctx.position`; every item it yields is new.

The platform does the rest: it commits the runs of each chunk of new items together with
the cursor after them, only if the cursor is still what this poll read (so a crash
neither loses nor repeats an item, and two schedulers emit an item once); applies
`backfill:` on the first poll; retries a failing poll (raise `PollError`) with backoff.
A problem with one item (a malformed line) is `Polled.problem(...)`: reported on the
workflow, and the items after it still flow.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Literal

from relayflow.sdk.sources import InputsT, SourceInputs, declare, schema_of

Dedupe = Literal["unique", "greatest", "last", "position"]
DEDUPES: tuple[str, ...] = ("unique", "greatest", "last", "position")


class PollError(Exception):
    """A poll that failed (file missing, database down, HTTP 5xx, bad credentials):
    `reason` is shown on the workflow as its last error, and the poll is retried."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Polled:
    """One new item: `event` becomes `steps.trigger.event`; `id` is what the dedupe
    strategy compares; `position` is where the source resumes after it (JSON data, read
    when the chunk it ends commits, so a source may yield one object it keeps updating).
    An item with `problem` set emits nothing: the problem is reported on the workflow."""

    event: Any = None
    id: Any = None
    position: Any = None
    problem: str | None = None
    context: dict[str, Any] = field(default_factory=dict)
    emits: bool = True

    @classmethod
    def problem_at(cls, reason: str, position: Any = None) -> Polled:
        """An item that could not be read (naming where and why), skipped past."""
        return cls(problem=reason, position=position, emits=False)

    @classmethod
    def moved(cls, position: Any) -> Polled:
        """No item, only a new position (a header read, a rewritten file skipped to its
        end): yield it last so the next poll starts there."""
        return cls(position=position, emits=False)


@dataclass(frozen=True)
class LocalFiles:
    """Which local paths sources may read: anywhere but relayflow's own home (its keys
    and database), and only under `roots` when the operator set RELAYFLOW_FILES_ROOTS."""

    roots: tuple[Path, ...] = ()
    forbidden: tuple[Path, ...] = ()

    def resolve(self, text: str) -> Path:
        """The path, absolute and resolved; raises PollError when it is not allowed."""
        path = Path(text).expanduser().resolve()
        for closed in self.forbidden:
            if path == closed or closed in path.parents:
                raise PollError(f"{text}: relayflow's own home ({closed}) cannot be read")
        if self.roots and not any(path == r or r in path.parents for r in self.roots):
            shown = ", ".join(map(str, self.roots))
            raise PollError(f"{text} is outside the folders sources may read ({shown})")
        return path


@dataclass
class PollContext(Generic[InputsT]):
    """What a polling source gets: its inputs, its account, and where the last poll ended.

    `first` is True on the first poll after a deploy (or after the source's inputs
    changed); `backfill` is then how many of the existing items will be emitted (None:
    all), so a source may skip straight to them. Items beyond it are still read for
    their position, never emitted.
    """

    inputs: InputsT
    account: dict[str, Any] = field(default_factory=dict)
    account_name: str | None = None
    cursor: Any = None
    position: Any = None
    first: bool = False
    backfill: int | None = None
    files: LocalFiles = field(default_factory=LocalFiles)

    def get(
        self, url: str, headers: dict[str, str] | None = None, params: dict[str, Any] | None = None
    ) -> Any:
        """GET `url` (30 s timeout) and return the httpx response; a failed request, a 5xx
        or a refused sign-in (401, 403) fails the poll with the reason."""
        import httpx

        from relayflow.sdk.http import EgressRefused, sync_http_transport

        try:
            with httpx.Client(transport=sync_http_transport(), timeout=30) as client:
                answer = client.get(url, headers=headers, params=params, follow_redirects=True)
        except EgressRefused as exc:
            raise PollError(f"GET {url}: {exc}") from None
        except httpx.HTTPError as exc:
            raise PollError(f"GET {url} failed: {type(exc).__name__}: {exc}") from None
        if answer.status_code in (401, 403):
            raise PollError(
                f"GET {url} answered {answer.status_code}: the credentials were refused;"
                " check the account"
            )
        if answer.status_code >= 400:
            raise PollError(f"GET {url} answered {answer.status_code}: {answer.text[:200]}")
        return answer

    def secret(self, name: str) -> str:
        """A field of the source's account that it needs; a missing one fails the poll."""
        value = self.account.get(name)
        if not value:
            where = f"account {self.account_name!r}" if self.account_name else "the account"
            raise PollError(f"{where} has no {name}; add it: relayflow accounts add … --replace")
        return str(value)


Poll = Callable[[PollContext[Any]], Iterator[Polled]]


@dataclass(frozen=True)
class PollingSource:
    key: str
    title: str
    description: str
    app: str
    docs: str | None
    inputs: type[SourceInputs]
    poll: Poll
    needs_account: bool
    sample: dict[str, Any]  # an event, as the source emits it
    every: float  # default polling interval, seconds
    dedupe: Dedupe
    kind: str = "polling"
    secret_field: str | None = None

    def sample_event(self) -> Any:
        """The event the builder's data explorer shows before the first real poll."""
        return self.sample

    def schema(self) -> dict[str, Any]:
        return schema_of(self, secret_field=None, every=self.every, dedupe=self.dedupe)


def polling_source(
    key: str,
    *,
    title: str,
    sample: dict[str, Any],
    every: float,
    dedupe: Dedupe,
    docs: str | None = None,
    needs_account: bool = False,
) -> Callable[[Poll], Poll]:
    """Declare `poll(ctx)` as the polling source `key` (`<app>.<name>`), polled every
    `every` seconds unless the workflow says otherwise. The type of `ctx`
    (`PollContext[Inputs]`) names the source's inputs model."""
    if dedupe not in DEDUPES:
        raise ValueError(f"source {key}: dedupe must be one of {', '.join(DEDUPES)}")

    def register(fn: Poll) -> Poll:
        declare(
            PollingSource,
            key,
            fn,
            PollContext,
            title=title,
            docs=docs,
            poll=fn,
            needs_account=needs_account,
            sample=sample,
            every=float(every),
            dedupe=dedupe,
        )
        return fn

    return register
