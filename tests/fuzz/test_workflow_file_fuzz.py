"""Workflow files, fuzzed: random and mutated YAML, alias bombs, deep nesting and wrong
types give problems (`file:line: field: what`), never an uncaught exception or a hang."""

from __future__ import annotations

import resource
import time

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzz.workflows import FIELDS, VALID, WRONG_VALUES, mutated
from relayflow.model.loader import WorkflowFileError, parse_workflow

FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _problems(source: str) -> list[str] | None:
    """None when the file is valid; its problems otherwise (any other exception fails)."""
    try:
        parse_workflow(source, "wf.yaml")
    except WorkflowFileError as exc:
        assert exc.problems, "a refused file lists at least one problem"
        lines = [str(problem) for problem in exc.problems]
        assert all(line.startswith("wf.yaml:") for line in lines), lines
        return lines
    return None


def test_the_unmutated_workflow_is_valid():
    assert _problems(yaml.safe_dump(VALID)) is None


def _bomb(fan_out: int, levels: int) -> str:
    lines = ["a0: &a0 [" + ", ".join(["lol"] * fan_out) + "]"]
    for level in range(1, levels + 1):
        refs = ", ".join([f"*a{level - 1}"] * fan_out)
        lines.append(f"a{level}: &a{level} [{refs}]")
    body = "\n".join(lines)
    return f"{body}\nname: fuzzed\ntrigger: {{http: {{path: /x}}}}\nsteps:\n" + (
        f"  - {{name: s, uses: util.echo, with: {{value: *a{levels}}}}}\n"
    )


def test_a_billion_laughs_is_refused_quickly_without_a_memory_blow_up():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    problems = _problems(_bomb(10, 9))
    assert problems and "expands to more than" in problems[0], problems
    assert time.monotonic() - started < 5
    assert (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024 < 100


@FUZZ
@given(fan_out=st.integers(2, 12), levels=st.integers(1, 9))
def test_alias_bombs_of_any_shape_are_refused_or_small(fan_out: int, levels: int) -> None:
    problems = _problems(_bomb(fan_out, levels))
    if fan_out ** (levels + 1) > 200_000:
        assert problems and any("expands to more than" in p for p in problems), problems


@settings(max_examples=25, deadline=None)
@given(depth=st.integers(50, 600), opener=st.sampled_from(["[", "{a: ", "- "]))
def test_deep_nesting_is_refused_by_name(depth: int, opener: str) -> None:
    if opener == "- ":
        nested = "".join("  " * i + "-\n" for i in range(depth)) + "  " * depth + "x\n"
        source = "name: fuzzed\nsteps:\n" + nested
    else:
        closer = "]" if opener == "[" else "}"
        source = "name: fuzzed\nsteps: " + opener * depth + "1" + closer * depth
    problems = _problems(source)
    assert problems is not None
    if depth > 100:
        assert any("levels allowed" in p for p in problems), problems


@FUZZ
@given(field=FIELDS, value=WRONG_VALUES)
def test_a_field_of_the_wrong_type_is_named_in_a_problem(field: tuple, value: object) -> None:
    problems = _problems(mutated(field, value))
    if problems is None:
        return  # the value happened to be valid there (a string name, a dict of inputs, …)
    top = str(field[0])
    assert any(f": {top}" in p for p in problems), (field, value, problems)


@FUZZ
@given(text=st.text(alphabet="abc:-[]{}&*!|>'\"#%@`,?\n\t 0123456789.", max_size=200))
def test_random_yaml_text_gives_problems_not_exceptions(text: str) -> None:
    _problems(text)


@FUZZ
@given(data=st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=30,
))
def test_random_documents_give_problems_not_exceptions(data: object) -> None:
    _problems(yaml.safe_dump(data))


@FUZZ
@given(scalar=st.from_regex(r"\A(\d{4}-\d{1,2}-\d{1,2}([Tt ]\d{1,2}:\d\d:\d\d)?|9{4001,4100}"
                            r"|0x[0-9a-f]{1,8}|0o[0-7]{1,8}|[-+]?\.inf|\.nan|~|0b[01]{1,8})\Z"),
       field=st.sampled_from(["name", "description", "settings: {concurrency", "when"]))
def test_scalars_yaml_builds_specially_give_problems_not_exceptions(scalar: str, field: str):
    closing = "}" if "{" in field else ""
    source = f"trigger: {{http: {{path: /x}}}}\nsteps: []\n{field}: {scalar}{closing}\n"
    problems = _problems(source)
    if field == "when":  # a field the model does not know, or a date YAML cannot build
        assert problems and any(p.startswith("wf.yaml:3: when: ") for p in problems), problems


def test_an_impossible_date_is_a_problem_saying_to_quote_it():
    problems = _problems("name: 2020-13-45\n")
    assert problems == [
        "wf.yaml:1: name: '2020-13-45' reads as a date but is not one "
        "(month must be in 1..12); quote it"
    ]


def test_a_number_too_long_to_read_is_a_problem_on_its_line():
    problems = _problems("name: x\nsettings:\n  concurrency: " + "9" * 5000 + "\n")
    assert problems == [
        "wf.yaml:3: settings.concurrency: a number with 5,000 digits; at most 4,000 are read"
    ]


def test_an_expression_nested_too_deeply_is_a_problem_naming_its_input():
    document = yaml.safe_load(yaml.safe_dump(VALID))
    document["steps"][0]["with"]["value"] = "{{ " + "(" * 300 + "1" + ")" * 300 + " }}"
    problems = _problems(yaml.safe_dump(document))
    assert problems and "steps[0].with.value: " in problems[0], problems
    assert "nested too deeply to compile" in problems[0]
