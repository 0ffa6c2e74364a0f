"""Limits on `{{ }}` evaluation: Jinja's sandbox stops attribute escapes, not a step that
asks for `'a' * 10**10`, `range(10**5)` nested in itself or `'%999999999s' % x`.

`LimitedEnvironment` is a sandboxed environment where every evaluation

- finishes within `TIME_LIMIT` seconds (checked on every call, operator, attribute and loop
  step, so a loop that outputs nothing is still stopped),
- builds no string, list or output longer than `MAX_LENGTH` (checked before the operation
  that would allocate it: `*`, `+`, `~`, `%`, `str.format`, `join`, `replace`, widths),
- computes no integer wider than `MAX_INT_BITS` bits (`**`, `*`),
- cannot change the step results it reads (the immutable sandbox: no `append`, `update`).

Breaking a limit raises `LimitError`, whose message names the limit and what to do.
"""

from __future__ import annotations

import math
import re
import string
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import wraps
from typing import Any

from jinja2 import nodes
from jinja2.runtime import Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import Namespace

TIME_LIMIT = 1.0  # seconds per evaluation
MAX_LENGTH = 10_000_000  # characters or items: ten times what a webhook body may hold
MAX_INT_BITS = 16_384  # about 4,900 decimal digits, beyond Python's int-to-text limit
MAX_WORDWRAP = 100_000  # characters: textwrap is pure Python, seconds for a megabyte

_WIDTH_ARGUMENTS = {
    "center": ("width",),
    "indent": ("width",),
    "wordwrap": ("width",),
    "truncate": ("length",),
    "batch": ("linecount",),
    "slice": ("slices",),
    "ljust": ("width",),
    "rjust": ("width",),
    "zfill": ("width",),
    "expandtabs": ("tabsize",),
}
_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")
_SPEC_NUMBER = re.compile(r"\d+")


class LimitError(Exception):
    """An evaluation broke one of the limits; the message names it."""


_state = threading.local()


class Deadline:
    """The time limit of one evaluation, for the thread running it (nested calls share it)."""

    def __enter__(self) -> None:
        self.outer = getattr(_state, "deadline", None)
        if self.outer is None:
            _state.deadline = time.monotonic() + TIME_LIMIT

    def __exit__(self, *exc: object) -> None:
        _state.deadline = self.outer


def check_time() -> None:
    deadline = getattr(_state, "deadline", None)
    if deadline is not None and time.monotonic() > deadline:
        raise LimitError(
            f"took longer than the {TIME_LIMIT:g} s an expression may run; "
            "do heavy work in a code step"
        )


def size_of(value: Any) -> int:
    """About how many characters `value` takes as text, counted without building the text
    and only until past MAX_LENGTH: `[[0] * 1000] * 10**6` is a small list of shared
    references whose text is two billion characters."""
    total, stack = 0, [value]
    while stack and total <= MAX_LENGTH:
        item = stack.pop()
        if isinstance(item, Namespace):
            item = dict(item._Namespace__attrs)  # type: ignore[attr-defined]
        if isinstance(item, str | bytes):
            total += len(item)
        elif isinstance(item, Mapping):
            total += 2 + 4 * len(item)
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            total += 2 + 2 * len(item)
            stack.extend(item)
        else:
            total += 8
    return total


def _not_a_function(value: Any) -> None:
    # Its text is Python's `<function safe_range at 0x…>`: nothing a step means to send.
    if callable(value) and not isinstance(value, Mapping | Undefined):
        raise LimitError("a function cannot be made text; call it")


def check_length(value: Any, what: str = "the result") -> Any:
    if not isinstance(value, int | float) and size_of(value) > MAX_LENGTH:
        raise LimitError(f"{what} would be longer than {MAX_LENGTH:,} (the expression limit)")
    return value


def check_output(size: int) -> None:
    _check_size(size, "the output")


def _check_size(size: int, what: str) -> None:
    if size > MAX_LENGTH:
        raise LimitError(
            f"{what} would be {size:,} long, over the {MAX_LENGTH:,} an expression may build"
        )


def _check_bits(bits: float) -> None:
    if bits > MAX_INT_BITS:
        raise LimitError(
            f"the number would have about {int(bits):,} bits, over the {MAX_INT_BITS:,} "
            "an expression may compute"
        )


def _length(value: Any) -> int:
    return len(value) if isinstance(value, str) else size_of(value)


