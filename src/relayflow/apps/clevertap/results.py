"""Per-record results of uploads: which records CleverTap skipped, and the step errors.

CleverTap answers an upload with `processed` and `unprocessed`; each unprocessed entry has
a code, a message ending "Skipped record number : N" (1-based) and the record echoed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from relayflow.apps.clevertap.rules import RecordError, UploadError, check_upload, record_key
from relayflow.sdk import StepError

_RECORD_NUMBER = re.compile(r"Skipped record number\s*:\s*(\d+)")
_SKIPPED = re.compile(r"\s*Skipped record number\s*:\s*\d+\s*$")


def rule_error(
    record: dict[str, Any],
    error: RecordError,
    locate: Callable[[str | None], str] | None = None,
) -> StepError:
    """The step error for a record that breaks a rule (so it is not sent)."""
    where = locate(error.field) if locate else f"{error.field or 'record'}"
    return StepError(
        f"{where}: {error.message} ({describe_record(record)} was not sent)",
        details={
            "code": error.code,
            "error": error.message,
            "field": error.field,
            "record": record,
        },
        retryable=False,
    )


def record_error(record: dict[str, Any], entry: dict[str, Any]) -> StepError:
    """The step error for a record CleverTap skipped (its `unprocessed` entry)."""
    code = entry.get("code")
    error = _SKIPPED.sub("", str(entry.get("error", "no reason given")))
    return StepError(
        f"CleverTap rejected {describe_record(record)}"
        + (f" (code {code})" if code is not None else "")
        + f": {error}",
        details={"code": code, "error": entry.get("error"), "record": record},
        retryable=False,
    )


def check_upload_body(body: Any) -> None:
    """StepError listing every record of an upload body `{"d": [...]}` that breaks a rule."""
    try:
        errors = check_upload(body)
    except UploadError as exc:
        raise StepError(f"body: {exc}", retryable=False) from None
    bad = [(n, e) for n, e in enumerate(errors, start=1) if e is not None]
    if bad:
        listed = "; ".join(
            f"record {n} ({describe_record(body['d'][n - 1])}): {e.message}" for n, e in bad
        )
        raise StepError(
            f"{len(bad)} of {len(errors)} records break CleverTap's rules, so nothing was "
            f"sent: {listed}",
            details=[{"record_number": n, "code": e.code, "error": e.message} for n, e in bad],
            retryable=False,
        )


def skipped_records_error(records: list[Any], answer: dict[str, Any]) -> StepError | None:
    """The StepError for an upload answer whose `unprocessed` is not empty, else None."""
    outcomes, unmatched = match_unprocessed(records, answer)
    skipped = [(n, e) for n, e in enumerate(outcomes, start=1) if e is not None]
    if not skipped and not unmatched:
        return None
    first = record_error(records[skipped[0][0] - 1], skipped[0][1]) if skipped else None
    return StepError(
        f"CleverTap skipped {len(skipped) + len(unmatched)} of {len(records)} records"
        + (f"; record {skipped[0][0]}: {first}" if first else ""),
        details={"unprocessed": answer.get("unprocessed"), "response": answer},
        retryable=False,
    )


def describe_record(record: Any) -> str:
    if not isinstance(record, dict):
        return "the record"
    kind = record.get("type", "record")
    if kind == "event" and record.get("evtName"):
        kind = f"event {record['evtName']!r}"
    key = record_key(record)
    return f"the {kind} for {key[0]} {key[1]!r}" if key else f"the {kind}"


def match_unprocessed(
    records: list[dict[str, Any]], body: Any
) -> tuple[list[dict[str, Any] | None], list[dict[str, Any]]]:
    """Pair CleverTap's `unprocessed` entries with the records sent, by position.

    CleverTap's message says "Skipped record number : N" (1-based) and echoes the record;
    an entry without a number is matched by its echoed record. Returns one entry (or None)
    per record, and the entries that could not be matched to any record.
    """
    outcomes: list[dict[str, Any] | None] = [None] * len(records)
    unmatched: list[dict[str, Any]] = []
    entries = body.get("unprocessed") if isinstance(body, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            unmatched.append({"error": repr(entry)})
            continue
        index = _position(entry, records, outcomes)
        if index is None:
            unmatched.append(entry)
        else:
            outcomes[index] = entry
    return outcomes, unmatched


def _position(entry: dict[str, Any], records: list[dict[str, Any]], taken: list[Any]) -> int | None:
    found = _RECORD_NUMBER.search(str(entry.get("error", "")))
    if found:
        index = int(found.group(1)) - 1
        if 0 <= index < len(records) and taken[index] is None:
            return index
    echoed = entry.get("record")
    for index, record in enumerate(records):
        if taken[index] is None and record == echoed:
            return index
    return None
