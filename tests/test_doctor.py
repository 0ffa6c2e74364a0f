"""`relayflow doctor`: the code-step sandbox, the database, its migrations, home permissions."""

from __future__ import annotations

import json
import sqlite3


def checks(rf, *env: tuple[str, str]) -> tuple[int, dict[str, dict]]:
    for name, value in env:
        rf.env[name] = value
    done = rf.cli("doctor", "--json", check=False)
    return done.returncode, {c["name"]: c for c in json.loads(done.stdout)}


def test_a_healthy_installation_passes(sqlite_relayflow) -> None:
    rf = sqlite_relayflow
    rf.home.chmod(0o700)
    code, found = checks(rf)
    assert code == 0
    assert found["database"]["status"] == "warn"  # nothing created yet, which is fine
    assert "relayflow db upgrade" in found["database"]["detail"]
    rf.cli("db", "upgrade")
    code, found = checks(rf)
    assert code == 0, found
    assert [c["status"] for c in found.values()] == ["ok"] * 4
    assert found["code-step sandbox"]["detail"].startswith("isolated with bubblewrap")
    assert found["migrations"]["detail"].startswith("schema is current")
    table = rf.cli("doctor").stdout
    assert "code-step sandbox" in table and "FAILED" not in table


def test_problems_are_named_with_their_fix(sqlite_relayflow) -> None:
    rf = sqlite_relayflow
    rf.cli("db", "upgrade")
    rf.home.chmod(0o755)
    (rf.home / "secret.key").write_text("k")
    (rf.home / "secret.key").chmod(0o644)
    with sqlite3.connect(rf.home / "relayflow.db") as db:
        db.execute("UPDATE alembic_version SET version_num = '0001'")
    code, found = checks(rf, ("RELAYFLOW_BWRAP", "/nonexistent/bwrap"))
    assert code == 1
    sandbox = found["code-step sandbox"]
    assert sandbox["status"] == "fail"
    assert "apt-get install bubblewrap" in sandbox["detail"]
    assert "RELAYFLOW_UNSAFE_CODE_STEPS=1" in sandbox["detail"]
    assert found["migrations"]["status"] == "fail"
    assert "schema is at 0001" in found["migrations"]["detail"]
    assert "relayflow db upgrade" in found["migrations"]["detail"]
    home = found["home permissions"]
    assert home["status"] == "fail"
    assert f"chmod 700 {rf.home}" in home["detail"]
    assert f"chmod 600 {rf.home / 'secret.key'}" in home["detail"]
    code, found = checks(rf, ("RELAYFLOW_UNSAFE_CODE_STEPS", "1"))
    assert found["code-step sandbox"]["status"] == "warn"
    assert "run WITHOUT isolation" in found["code-step sandbox"]["detail"]


def test_an_unreachable_database_fails(sqlite_relayflow) -> None:
    rf = sqlite_relayflow
    code, found = checks(
        rf, ("RELAYFLOW_DATABASE_URL", "postgresql://postgres@127.0.0.1:9/relayflow")
    )
    assert code == 1
    assert found["database"]["status"] == "fail"
    assert "postgresql at 127.0.0.1:9/relayflow does not answer" in found["database"]["detail"]
    assert "migrations" not in found
