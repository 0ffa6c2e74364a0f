"""Webhooks, fuzzed over HTTP: bodies (JSON, form, multipart, text, random bytes, deep
nesting, huge numbers), content types and headers posted to a running relayflow get an
answer under 500 every time, and the server keeps answering /healthz."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import Relayflow
from fuzz.workflows import FIELDS, WRONG_VALUES, mutated
from test_http_trigger import ECHO

FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
REPEAT = """\
name: repeat
trigger:
  http:
    path: repeat
steps:
  - name: repeat
    uses: util.echo
    with:
      value: "{{ steps.trigger.event.body.text * steps.trigger.event.body.times }}"
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Relayflow]:
    home: Path = tmp_path_factory.mktemp("fuzz") / "home"
    home.mkdir()
    rf = Relayflow(home, f"sqlite:///{home / 'relayflow.db'}")
    rf.deploy_text("fuzzed", ECHO.format(name="fuzzed", path="fuzzed", extra=""))
    rf.deploy_text("repeat", REPEAT)
    rf.start()
    yield rf
    rf.stop_all()


@pytest.fixture(scope="module")
def client(server: Relayflow) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as http:
        yield http


def _still_serving(client: httpx.Client) -> None:
    assert client.get("/healthz").status_code == 200


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | st.integers(-(10**40), 10**40),
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=40,
)
CONTENT_TYPES = st.sampled_from(
    ["application/json", "application/json; charset=latin-1", "application/x-www-form-urlencoded",
     "multipart/form-data", "multipart/form-data; boundary=xyz", "text/plain", "text/csv",
     "application/xml", "application/octet-stream", "application/vnd.api+json", "", ";;;",
     "application/json; charset=nonsense", "image/png", "*/*", "application/\x7f"]
)
HEADER_NAMES = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyz-_0123456789", min_size=1, max_size=30
)
HEADER_VALUES = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=200)


@FUZZ
@given(value=JSON_VALUES)
def test_json_bodies_of_any_shape_are_accepted(client: httpx.Client, value: object) -> None:
    answer = client.post("/hooks/fuzzed", content=json.dumps(value),
                         headers={"content-type": "application/json"})
    assert answer.status_code == 200, answer.text


@FUZZ
@given(body=st.binary(max_size=2000), content_type=CONTENT_TYPES)
def test_random_bytes_under_any_content_type_get_an_answer_under_500(
    client: httpx.Client, body: bytes, content_type: str
) -> None:
    answer = client.post("/hooks/fuzzed", content=body, headers={"content-type": content_type})
    assert answer.status_code < 500, answer.text


@FUZZ
@given(
    body=st.sampled_from(
        ["[" * 100_000 + "]" * 100_000, '{"a":' * 50_000 + "1" + "}" * 50_000,
         "9" * 100_000, '{"n": ' + "9" * 20_000 + "}", "1e999999", '{"n": -1e400}', "NaN",
         '{"a": Infinity}', '"\\ud800"', '{"a": 1, "a": 2}', "\ufeff{}", "{", "",
         "a=1&a=2&" * 5_000, "%zz=%%", "--xyz\r\nContent-Disposition: form-data\r\n\r\n",
         "--xyz\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a\"\r\n\r\nx\r\n--xyz--"]
    ),
    content_type=CONTENT_TYPES,
)
def test_deep_nesting_huge_numbers_and_broken_forms_get_an_answer_under_500(
    client: httpx.Client, body: str, content_type: str
) -> None:
    answer = client.post("/hooks/fuzzed", content=body.encode("utf-8", "surrogatepass"),
                         headers={"content-type": content_type})
    assert answer.status_code < 500, answer.text