def _check_widths(name: str, args: tuple, kwargs: dict[str, Any]) -> None:
    for position, keyword in enumerate(_WIDTH_ARGUMENTS.get(name, ())):
        value = kwargs.get(keyword, args[position] if position < len(args) else None)
        if isinstance(value, int) and value > MAX_LENGTH:
            _check_size(value, f"{name}({keyword}={value})")


def _check_percent(template: str, values: Any) -> None:
    for width, precision in _PERCENT_SPEC.findall(template):
        for number in (width, precision):
            if number == "*":
                raise LimitError("'%*s' widths taken from the values are not allowed")
            if number:
                _check_size(int(number), f"the width {number} in {template[:40]!r}")
    items = values if isinstance(values, tuple) else (values,)
    for item in items:
        _not_a_function(item)
    _check_size(len(template) + sum(_length(v) for v in items), "'%' formatting")


def _check_format(template: str, args: tuple, kwargs: dict[str, Any]) -> None:
    for _text, field, spec, _conversion in string.Formatter().parse(template):
        if field is None:
            continue
        if spec and "{" in spec:
            raise LimitError("format specs taken from the values ('{:{w}}') are not allowed")
        for number in _SPEC_NUMBER.findall(spec or ""):
            _check_size(int(number), f"the format spec {spec!r}")
    values = list(args) + list(kwargs.values())
    for value in values:
        _not_a_function(value)
    _check_size(len(template) + sum(_length(v) for v in values), "str.format")


def _check_replace(text: str, old: str, new: str, count: int = -1) -> None:
    hits = text.count(old) if old else len(text) + 1
    if count is not None and count >= 0:
        hits = min(hits, count)
    _check_size(len(text) + hits * len(new), "replace()")


def _joined(items: Iterable[Any], separator: str) -> list[Any]:
    parts = []
    size = 0
    for item in items:
        check_time()
        size += _length(item) + len(separator)
        _check_size(size, "join()")
        parts.append(item)
    return parts


_TEXT_FILTERS = {"string", "tojson", "pprint", "list", "urlencode", "e", "escape", "forceescape"}


def _check_line_prefixes(name: str, text: str, rest: tuple, kwargs: dict[str, Any]) -> None:
    """`indent` puts its width (which may be text) before every line; `wordwrap` puts its
    wrapstring after every piece, at worst every character."""
    if name == "indent":
        prefix = kwargs.get("width", rest[0] if rest else 4)
        times = text.count("\n") + 1
    else:
        prefix = kwargs.get("wrapstring", rest[2] if len(rest) > 2 else None)
        times = len(text)
    if isinstance(prefix, str):
        _check_size(len(text) + times * len(prefix), f"{name}()")


def _summed(items: Iterable[Any]) -> list[Any]:
    """The items of a `sum` of lists or strings, refused when the sum would be too long."""
    parts, size = [], 0
    for item in items:
        check_time()
        if isinstance(item, str | list | tuple):
            size += len(item)
            _check_size(size, "sum()")
        parts.append(item)
    return parts


def _bounded_iteration(iterable: Any) -> Iterator[Any]:
    for item in iterable:
        check_time()
        yield item


