"""OpenID Connect, the relying party's side: authorization code with PKCE, state and nonce,
then the ID token checked against the provider's published keys. Implements
`alertd.app.account_ports.OidcClient` with authlib's OAuth 2 pieces, joserfc (authlib's
JOSE library) and httpx.

Discovery documents are cached for a few minutes per issuer; the key set is fetched at each
sign-in (sign-ins are rare, and a provider rotates keys without notice).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

import httpx
from authlib.common.security import generate_token
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from alertd.app.account_ports import OidcStart
from alertd.core.errors import Unauthenticated
from alertd.core.sso import OidcProvider

logger = logging.getLogger(__name__)

SCOPE = "openid email profile"
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"]
DISCOVERY_SECONDS = 300
REFUSED = "the identity provider's answer does not check out: sign in again"


class AuthlibOidcClient:
    def __init__(self, *, timeout_seconds: float = 10.0, leeway_seconds: int = 60) -> None:
        self._timeout = timeout_seconds
        self._leeway = leeway_seconds
        self._discovered: dict[str, tuple[float, dict[str, Any]]] = {}

    async def start(self, provider: OidcProvider, *, redirect_uri: str) -> OidcStart:
        metadata = await self._metadata(provider.issuer)
        state, nonce, verifier = generate_token(32), generate_token(32), generate_token(64)
        url = prepare_grant_uri(
            metadata["authorization_endpoint"],
            provider.client_id,
            "code",
            redirect_uri=redirect_uri,
            scope=SCOPE,
            state=state,
            nonce=nonce,
            code_challenge=create_s256_code_challenge(verifier),
            code_challenge_method="S256",
        )
        return OidcStart(url=url, state=state, nonce=nonce, code_verifier=verifier)

    async def finish(
        self,
        provider: OidcProvider,
        *,
        redirect_uri: str,
        code: str,
        code_verifier: str,
        nonce: str,
    ) -> Mapping[str, Any]:
        metadata = await self._metadata(provider.issuer)
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": code_verifier,
        }
        async with httpx.AsyncClient(timeout=self._timeout) as http:
            answer = await http.post(
                metadata["token_endpoint"],
                data=form,
                auth=(provider.client_id, provider.client_secret),
                headers={"Accept": "application/json"},
            )
            if answer.status_code != 200:
                logger.warning(
                    "sign-on refused: %s's token endpoint answered %s",
                    provider.issuer,
                    answer.status_code,
                )
                raise Unauthenticated(REFUSED)
            id_token = answer.json().get("id_token")
            keys = (await http.get(metadata["jwks_uri"])).json()
        if not isinstance(id_token, str):
            raise Unauthenticated(REFUSED)
        return self._verified_claims(id_token, keys, provider=provider, nonce=nonce)

    def _verified_claims(
        self, id_token: str, keys: Mapping[str, Any], *, provider: OidcProvider, nonce: str
    ) -> Mapping[str, Any]:
        try:
            key_set = KeySet.import_key_set(dict(keys))  # type: ignore[arg-type]
            token = jwt.decode(id_token, key_set, algorithms=ALGORITHMS)
            rules = jwt.JWTClaimsRegistry(
                leeway=self._leeway,
                iss={"essential": True, "value": provider.issuer},
                aud={"essential": True, "value": provider.client_id},
                sub={"essential": True},
                exp={"essential": True},
                iat={"essential": True},
                nonce={"essential": True, "value": nonce},
            )
            rules.validate(token.claims)
        except (JoseError, ValueError, TypeError) as error:
            logger.warning("sign-on refused: ID token from %s: %s", provider.issuer, error)
            raise Unauthenticated(REFUSED) from None
        claims = token.claims
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != provider.client_id:
            raise Unauthenticated(REFUSED)
        return claims

    async def _metadata(self, issuer: str) -> dict[str, Any]:
        cached = self._discovered.get(issuer)
        if cached is not None and time.monotonic() - cached[0] < DISCOVERY_SECONDS:
            return cached[1]
        url = f"{issuer}/.well-known/openid-configuration"
        try:
            async with httpx.AsyncClient(timeout=self._timeout) as http:
                answer = await http.get(url)
                answer.raise_for_status()
                metadata: dict[str, Any] = answer.json()
        except (httpx.HTTPError, ValueError) as error:
            logger.warning("sign-on unavailable: %s: %s", url, error)
            raise Unauthenticated("the identity provider cannot be reached; try again") from None
        if metadata.get("issuer") != issuer:
            logger.warning("sign-on refused: %s names issuer %r", url, metadata.get("issuer"))
            raise Unauthenticated("the identity provider is misconfigured")
        self._discovered[issuer] = (time.monotonic(), metadata)
        return metadata
