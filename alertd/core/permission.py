"""Who may do what, where: the role x action table and the scope rules, as data.

Every HTTP route and stream subscription asks `authorize`. The answer is ALLOW, HIDDEN (the
thing is outside the principal's schools: answer 404 so its existence does not leak) or
FORBIDDEN (the principal can see it but may not do this: 403).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType

from alertd.core.actor import Actor
from alertd.core.alert import Alert, AlertEvent
from alertd.core.kind import AlertKind, Scope, policy_of
from alertd.core.notice import DomainEvent, NoticeType
from alertd.core.source import AlertSource


class Role(StrEnum):
    STAFF = "staff"
    SRO = "sro"
    DISPATCHER = "dispatcher"
    DRILL_COORDINATOR = "drill_coordinator"
    SCHOOL_ADMIN = "school_admin"
    DISTRICT_ADMIN = "district_admin"
    DEVICE = "device"  # a wall button, badge or kiosk, bound to a room or a person


class Action(StrEnum):
    RAISE_ALERT = "raise_alert"
    RAISE_DRILL = "raise_drill"
    VIEW_ALERT = "view_alert"
    ACKNOWLEDGE = "acknowledge"
    REPORT_STATUS = "report_status"
    RESOLVE = "resolve"
    CANCEL = "cancel"
    GIVE_ALL_CLEAR = "give_all_clear"
    ADD_NOTE = "add_note"
    UPGRADE = "upgrade"
    VIEW_SITE = "view_site"
    MANAGE_SITES = "manage_sites"
    MANAGE_USERS = "manage_users"
    MANAGE_DEVICES = "manage_devices"
    VIEW_AUDIT = "view_audit"
    ENROL_SECOND_FACTOR = "enrol_second_factor"
    VIEW_DELIVERIES = "view_deliveries"
    VIEW_DEVICE_TROUBLE = "view_device_trouble"  # a wall button silent or low on battery
    REPORT_HEALTH = "report_health"  # a device's own heartbeat
    MANAGE_API_KEYS = "manage_api_keys"
    RESET_SECOND_FACTOR = "reset_second_factor"
    REVOKE_SESSIONS = "revoke_sessions"  # sign another person out everywhere
    SIGN_OUT_EVERYWHERE = "sign_out_everywhere"  # one's own sessions and tokens
    VERIFY_AUDIT = "verify_audit"
    CONFIGURE_SIGN_IN = "configure_sign_in"  # a district's single sign-on
    VIEW_CAMERA = "view_camera"  # live video of a school's cameras
    MANAGE_CAMERAS = "manage_cameras"  # register a camera's source (URL, credentials)
    VIEW_DRILLS = "view_drills"  # a school's drill plans and its drill compliance
    VIEW_REPORT = "view_report"  # an alert's after-action report (its deliveries included)
    REPORT_ROLL = "report_roll"  # a room's (or group's) accountability report
    VIEW_ROLL = "view_roll"  # which rooms reported what, and which have not


_R = Role
_EVERYONE = frozenset(Role) - {Role.DEVICE}
_RESPONDERS = frozenset({_R.SRO, _R.DISPATCHER, _R.SCHOOL_ADMIN, _R.DISTRICT_ADMIN})
_ADMINS = frozenset({_R.SCHOOL_ADMIN, _R.DISTRICT_ADMIN})

# The table: which roles may attempt each action at all. Scope and the special rules below
# narrow it further.
TABLE: Mapping[Action, frozenset[Role]] = MappingProxyType(
    {
        Action.RAISE_ALERT: frozenset(Role),
        Action.RAISE_DRILL: frozenset({_R.DRILL_COORDINATOR, *_ADMINS}),
        Action.VIEW_ALERT: _EVERYONE,
        Action.ACKNOWLEDGE: _RESPONDERS,
        Action.REPORT_STATUS: frozenset({_R.SRO, _R.DISPATCHER}),
        Action.RESOLVE: frozenset({_R.SRO, _R.DISPATCHER}),
        # Anyone may try; staff only on their own alert within the grace period (below).
        Action.CANCEL: frozenset({_R.STAFF, _R.DRILL_COORDINATOR, *_RESPONDERS}),
        Action.GIVE_ALL_CLEAR: frozenset({_R.SRO, _R.DISPATCHER, *_ADMINS}),
        Action.ADD_NOTE: _EVERYONE,
        Action.UPGRADE: frozenset({_R.STAFF, _R.DRILL_COORDINATOR, *_RESPONDERS}),
        Action.VIEW_SITE: _EVERYONE,
        Action.MANAGE_SITES: _ADMINS,
        Action.MANAGE_USERS: _ADMINS,
        Action.MANAGE_DEVICES: _ADMINS,
        Action.VIEW_AUDIT: _ADMINS,
        # TOTP is offered to the people whose accounts can see every alert of many schools.
        Action.ENROL_SECOND_FACTOR: frozenset({_R.DISPATCHER, *_ADMINS}),
        # Who was texted, and whether it arrived: the people who answer for the response.
        Action.VIEW_DELIVERIES: frozenset({_R.DRILL_COORDINATOR, *_RESPONDERS}),
        Action.VIEW_DEVICE_TROUBLE: _RESPONDERS,
        Action.REPORT_HEALTH: frozenset({_R.DEVICE}),
        # Accounts: admins, each within its schools (see alertd.core.account for who may
        # grant which role); single sign-on is the district's alone.
        Action.MANAGE_API_KEYS: _ADMINS,
        Action.RESET_SECOND_FACTOR: _ADMINS,
        Action.REVOKE_SESSIONS: _ADMINS,
        Action.SIGN_OUT_EVERYWHERE: _EVERYONE,
        Action.VERIFY_AUDIT: _ADMINS,
        Action.CONFIGURE_SIGN_IN: frozenset({_R.DISTRICT_ADMIN}),
        # Live video is for the people who go in: a school's SROs and its dispatchers.
        Action.VIEW_CAMERA: frozenset({_R.SRO, _R.DISPATCHER}),
        Action.MANAGE_CAMERAS: _ADMINS,
        # Drill plans: RAISE_DRILL schedules, starts and ends them; these read them.
        Action.VIEW_DRILLS: frozenset({_R.DRILL_COORDINATOR, *_RESPONDERS}),
        # After-action reports: the people who answer for the response and its drills.
        Action.VIEW_REPORT: frozenset({_R.DRILL_COORDINATOR, *_RESPONDERS}),
        # The roll is reported by the people in the building with the students: staff (a
        # teacher for a room or a group), SROs, drill coordinators and admins. Dispatchers
        # and devices read it but report nothing (a wall button cannot count heads).
        Action.REPORT_ROLL: frozenset({_R.STAFF, _R.SRO, _R.DRILL_COORDINATOR, *_ADMINS}),
        Action.VIEW_ROLL: _EVERYONE,
    }
)

# The permission each notice type asks of whoever would receive it.
NOTICE_PERMISSION: Mapping[NoticeType, Action] = MappingProxyType(
    {
        NoticeType.DELIVERIES_UPDATED: Action.VIEW_DELIVERIES,
        NoticeType.DELIVERY_FAILED: Action.VIEW_DELIVERIES,
        NoticeType.ESCALATED: Action.VIEW_DELIVERIES,
        NoticeType.DEVICE_TROUBLE: Action.VIEW_DEVICE_TROUBLE,
        NoticeType.DEVICE_RECOVERED: Action.VIEW_DEVICE_TROUBLE,
        NoticeType.CAMERA_OFFLINE: Action.VIEW_CAMERA,
        NoticeType.CAMERA_ONLINE: Action.VIEW_CAMERA,
    }
)

# How long the person who raised an alert may still cancel it themselves (a mistaken press).
RAISER_CANCEL_WINDOW = timedelta(seconds=30)
# Lockdowns end only by first responders: the all clear is theirs alone.
LOCKDOWN_ALL_CLEAR = frozenset({_R.SRO, _R.DISPATCHER})
# Roles that see every alert of their schools; the others see their own plus campus-wide ones.
SEES_ALL_ALERTS = frozenset(_EVERYONE - {_R.STAFF})


class Verdict(StrEnum):
    ALLOW = "allow"
    HIDDEN = "hidden"  # answer 404: outside the principal's schools
    FORBIDDEN = "forbidden"  # answer 403


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated actor with its role and the schools it acts for.

    `school_ids` None means every school (district admins). A dispatcher's schools are
    those its agency covers.
    """

    actor: Actor
    role: Role
    school_ids: frozenset[str] | None
    room_id: str | None = None  # a wall button is bound to one room
    source: AlertSource | None = None  # a device raises as its kind; people state theirs

    def covers(self, school_id: str) -> bool:
        return self.school_ids is None or school_id in self.school_ids


