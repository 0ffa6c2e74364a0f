"""`{{ }}` expressions, fuzzed: sandbox escapes and huge allocations end in an
ExpressionError that says why, never an escape, an uncaught exception, a hang or a
memory blow-up (the limits are in relayflow/expression_limits.py)."""

from __future__ import annotations

import resource

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relayflow.expressions import ExpressionError, compile_value

SCOPE = {"steps": {"trigger": {"event": {"body": {"n": 3, "name": "Ann", "items": [1, 2]}}}}}
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

ESCAPES = [
    "''.__class__.__mro__",
    "''.__class__.__mro__[1].__subclasses__()",
    "cycler.__init__.__globals__",
    "joiner.__init__.__globals__.os",
    "namespace.__init__.__globals__",
    "self",
    "self._TemplateReference__context",
    "lipsum.__globals__",
    "lipsum(10**9)",
    "range.__self__",
    "steps.__class__.__init__",
    "steps.trigger.event.body.items.__len__",
    "'{0.__class__}'.format(1)",
    "''|attr('__class__')",
    "[].__class__.__base__.__subclasses__()",
    "config",
    "request",
]
HUGE = [
    "range(10**9)",
    "range(10**9)|list",
    "'a' * 10**10",
    "[0] * 10**9",
    "10 ** (10 ** 10)",
    "(9 ** 9999) * (9 ** 9999)",
    "'%999999999s' % 'x'",
    "'%*s' % (10**9, 'x')",
    "'%s' % ('a' * 10**7)",
    "'{:999999999}'.format(1)",
    "'{:{w}}'.format(1, w=10**9)",
    "range(100000)|join('x' * 100)",
    "('x' * 100000).join(range(100000)|map('string'))",
    "'a'|center(10**10)",
    "'a'|indent(10**9)",
    "'ab'.replace('', 'x' * 9000000)",
    "'a'|replace('a', 'b' * 10**6)|replace('b', 'c' * 10**6)",
    "range(10)|batch(10**9)|list",
    "('a' * 1000000)|wordwrap(5)",
    "('a' * 9999999) ~ ('b' * 9999999)",
    "('a' * 9999999) + ('b' * 9999999)",
    "[[0] * 1000] * 1000000",
    "('a\\n' * 1000000)|indent('x' * 1000000)",
    "('ab' * 1000)|wordwrap(1, wrapstring='x' * 1000000)",
    "('a' * 1000000).translate({97: 'x' * 1000000})",
    "([[0] * 1000] * 1000000)|sum(start=[])",
    "([[0] * 1000] * 1000000)|string",
    "([[0] * 1000] * 10000)|tojson",
    "'%s' % ([[0] * 1000] * 1000000,)",
    "'{}'.format([[0] * 1000] * 1000000)",
    "{'a': [[0] * 1000] * 10000}",
    "namespace(x=[[0] * 1000] * 100000)",
]
TEMPLATES = [
    "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}",
    "{% for i in range(100000) %}{{ 'x' * 101 }}{% endfor %}",
    "{% macro f(n) %}{% if n %}{{ f(n-1) }}{{ f(n-1) }}{% endif %}{% endmacro %}{{ f(60) }}",
    "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}",
    "{% set ns = namespace(x='ab') %}{% for i in range(60) %}{% set ns.x = ns.x ~ ns.x %}"
    "{% endfor %}{{ ns.x|length }}",
    "{% set ns = namespace(x=[1]) %}{% for i in range(60) %}{% set ns.x = ns.x + ns.x %}"
    "{% endfor %}{{ ns.x|length }}",
    "{% set x %}{% for i in range(10000) %}{{ 'x' * 100 }}{% endfor %}{% endset %}"
    "{% set y %}{% for i in range(100000) %}{{ x }}{% endfor %}{% endset %}{{ y|length }}",
    "{% macro m() %}{% for i in range(100000) %}{{ 'x' * 101 }}{% endfor %}{% endmacro %}"
    "{{ m()|length }}",
    "{% macro m() %}{{ caller() }}{{ caller() }}{% endmacro %}"
    "{% call m() %}{{ 'x' * 6000000 }}{% endcall %}",
    "x{{ [[0] * 1000] * 1000000 }}",
    "{% set ns = namespace(x=7) %}{% for i in range(60) %}{% set ns.x = ns.x * ns.x %}"
    "{% endfor %}{{ ns.x > 1 }}",
]


def _peak_mb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def _refused(source: str) -> str:
    try:
        value = compile_value(source, "steps.s.with.x")(SCOPE)
    except ExpressionError as exc:
        return str(exc)
    raise AssertionError(f"{source!r} was allowed and gave {str(value)[:200]!r}")


