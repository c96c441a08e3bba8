"""CPU per camera viewer: 1, 4 and 8 WHEP viewers of one 640x480 H.264 camera (15 fps),
with the camera's H.264 passed through, and transcoded (decoded once, encoded per viewer).

    python -m bench.cameras                 # both modes, 10 s per measurement
    python -m bench.cameras --seconds 20 --viewers 1 4 8

The camera is GStreamer's RTSP server (alertd.testing.rtsp_server); alertd runs as its own
process (`alertd serve`, SQLite, demo district), so its CPU (utime + stime from /proc) is
the relay's alone; the aiortc viewers run here and decode what they receive. Prints
figures and a final JSON line; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

import httpx

from alertd.testing.auth import DEMO_PASSWORD, demo_user
from alertd.testing.rtsp_server import rtsp_server
from alertd.testing.whep import WhepViewer
from bench.fanout import ServerProcess, sign_in

CAMERA = "lincoln-hs-a-1-cam-1"


async def measure(
    server: ServerProcess, base: str, *, viewers: int, seconds: float
) -> dict[str, Any]:
    dispatcher = sign_in(base, demo_user("dispatcher"), DEMO_PASSWORD)
    async with httpx.AsyncClient(base_url=base, timeout=20) as client:
        client.headers["Authorization"] = f"Bearer {dispatcher}"
        opened: list[WhepViewer] = []
        try:
            for _ in range(viewers):
                token = (await client.post(f"/v1/cameras/{CAMERA}/view-token")).json()["token"]
                viewer = WhepViewer(client, f"/v1/cameras/{CAMERA}/whep", token)
                opened.append(viewer)
                answer = await viewer.start()
                if answer.status_code != 201:
                    raise RuntimeError(f"WHEP refused: {answer.status_code} {answer.text}")
            await asyncio.gather(*(v.wait_frames(15, timeout=30) for v in opened))
            await asyncio.sleep(2)  # settle
            frames_before = sum(v.frames for v in opened)
            cpu_before, wall_before = server.cpu_seconds(), time.monotonic()
            await asyncio.sleep(seconds)
            cpu = server.cpu_seconds() - cpu_before
            wall = time.monotonic() - wall_before
            frames = sum(v.frames for v in opened) - frames_before
            listed = (await client.get("/v1/cameras", params={"school_id": "lincoln-hs"})).json()
            camera = next(c for c in listed["cameras"] if c["id"] == CAMERA)
        finally:
            for viewer in opened:
                await viewer.close()
    core_percent = 100 * cpu / wall
    return {
        "viewers": viewers,
        "server_cpu_percent_of_a_core": round(core_percent, 2),
        "per_viewer_percent": round(core_percent / viewers, 2),  # the source's cost included
        "fps_per_viewer": round(frames / wall / viewers, 1),
        "viewers_listed": camera["viewers"],
    }


async def run(options: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with rtsp_server() as camera:
        for mode in ("passthrough", "transcoded"):
            server = ServerProcess(
                synchronous="NORMAL",
                database_url="",
                extra={
                    "CAMERA_PASSTHROUGH": "true" if mode == "passthrough" else "false",
                    "CAMERA_LINGER_SECONDS": "30",  # one source opening across the runs
                },
            )
            try:
                server.start()
                base = f"http://127.0.0.1:{server.port}"
                await _wait_ready(base, server)
                admin = sign_in(base, demo_user("district_admin"), DEMO_PASSWORD)
                async with httpx.AsyncClient(base_url=base, timeout=10) as client:
                    answer = await client.put(
                        f"/v1/cameras/{CAMERA}/source",
                        json={"url": camera.url},
                        headers={"Authorization": f"Bearer {admin}"},
                    )
                    answer.raise_for_status()
                cpu_before, wall_before = server.cpu_seconds(), time.monotonic()
                await asyncio.sleep(options.seconds)
                idle = 100 * (server.cpu_seconds() - cpu_before) / (time.monotonic() - wall_before)
                print(f"{mode:12} idle server, no viewer: {idle:.2f} % of a core", flush=True)
                rows: list[dict[str, Any]] = [{"viewers": 0, "server_cpu_percent_of_a_core": idle}]
                for count in options.viewers:
                    row = await measure(server, base, viewers=count, seconds=options.seconds)
                    rows.append(row)
                    print(f"{mode:12} {json.dumps(row)}", flush=True)
                results[mode] = rows
            finally:
                server.stop()
    return results


async def _wait_ready(base: str, server: ServerProcess) -> None:
    async with httpx.AsyncClient(base_url=base) as client:
        for _ in range(200):
            server.check_alive()
            try:
                if (await client.get("/readyz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("alertd did not become ready")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--viewers", type=int, nargs="+", default=[1, 4, 8])
    results = asyncio.run(run(parser.parse_args()))
    print(json.dumps(results))


if __name__ == "__main__":
    main()
