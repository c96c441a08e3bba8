"""The pure camera rules: source URLs, who may watch, which cameras come first, backoff."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from alertd.core.actor import Actor
from alertd.core.camera import (
    SourceKind,
    ViewGrant,
    check_grant,
    nearest_cameras,
    new_source,
    parse_source_url,
    retry_delay,
)
from alertd.core.errors import Unauthenticated, ValidationFailed
from alertd.core.permission import Action, Principal, Role, Verdict, authorize
from alertd.main import demo_site

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("rtsp://10.0.0.5:554/stream1", SourceKind.RTSP),
        ("rtsps://cam.school.example/live", SourceKind.RTSP),
        ("http://10.0.0.6/video.mjpg", SourceKind.MJPEG),
        ("file:///var/lib/alertd/recording.ts", SourceKind.FILE),
        ("test-pattern:", SourceKind.TEST_PATTERN),
        ("test-pattern:?fps=10&size=320x240", SourceKind.TEST_PATTERN),
    ],
)
def test_source_urls_name_their_kind(url: str, kind: SourceKind) -> None:
    assert parse_source_url(url) is kind


@pytest.mark.parametrize(
    "url",
    [
        "rtsp://admin:secret@10.0.0.5/stream1",  # credentials go apart
        "rtsp://admin@10.0.0.5/stream1",
        "ftp://10.0.0.5/x",
        "rtsp:///no-host",
        "file://relative/path",
        "javascript:alert(1)",
    ],
)
def test_bad_source_urls_are_refused_naming_the_url(url: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        parse_source_url(url)
    assert refused.value.field == "url"


def test_credentials_travel_apart_and_hide_in_repr() -> None:
    source = new_source(
        camera_id="c", school_id="s", url="rtsp://10.0.0.5/x", username="u", password="p4ss"
    )
    assert source.credentials is not None and "p4ss" not in repr(source)
    with pytest.raises(ValidationFailed):
        new_source(camera_id="c", school_id="s", url="test-pattern:", username="u", password="p")
    with pytest.raises(ValidationFailed):
        new_source(camera_id="c", school_id="s", url="rtsp://h/x", username=None, password="p")


@pytest.mark.parametrize(
    ("role", "verdict"),
    [
        (Role.SRO, Verdict.ALLOW),
        (Role.DISPATCHER, Verdict.ALLOW),
        (Role.STAFF, Verdict.FORBIDDEN),
        (Role.DRILL_COORDINATOR, Verdict.FORBIDDEN),
        (Role.SCHOOL_ADMIN, Verdict.FORBIDDEN),
        (Role.DISTRICT_ADMIN, Verdict.FORBIDDEN),
        (Role.DEVICE, Verdict.FORBIDDEN),
    ],
)
def test_only_sros_and_dispatchers_watch_and_only_in_their_schools(
    role: Role, verdict: Verdict
) -> None:
    principal = Principal(Actor("p", "P", role=role.value), role, frozenset({"lincoln-hs"}))
    assert authorize(principal, Action.VIEW_CAMERA, school_id="lincoln-hs") is verdict
    assert authorize(principal, Action.VIEW_CAMERA, school_id="jefferson-es") is Verdict.HIDDEN


def test_a_grant_opens_only_its_camera_and_only_while_fresh() -> None:
    grant = ViewGrant("u", "sro", "cam-1", "lincoln-hs", NOW + timedelta(minutes=2), "t")
    check_grant(grant, camera_id="cam-1", now=NOW)
    with pytest.raises(Unauthenticated):
        check_grant(grant, camera_id="cam-2", now=NOW)
    with pytest.raises(Unauthenticated):
        check_grant(grant, camera_id="cam-1", now=NOW + timedelta(minutes=2))


def test_cameras_covering_the_room_come_first_then_its_floor() -> None:
    lincoln = next(s for s in demo_site().to_site().schools if s.id == "lincoln-hs")
    order = [p.camera.id for p in nearest_cameras(lincoln, "lincoln-hs-a-109")]
    assert order[:2] == ["lincoln-hs-a-1-cam-2", "lincoln-hs-a-1-cam-1"]
    order = [p.camera.id for p in nearest_cameras(lincoln, "lincoln-hs-a-101")]
    assert order[0] == "lincoln-hs-a-1-cam-1"
    assert [p.camera.id for p in nearest_cameras(lincoln, None)] == [
        p.camera.id for p in nearest_cameras(lincoln, "no-such-room")
    ]


def test_retries_back_off_doubling_up_to_the_cap() -> None:
    delays = [
        retry_delay(n, first=timedelta(seconds=1), cap=timedelta(seconds=30)).total_seconds()
        for n in range(0, 8)
    ]
    assert delays == [0, 1, 2, 4, 8, 16, 30, 30]
