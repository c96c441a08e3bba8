"""The operator's commands, run as real processes the way an operator types them:
`alertd user create` (the first admin of a fresh database), `alertd roster import`, and
`alertd audit verify` against the signed checkpoints."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request

from alertd.core.audit import AuditEntry, chain
from alertd.core.audit_checkpoint import read_checkpoint
from alertd.main import create_app
from alertd.testing.live import serving
from alertd.testing.settings import make_settings

REPO = Path(__file__).resolve().parents[2]
ROSTERS = REPO / "tests" / "fixtures" / "oneroster"
DEMO_SITE = REPO / "alertd" / "demo" / "demo_district.json"
SECRET = "operator-test-secret-key-of-32-bytes-or-more"


class Operator:
    """Runs `alertd ...` with the ALERTD_* variables of one installation."""

    def __init__(self, data_dir: Path, database_url: str) -> None:
        self.data_dir = data_dir
        self.database_url = database_url
        self.path = database_url.removeprefix("sqlite:///")

    def run(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ALERTD_")}
        env.update(
            ALERTD_DATABASE_URL=self.database_url,
            ALERTD_DATA_DIR=str(self.data_dir),
            ALERTD_SECRET_KEY=SECRET,
            ALERTD_LOG_LEVEL="WARNING",
        )
        return subprocess.run(
            [sys.executable, "-m", "alertd", *args],
            env=env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def rows(self, query: str) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.path) as conn:
            return list(conn.execute(query))


@pytest.fixture
def operator(tmp_path: Path, sqlite_url: str) -> Operator:
    return Operator(tmp_path, sqlite_url)


# --- the first admin ---------------------------------------------------------------------


async def test_user_create_bootstraps_the_first_admin_of_a_fresh_database(
    operator: Operator, tmp_path: Path
) -> None:
    made = operator.run(
        "user",
        "create",
        "--email",
        "Root@Riverside.example.org",
        "--role",
        "district_admin",
        "--password-stdin",
        stdin="a long enough password\n",
    )
    assert made.returncode == 0, made.stderr
    assert "created district_admin root@riverside.example.org" in made.stdout
    again = operator.run(
        "user",
        "create",
        "--email",
        "root@riverside.example.org",
        "--role",
        "district_admin",
        "--password-stdin",
        stdin="another long password\n",
    )
    assert again.returncode == 1 and "email: already in use" in again.stderr
    short = operator.run(
        "user",
        "create",
        "--email",
        "x@riverside.example.org",
        "--role",
        "district_admin",
        "--password-stdin",
        stdin="short\n",
    )
    assert short.returncode == 1 and "password" in short.stderr
    assert operator.rows("SELECT actor_id, action FROM audit_log") == [("operator", "user.create")]

    settings = make_settings(
        tmp_path, operator.database_url, demo=False, dev_mode=False, secret_key=SECRET
    )
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http,
    ):
        signed = await http.post(
            "/v1/auth/token",
            data={"username": "root@riverside.example.org", "password": "a long enough password"},
        )
        assert signed.status_code == 200, signed.text
        token = signed.json()["access_token"]
        listed = await http.get("/v1/users", headers={"Authorization": f"Bearer {token}"})
        assert [u["email"] for u in listed.json()["users"]] == ["root@riverside.example.org"]


# --- roster import -------------------------------------------------------------------------


def roster_people(operator: Operator) -> dict[str, tuple[str, str, int]]:
    """email -> (role, schools, disabled) of the roster's accounts."""
    rows = operator.rows(
        "SELECT u.email, u.role, group_concat(s.school_id), u.disabled FROM users u "
        "LEFT JOIN user_schools s ON s.user_id = u.id WHERE u.source = 'roster' "
        "GROUP BY u.id"
    )
    return {
        email: (role, ",".join(sorted((schools or "").split(","))), disabled)
        for email, role, schools, disabled in rows
    }


