"""A valid workflow and the strategies that break it, shared by the workflow-file fuzz tests
(through the loader) and the API ones (over HTTP)."""

from __future__ import annotations

import yaml
from hypothesis import strategies as st

VALID = {
    "name": "fuzzed",
    "trigger": {"http": {"path": "/fuzzed"}},
    "steps": [{"name": "echo", "uses": "util.echo", "with": {"value": "{{ steps.trigger }}"}}],
    "settings": {"concurrency": 2},
}

WRONG_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**30), 10**30), st.floats(allow_nan=True),
    st.text(max_size=30), st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)
FIELDS = st.sampled_from(
    [("name",), ("trigger",), ("trigger", "http"), ("trigger", "http", "path"), ("steps",),
     ("steps", 0), ("steps", 0, "name"), ("steps", 0, "uses"), ("steps", 0, "with"),
     ("settings",), ("settings", "concurrency")]
)


def mutated(field: tuple, value: object, name: str = "fuzzed") -> str:
    """VALID (named `name`, at path /`name`) as YAML with the value at `field` replaced."""
    document = yaml.safe_load(yaml.safe_dump(VALID))
    document["name"], document["trigger"]["http"]["path"] = name, f"/{name}"
    holder = document
    for key in field[:-1]:
        holder = holder[key]
    holder[field[-1]] = value
    return yaml.safe_dump(document)