def test_every_known_escape_is_refused_with_an_error_naming_the_input():
    for escape in ESCAPES:
        assert _refused("{{ " + escape + " }}").startswith("steps.s.with.x: ")


def test_every_huge_allocation_is_refused_by_a_named_limit_without_allocating_it():
    before = _peak_mb()
    for huge in HUGE:
        message = _refused("{{ " + huge + " }}")
        assert any(
            word in message
            for word in ("Range too big", "an expression may", "not allowed", "expression limit")
        ), message
    assert _peak_mb() - before < 200


def test_loops_recursion_and_doubling_end_within_the_time_or_size_limit():
    before = _peak_mb()
    for template in TEMPLATES:
        message = _refused("x" + template)
        assert any(
            word in message
            for word in ("an expression may", "recursion", "not allowed", "expression limit")
        ), message
    assert _peak_mb() - before < 200


_NAMES = st.sampled_from(
    ["steps", "steps.trigger.event.body", "steps.trigger.event.body.items", "range", "dict",
     "cycler", "joiner", "namespace", "self", "lipsum", "loop", "''", "[]", "{}", "1", "10**9",
     "'a'", "none", "true"]
)
_ATTRS = st.sampled_from(
    ["__class__", "__mro__", "__subclasses__", "__globals__", "__init__", "__dict__",
     "__builtins__", "__import__", "_TemplateReference__context", "mro", "func_globals",
     "gi_frame", "f_globals", "format", "format_map", "join", "replace", "center", "items",
     "keys", "update", "append", "pop", "n", "name"]
)
_OPERATORS = st.sampled_from([" * ", " ** ", " + ", " % ", " ~ ", " // ", " - ", "|join", ""])
_FILTERS = st.sampled_from(
    ["", "|list", "|join", "|string", "|center(10**9)", "|indent(10**8)", "|batch(10**9)",
     "|map('string')|join('x' * 1000)", "|replace('', 'x' * 10**5)", "|attr('__class__')",
     "|format(1)", "|sum", "|tojson", "|wordwrap(1)", "|truncate(10**9)"]
)


@st.composite
def expressions(draw: st.DrawFn) -> str:
    parts = []
    for _ in range(draw(st.integers(1, 4))):
        term = draw(_NAMES)
        for _ in range(draw(st.integers(0, 3))):
            kind = draw(st.sampled_from(["attr", "item", "call"]))
            if kind == "attr":
                term += "." + draw(_ATTRS)
            elif kind == "item":
                term += f"[{draw(st.sampled_from(['0', '-1', '1', repr('__class__'), '10**9']))}]"
            else:
                term += draw(st.sampled_from(["()", "(10**9)", "('x' * 10**5)", "(1, 2)"]))
        parts.append(f"({term}{draw(_FILTERS)})")
    expression = parts[0]
    for part in parts[1:]:
        expression += draw(_OPERATORS) + part
    return expression


@FUZZ
@given(expression=expressions())
def test_random_expressions_answer_or_fail_cleanly(expression: str) -> None:
    before = _peak_mb()
    try:
        value = compile_value("{{ " + expression + " }}", "steps.s.with.x")(SCOPE)
    except ExpressionError as exc:
        assert str(exc).startswith("steps.s.with.x: ")
        value = None
    assert len(str(value)) <= 20_000_000
    assert "<module" not in str(value) and "<function" not in str(value)
    assert _peak_mb() - before < 200


@FUZZ
@given(text=st.text(alphabet="{}%#()[]|.'\"~*+ abcxyz_0123456789\n", max_size=80))
def test_random_template_text_renders_or_fails_cleanly(text: str) -> None:
    try:
        compile_value(text, "steps.s.with.x")(SCOPE)
    except ExpressionError as exc:
        assert str(exc).startswith("steps.s.with.x: ")


@settings(max_examples=30, deadline=None)  # compiling deep nesting takes up to ~1 s
@given(
    depth=st.integers(1, 400),
    wrap=st.sampled_from([("(", ")"), ("[", "]"), ("-", ""), ("not ", ""), ("{'a': ", "}"),
                          ("1 + ", ""), ("{% if 1 %}", "{% endif %}"), ("{% for i in [1] %}",
                                                                       "{% endfor %}")]),
)
def test_nesting_of_any_depth_compiles_or_is_refused_as_too_deep(depth: int, wrap) -> None:
    opener, closer = wrap
    inner = opener * depth + "1" + closer * depth
    source = inner if opener.startswith("{%") else "{{ " + inner + " }}"
    try:
        compile_value(source, "steps.s.with.x")(SCOPE)
    except ExpressionError as exc:
        assert str(exc).startswith("steps.s.with.x: ")
