"""Single sign-on: a district's OpenID Connect provider, configured by its district admin,
signs people in to the accounts the district's rules allow (`alertd.core.sso`).

The browser flow is the authorization-code flow with PKCE, state and nonce: `start` gives
the provider's URL and what the callback must find again; `finish` exchanges the code,
checks the ID token (the `OidcClient` adapter), applies the district's rules, and signs the
person in like a password would (`SignInService.signed_in`), audited. Refusals are audited
and counted like failed passwords. Password sign-in stays for small installs and for
break-glass admins.
"""

from __future__ import annotations

import uuid
from dataclasses import replace

from alertd.app.account_ports import AccountStore, NewAccount, OidcClient, OidcStart, SecretBox
from alertd.app.accounts import check_references
from alertd.app.ports import Clock
from alertd.app.service import require
from alertd.app.signin import SignedIn, SignInService
from alertd.core.account import Account, AccountChange, AccountSource, changes_of
from alertd.core.actor import Actor, ActorKind
from alertd.core.audit import AuditEntry
from alertd.core.errors import NotFound, Unauthenticated, ValidationFailed
from alertd.core.permission import Action, Principal, Role, authorize
from alertd.core.sso import OidcProvider, identify

CLIENT_SECRET_PURPOSE = "oidc-client-secret"
NO_PASSWORD = "!sso"
SSO_REFUSALS = {
    "no account": "there is no alertd account for you: ask your school's admin",
    "disabled": "this account is disabled",
    "no rule matches any more": "your groups no longer give you a role in alertd",
}  # not an argon2 hash: no password ever matches it


def sso_principal(district_id: str) -> Principal:
    """Who creates and updates accounts at sign-on, in the audit trail."""
    actor = Actor(
        f"sso:{district_id}", f"single sign-on of {district_id}", ActorKind.SYSTEM, "system"
    )
    return Principal(actor=actor, role=Role.DISTRICT_ADMIN, school_ids=None)


