"""The `alertd` command: demo, serve, db upgrade, site load, site import-imdf, audit verify,
user create, roster import, simulate (drills and load against a running alertd)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import re
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

import uvicorn

from alertd.adapters.db import migrate
from alertd.adapters.logging_json import configure_logging
from alertd.core.operator import OPERATOR
from alertd.core.permission import Role
from alertd.settings import Settings, unknown_variables

if TYPE_CHECKING:
    from alertd.wiring.accounts import Accounts

logger = logging.getLogger("alertd")
_PEOPLE_ROLES = {role.value for role in Role} - {Role.DEVICE.value}


def _serve(settings: Settings, *, banner: bool) -> None:
    from alertd.adapters.file_limit import raise_open_file_limit
    from alertd.adapters.heap import freeze_startup_heap
    from alertd.adapters.http.security import ConfigurationError
    from alertd.main import create_app

    raise_open_file_limit()  # one file per stream client: thousands of consoles

    try:
        app = create_app(settings, started=freeze_startup_heap)
    except ConfigurationError as error:
        print(error, file=sys.stderr)
        raise SystemExit(2) from None
    base = f"http://{settings.host}:{settings.port}"
    if banner:
        ws = base.replace("http://", "ws://")
        print(
            "\n".join(
                [
                    "alertd demo is running ("
                    + ("Redis Streams bus" if settings.redis_url else "in-process bus")
                    + ", SMS outbox)",
                    f"  Console      {base}/console/  (sign in as dispatcher@demo.alertd)",
                    f"  Staff app    {base}/app/  (staff@demo.alertd)",
                    f"  SRO app      {base}/sro/  (sro@demo.alertd)",
                    f"  API docs     {base}/docs",
                    f"  Schools      {base}/v1/schools",
                    f"  Alerts       {base}/v1/alerts",
                    f"  Live stream  {ws}/v1/stream?since=0",
                    f"  Metrics      {base}/metrics",
                    f"  Database     {_without_password(settings.resolved_database_url())}",
                    f"  SMS outbox   {settings.resolved_sms_outbox()}",
                    "  Sign in      POST /v1/auth/token as <role>@demo.alertd, password demo",
                    "               (staff, sro, dispatcher, drill_coordinator, school_admin,",
                    "               district_admin; see the README)",
                    "Press Ctrl+C to stop.",
                ]
            ),
            flush=True,
        )
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=settings.access_log,  # tokens in URLs are redacted (logging_json)
        ws_ping_interval=20,
        ws_ping_timeout=20,
        # Messages are ~1.3 KB; compressing each for every console cost a quarter of the
        # send CPU in the fan-out benchmark.
        ws_per_message_deflate=False,
    )


def _without_password(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _upgrade(settings: Settings) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(settings.resolved_database_url())


def _load_site(settings: Settings, path: Path) -> int:
    from alertd.adapters.wire.site import SiteDocument
    from alertd.main import create_app

    document = SiteDocument.model_validate_json(path.read_text("utf-8"))
    app = create_app(settings)

    async def load() -> None:
        await app.state.context.alerts.load_site(document.to_site(), principal=OPERATOR)

    asyncio.run(load())
    print(f"loaded {len(document.schools)} schools from {path}")
    return 0


def _import_imdf(settings: Settings, args: argparse.Namespace) -> int:
    """Replace one school's floor plans with an IMDF archive; 0 if imported, 1 if refused."""
    from alertd.adapters.imdf.archive import read_archive
    from alertd.adapters.imdf.reader import read_imdf
    from alertd.adapters.imdf.writer import imdf_id
    from alertd.core.errors import AlertdError
    from alertd.core.site import ReplaceFloorPlans
    from alertd.main import create_app

    path: Path = args.path
    app = create_app(settings)
    ctx = app.state.context

    async def run() -> tuple[dict[str, int], tuple[str, ...]]:
        try:
            existing = await ctx.store.school(args.school_id)
            plan = read_imdf(
                read_archive(path), school_id=args.school_id, existing=existing, imdf_id=imdf_id
            )
            command = ReplaceFloorPlans(
                school_id=args.school_id,
                school_name=args.school_name,
                buildings=plan.buildings,
                district_id=args.district_id,
                timezone=args.timezone,
            )
            detail = {"imdf": path.name, **plan.counts}
            await ctx.sites.replace_floor_plans(command, principal=OPERATOR, detail=detail)
            return plan.counts, plan.skipped
        finally:
            await app.state.database.dispose()

    try:
        counts, skipped = asyncio.run(run())
    except AlertdError as error:
        print(f"refused, nothing changed: {error.message}", file=sys.stderr)
        return 1
    print(
        f"imported {path} into {args.school_id}: {counts['buildings']} buildings, "
        f"{counts['levels']} levels, {counts['units']} units"
    )
    for line in skipped:
        print(f"  skipped {line}")
    return 0


