"""Bad input gets a 4xx that names the problem, never a 500."""

from __future__ import annotations

import httpx

from conftest import Relayflow


def test_non_ascii_authorization_on_a_token_hook_is_401(server: Relayflow):
    answer = httpx.post(
        f"{server.url}/hooks/locked",
        json={"a": 1},
        headers={"authorization": "Bearer s3cr\u00e9t".encode("latin-1")},
    )
    assert answer.status_code == 401
    assert "Authorization: Bearer" in answer.json()["error"]
    good = httpx.post(
        f"{server.url}/hooks/locked",
        json={"a": 1},
        headers={"authorization": "Bearer s3cret-token"},
    )
    assert good.status_code == 200


def test_non_ascii_sig_on_a_run_link_is_403(server: Relayflow):
    answer = httpx.get(
        f"{server.url}/hooks/_runs/r-1/resume?step=wait&exp=9999999999&sig=%C3%A9%C3%A9"
    )
    assert answer.status_code == 403
    assert "signature" in answer.json()["error"]


def test_multipart_without_a_boundary_is_400(server: Relayflow):
    answer = httpx.post(
        f"{server.url}/hooks/open",
        content=b"--x\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--x--\r\n",
        headers={"content-type": "multipart/form-data"},
    )
    assert answer.status_code == 400
    assert "boundary" in answer.json()["error"]


def _multipart(parts: int, files: bool) -> bytes:
    disposition = 'form-data; name="f{i}"' + ('; filename="f{i}.txt"' if files else "")
    return (
        b"".join(
            f"--b\r\nContent-Disposition: {disposition.format(i=i)}\r\n\r\nx\r\n".encode()
            for i in range(parts)
        )
        + b"--b--\r\n"
    )


def test_multipart_with_too_many_fields_or_files_is_413(server: Relayflow):
    for files, word in ((False, "fields"), (True, "files")):
        answer = httpx.post(
            f"{server.url}/hooks/open",
            content=_multipart(1001, files),
            headers={"content-type": "multipart/form-data; boundary=b"},
        )
        assert answer.status_code == 413, answer.text
        assert f"more than 1000 {word}" in answer.json()["error"]
    fine = httpx.post(
        f"{server.url}/hooks/open",
        content=_multipart(1000, False),
        headers={"content-type": "multipart/form-data; boundary=b"},
    )
    assert fine.status_code == 200