def _limited_filter(name: str, filter_: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(filter_)
    def limited(*args: Any, **kwargs: Any) -> Any:
        check_time()
        # Filters that take the environment, context or eval context get it first.
        offset = 1 if getattr(filter_, "jinja_pass_arg", None) else 0
        value, rest = (args[offset], args[offset + 1 :]) if len(args) > offset else (None, ())
        _check_widths(name, rest, kwargs)
        if name == "replace" and isinstance(value, str) and len(rest) >= 2:
            _check_replace(str(value), str(rest[0]), str(rest[1]), *rest[2:3])
        if name == "join" and value is not None:
            separator = str(rest[0]) if rest else str(kwargs.get("d", ""))
            value = _joined(value, separator)
            args = args[:offset] + (value,) + tuple(rest)
        if isinstance(value, str) and name in ("indent", "wordwrap"):
            _check_line_prefixes(name, value, rest, kwargs)
        if name == "wordwrap" and isinstance(value, str) and len(value) > MAX_WORDWRAP:
            raise LimitError(
                f"wordwrap takes at most the {MAX_WORDWRAP:,} characters an expression may wrap"
            )
        if name in _TEXT_FILTERS:
            _not_a_function(value)
            check_length(value, f"the {name} filter's text")
        if name == "sum" and value is not None:
            value = _summed(value)
            args = args[:offset] + (value,) + tuple(rest)
        if name == "format" and isinstance(value, str):
            _check_percent(value, tuple(rest) or tuple(kwargs.values()))
        return check_length(filter_(*args, **kwargs), f"the {name} filter's result")

    return limited


class LimitedEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox with the limits above; wrap each render or call in `Deadline()`."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, **options: Any) -> None:
        super().__init__(finalize=_finalized, **options)
        self.filters = {name: _limited_filter(name, f) for name, f in self.filters.items()}
        self.filters["_limited_loop"] = _bounded_iteration
        self.filters["_limited_concat"] = _concat
        del self.globals["lipsum"]  # a text generator with no use in a step, and no bound

    def _generate(self, source: nodes.Template, *args: Any, **kwargs: Any) -> str:
        # Loops and `~` are plain Python in the compiled code: route them through the limits.
        for loop in source.find_all(nodes.For):
            loop.iter = nodes.Filter(loop.iter, "_limited_loop", [], [], None, None)
            loop.iter.set_lineno(loop.lineno)
        for concat in list(source.find_all(nodes.Concat)):
            parts = nodes.List(concat.nodes, lineno=concat.lineno)
            concat.nodes = [nodes.Filter(parts, "_limited_concat", [], [], None, None)]
            concat.nodes[0].set_lineno(concat.lineno)
        return super()._generate(source, *args, **kwargs)

    @staticmethod
    def concat(parts: Iterable[str]) -> str:  # type: ignore[override]
        # What `{% set x %}…{% endset %}`, macros and `caller()` join their output with.
        texts = list(parts)
        _check_size(sum(map(len, texts)), "the output")
        return "".join(texts)

    def getattr(self, obj: Any, attribute: str) -> Any:
        check_time()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        check_time()
        return super().getitem(obj, argument)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        check_time()
        owner = getattr(__obj, "__self__", None)
        name = getattr(__obj, "__name__", "")
        if isinstance(owner, str):
            _check_widths(name, args, kwargs)
            if name == "replace" and len(args) >= 2:
                _check_replace(owner, str(args[0]), str(args[1]), *args[2:3])
            if name == "join" and args:
                args = (_joined(args[0], owner),) + args[1:]
            if name == "translate" and args and isinstance(args[0], Mapping):
                longest = max((size_of(v) for v in args[0].values()), default=0)
                _check_size(len(owner) * max(longest, 1), "translate()")
        return check_length(super().call(__context, __obj, *args, **kwargs))

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        template = value.__self__

        def limited(*args: Any, **kwargs: Any) -> str:
            if value.__name__ == "format_map" and args:
                _check_format(template, (), dict(args[0]))
            else:
                _check_format(template, args, kwargs)
            return check_length(wrapped(*args, **kwargs))

        return limited

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        check_time()
        if operator == "*":
            _check_multiply(left, right)
        elif operator == "**":
            _check_power(left, right)
        elif operator == "+" and isinstance(left, str | list | tuple):
            if isinstance(right, type(left)):
                _check_size(len(left) + len(right), "'+'")
        elif operator == "%" and isinstance(left, str):
            _check_percent(left, right)
        return super().call_binop(context, operator, left, right)


def _finalized(value: Any) -> Any:
    # Each `{{ }}` of a template is made text with str(): measure it first.
    _not_a_function(value)
    return check_length(value, "a value's text")


def _concat(parts: list[Any]) -> str:
    for part in parts:
        _not_a_function(part)
    texts = [str(part) for part in parts]
    _check_size(sum(map(len, texts)), "'~'")
    return "".join(texts)


def _check_multiply(left: Any, right: Any) -> None:
    for sequence, times in ((left, right), (right, left)):
        if isinstance(sequence, str | list | tuple) and isinstance(times, int):
            _check_size(len(sequence) * max(times, 0), "the repetition")
    if _is_int(left) and _is_int(right):
        _check_bits(abs(left).bit_length() + abs(right).bit_length())


def _check_power(base: Any, exponent: Any) -> None:
    if _is_int(base) and _is_int(exponent) and exponent > 0 and abs(base) > 1:
        _check_bits(exponent * math.log2(abs(base)))


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
