"""CAP 1.2 messages as XML, and Atom feeds of them.

`cap_xml` writes a `CapMessage` (from `alertd.core.cap`) in the element order the OASIS
schema requires (`schemas/cap/CAP-v1.2.xsd`); `atom_feed` wraps messages in an Atom feed
whose entries carry each CAP `<alert>` as their content, the way CAP feeds are published.
Times are written as CAP asks: seconds, and UTC as `-00:00` (never `Z`).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from alertd.core.cap import CapArea, CapInfo, CapMessage

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
ATOM_NS = "http://www.w3.org/2005/Atom"
CAP_MEDIA_TYPE = "application/cap+xml"
ATOM_MEDIA_TYPE = "application/atom+xml"

ET.register_namespace("", CAP_NS)
ET.register_namespace("atom", ATOM_NS)


def cap_time(moment: datetime) -> str:
    """CAP's dateTime: `2026-12-07T17:32:10-00:00` (UTC written as -00:00, no fraction)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S") + "-00:00"


def _atom_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _add(parent: ET.Element, tag: str, text: str | None, ns: str = CAP_NS) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ns}}}{tag}")
    if text is not None:
        element.text = text
    return element


def _pair(parent: ET.Element, tag: str, name: str, value: str) -> None:
    element = _add(parent, tag, None)
    _add(element, "valueName", name)
    _add(element, "value", value)


def cap_element(message: CapMessage) -> ET.Element:
    """The `<alert>` element of one message."""
    alert = ET.Element(f"{{{CAP_NS}}}alert")
    _add(alert, "identifier", message.identifier)
    _add(alert, "sender", message.sender)
    _add(alert, "sent", cap_time(message.sent))
    _add(alert, "status", message.status.value)
    _add(alert, "msgType", message.msg_type.value)
    _add(alert, "scope", message.scope)
    _add(alert, "restriction", message.restriction)
    if message.note:
        _add(alert, "note", message.note)
    if message.references:
        refs = " ".join(f"{r.sender},{r.identifier},{cap_time(r.sent)}" for r in message.references)
        _add(alert, "references", refs)
    _add(alert, "incidents", message.incidents)
    _info(alert, message.info)
    return alert


def _info(parent: ET.Element, info: CapInfo) -> None:
    element = _add(parent, "info", None)
    _add(element, "language", info.language)
    for category in info.categories:
        _add(element, "category", category)
    _add(element, "event", info.event)
    for response in info.response_types:
        _add(element, "responseType", response.value)
    _add(element, "urgency", info.urgency)
    _add(element, "severity", info.severity)
    _add(element, "certainty", info.certainty)
    for name, value in info.event_codes:
        _pair(element, "eventCode", name, value)
    _add(element, "senderName", info.sender_name)
    _add(element, "headline", info.headline)
    _add(element, "description", info.description)
    _add(element, "instruction", info.instruction)
    if info.web:
        _add(element, "web", info.web)
    for name, value in info.parameters:
        _pair(element, "parameter", name, value)
    _area(element, info.area)


def _area(parent: ET.Element, area: CapArea) -> None:
    element = _add(parent, "area", None)
    _add(element, "areaDesc", area.description)
    for ring in area.polygons:
        _add(element, "polygon", " ".join(f"{lat:.7f},{lon:.7f}" for lat, lon in ring))
    for circle in area.circles:
        _add(element, "circle", f"{circle.latitude},{circle.longitude} {circle.radius_km}")
    for name, value in area.geocodes:
        _pair(element, "geocode", name, value)


def cap_xml(message: CapMessage) -> bytes:
    """One CAP message as a UTF-8 XML document."""
    xml: bytes = ET.tostring(cap_element(message), encoding="utf-8", xml_declaration=True)
    return xml


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One entry of a CAP feed: the alert's latest message, and where to fetch it alone."""

    message: CapMessage
    link: str


def atom_feed(
    *, feed_id: str, title: str, self_link: str, updated: datetime, entries: Sequence[FeedEntry]
) -> bytes:
    """An Atom feed (RFC 4287) whose entries hold CAP `<alert>` elements as content."""
    feed = ET.Element(f"{{{ATOM_NS}}}feed")
    _add(feed, "id", feed_id, ATOM_NS)
    _add(feed, "title", title, ATOM_NS)
    _add(feed, "updated", _atom_time(updated), ATOM_NS)
    author = _add(feed, "author", None, ATOM_NS)
    _add(author, "name", "alertd", ATOM_NS)
    _add(feed, "link", None, ATOM_NS).attrib.update({"rel": "self", "href": self_link})
    for entry in entries:
        message = entry.message
        item = _add(feed, "entry", None, ATOM_NS)
        _add(item, "id", f"urn:alertd:cap:{message.identifier}", ATOM_NS)
        _add(item, "title", message.info.headline, ATOM_NS)
        _add(item, "updated", _atom_time(message.sent), ATOM_NS)
        _add(item, "summary", message.info.instruction, ATOM_NS)
        link = _add(item, "link", None, ATOM_NS)
        link.attrib.update({"rel": "alternate", "type": CAP_MEDIA_TYPE, "href": entry.link})
        content = _add(item, "content", None, ATOM_NS)
        content.set("type", CAP_MEDIA_TYPE)
        content.append(cap_element(message))
    xml: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return xml
