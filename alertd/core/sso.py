"""Single sign-on with OpenID Connect, as rules: which people a district's identity provider
may sign in, and with which role and schools. Pure.

Each district configures its provider (Google Workspace, Microsoft Entra ID ...): the issuer,
the client id and secret alertd was registered with, the e-mail domains it accepts, and an
ordered list of rules mapping a claim (usually `groups`, or a custom one such as
`extension_role`) to a role and schools. The first rule that matches wins.

- An e-mail outside the allowed domains, or not verified by the provider, is refused.
- A person with an account signs in to it; its role and schools stay as admins (or the
  roster) set them, unless the account was created by single sign-on, which the rules keep
  up to date at every sign-in.
- A person without an account is refused, unless the district turned `create_accounts` on;
  then a rule must match, and the account is created with the rule's role and schools.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from alertd.core.account import Affiliation
from alertd.core.errors import Unauthenticated, ValidationFailed
from alertd.core.permission import Role


@dataclass(frozen=True, slots=True)
class ClaimRule:
    """People whose `claim` holds `value` (equal, or among a list) get this affiliation."""

    claim: str
    value: str
    affiliation: Affiliation


@dataclass(frozen=True, slots=True)
class OidcProvider:
    """A district's identity provider. `client_secret` is in clear only in memory."""

    district_id: str
    issuer: str
    client_id: str
    client_secret: str = field(repr=False)
    allowed_domains: tuple[str, ...]
    rules: tuple[ClaimRule, ...] = ()
    create_accounts: bool = False
    display_name: str = "single sign-on"

    def normalize(self) -> OidcProvider:
        issuer = self.issuer.strip().rstrip("/")
        if not issuer.startswith(("https://", "http://")):
            raise ValidationFailed("issuer", "must be an http(s) URL")
        domains = tuple(sorted({d.strip().lower().lstrip("@") for d in self.allowed_domains}))
        if not domains or "" in domains:
            raise ValidationFailed("allowed_domains", "name at least one e-mail domain")
        rules = tuple(ClaimRule(r.claim, r.value, r.affiliation.normalize()) for r in self.rules)
        if any(r.affiliation.role is Role.DEVICE for r in rules):
            raise ValidationFailed("rules", "a rule gives people roles, never device")
        return OidcProvider(
            district_id=self.district_id,
            issuer=issuer,
            client_id=self.client_id.strip(),
            client_secret=self.client_secret,
            allowed_domains=domains,
            rules=rules,
            create_accounts=self.create_accounts,
            display_name=self.display_name.strip() or "single sign-on",
        )


@dataclass(frozen=True, slots=True)
class Identity:
    """Who the provider says signed in, once the district's rules accept them."""

    email: str
    name: str
    subject: str
    affiliation: Affiliation | None  # None: no rule matched (an existing account may still)


def identify(provider: OidcProvider, claims: Mapping[str, Any]) -> Identity:
    """Apply the district's rules to verified ID token claims.

    Raises Unauthenticated when the e-mail is missing, unverified or outside the allowed
    domains. The message names the reason but never the claims.
    """
    email = str(claims.get("email") or "").strip().lower()
    if "@" not in email:
        raise Unauthenticated("the identity provider sent no e-mail address")
    if claims.get("email_verified") is False:
        raise Unauthenticated("the identity provider has not verified this e-mail address")
    domain = email.rsplit("@", 1)[1]
    if domain not in provider.allowed_domains:
        raise Unauthenticated(f"accounts of {domain!r} cannot sign in to this district")
    name = str(claims.get("name") or email.split("@", 1)[0])[:200]
    return Identity(
        email=email,
        name=name,
        subject=str(claims.get("sub", "")),
        affiliation=_first_match(provider.rules, claims),
    )


def _first_match(rules: tuple[ClaimRule, ...], claims: Mapping[str, Any]) -> Affiliation | None:
    for rule in rules:
        held = claims.get(rule.claim)
        values = held if isinstance(held, list | tuple) else [held]
        if any(str(v) == rule.value for v in values if v is not None):
            return rule.affiliation
    return None
