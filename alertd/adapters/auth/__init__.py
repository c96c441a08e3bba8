"""Authentication mechanisms, one technology each: argon2 password hashing, JWT tokens,
TOTP codes, sealing secrets at rest, OpenID Connect (authlib), the demo users.

They implement the ports of `alertd.app.account_ports`; the policy that puts them together
(the login flow, who may grant which role) is in `alertd.app` and `alertd.core`.
"""