def authorize(
    principal: Principal,
    action: Action,
    *,
    school_id: str | None = None,
    alert: Alert | None = None,
    now: datetime | None = None,
) -> Verdict:
    """May `principal` do `action` (on `alert`, or at `school_id`)? Pure; `now` for time rules."""
    school = alert.school_id if alert is not None else school_id
    if school is not None and not principal.covers(school):
        return Verdict.HIDDEN
    if alert is not None and not _may_see(principal, alert):
        return Verdict.HIDDEN
    if principal.role not in TABLE[action]:
        return Verdict.FORBIDDEN
    if alert is not None and not _special_rules_allow(principal, action, alert, now):
        return Verdict.FORBIDDEN
    return Verdict.ALLOW


def authorize_event(principal: Principal, event: DomainEvent) -> Verdict:
    """May `principal` receive this event of the log (on the stream, in a replay)?

    An alert event: when it may view the alert as it stood then. A notice: when it covers
    the notice's school (a notice without one is for the whole district) and its role has
    the permission the notice type asks for.
    """
    if isinstance(event, AlertEvent):
        return authorize(principal, Action.VIEW_ALERT, alert=event.alert)
    if event.school_id is None and principal.school_ids is not None:
        return Verdict.HIDDEN
    return authorize(principal, NOTICE_PERMISSION[event.type], school_id=event.school_id)


