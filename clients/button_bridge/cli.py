"""`alertd-button-bridge`: run the bridge, simulate a device, look at the buffer.

    alertd-button-bridge run --alertd http://127.0.0.1:8000 --mqtt-host 127.0.0.1 \\
        --buffer /var/lib/alertd-bridge/buffer.sqlite3
    alertd-button-bridge simulate press --device btn-a-204 --school lincoln-hs --presses 3
    alertd-button-bridge simulate heartbeat --device btn-a-204 --school lincoln-hs \\
        --interval 60 --battery 80 --every 30
    alertd-button-bridge status --buffer /var/lib/alertd-bridge/buffer.sqlite3

The simulator reads the device secret from ALERTD_DEVICE_SECRET (or --secret), as a device
holds it; the bridge itself never needs one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from pathlib import Path

from clients.button_bridge.bridge import Bridge, BridgeConfig
from clients.button_bridge.buffer import DeliveryBuffer
from clients.button_bridge.pattern import Press, PressPatterns, presses
from clients.button_bridge.simulator import SimulatedDevice, publish


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="alertd-button-bridge",
        description="Carry signed wall-button and badge messages from MQTT to alertd.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run the bridge (MQTT in, alertd out)")
    run.add_argument("--alertd", default=os.environ.get("ALERTD_URL", "http://127.0.0.1:8000"))
    _mqtt_arguments(run)
    run.add_argument("--mqtt-username", default=os.environ.get("MQTT_USERNAME"))
    run.add_argument("--client-id", default="alertd-button-bridge")
    run.add_argument("--buffer", type=Path, default=Path("bridge-buffer.sqlite3"))
    run.add_argument("--log-level", default="INFO")

    status = commands.add_parser("status", help="how many buffered messages in each state")
    status.add_argument("--buffer", type=Path, default=Path("bridge-buffer.sqlite3"))

    simulate = commands.add_parser("simulate", help="act as a device (demos and tests)")
    actions = simulate.add_subparsers(dest="action", required=True)
    press = actions.add_parser("press", help="press the button N times (or hold it)")
    _device_arguments(press)
    press.add_argument("--presses", type=int, default=3)
    press.add_argument("--hold-ms", type=int, default=120, help="how long each press is held")
    press.add_argument("--patterns", type=Path, help="press patterns, JSON (see pattern.py)")
    beat = actions.add_parser("heartbeat", help="send heartbeats")
    _device_arguments(beat)
    beat.add_argument("--interval", type=int, default=60, help="silent after this many seconds")
    beat.add_argument("--battery", type=int, help="battery percent")
    beat.add_argument("--every", type=float, help="repeat every N seconds until stopped")
    return parser


def _mqtt_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mqtt-host", default=os.environ.get("MQTT_HOST", "127.0.0.1"))
    parser.add_argument("--mqtt-port", type=int, default=int(os.environ.get("MQTT_PORT", "1883")))


def _device_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", required=True, help="the device id")
    parser.add_argument("--school", required=True, help="the device's school id")
    parser.add_argument(
        "--secret",
        default=os.environ.get("ALERTD_DEVICE_SECRET"),
        help="the device secret (default: $ALERTD_DEVICE_SECRET)",
    )
    _mqtt_arguments(parser)


def _device(args: argparse.Namespace) -> SimulatedDevice:
    if not args.secret:
        raise SystemExit("the device secret is needed: --secret or ALERTD_DEVICE_SECRET")
    patterns_file: Path | None = getattr(args, "patterns", None)
    patterns = PressPatterns.from_json(patterns_file.read_text()) if patterns_file else None
    return SimulatedDevice(
        device_id=args.device,
        secret=args.secret,
        school_id=args.school,
        **({"patterns": patterns} if patterns else {}),
    )


async def _simulate(args: argparse.Namespace) -> None:
    device = _device(args)
    if args.action == "press":
        run: list[Press] = presses(args.presses, held_ms=args.hold_ms)
        envelopes = device.alerts_for(run)
        if not envelopes:
            print(f"{args.presses} presses match no pattern: nothing sent")
            return
        await publish(args.mqtt_host, args.mqtt_port, envelopes)
        for envelope in envelopes:
            print(f"sent {json.loads(envelope.body)['kind']} ({envelope.idempotency_key})")
        return
    while True:
        beat = device.heartbeat(interval_seconds=args.interval, battery_percent=args.battery)
        await publish(args.mqtt_host, args.mqtt_port, [beat])
        print(f"heartbeat sent ({beat.idempotency_key})")
        if not args.every:
            return
        await asyncio.sleep(args.every)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "status":
        buffer = DeliveryBuffer(args.buffer)
        print(json.dumps(buffer.counts()))
        buffer.close()
        return 0
    try:
        if args.command == "simulate":
            asyncio.run(_simulate(args))
            return 0
        logging.basicConfig(
            level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
        )
        config = BridgeConfig(
            mqtt_host=args.mqtt_host,
            mqtt_port=args.mqtt_port,
            alertd_url=args.alertd,
            buffer_path=args.buffer,
            client_id=args.client_id,
            mqtt_username=args.mqtt_username,
            mqtt_password=os.environ.get("MQTT_PASSWORD"),
        )
        asyncio.run(Bridge(config).run())
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
