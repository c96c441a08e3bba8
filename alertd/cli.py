"""The `alertd` command: demo, serve, db upgrade, site load, audit verify."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path

import uvicorn

from alertd.adapters.db import migrate
from alertd.adapters.logging_json import configure_logging
from alertd.core.audit import VerifyResult
from alertd.settings import Settings, unknown_variables

logger = logging.getLogger("alertd")


def _serve(settings: Settings, *, banner: bool) -> None:
    from alertd.adapters.http.security import ConfigurationError
    from alertd.main import create_app

    try:
        app = create_app(settings)
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
        await app.state.context.alerts.load_site(document.to_site())

    asyncio.run(load())
    print(f"loaded {len(document.schools)} schools from {path}")
    return 0


def _verify_audit(settings: Settings) -> int:
    """Recompute the audit chain: 0 if it holds, 1 (naming the first bad entry) if not,
    2 if the database was never migrated."""
    from alertd.adapters.db.audit import verify_chain
    from alertd.adapters.db.engine import open_database

    url = settings.resolved_database_url()
    if migrate.current_revision(url) is None:
        print("the database is empty: run `alertd db upgrade` first", file=sys.stderr)
        return 2

    async def verify() -> VerifyResult:
        db = open_database(url)
        try:
            return await db.read(verify_chain)
        finally:
            await db.dispose()

    result = asyncio.run(verify())
    if result.ok:
        print(f"audit chain ok: {result.count} entries")
        return 0
    print(f"audit chain broken at entry {result.bad_id}: {result.reason}")
    return 1


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
    site_load = site.add_subparsers(dest="site_command", required=True).add_parser(
        "load", help="create or replace schools from a site file"
    )
    site_load.add_argument("file", type=Path)
    audit = commands.add_parser("audit", help="the audit trail")
    audit.add_subparsers(dest="audit_command", required=True).add_parser(
        "verify", help="check the audit trail's hash chain; exit 1 if it was tampered with"
    )
    args = parser.parse_args(argv)

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
    elif args.command == "site":
        return _load_site(settings, args.file)
    elif args.command == "audit":
        return _verify_audit(settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
