"""Fuzz the API from its own /openapi.json with schemathesis: no input may cause a 5xx.

Bounded: ``EXAMPLES`` generated requests per operation, with and without credentials, against
a real server on loopback. The privacy deletion runs last (it revokes the key it is called with).
``/readyz`` may answer 503 ``not_ready`` by design here (no worker runs); any other 5xx fails.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from pixelmill.config import Settings
from pixelmill.gateway.app import create_app
from pixelmill.gateway.live import LiveServer
from pixelmill.safety.prefilter import PreFilter
from pixelmill.tiers import Policy

EXAMPLES = 25


def _order(op: schemathesis.APIOperation) -> int:
    return 1 if (op.method.upper(), op.path) == ("DELETE", "/v1/me/data") else 0


@pytest.mark.parametrize(("backend", "authenticated"),
                         [("embedded", True), ("embedded", False), ("distributed", True)],
                         ids=["embedded-with-key", "embedded-anonymous", "distributed-with-key"])
def test_no_input_causes_a_server_error(request: pytest.FixtureRequest, tmp_path: Path, backend: str,
                                        authenticated: bool) -> None:
    if backend == "embedded":
        settings_ = Settings(database_url=f"sqlite:///{tmp_path / 'db.sqlite'}",
                             blob_url=f"file://{tmp_path / 'b'}")
    else:  # PostgreSQL, S3, Redis (events and rate limits)
        settings_ = Settings(database_url=request.getfixturevalue("pg_url"),
                             blob_url=f"s3://fuzz-{uuid.uuid4().hex[:12]}",
                             s3_endpoint=request.getfixturevalue("s3_endpoint"),
                             events_url=request.getfixturevalue("redis_url"))
    app = create_app(settings_, start_worker=False, policy=Policy(ip_requests_per_hour=1_000_000),
                     prefilter=PreFilter.default(embedding=False))
    gw = app.state.gateway
    _user, key = gw.store.create_user("fuzz", "pro")
    headers = {"Authorization": f"Bearer {key}"} if authenticated else {}
    with LiveServer(app) as server:
        # One real (finished) job so path parameters can hit an existing resource.
        job = httpx.post(server.url + "/v1/imagine", json={"prompt": "a cat"},
                         headers={"Authorization": f"Bearer {key}"}).json()["id"]
        httpx.post(f"{server.url}/v1/jobs/{job}/cancel", headers={"Authorization": f"Bearer {key}"})
        schema = schemathesis.openapi.from_url(server.url + "/openapi.json")
        operations = sorted((r.ok() for r in schema.get_all_operations()), key=_order)
        assert len(operations) >= 14
        failures: list[str] = []
        for op in operations:

            @given(case=op.as_strategy())
            @settings(max_examples=EXAMPLES, deadline=None, database=None,
                      suppress_health_check=list(HealthCheck))
            def run(case: schemathesis.Case) -> None:
                response = case.call(base_url=server.url, headers=headers, timeout=10)
                if case.formatted_path == "/readyz" and response.json().get("status") == "not_ready":
                    return  # 503 "not ready" is /readyz's documented answer with no worker running
                if response.status_code >= 500:
                    failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}: "
                                    f"{response.text[:200]}")

            run()
        assert failures == []
