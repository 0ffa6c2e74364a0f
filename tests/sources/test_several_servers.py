"""One delivery reaching two servers at once (a retry racing the original, behind a load
balancer) makes exactly one run: the dedupe row commits with the run, on PostgreSQL."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from conftest import Relayflow, free_port

from .helpers import ACCOUNTS, SECRETS, WORKFLOWS, encode, post, sample, stripe_headers


def test_copies_of_a_delivery_sent_to_two_servers_make_one_run(pg_url: str, tmp_path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    rf = Relayflow(home, pg_url)
    try:
        rf.cli("accounts", "add", "stripe", ACCOUNTS["stripe"][0], *ACCOUNTS["stripe"][1])
        rf.deploy_text("stripe-paid", WORKFLOWS["stripe-paid"])
        first = rf.start("server")
        other = Relayflow(home, pg_url)
        other.port = free_port()
        other.wait_healthy(other.spawn("server", "--port", str(other.port)))
        rf.procs.extend(other.procs)
        rf.spawn("worker")
        urls = [f"{rf.url}/hooks/stripe", f"{other.url}/hooks/stripe"]
        for round_ in range(5):
            body = encode(sample("stripe.new_event", id=f"evt_two_servers_{round_}"))
            headers = stripe_headers(body, SECRETS["stripe"])
            copies = [(urls[n % 2], body, headers) for n in range(8)]
            with ThreadPoolExecutor(8) as pool:
                answers = list(pool.map(lambda copy: post(*copy), copies))
            assert {a.status_code for a in answers} == {200}
            assert sum(a.json()["accepted"] for a in answers) == 1, [a.json() for a in answers]
        deadline = time.monotonic() + 30
        while len(rf.runs("--status", "succeeded")) < 5 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(rf.runs()) == 5
        assert first.poll() is None
    finally:
        rf.stop_all()