def test_a_roster_imports_and_a_second_one_shows_its_differences(operator: Operator) -> None:
    loaded = operator.run("site", "load", str(DEMO_SITE))
    assert loaded.returncode == 0, loaded.stderr

    dry = operator.run("roster", "import", str(ROSTERS / "first"), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "5 to create, 0 to change, 0 to disable (3 rows skipped" in dry.stdout
    assert "dry run: nothing was changed" in dry.stdout
    assert roster_people(operator) == {}

    first = operator.run("roster", "import", str(ROSTERS / "first"))
    assert first.returncode == 0, first.stderr
    assert roster_people(operator) == {
        "alex.hill@riverside.example.org": ("staff", "lincoln-hs", 0),
        "bea.cho@riverside.example.org": ("staff", "lincoln-hs", 0),
        "carlos.diaz@riverside.example.org": ("staff", "jefferson-es,lincoln-hs", 0),
        "dee.lee@riverside.example.org": ("staff", "jefferson-es", 0),
        "erin.fox@riverside.example.org": ("school_admin", "jefferson-es", 0),
    }

    second = operator.run("roster", "import", str(ROSTERS / "second"), "--dry-run")
    assert second.returncode == 0, second.stderr
    lines = sorted(line.strip() for line in second.stdout.splitlines() if line.startswith("  "))
    assert lines == [
        "change   bea.cho@riverside.example.org  school_ids: ['jefferson-es']",
        "change   carlos.diaz@riverside.example.org  disabled: True",
        "change   dee.lee@riverside.example.org  role: school_admin",
        "create   gina.kim@riverside.example.org  staff  lincoln-hs",
        "disable  alex.hill@riverside.example.org  (no longer in the roster)",
    ]
    assert "1 to create, 3 to change, 1 to disable" in second.stdout

    applied = operator.run("roster", "import", str(ROSTERS / "second"))
    assert applied.returncode == 0, applied.stderr
    people = roster_people(operator)
    assert people["alex.hill@riverside.example.org"][2] == 1
    assert people["dee.lee@riverside.example.org"][0] == "school_admin"
    assert "gina.kim@riverside.example.org" in people
    summaries = operator.rows(
        "SELECT actor_id, detail FROM audit_log WHERE action = 'roster.import' ORDER BY id"
    )
    assert [actor for actor, _ in summaries] == ["operator", "operator"]
    verify = operator.run("audit", "verify")
    assert verify.returncode == 0, verify.stdout


def test_a_broken_roster_changes_nothing_and_names_each_bad_line(operator: Operator) -> None:
    assert operator.run("site", "load", str(DEMO_SITE)).returncode == 0
    assert operator.run("roster", "import", str(ROSTERS / "first")).returncode == 0
    users_before = operator.rows("SELECT * FROM users ORDER BY id")
    audit_before = operator.rows("SELECT count(*) FROM audit_log")

    broken = operator.run("roster", "import", str(ROSTERS / "broken"))

    assert broken.returncode == 1
    assert "users.csv line 3: email: required" in broken.stderr
    assert "users.csv line 4: orgSourcedIds: no org 'org-nowhere' in orgs.csv" in broken.stderr
    assert "nothing was imported" in broken.stderr
    assert operator.rows("SELECT * FROM users ORDER BY id") == users_before
    assert operator.rows("SELECT count(*) FROM audit_log") == audit_before


# --- audit checkpoints ---------------------------------------------------------------------


async def test_a_consistently_rewritten_tail_passes_the_chain_but_not_the_checkpoints(
    operator: Operator, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, operator.database_url, secret_key=SECRET)
    app = create_app(settings)
    async with app.router.lifespan_context(app):  # start-up: site load audited, checkpoint
        await app.state.context.audit.checkpoint()
    checkpoints = settings.resolved_audit_checkpoint_file()
    assert checkpoints.read_text().count("\n") >= 1
    head_id = operator.rows("SELECT last_id FROM audit_head")[0][0]
    assert head_id >= 2

    # The attacker rewrites the last entry and everything after, hashes and head included.
    with sqlite3.connect(operator.path) as conn:
        conn.execute("DROP TRIGGER audit_log_no_update")
        conn.execute("DROP TRIGGER audit_log_no_delete")
        prev_hash = conn.execute(
            "SELECT hash FROM audit_log WHERE id = ?", (head_id - 1,)
        ).fetchone()[0]
        forged = chain(
            [
                AuditEntry(
                    at=datetime(2026, 9, 1, tzinfo=UTC),
                    actor_id="someone-else",
                    actor_role="district_admin",
                    action="site.load",
                    detail={},
                )
            ],
            last_id=head_id - 1,
            last_hash=prev_hash,
        )[0]
        conn.execute("DELETE FROM audit_log WHERE id >= ?", (head_id,))
        conn.execute(
            "INSERT INTO audit_log (id, at, actor_id, actor_role, action, school_id, subject, "
            "detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, NULL, NULL, '{}', ?, ?)",
            (
                forged.id,
                "2026-09-01 00:00:00.000000",
                "someone-else",
                "district_admin",
                "site.load",
                forged.prev_hash,
                forged.hash,
            ),
        )
        conn.execute("UPDATE audit_head SET last_hash = ? WHERE id = 1", (forged.hash,))

    chain_only = operator.run("audit", "verify", "--checkpoints", str(tmp_path / "none.jsonl"))
    assert chain_only.returncode == 0, chain_only.stdout
    assert "only the hash chain was checked" in chain_only.stdout
    held = operator.run("audit", "verify", "--checkpoints", str(checkpoints))
    assert held.returncode == 1
    assert f"audit chain broken at entry {head_id}" in held.stdout
    assert "rewritten" in held.stdout


async def test_checkpoints_are_signed_and_also_posted_to_the_webhook(
    operator: Operator, tmp_path: Path
) -> None:
    received: list[dict[str, Any]] = []
    archive = FastAPI()

    @archive.post("/checkpoints")
    async def keep(request: Request) -> dict[str, str]:
        received.append(await request.json())
        return {"kept": "yes"}

    async with serving(archive) as archive_url:
        settings = make_settings(
            tmp_path,
            operator.database_url,
            secret_key=SECRET,
            audit_checkpoint_webhook_url=f"{archive_url}/checkpoints",
            audit_checkpoint_key="a-key-kept-away-from-the-database",
            audit_checkpoint_seconds=0,  # only the rounds this test runs
        )
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            kept = await app.state.context.audit.checkpoint()
            again = await app.state.context.audit.checkpoint()  # the head has not moved

    assert kept is not None and again is None
    assert received and received[-1]["head_id"] == kept.head_id
    key = settings.resolved_audit_checkpoint_key()
    assert read_checkpoint(key, received[-1]) == kept
    assert read_checkpoint(b"another key", received[-1]) is None
