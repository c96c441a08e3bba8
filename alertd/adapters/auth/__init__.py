"""Authentication building blocks: password hashing, tokens, TOTP, login back-off, users,
API keys and demo users. The HTTP adapter (`alertd.adapters.http.auth`) puts them together.

Database steps here are plain synchronous functions of a `Connection`, run through
`alertd.adapters.db.engine.Database`. Slow work (argon2) never runs inside them: hash and
verify outside the writer, so that one login does not hold up every alert.
"""