def _verify_audit(settings: Settings, checkpoints: Path | None) -> int:
    """Recompute the audit chain and hold it against the signed checkpoints: 0 if it holds,
    1 (naming the first bad entry) if not, 2 if the database was never migrated."""
    if checkpoints is not None:
        settings = settings.model_copy(update={"audit_checkpoint_file": checkpoints})

    async def verify(services: Accounts) -> int:
        checked = await services.audit.verify(principal=OPERATOR, audited=False)
        result = checked.result
        where = settings.resolved_audit_checkpoint_file()
        if not result.ok:
            at = f"entry {result.bad_id}" if result.bad_id is not None else "a checkpoint"
            print(f"audit chain broken at {at}: {result.reason}")
            return 1
        print(f"audit chain ok: {result.count} entries")
        if checked.checkpoints:
            last = checked.last_checkpoint
            assert last is not None
            print(
                f"held against {checked.checkpoints} signed checkpoints in {where} "
                f"(the last: entry {last.head_id} at {last.at})"
            )
        else:
            print(f"no signed checkpoints in {where}: only the hash chain was checked")
        return 0

    return _with_accounts(settings, verify)


def _with_accounts(settings: Settings, work: Callable[[Accounts], Awaitable[int]]) -> int:
    """Run `work` on the account services of the configured database (2 if not migrated)."""
    from alertd.adapters.clock import SystemClock
    from alertd.adapters.db.engine import open_database
    from alertd.wiring.accounts import account_services

    url = settings.resolved_database_url()
    if migrate.current_revision(url) is None:
        print("the database is empty: run `alertd db upgrade` first", file=sys.stderr)
        return 2

    async def run() -> int:
        db = open_database(url, sqlite_synchronous=settings.sqlite_synchronous)
        try:
            return await work(account_services(db, settings, SystemClock()))
        finally:
            await db.dispose()

    return asyncio.run(run())


def _create_user(settings: Settings, args: argparse.Namespace) -> int:
    """`alertd user create`: an account made by the operator (the first admin of a fresh
    database, say). The password is prompted for twice, or read from standard input."""
    from alertd.core.account import Affiliation
    from alertd.core.errors import AlertdError
    from alertd.core.permission import Role

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Password again: ") != password:
            print("the passwords differ; nothing was created", file=sys.stderr)
            return 1
    affiliation = Affiliation(Role(args.role), tuple(args.school), args.agency)
    name = args.name or args.email.split("@", 1)[0]

    async def create(services: Accounts) -> int:
        try:
            account = await services.accounts.create(
                principal=OPERATOR,
                email=args.email,
                name=name,
                affiliation=affiliation,
                password=password,
            )
        except AlertdError as error:
            field = getattr(error, "field", None)
            print(f"not created: {field + ': ' if field else ''}{error.message}", file=sys.stderr)
            return 1
        print(f"created {account.role.value} {account.email} (id {account.id})")
        return 0

    return _with_accounts(settings, create)


def _import_roster(settings: Settings, directory: Path, *, dry_run: bool) -> int:
    """`alertd roster import DIR [--dry-run]`: 0 when imported (or planned), 1 with every
    bad row named (nothing changed), 2 if the database was never migrated."""
    from alertd.adapters.oneroster import read_export
    from alertd.core.roster import RosterInvalid, RosterPlan

    def show(plan: RosterPlan) -> None:
        print(
            f"roster {directory}: {len(plan.creates)} to create, {len(plan.changes)} to "
            f"change, {len(plan.disables)} to disable ({plan.skipped} rows skipped: "
            "students, guardians, district-level staff)"
        )
        for item in plan.creates:
            assert item.person is not None
            affiliation = item.person.affiliation
            schools = ",".join(affiliation.school_ids)
            print(f"  create   {item.email}  {affiliation.role.value}  {schools}")
        for item in plan.changes:
            parts = "; ".join(f"{k}: {v}" for k, v in item.changed.items())
            print(f"  change   {item.email}  {parts}")
        for item in plan.disables:
            print(f"  disable  {item.email}  (no longer in the roster)")

    async def run(services: Accounts) -> int:
        try:
            orgs, users = read_export(directory)
            if dry_run:
                show(await services.roster.plan(orgs, users))
                print("dry run: nothing was changed")
            else:
                show(await services.roster.apply(orgs, users, principal=OPERATOR))
                print("imported")
        except RosterInvalid as invalid:
            for problem in invalid.problems:
                print(problem, file=sys.stderr)
            print(invalid.message, file=sys.stderr)
            return 1
        return 0

    return _with_accounts(settings, run)


