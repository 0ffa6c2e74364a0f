"""`relayflow runs` in a terminal of any width: one line per run, its error below it.

The short id comes first and is never cut, so it can be copied into `inspect` or `replay`;
a workflow name too long for the line is shortened, and an error gets two lines at most
(`relayflow inspect ID` shows it whole).
"""

from __future__ import annotations

import re
import textwrap
import time
from datetime import datetime
from typing import Any

from rich.text import Text

STATUS_STYLE = {
    "succeeded": "green",
    "failed": "red",
    "running": "cyan",
    "queued": "yellow",
    "sleeping": "blue",
}
GAP = "  "


def revision(run: dict[str, Any]) -> str:
    """What a run ran, as people count: `v3`, or `draft 2` for a test of a draft."""
    return f"draft {run['draft']}" if run.get("draft") else f"v{run['version']}"


def short_when(ts: float | None, now: float | None = None) -> str:
    """A run's time in at most 12 characters: the time today, else the day and time."""
    if not ts:
        return "-"
    moment, today = datetime.fromtimestamp(ts), datetime.fromtimestamp(now or time.time())
    if moment.date() == today.date():
        return moment.strftime("%H:%M:%S")
    if moment.year == today.year:
        return moment.strftime("%b %d %H:%M")
    return moment.strftime("%Y-%m-%d")


def took(run: dict[str, Any]) -> str:
    if not run["finished_at"]:
        return "-"
    ms = (run["finished_at"] - run["created_at"]) * 1000
    return f"{ms:.0f} ms" if ms < 10_000 else f"{ms / 1000:.0f} s"


def run_lines(runs: list[dict[str, Any]], short: dict[str, str], width: int) -> list[Text]:
    """The lines that show `runs` (with their `short` ids) in `width` columns."""
    head = {"run": "run", "workflow": "workflow", "status": "status"}
    head |= {"created": "created", "took": "took"}
    rows = []
    for run in runs:
        marks = [m for m, on in (("test", run["test"]), ("replay", run["replay_of"])) if on]
        row = {
            "run": short[run["id"]],
            "workflow": run["workflow"],
            "status": run["status"],
            "created": short_when(run["created_at"]),
            "took": took(run),
        }
        rows.append((row, " ".join([revision(run), *marks]), _readable(run["error"] or "")))
    widths = {key: len(value) for key, value in head.items()}
    for row, tail, _error in rows:
        for key, value in row.items():
            widths[key] = max(widths[key], len(value) + (len(tail) + 1 if key == "workflow" else 0))
    others = sum(w for k, w in widths.items() if k != "workflow") + len(GAP) * (len(widths) - 1)
    widths["workflow"] = max(len("workflow"), min(widths["workflow"], width - others))
    lines = [_line(head, widths, header=True)]
    indent = " " * (widths["run"] + len(GAP))
    for row, tail, error in rows:
        # The name gives way (never the id, the version or the marks).
        name = _cut(row["workflow"], max(4, widths["workflow"] - len(tail) - 1))
        lines.append(_line({**row, "workflow": f"{name} {tail}"}, widths))
        for n, part in enumerate(_wrapped(error, width - len(indent) - 2, ERROR_LINES)):
            line = Text(indent + ("↳ " if n == 0 else "  "), style="dim")
            line.append(part, "red")
            lines.append(line)
    return lines


ERROR_LINES = 2  # an error longer than this many lines is cut


def _readable(error: str) -> str:
    """A run's error on one line, without naming its step twice (`step a: steps.a.with.`)."""
    text = " ".join(error.split())
    return re.sub(r"^step (\w+): steps\.\1\.with\.", r"step \1, input ", text)


def _wrapped(text: str, width: int, most: int) -> list[str]:
    """`text` in lines of `width` at most, `most` of them, the last cut with … if needed."""
    if not text:
        return []
    lines = textwrap.wrap(text, max(width, 10))
    if len(lines) > most:
        lines = lines[: most - 1] + [_cut(" ".join(lines[most - 1 :]), max(width, 10))]
    return lines


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def _line(row: dict[str, str], widths: dict[str, int], header: bool = False) -> Text:
    line = Text(style="bold" if header else "")
    for index, (key, size) in enumerate(widths.items()):
        value = _cut(row[key], size)
        if index:
            line.append(GAP)
        style = STATUS_STYLE.get(value, "white") if key == "status" and not header else None
        line.append(value.rjust(size) if key == "took" else value.ljust(size), style)
    line.rstrip()
    return line
