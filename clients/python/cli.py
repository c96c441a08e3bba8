"""`alertd-client`: raise, acknowledge, update and watch alerts from a terminal or a script.

    export ALERTD_URL=https://alertd.example.org ALERTD_API_KEY=ak_...
    alertd-client raise --kind lockdown --room lincoln-hs-a-204
    alertd-client ack ALERT_ID
    alertd-client update ALERT_ID --status on_scene --note "two officers inside"
    alertd-client watch --since 0

Credentials: --api-key / ALERTD_API_KEY, --token / ALERTD_TOKEN, or --user and
ALERTD_PASSWORD (signs in). Answers are printed as JSON, one object per line (`watch` prints
each event as it arrives and resumes by itself after a dropped connection).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from clients.python.request import AlertdError, Unreachable
from clients.python.synchronous import AlertdClient

KINDS = ("hold", "secure", "lockdown", "evacuate", "shelter", "medical", "fire", "staff_assist")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="alertd-client", description=__doc__.split("\n")[0])
    parser.add_argument("--url", default=os.environ.get("ALERTD_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--api-key", default=os.environ.get("ALERTD_API_KEY"))
    parser.add_argument("--token", default=os.environ.get("ALERTD_TOKEN"))
    parser.add_argument("--user", default=os.environ.get("ALERTD_USERNAME"),
                        help="sign in as this user (password from ALERTD_PASSWORD)")  # fmt: skip
    commands = parser.add_subparsers(dest="command", required=True)

    raising = commands.add_parser("raise", help="raise an alert")
    raising.add_argument("--kind", required=True, choices=KINDS)
    raising.add_argument("--room", help="the room id (its school is looked up)")
    raising.add_argument("--school", help="the school id (needed when no room is given)")
    raising.add_argument("--note")
    raising.add_argument("--drill", action="store_true")
    raising.add_argument("--idempotency-key", help="reuse to retry the same alert safely")

    ack = commands.add_parser("ack", help="acknowledge an alert")
    ack.add_argument("alert_id")
    ack.add_argument("--note")

    update = commands.add_parser("update", help="report en_route/on_scene, or add a note")
    update.add_argument("alert_id")
    update.add_argument("--status", choices=("en_route", "on_scene"))
    update.add_argument("--note")

    resolve = commands.add_parser("resolve", help="resolve a room-scoped alert")
    resolve.add_argument("alert_id")
    resolve.add_argument("--note")

    alerts = commands.add_parser("alerts", help="list alerts")
    alerts.add_argument("--school")
    alerts.add_argument("--state", action="append")

    watch = commands.add_parser("watch", help="print events as they happen")
    watch.add_argument("--since", type=int, help="replay after this event id first (0: all)")
    return parser


def _run(client: AlertdClient, args: argparse.Namespace) -> None:
    if args.command == "raise":
        if not args.room and not args.school:
            raise SystemExit("alertd-client raise: give --room or --school")
        _print(client.raise_alert(
            kind=args.kind, school_id=args.school, room_id=args.room, note=args.note,
            drill=args.drill, idempotency_key=args.idempotency_key,
        ))  # fmt: skip
    elif args.command == "ack":
        _print(client.acknowledge(args.alert_id, note=args.note))
    elif args.command == "update":
        _print(client.update(args.alert_id, status=args.status, note=args.note))
    elif args.command == "resolve":
        _print(client.resolve(args.alert_id, note=args.note))
    elif args.command == "alerts":
        filters = {k: v for k, v in {"school": args.school, "state": args.state}.items() if v}
        for alert in client.alerts(**filters):
            _print(alert)
    elif args.command == "watch":
        for event in client.stream(since=args.since):
            _print(event)


def _print(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False), flush=True)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        with AlertdClient(args.url, api_key=args.api_key, token=args.token) as client:
            if args.user and not (args.api_key or args.token):
                client.sign_in(args.user, os.environ.get("ALERTD_PASSWORD", ""))
            _run(client, args)
    except AlertdError as error:
        field = f" (field: {error.field})" if error.field else ""
        print(f"alertd-client: {error}{field}", file=sys.stderr)
        return 1
    except Unreachable as error:
        print(f"alertd-client: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
