"""Throwaway Mosquitto for tests: MQTT_URL's broker, or one started here from Debian's binary.

Tests never use a fake broker. Tests sharing a broker keep apart by device id and client id.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from contextlib import AbstractContextManager
from pathlib import Path
from urllib.parse import urlsplit

from alertd.testing.servers import free_port, given_or_private

STARTUP_SECONDS = 10.0


class PrivateMosquitto:
    """mosquitto on a free loopback port, anonymous, no persistence; `remove` when done.

    `websockets`: the port speaks MQTT over WebSockets (`url` is ws://...), as the
    benchmark's baseline broker does; a plain MQTT listener sits on another free port."""

    def __init__(self, *, websockets: bool = False) -> None:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not Path(binary).exists():
            raise RuntimeError("mosquitto not found: install it (./dev test does)")
        self._binary = binary
        self.root = Path(tempfile.mkdtemp(prefix="alertd-mosquitto-"))
        self.port = free_port()
        self.websockets = websockets
        self.url = f"{'ws' if websockets else 'mqtt'}://127.0.0.1:{self.port}"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        config = self.root / "mosquitto.conf"
        listeners = f"listener {self.port} 127.0.0.1\n"
        if self.websockets:  # many messages queued per client: a benchmark's burst
            listeners = (
                f"listener {free_port()} 127.0.0.1\n{listeners}protocol websockets\n"
                "max_queued_messages 100000\nlog_type error\n"
            )
        config.write_text(f"{listeners}allow_anonymous true\npersistence false\nlog_dest stderr\n")
        log = (self.root / "mosquitto.log").open("ab")
        self._process = subprocess.Popen(
            [self._binary, "-c", str(config)], stdout=log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError((self.root / "mosquitto.log").read_text())
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"mosquitto did not listen within {STARTUP_SECONDS} s")

    def remove(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            self._process.wait(10)
        shutil.rmtree(self.root, ignore_errors=True)


def mosquitto_server() -> AbstractContextManager[str]:
    """The URL (mqtt://host:port) of a broker: MQTT_URL's, or a private one."""
    return given_or_private("MQTT_URL", PrivateMosquitto)


def host_and_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 1883
