"""The account use cases, wired: what the HTTP API and the command line share."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta

from alertd.adapters.auth.oidc import AuthlibOidcClient
from alertd.adapters.auth.passwords import Argon2Passwords
from alertd.adapters.auth.secretbox import AesGcmBox
from alertd.adapters.auth.totp import TotpCodes
from alertd.adapters.checkpoint import CheckpointFile, CheckpointWebhook
from alertd.adapters.db.accounts import SqlAccountStore
from alertd.adapters.db.engine import Database
from alertd.app.account_ports import CheckpointSink
from alertd.app.accounts import AccountService
from alertd.app.audit import AuditService
from alertd.app.devices import DeviceService
from alertd.app.ports import Clock
from alertd.app.roster import RosterService
from alertd.app.signin import PrincipalCache, SignInService
from alertd.app.sso import SsoService
from alertd.settings import Settings


@dataclass(frozen=True)
class Accounts:
    """The account use cases, wired: what the HTTP API and the command line share."""

    accounts: AccountService
    signin: SignInService
    devices: DeviceService
    audit: AuditService
    sso: SsoService
    roster: RosterService


def account_services(db: Database, settings: Settings, clock: Clock) -> Accounts:
    """The account services on `db`. Needs no event loop until first used."""
    store = SqlAccountStore(db)
    passwords = Argon2Passwords()
    server_key = settings.secret_key.get_secret_value()
    box = AesGcmBox(server_key)
    cache = PrincipalCache(ttl_seconds=settings.principal_cache_seconds, ticker=time.monotonic)
    signin = SignInService(
        store=store,
        passwords=passwords,
        codes=TotpCodes(),
        box=box,
        clock=clock,
        cache=cache,
        refresh_lifetime=timedelta(days=settings.refresh_token_days),
    )
    checkpoint_file = CheckpointFile(settings.resolved_audit_checkpoint_file())
    sinks: list[CheckpointSink] = [checkpoint_file]
    if settings.audit_checkpoint_webhook_url:
        sinks.append(CheckpointWebhook(settings.audit_checkpoint_webhook_url))
    return Accounts(
        accounts=AccountService(
            store=store, passwords=passwords, clock=clock, on_sessions_ended=signin.forget
        ),
        signin=signin,
        devices=DeviceService(
            store=store,
            clock=clock,
            server_key=server_key,
            max_skew=timedelta(seconds=settings.device_clock_skew_seconds),
            secret_grace=timedelta(hours=settings.device_secret_grace_hours),
            buffer_max_age=timedelta(hours=settings.device_buffer_max_age_hours),
        ),
        audit=AuditService(
            store=store,
            clock=clock,
            checkpoint_key=settings.resolved_audit_checkpoint_key(),
            checkpoint_log=checkpoint_file,
            checkpoint_sinks=sinks,
        ),
        sso=SsoService(
            store=store, client=AuthlibOidcClient(), signin=signin, box=box, clock=clock
        ),
        roster=RosterService(store=store, clock=clock),
    )
