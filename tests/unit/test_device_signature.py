"""The device signature, pure: what is signed, and which signatures pass at a given time."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from alertd.core.device_signature import (
    DeviceSecrets,
    SignatureCheck,
    SignedRequest,
    canonical_string,
    check,
    derive_device_secret,
    is_bound_retry,
    sign,
)

NOW = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)
SKEW = timedelta(seconds=30)
REQUEST = SignedRequest(
    device_id="btn-101",
    method="post",
    path="/v1/alerts?x=1",
    timestamp=int(NOW.timestamp()),
    nonce="nonce-0001",
    body=b'{"kind":"lockdown"}',
)
SECRETS = DeviceSecrets(current="current-secret")


def outcome(
    request: SignedRequest = REQUEST, *, signed_with: str = "current-secret", **kw: object
) -> SignatureCheck:
    options: dict[str, object] = {"secrets": SECRETS, "now": NOW, "max_skew": SKEW}
    options.update(kw)
    return check(request, signature=sign(signed_with, request), **options)  # type: ignore[arg-type]


def test_the_canonical_string_covers_every_part() -> None:
    lines = canonical_string(REQUEST).decode().split("\n")
    assert lines[:6] == [
        "alertd-device-v1",
        "btn-101",
        "POST",
        "/v1/alerts?x=1",
        str(REQUEST.timestamp),
        "nonce-0001",
    ]
    assert len(lines[6]) == 64


def test_a_good_signature_passes() -> None:
    assert outcome() is SignatureCheck.OK


def test_every_signed_part_matters() -> None:
    signature = sign("current-secret", REQUEST)
    for changed in (
        replace(REQUEST, device_id="btn-102"),
        replace(REQUEST, method="PUT"),
        replace(REQUEST, path="/v1/alerts"),
        replace(REQUEST, timestamp=REQUEST.timestamp + 1),
        replace(REQUEST, nonce="nonce-0002"),
        replace(REQUEST, body=b'{"kind":"medical"}'),
    ):
        verdict = check(changed, signature=signature, secrets=SECRETS, now=NOW, max_skew=SKEW)
        assert verdict is SignatureCheck.BAD_SIGNATURE, changed


def test_a_wrong_secret_fails() -> None:
    assert outcome(signed_with="guess") is SignatureCheck.BAD_SIGNATURE


def test_the_clock_may_be_off_by_the_skew_and_no_more() -> None:
    assert outcome(now=NOW + SKEW) is SignatureCheck.OK
    assert outcome(now=NOW - SKEW) is SignatureCheck.OK
    assert outcome(now=NOW + SKEW + timedelta(seconds=1)) is SignatureCheck.STALE_TIMESTAMP
    assert outcome(now=NOW - SKEW - timedelta(seconds=1)) is SignatureCheck.STALE_TIMESTAMP


def test_a_stale_forgery_is_reported_as_a_forgery() -> None:
    late = NOW + timedelta(hours=1)
    assert outcome(signed_with="guess", now=late) is SignatureCheck.BAD_SIGNATURE


def test_the_previous_secret_passes_until_its_grace_ends() -> None:
    rotated = DeviceSecrets(current="new", previous="old", previous_valid_until=NOW + SKEW)
    assert outcome(signed_with="old", secrets=rotated) is SignatureCheck.OK
    assert outcome(signed_with="new", secrets=rotated) is SignatureCheck.OK
    later = replace(REQUEST, timestamp=REQUEST.timestamp + 30)
    after = NOW + SKEW
    assert (
        outcome(later, signed_with="old", secrets=rotated, now=after)
        is SignatureCheck.BAD_SIGNATURE
    )
    assert outcome(later, signed_with="new", secrets=rotated, now=after) is SignatureCheck.OK


def test_malformed_nonces_and_signatures_are_refused() -> None:
    assert outcome(replace(REQUEST, nonce="short")) is SignatureCheck.MALFORMED
    assert outcome(replace(REQUEST, nonce="new\nline-nonce")) is SignatureCheck.MALFORMED
    bad = check(REQUEST, signature="ZZ", secrets=SECRETS, now=NOW, max_skew=SKEW)
    assert bad is SignatureCheck.MALFORMED


def test_secrets_are_hidden_from_repr() -> None:
    rotated = DeviceSecrets(current="new-secret", previous="old-secret", previous_valid_until=NOW)
    assert "secret" not in repr(rotated).replace("DeviceSecrets", "")


def test_derived_secrets_depend_on_key_device_and_salt() -> None:
    base = derive_device_secret(server_key="k", device_id="btn-101", salt="s1")
    assert base == derive_device_secret(server_key="k", device_id="btn-101", salt="s1")
    assert len(base) == 43
    others = {
        derive_device_secret(server_key="k2", device_id="btn-101", salt="s1"),
        derive_device_secret(server_key="k", device_id="btn-102", salt="s1"),
        derive_device_secret(server_key="k", device_id="btn-101", salt="s2"),
    }
    assert base not in others and len(others) == 3


def test_a_bound_retry_may_be_as_old_as_the_buffer_allows_but_never_from_the_future() -> None:
    day = timedelta(days=1)
    two_hours_old = replace(REQUEST, timestamp=int((NOW - timedelta(hours=2)).timestamp()))
    too_old = replace(REQUEST, timestamp=int((NOW - day).timestamp()) - 1)
    ahead = replace(REQUEST, timestamp=int((NOW + timedelta(seconds=31)).timestamp()))
    assert outcome(two_hours_old) is SignatureCheck.STALE_TIMESTAMP
    assert outcome(two_hours_old, max_age=day) is SignatureCheck.OK
    assert outcome(too_old, max_age=day) is SignatureCheck.STALE_TIMESTAMP
    assert outcome(ahead, max_age=day) is SignatureCheck.STALE_TIMESTAMP


def test_only_the_key_made_of_device_id_and_nonce_binds_a_retry() -> None:
    assert is_bound_retry(REQUEST, "btn-101.nonce-0001")
    assert not is_bound_retry(REQUEST, "btn-102.nonce-0001")
    assert not is_bound_retry(REQUEST, "btn-101.nonce-0002")
    assert not is_bound_retry(REQUEST, None)
