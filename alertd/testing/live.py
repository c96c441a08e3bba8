"""Run an alertd app in this process on a real port (uvicorn), for stream and HTTP tests."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import uvicorn
from fastapi import FastAPI

from alertd.testing.auth import headers_for


@asynccontextmanager
async def serving(app: FastAPI, *, send_buffer_bytes: int | None = None) -> AsyncIterator[str]:
    """Serve `app` on 127.0.0.1 until the block ends; yield its base URL.

    `send_buffer_bytes` shrinks the kernel send buffer of every accepted connection (Linux
    copies it from the listening socket), so that a client that stops reading pushes back
    on the server after a few messages instead of after megabytes.
    """
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted sockets inherit this; without it, replies split over two writes wait ~40 ms
    # for a delayed ACK (Nagle), which uvicorn avoids only for sockets it binds itself.
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if send_buffer_bytes is not None:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, send_buffer_bytes)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    config = uvicorn.Config(app, log_config=None, access_log=False, ws_per_message_deflate=False)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[listener]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)
        listener.close()


@asynccontextmanager
async def signed_in_client(
    app: FastAPI, *, role: str = "district_admin", connections: int = 10
) -> AsyncIterator[httpx.AsyncClient]:
    """Serve `app` on a real port and yield a client signed in as the demo user of `role`,
    with up to `connections` connections, so that its requests really run side by side."""
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with (
        serving(app) as url,
        httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client,
    ):
        client.headers.update(await headers_for(client, role))
        yield client