def others_visible_kinds(principal: Principal) -> frozenset[AlertKind] | None:
    """Which kinds of other people's alerts `principal` sees (in its schools): None for
    every kind; staff see only campus-wide ones, besides their own. Lets a listing filter
    in the database what `authorize(VIEW_ALERT)` would filter afterwards."""
    if principal.role in SEES_ALL_ALERTS:
        return None
    return frozenset(k for k in AlertKind if policy_of(k).scope is Scope.CAMPUS)


def _may_see(principal: Principal, alert: Alert) -> bool:
    if principal.role in SEES_ALL_ALERTS:
        return True
    own = alert.raised_by.id == principal.actor.id
    return own or policy_of(alert.kind).scope is Scope.CAMPUS


def _special_rules_allow(
    principal: Principal, action: Action, alert: Alert, now: datetime | None
) -> bool:
    own = alert.raised_by.id == principal.actor.id
    if action is Action.CANCEL and principal.role in (Role.STAFF, Role.DRILL_COORDINATOR):
        if alert.drill and principal.role is Role.DRILL_COORDINATOR:
            return True  # a coordinator ends the drills they run
        return own and now is not None and now - alert.raised_at <= RAISER_CANCEL_WINDOW
    if action is Action.GIVE_ALL_CLEAR and alert.kind is AlertKind.LOCKDOWN:
        return principal.role in LOCKDOWN_ALL_CLEAR
    if action is Action.UPGRADE and principal.role is Role.STAFF:
        return own
    return True
