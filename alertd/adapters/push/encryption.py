"""Message encryption for Web Push (RFC 8291) in the aes128gcm content coding (RFC 8188).

A push service stores and forwards what it is given; only the browser that subscribed can
read it. Each message takes a fresh server key pair and salt; the browser's public key
(`p256dh`) and authentication secret (`auth`) come from its subscription.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import struct

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

RECORD_SIZE = 4096
# One record holds at most this much plaintext (record size - padding delimiter - GCM tag);
# push services also refuse bodies over 4096 bytes.
MAX_PLAINTEXT = RECORD_SIZE - 1 - 16 - 86


def b64url_decode(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def b64url_encode(value: bytes) -> str:
    return base64.urlsafe_b64encode(value).rstrip(b"=").decode("ascii")


def public_bytes(key: ec.EllipticCurvePublicKey) -> bytes:
    """The uncompressed point (65 bytes), as Web Push and VAPID exchange keys."""
    return key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


def _hmac(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hashlib.sha256).digest()


def encrypt(
    plaintext: bytes,
    *,
    p256dh: str,
    auth: str,
    salt: bytes | None = None,
    server_key: ec.EllipticCurvePrivateKey | None = None,
) -> bytes:
    """The aes128gcm body for one subscription: header (salt, record size, server key) and a
    single record. `salt` and `server_key` are for test vectors; leave them out otherwise.

    Raises ValueError when the plaintext does not fit one record or a key is malformed.
    """
    if len(plaintext) > MAX_PLAINTEXT:
        raise ValueError(f"push payload over {MAX_PLAINTEXT} bytes")
    ua_public = b64url_decode(p256dh)
    auth_secret = b64url_decode(auth)
    salt = salt if salt is not None else os.urandom(16)
    server_key = server_key or ec.generate_private_key(ec.SECP256R1())
    as_public = public_bytes(server_key.public_key())
    browser_key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), ua_public)
    shared = server_key.exchange(ec.ECDH(), browser_key)
    # RFC 8291 section 3.4: the input keying material mixes in the auth secret and both keys.
    prk_key = _hmac(auth_secret, shared)
    ikm = _hmac(prk_key, b"WebPush: info\x00" + ua_public + as_public + b"\x01")
    prk = _hmac(salt, ikm)
    cek = _hmac(prk, b"Content-Encoding: aes128gcm\x00\x01")[:16]
    nonce = _hmac(prk, b"Content-Encoding: nonce\x00\x01")[:12]
    record = AESGCM(cek).encrypt(nonce, plaintext + b"\x02", None)  # \x02: the last record
    header = salt + struct.pack("!IB", RECORD_SIZE, len(as_public)) + as_public
    return header + record


def decrypt(body: bytes, *, private_key: ec.EllipticCurvePrivateKey, auth: bytes) -> bytes:
    """What a browser does with a push body (single record). For tests and tools.

    Raises ValueError (or cryptography's InvalidTag) when the body was not for this key.
    """
    salt, (_size, id_length) = body[:16], struct.unpack("!IB", body[16:21])
    as_public = body[21 : 21 + id_length]
    ua_public = public_bytes(private_key.public_key())
    server = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), as_public)
    shared = private_key.exchange(ec.ECDH(), server)
    prk_key = _hmac(auth, shared)
    ikm = _hmac(prk_key, b"WebPush: info\x00" + ua_public + as_public + b"\x01")
    prk = _hmac(salt, ikm)
    cek = _hmac(prk, b"Content-Encoding: aes128gcm\x00\x01")[:16]
    nonce = _hmac(prk, b"Content-Encoding: nonce\x00\x01")[:12]
    padded = AESGCM(cek).decrypt(nonce, body[21 + id_length :], None)
    text = padded.rstrip(b"\x00")
    if not text.endswith(b"\x02"):
        raise ValueError("not a final record")
    return text[:-1]