def _site_ident(value: str) -> str:
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,63}", value):
        raise argparse.ArgumentTypeError("lowercase letters, digits and dashes, at most 64")
    return value


def warn_unknown_variables() -> None:
    """Name every ALERTD_* variable that no setting reads (a typo would otherwise leave
    the server on a default nobody chose)."""
    for name, close in unknown_variables(os.environ):
        hint = f"; did you mean {close}?" if close else ""
        logger.warning("unknown setting %s is ignored%s", name, hint)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="alertd", description="School emergency alerting.")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="run the demo district, everything embedded")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument("--data-dir", type=Path, default=Path("./alertd-demo"))
    commands.add_parser("serve", help="run the server with ALERTD_* settings")
    db = commands.add_parser("db", help="database tasks")
    db.add_subparsers(dest="db_command", required=True).add_parser(
        "upgrade", help="apply migrations"
    )
    site = commands.add_parser("site", help="site documents")
    site_commands = site.add_subparsers(dest="site_command", required=True)
    site_load = site_commands.add_parser("load", help="create or replace schools from a site file")
    site_load.add_argument("file", type=Path)
    imdf = site_commands.add_parser(
        "import-imdf",
        help="create or replace one school's buildings, floors and rooms from an IMDF archive",
    )
    imdf.add_argument("path", type=Path, help="a .zip, or a folder with manifest.json")
    imdf.add_argument("--school-id", required=True, type=_site_ident)
    imdf.add_argument("--school-name", required=True)
    imdf.add_argument(
        "--district-id", type=_site_ident, help="for a new school (default: the only one)"
    )
    imdf.add_argument("--timezone", default="UTC", help="for a new school (IANA name)")
    audit = commands.add_parser("audit", help="the audit trail")
    verify = audit.add_subparsers(dest="audit_command", required=True).add_parser(
        "verify",
        help="check the audit trail's hash chain against the signed checkpoints; "
        "exit 1 if it was tampered with",
    )
    verify.add_argument(
        "--checkpoints",
        type=Path,
        default=None,
        help="the checkpoint file (default: ALERTD_AUDIT_CHECKPOINT_FILE)",
    )
    user = commands.add_parser("user", help="accounts")
    user_create = user.add_subparsers(dest="user_command", required=True).add_parser(
        "create", help="create an account (the first district admin of a fresh database)"
    )
    user_create.add_argument("--email", required=True)
    user_create.add_argument("--role", required=True, choices=sorted(_PEOPLE_ROLES))
    user_create.add_argument("--name", default=None, help="default: the e-mail's local part")
    user_create.add_argument(
        "--school", action="append", default=[], help="a school id (repeat for several)"
    )
    user_create.add_argument("--agency", default=None, help="a dispatcher's agency id")
    user_create.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input instead of prompting",
    )
    roster = commands.add_parser("roster", help="OneRoster imports")
    roster_import = roster.add_subparsers(dest="roster_command", required=True).add_parser(
        "import", help="make school staff match a OneRoster 1.1 CSV export (orgs.csv, users.csv)"
    )
    roster_import.add_argument("directory", type=Path)
    roster_import.add_argument(
        "--dry-run", action="store_true", help="show what would change; change nothing"
    )
    from clients.simulator import cli as simulator

    simulate = commands.add_parser(
        "simulate",
        help="run a drill scenario against a running alertd (simulated teachers, buttons, "
        "SROs, dispatchers), or a load test",
        description=simulator.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    simulator.add_arguments(simulate)
    args = parser.parse_args(argv)
    if args.command == "simulate":  # a client of the API: no server settings
        return simulator.run(args)

    settings = Settings()
    configure_logging(fmt=settings.log_format, level=settings.log_level)
    warn_unknown_variables()
    if args.command == "demo":
        settings = settings.model_copy(
            update={
                "host": args.host,
                "port": args.port,
                "data_dir": args.data_dir,
                "demo": True,
                "dev_mode": True,
            }
        )
        _upgrade(settings)
        _serve(settings, banner=True)
    elif args.command == "serve":
        if migrate.current_revision(settings.resolved_database_url()) is None:
            print("the database is empty: run `alertd db upgrade` first", file=sys.stderr)
            return 2
        _serve(settings, banner=False)
    elif args.command == "db":
        _upgrade(settings)
        print(f"database at {migrate.current_revision(settings.resolved_database_url())}")
    elif args.command == "site" and args.site_command == "import-imdf":
        return _import_imdf(settings, args)
    elif args.command == "site":
        return _load_site(settings, args.file)
    elif args.command == "audit":
        return _verify_audit(settings, args.checkpoints)
    elif args.command == "user":
        return _create_user(settings, args)
    elif args.command == "roster":
        return _import_roster(settings, args.directory, dry_run=args.dry_run)
    return 0


if __name__ == "__main__":
    sys.exit(main())
