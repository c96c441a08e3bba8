"""Hold N WHEP viewers of one camera until stdin closes (bench.fanout --camera-viewers).

    python -m bench.camera_viewers http://127.0.0.1:8000 8 [camera id]

Prints "watching <n>" once every viewer has frames, then "frames <total>" at the end. Runs
as its own process so that decoding the video does not share the fan-out client's loop.
"""

from __future__ import annotations

import asyncio
import sys

import httpx

from alertd.testing.auth import DEMO_PASSWORD, demo_user
from alertd.testing.whep import WhepViewer
from bench.fanout import sign_in

DEFAULT_CAMERA = "lincoln-hs-a-1-cam-2"  # the demo's test pattern


async def watch(base: str, count: int, camera: str) -> None:
    token = await asyncio.to_thread(sign_in, base, demo_user("dispatcher"), DEMO_PASSWORD)
    async with httpx.AsyncClient(base_url=base, timeout=20) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        viewers: list[WhepViewer] = []
        try:
            for _ in range(count):
                grant = (await client.post(f"/v1/cameras/{camera}/view-token")).json()
                viewer = WhepViewer(client, grant["whep_url"], grant["token"])
                viewers.append(viewer)
                if (await viewer.start()).status_code != 201:
                    raise RuntimeError("WHEP refused the viewer")
            await asyncio.gather(*(v.wait_frames(5, timeout=30) for v in viewers))
            print(f"watching {count}", flush=True)
            await asyncio.to_thread(sys.stdin.read)  # until the benchmark closes our stdin
            print(f"frames {sum(v.frames for v in viewers)}", flush=True)
        finally:
            for viewer in viewers:
                await viewer.close()


if __name__ == "__main__":
    camera = sys.argv[3] if len(sys.argv) > 3 else DEFAULT_CAMERA
    asyncio.run(watch(sys.argv[1], int(sys.argv[2]), camera))