def _raw(server: Relayflow, head: bytes, body: bytes = b"") -> int:
    """Send a request as bytes (headers no client library would send) and return the status."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as connection:
        connection.sendall(head + body)
        answer = b""
        while b"\r\n" not in answer:
            chunk = connection.recv(4096)
            if not chunk:
                break
            answer += chunk
    status_line = answer.split(b"\r\n", 1)[0].split()
    assert len(status_line) >= 2, f"no HTTP answer: {answer[:200]!r}"
    return int(status_line[1])


RAW_HEADER_NAMES = st.binary(min_size=1, max_size=30).filter(
    lambda name: b"\r" not in name and b"\n" not in name and b":" not in name
)
RAW_HEADER_VALUES = st.binary(max_size=300).filter(
    lambda value: b"\r" not in value and b"\n" not in value
)


@FUZZ
@given(
    headers=st.lists(st.tuples(RAW_HEADER_NAMES | HEADER_NAMES.map(str.encode), RAW_HEADER_VALUES),
                     max_size=8),
    method=st.sampled_from([b"GET", b"POST", b"PUT", b"PATCH", b"DELETE", b"OPTIONS", b"FUZZ"]),
    query=st.text(alphabet="abc=&%;+?[]0123456789", max_size=50),
    content_type=CONTENT_TYPES,
)
def test_random_headers_methods_and_queries_get_an_answer_under_500(
    server: Relayflow, headers: list[tuple[bytes, bytes]], method: bytes, query: str,
    content_type: str,
) -> None:
    body = b'{"a": 1}'
    lines = [method + b" /hooks/fuzzed?" + query.encode() + b" HTTP/1.1", b"host: 127.0.0.1",
             b"connection: close", b"content-type: " + content_type.encode("latin-1"),
             b"content-length: " + str(len(body)).encode()]
    lines += [name + b": " + value for name, value in headers]
    assert _raw(server, b"\r\n".join(lines) + b"\r\n\r\n", body) < 500


@FUZZ
@given(fields=st.dictionaries(st.text(max_size=20), st.text(max_size=50), max_size=6),
       files=st.dictionaries(st.text(min_size=1, max_size=10), st.binary(max_size=200), max_size=3))
def test_forms_and_multipart_uploads_are_answered(
    client: httpx.Client, fields: dict[str, str], files: dict[str, bytes]
) -> None:
    if files:
        answer = client.post("/hooks/fuzzed", data=fields,
                             files={name: (name, data) for name, data in files.items()})
    else:
        answer = client.post("/hooks/fuzzed", data=fields)
    assert answer.status_code < 500, answer.text


def test_the_server_still_serves_and_runs_the_fuzzed_events(
    server: Relayflow, client: httpx.Client
) -> None:
    _still_serving(client)
    answer = client.post("/hooks/fuzzed", json={"after": "fuzzing"})
    assert answer.status_code == 200
    assert server.wait_runs(1, workflow="fuzzed")
    failed = server.runs("fuzzed", "--status", "failed")
    assert not failed, [(run["status"], run["error"]) for run in failed][:5]


BOMB = "a0: &a0 [" + ", ".join(["lol"] * 10) + "]\n" + "".join(
    f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]\n" for i in range(1, 9)
)
BAD_WORKFLOWS = [
    BOMB + "name: bomb\n",
    "name: deep\nsteps: " + "[" * 5000 + "]" * 5000,
    "name: big\nsettings: {concurrency: " + "9" * 5000 + "}\n",
    "name: !!python/object/apply:os.system ['true']\n",
    "- just\n- a list\n",
    "\x00",
    "name: 2020-13-45\n",
]


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(source=st.sampled_from(BAD_WORKFLOWS),
       content_type=st.sampled_from(["application/yaml", "application/json", "text/plain"]),
       wrapped=st.booleans())
def test_bad_workflow_files_posted_to_the_api_get_a_4xx_naming_the_problem(
    server: Relayflow, source: str, content_type: str, wrapped: bool
) -> None:
    body = json.dumps({"source": source}) if wrapped else source
    with server.api() as api:
        answer = api.post("/workflows", content=body, headers={"content-type": content_type})
    assert 400 <= answer.status_code < 500, answer.text
    _still_serving(httpx.Client(base_url=server.url))


def test_an_expression_asking_for_gigabytes_fails_its_run_by_the_limit_while_serving(
    server: Relayflow, client: httpx.Client
) -> None:
    for times in (10**10, 10**7, 3):
        answer = client.post("/hooks/repeat", json={"text": "ab", "times": times})
        assert answer.status_code == 200, answer.text
        _still_serving(client)
    failed = server.wait_runs(2, status="failed", workflow="repeat")
    assert all("an expression may build" in run["error"] for run in failed), failed
    succeeded = server.wait_runs(1, workflow="repeat")
    assert server.inspect(succeeded[0]["id"])["steps"][-1]["return_value"] == "ababab"


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=FIELDS, value=WRONG_VALUES, as_json=st.booleans())
def test_mutated_workflows_posted_to_the_api_deploy_or_get_a_4xx(
    server: Relayflow, field: tuple, value: object, as_json: bool
) -> None:
    source = mutated(field, value, name="mutated")
    body, content_type = (json.dumps({"source": source}), "application/json") if as_json else (
        source, "application/yaml")
    with server.api() as api:
        answer = api.post("/workflows", content=body, headers={"content-type": content_type})
    assert answer.status_code == 200 or 400 <= answer.status_code < 500, answer.text
    if answer.status_code != 200:
        assert answer.json(), "a refusal says what to fix"
