"""Property-based fuzzing of the HTTP API from its own OpenAPI document (Schemathesis).

A real `alertd serve` process (dev mode, demo district) is fuzzed while signed in as the
district admin, who may do the most. Every generated request must get an answer that is
not a 5xx and that matches the response schema the API declares for it. The number of
examples per operation is bounded so that CI stays quick; the total is printed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from alertd.testing.auth import DEMO_PASSWORD, demo_user
from alertd.testing.servers import free_port

pytestmark = pytest.mark.integration

EXAMPLES_PER_OPERATION = int(os.environ.get("ALERTD_FUZZ_EXAMPLES", "15"))
# Site documents nest five levels deep: generating one costs Hypothesis seconds, not
# milliseconds (15 of them took 94 s of a 127 s run), so fewer are generated.
FEWER_EXAMPLES = {"POST /v1/sites": 3}
# Operations that would end the fuzzer's own session (every later request would then be a
# bare 401 and test nothing): last, after everything else.
LAST = ("POST /v1/auth/sign-out-everywhere",)


# Bodies that are not JSON: an IMDF archive (application/zip) and a WHEP offer
# (application/sdp). Schemathesis sends what it generates as raw bytes or text.
@schemathesis.serializer("application/zip", "application/sdp")
def _raw_body(_ctx: object, value: object) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()


CASES_RUN: list[str] = []


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data_dir: Path = tmp_path_factory.mktemp("fuzz")
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ALERTD_")},
        "ALERTD_DATA_DIR": str(data_dir),
        "ALERTD_DEMO": "true",
        "ALERTD_DEV_MODE": "true",
        "ALERTD_SECRET_KEY": "fuzz-secret",
        "ALERTD_PORT": str(port),
        "ALERTD_LOG_LEVEL": "WARNING",
        "ALERTD_SQLITE_SYNCHRONOUS": "NORMAL",
    }
    subprocess.run(
        [sys.executable, "-m", "alertd", "db", "upgrade"], env=env, check=True, capture_output=True
    )
    log = (data_dir / "server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "alertd", "serve"], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError((data_dir / "server.log").read_text())
            time.sleep(0.1)
        yield url
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        log.close()
        print(
            f"\nschemathesis ran {len(CASES_RUN)} generated requests "
            f"({EXAMPLES_PER_OPERATION} examples per operation at most)"
        )


@pytest.fixture(scope="module")
def admin_headers(server: str) -> dict[str, str]:
    answer = httpx.post(
        f"{server}/v1/auth/token",
        data={"username": demo_user("district_admin"), "password": DEMO_PASSWORD},
    )
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


@pytest.mark.timeout(600)  # a minute or so alone; much longer on a busy machine
def test_no_server_errors_and_responses_match_their_schema(
    server: str, admin_headers: dict[str, str]
) -> None:
    # Driven by hand through Hypothesis (schemathesis' pytest plugin does not load on
    # pytest 9): every operation of the document, EXAMPLES_PER_OPERATION cases each.
    schema = schemathesis.openapi.from_url(f"{server}/openapi.json")
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    operations.sort(key=lambda operation: operation.label in LAST)
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=min(
                EXAMPLES_PER_OPERATION, FEWER_EXAMPLES.get(operation.label, EXAMPLES_PER_OPERATION)
            ),
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        def fuzz(case: schemathesis.Case) -> None:
            headers = {
                k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"
            }
            headers.update(admin_headers)
            response = case.call(base_url=server, headers=headers, timeout=10)
            CASES_RUN.append(f"{case.method} {case.path}")
            case.validate_response(
                response, checks=[not_a_server_error, response_schema_conformance]
            )

        try:
            fuzz()
        except Exception as failure:  # collect every operation's failure, then report all
            failures.append(f"{operation.label}: {failure}")
    assert not failures, "\n\n".join(failures)
    assert len(CASES_RUN) > 100
