"""A real OpenID Connect provider for tests, built from authlib's server parts, on loopback.

It speaks the flow the way Google Workspace or Entra ID do: discovery document, JWKS, an
authorization endpoint (authorization code; PKCE required; nonce required) and a token
endpoint (client_secret_basic) that returns an RS256-signed ID token. There is no login
page: the authorization endpoint approves at once for the person the test signed in with
`provider.sign_in_as(...)`. `provider.tamper_next_id_token()` makes the next ID token's
payload differ from what was signed, as a man in the middle would.

    async with oidc_provider(client_id="alertd", client_secret="s3cret") as provider:
        provider.add_person(email="teacher@riverside.example.org", groups=["teachers"])
        provider.sign_in_as("teacher@riverside.example.org")
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import urlencode

from authlib.oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import OAuth2Request, grants
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode
from fastapi import FastAPI, Request
from joserfc.jwk import RSAKey
from starlette.responses import JSONResponse, Response

from alertd.testing.live import serving

# Loopback http is what this provider speaks; authlib asks for this to allow it.
os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")


@dataclass
class Person:
    email: str
    name: str
    groups: list[str]
    email_verified: bool = True
    sub: str = field(default_factory=lambda: secrets.token_hex(8))


@dataclass
class Client:
    client_id: str
    client_secret: str

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> None:
        return None

    def get_allowed_scope(self, scope: str) -> str:
        allowed = {"openid", "email", "profile"}
        return " ".join(s for s in scope.split() if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri.endswith("/v1/auth/oidc/callback")

    def check_client_secret(self, client_secret: str) -> bool:
        return secrets.compare_digest(client_secret, self.client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == "client_secret_basic" if endpoint == "token" else True

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


@dataclass
class Code:
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    person: Person

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return int(time.time())

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> None:
        return None


class _Request(OAuth2Request):  # type: ignore[misc]
    def __init__(
        self, method: str, url: str, headers: Any, args: dict[str, str], form: dict[str, str]
    ) -> None:
        super().__init__(method, url, headers=headers)
        self._args, self._form = args, form
        self.payload = BasicOAuth2Payload({**args, **form})

    @property
    def args(self) -> dict[str, str]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form


class OidcTestProvider:
    def __init__(self, *, client_id: str, client_secret: str) -> None:
        self.issuer = ""  # set once served
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-key-1"}, private=True)
        self.client = Client(client_id, client_secret)
        self.people: dict[str, Person] = {}
        self.signed_in: Person | None = None
        self.codes: dict[str, Code] = {}
        self._tamper = False
        self.server = self._authorization_server()

    def add_person(
        self,
        *,
        email: str,
        groups: list[str],
        name: str | None = None,
        email_verified: bool = True,
    ) -> Person:
        person = Person(email, name or email.split("@")[0], groups, email_verified)
        self.people[email] = person
        return person

    def sign_in_as(self, email: str) -> None:
        self.signed_in = self.people[email]

    def tamper_next_id_token(self) -> None:
        self._tamper = True

    # --- authlib's authorization server, with its storage here ---------------------------

    def _authorization_server(self) -> AuthorizationServer:
        provider = self

        class CodeGrant(grants.AuthorizationCodeGrant):  # type: ignore[misc]
            TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = ["client_secret_basic"]

            def save_authorization_code(self, code: str, request: Any) -> None:
                data = request.payload.data
                provider.codes[code] = Code(
                    code=code,
                    client_id=request.client.client_id,
                    redirect_uri=data.get("redirect_uri", ""),
                    scope=request.scope if hasattr(request, "scope") else data.get("scope", ""),
                    nonce=data.get("nonce"),
                    code_challenge=data.get("code_challenge"),
                    code_challenge_method=data.get("code_challenge_method"),
                    person=request.user,
                )

            def query_authorization_code(self, code: str, client: Client) -> Code | None:
                found = provider.codes.get(code)
                return found if found and found.client_id == client.client_id else None

            def delete_authorization_code(self, authorization_code: Code) -> None:
                provider.codes.pop(authorization_code.code, None)

            def authenticate_user(self, authorization_code: Code) -> Person:
                return authorization_code.person

        class OpenId(OpenIDCode):  # type: ignore[misc]
            def exists_nonce(self, nonce: str, request: Any) -> bool:
                return any(c.nonce == nonce for c in provider.codes.values())

            def resolve_client_private_key(self, client: Client) -> RSAKey:
                return provider.key

            def get_client_algorithm(self, client: Client) -> str:
                return "RS256"

            def get_encode_header(self, client: Client) -> dict[str, str]:
                return {"alg": "RS256", "kid": "test-key-1"}

            def get_client_claims(self, client: Client) -> dict[str, Any]:
                return {"iss": provider.issuer, "aud": [client.client_id]}

            def generate_user_info(self, user: Person, scope: str) -> UserInfo:
                return UserInfo(
                    sub=user.sub,
                    name=user.name,
                    email=user.email,
                    email_verified=user.email_verified,
                    groups=user.groups,
                )

        class Server(AuthorizationServer):  # type: ignore[misc]
            def query_client(self, client_id: str) -> Client | None:
                return provider.client if client_id == provider.client.client_id else None

            def save_token(self, token: Any, request: Any) -> None:
                pass

            def create_oauth2_request(self, request: _Request) -> _Request:
                return request

            def handle_response(self, status: int, body: Any, headers: Any) -> Response:
                if isinstance(body, dict):
                    return JSONResponse(body, status_code=status, headers=dict(headers))
                return Response(body or "", status_code=status, headers=dict(headers))

            def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
                pass

        server = Server(scopes_supported=["openid", "email", "profile"])
        server.register_token_generator(
            "default",
            BearerTokenGenerator(lambda *_args, **_kwargs: secrets.token_urlsafe(32)),
        )
        server.register_grant(CodeGrant, [OpenId(require_nonce=True), CodeChallenge(required=True)])
        return server

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/.well-known/openid-configuration")
        async def discovery() -> dict[str, Any]:
            return {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": f"{self.issuer}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            }

        @app.get("/jwks")
        async def jwks() -> dict[str, Any]:
            return {"keys": [self.key.as_dict(private=False)]}

        @app.get("/authorize")
        async def authorize(request: Request) -> Response:
            query = dict(request.query_params)
            oauth = _Request("GET", str(request.url), request.headers, query, {})
            response: Response = self.server.create_authorization_response(
                oauth, grant_user=self.signed_in
            )
            return response

        @app.post("/token")
        async def token(request: Request) -> Response:
            form = {k: str(v) for k, v in (await request.form()).items()}
            oauth = _Request("POST", str(request.url), request.headers, {}, form)
            response: Response = self.server.create_token_response(oauth)
            if self._tamper and response.status_code == 200:
                self._tamper = False
                body = json.loads(bytes(response.body))
                body["id_token"] = _tampered(body["id_token"])
                return JSONResponse(body)
            return response

        return app


def _tampered(id_token: str) -> str:
    """The same token with one claim changed after signing (the signature no longer holds)."""
    header, payload, signature = id_token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["groups"] = ["district-admins"]
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


@asynccontextmanager
async def oidc_provider(*, client_id: str, client_secret: str) -> AsyncIterator[OidcTestProvider]:
    provider = OidcTestProvider(client_id=client_id, client_secret=client_secret)
    async with serving(provider.app()) as url:
        provider.issuer = url
        yield provider


def login_url(url: str, **params: str) -> str:
    return f"{url}?{urlencode(params)}"