class SsoService:
    def __init__(
        self,
        *,
        store: AccountStore,
        client: OidcClient,
        signin: SignInService,
        box: SecretBox,
        clock: Clock,
    ) -> None:
        self._store = store
        self._client = client
        self._signin = signin
        self._box = box
        self._clock = clock

    # --- configuration (district admins) ----------------------------------------------

    async def providers(self) -> list[OidcProvider]:
        """The districts with single sign-on (secrets sealed): for sign-in buttons."""
        return await self._store.oidc_providers()

    async def provider(self, district_id: str, *, principal: Principal) -> OidcProvider:
        """A district's configuration, its secret sealed (never shown)."""
        _may_configure(principal, district_id)
        return await self._stored(district_id)

    async def configure(self, provider: OidcProvider, *, principal: Principal) -> OidcProvider:
        """Create or replace a district's provider. An empty `client_secret` keeps the one
        stored. The rules' schools and agencies must exist."""
        _may_configure(principal, provider.district_id)
        provider = provider.normalize()
        async with self._store.transaction() as tx:
            if not await tx.district_exists(provider.district_id):
                raise NotFound("district", provider.district_id)
            for rule in provider.rules:
                await check_references(tx, rule.affiliation)
            stored = await tx.oidc_provider(provider.district_id)
            if provider.client_secret:
                secret = self._box.seal(provider.client_secret, purpose=CLIENT_SECRET_PURPOSE)
            elif stored is not None:
                secret = stored.client_secret
            else:
                raise ValidationFailed("client_secret", "required for a new provider")
            sealed = replace(provider, client_secret=secret)
            await tx.save_oidc_provider(sealed, district_id=provider.district_id)
            detail = {
                "issuer": provider.issuer,
                "client_id": provider.client_id,
                "allowed_domains": list(provider.allowed_domains),
                "rules": len(provider.rules),
                "create_accounts": provider.create_accounts,
                "secret_changed": bool(provider.client_secret),
            }
            await tx.audit([self._entry(principal, "sso.configure", provider.district_id, detail)])
        return sealed

    async def remove(self, district_id: str, *, principal: Principal) -> None:
        _may_configure(principal, district_id)
        async with self._store.transaction() as tx:
            if await tx.oidc_provider(district_id) is None:
                raise NotFound("single sign-on of district", district_id)
            await tx.save_oidc_provider(None, district_id=district_id)
            await tx.audit([self._entry(principal, "sso.remove", district_id, {})])

    # --- signing in ---------------------------------------------------------------------

    async def start(self, district_id: str, *, redirect_uri: str) -> OidcStart:
        provider = await self._in_clear(district_id)
        return await self._client.start(provider, redirect_uri=redirect_uri)

    async def finish(
        self, district_id: str, *, redirect_uri: str, code: str, code_verifier: str, nonce: str
    ) -> SignedIn:
        """Sign in whoever the provider vouches for, if the district's rules allow.
        Raises Unauthenticated (audited, counted for back-off) otherwise."""
        provider = await self._in_clear(district_id)
        claims = await self._client.finish(
            provider,
            redirect_uri=redirect_uri,
            code=code,
            code_verifier=code_verifier,
            nonce=nonce,
        )
        try:
            identity = identify(provider, claims)
        except Unauthenticated as refusal:
            email = str(claims.get("email") or "unknown")
            await self._signin.refuse(
                email.lower()[:254], None, reason="sso: refused", message=refusal.message
            )
            raise
        refusal_reason: str | None = None
        account: Account | None = None
        async with self._store.transaction() as tx:
            account = await tx.account_by_email(identity.email)
            system = sso_principal(district_id)
            if account is None:
                if not provider.create_accounts or identity.affiliation is None:
                    refusal_reason = "no account"
                else:
                    await check_references(tx, identity.affiliation)
                    new = NewAccount(
                        id=str(uuid.uuid4()),
                        email=identity.email,
                        name=identity.name,
                        affiliation=identity.affiliation,
                        password_hash=NO_PASSWORD,
                        created_at=self._clock.now(),
                        source=AccountSource.SSO,
                        external_id=identity.subject or None,
                    )
                    await tx.add_account(new)
                    account = await tx.account(new.id)
                    assert account is not None
                    detail: dict[str, object] = {
                        "email": account.email,
                        "role": account.role.value,
                        "school_ids": list(account.school_ids),
                    }
                    await tx.audit([self._about(system, "user.create", account, detail)])
            elif account.disabled:
                refusal_reason = "disabled"
            elif account.source is AccountSource.SSO:
                if identity.affiliation is None:
                    refusal_reason = "no rule matches any more"
                else:
                    change = AccountChange(affiliation=identity.affiliation)
                    changed = changes_of(account, change)
                    if changed:
                        await check_references(tx, identity.affiliation)
                        await tx.change_account(account.id, change)
                        account = await tx.account(account.id)
                        assert account is not None
                        detail = {"changed": dict(changed)}
                        await tx.audit([self._about(system, "user.change", account, detail)])
        if refusal_reason is not None or account is None:
            await self._signin.refuse(
                identity.email,
                account,
                reason=f"sso: {refusal_reason}",
                message=SSO_REFUSALS.get(refusal_reason or "", "this account cannot sign in"),
            )
            raise AssertionError("unreachable: refuse raises")
        return await self._signin.signed_in(account, channel=f"oidc:{district_id}")

    async def _stored(self, district_id: str) -> OidcProvider:
        providers = await self._store.oidc_providers()
        found = next((p for p in providers if p.district_id == district_id), None)
        if found is None:
            raise NotFound("single sign-on of district", district_id)
        return found

    async def _in_clear(self, district_id: str) -> OidcProvider:
        provider = await self._stored(district_id)
        secret = self._box.open(provider.client_secret, purpose=CLIENT_SECRET_PURPOSE)
        return replace(provider, client_secret=secret)

    def _entry(
        self, principal: Principal, action: str, district_id: str, detail: dict[str, object]
    ) -> AuditEntry:
        return AuditEntry.by(
            principal, action, at=self._clock.now(), subject=district_id, detail=detail
        )

    def _about(
        self, principal: Principal, action: str, account: Account, detail: dict[str, object]
    ) -> AuditEntry:
        return AuditEntry.about(
            principal,
            action,
            at=self._clock.now(),
            school_ids=account.school_ids,
            subject=account.id,
            detail=detail,
        )


def _may_configure(principal: Principal, district_id: str) -> None:
    verdict = authorize(principal, Action.CONFIGURE_SIGN_IN)
    require(verdict, what="district", ident=district_id, action=Action.CONFIGURE_SIGN_IN)
