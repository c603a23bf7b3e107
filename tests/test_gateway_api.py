"""The HTTP API contract, over real HTTP against uvicorn on a free loopback port.

Jobs are finished the way a worker finishes them (claim, store the PNGs in the blob store,
``succeed``) so image delivery, SSE and webhooks are checked without waiting for a model.
The embedded worker end to end is covered by tests/test_web_browser.py.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
from PIL import Image

from pixelmill.config import Settings
from pixelmill.gateway.app import GatewayOptions, create_app
from pixelmill.gateway.live import LiveServer
from pixelmill.gateway.state import Gateway
from pixelmill.gateway.webhooks import EVENT_ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from pixelmill.jobs import JobImage, JobTimings
from pixelmill.safety.prefilter import PreFilter
from pixelmill.tiers import Policy, TierPolicy

BLOCK_WORD = "zzforbiddenzz"


@dataclass
class Api:
    """A running gateway and helpers to call it."""

    server: LiveServer
    gw: Gateway
    client: httpx.Client

    def user(self, name: str = "alice", tier: str = "pro") -> dict[str, str]:
        _user, key = self.gw.store.create_user(name, tier)
        return {"Authorization": f"Bearer {key}"}

    def imagine(self, headers: dict[str, str], prompt: str = "a lighthouse at dusk",
                **body: Any) -> httpx.Response:
        return self.client.post("/v1/imagine", json={"prompt": prompt, **body}, headers=headers)

    def finish(self, job_id: str, *, color: int = 0) -> list[str]:
        """Do what a worker does: claim the job, store four PNGs, mark it succeeded."""
        job = self.gw.store.get(job_id)
        claimed = self.gw.store.claim("test-worker", 50, job.model_id)
        assert job_id in [j.id for j in claimed]
        for other in claimed:
            if other.id != job_id:
                self.gw.store.release(other.id, other.attempt, "test-worker")
        mine = next(j for j in claimed if j.id == job_id)
        images = []
        for i in range(mine.n_images):
            buf = io.BytesIO()
            Image.new("RGB", (mine.width, mine.height), (color, 40 * i, 200)).save(buf, format="PNG")
            sha = self.gw.blobs.put_content(buf.getvalue())
            images.append(JobImage(sha, mine.width, mine.height, mine.seed + i, i))
        self.gw.bus.publish(job_id, {"type": "progress", "state": "running", "step": 1, "total": mine.steps})
        self.gw.store.succeed(job_id, mine.attempt, "test-worker", images, JobTimings(denoise_s=0.5), 0.5)
        self.gw.bus.publish(job_id, {"type": "completed", "state": "succeeded"})
        return [img.sha256 for img in images]


def small_policy() -> Policy:
    base = Policy()
    tiers = dict(base.tiers)
    tiers["free"] = TierPolicy(("draft", "relax"), 30, 3, 1, 2, 1.0)
    return Policy(tiers=tiers, default_mode=base.default_mode, ip_requests_per_hour=100_000)


@pytest.fixture(scope="module")
def prefilter(tmp_path_factory: pytest.TempPathFactory) -> PreFilter:
    rules = tmp_path_factory.mktemp("rules") / "safety_rules.txt"
    rules.write_text(f"{BLOCK_WORD}\tviolence_gore\n")
    return PreFilter.default(embedding=False, rules_path=rules)


def make_api(tmp_path: Path, prefilter: PreFilter, policy: Policy | None = None,
             settings: Settings | None = None, *, webhook_allow_private: bool = False,
             **options: Any) -> Iterator[Api]:
    settings = settings or Settings(database_url=f"sqlite:///{tmp_path / 'db.sqlite'}",
                                    blob_url=f"file://{tmp_path / 'blobs'}", events_url="memory://")
    if webhook_allow_private:
        settings = dataclasses.replace(settings, webhook_allow_private=True)
    app = create_app(settings, start_worker=False, policy=policy or small_policy(), prefilter=prefilter,
                     options=GatewayOptions(**options))
    with LiveServer(app) as server, httpx.Client(base_url=server.url, timeout=10) as client:
        yield Api(server, app.state.gateway, client)


@pytest.fixture(params=["embedded", "distributed"])
def api(request: pytest.FixtureRequest, tmp_path: Path, prefilter: PreFilter) -> Iterator[Api]:
    """The same contract on the embedded backends (SQLite, local folder, in-memory events and
    limits) and on the distributed ones (PostgreSQL, S3, Redis events and Redis rate limits)."""
    settings = None
    if request.param == "distributed":
        settings = Settings(database_url=request.getfixturevalue("pg_url"),
                            blob_url=f"s3://gw-{uuid.uuid4().hex[:12]}",
                            s3_endpoint=request.getfixturevalue("s3_endpoint"),
                            events_url=request.getfixturevalue("redis_url"))
    # The webhook test's receiver listens on 127.0.0.1: allowed as operators allow their LAN.
    yield from make_api(tmp_path, prefilter, settings=settings, max_body_bytes=16 * 1024,
                        webhook_base_s=0.05, webhook_allow_private=True)


def error_of(r: httpx.Response) -> dict[str, Any]:
    body = r.json()
    assert set(body) == {"error"}, body
    assert isinstance(body["error"]["code"], str) and body["error"]["message"]
    return body["error"]  # type: ignore[no-any-return]


# --- authentication ------------------------------------------------------------------------------
PRIVATE_ROUTES = [
    ("POST", "/v1/imagine", {"prompt": "a cat"}),
    ("GET", "/v1/jobs/{job}", None),
    ("GET", "/v1/jobs/{job}/events", None),
    ("POST", "/v1/jobs/{job}/cancel", None),
    ("POST", "/v1/jobs/{job}/actions", {"action": "reroll"}),
    ("GET", "/v1/me", None),
    ("GET", "/v1/me/jobs", None),
    ("GET", "/v1/me/export", None),
    ("DELETE", "/v1/me/data", None),
]


def test_every_private_route_needs_credentials(api: Api) -> None:
    alice = api.user()
    job = api.imagine(alice).json()["id"]
    for method, path, body in PRIVATE_ROUTES:
        for headers in ({}, {"Authorization": "Bearer pm_not-a-key"}, {"Authorization": "Basic abc"},
                        {"Authorization": "Bearer"}):
            r = api.client.request(method, path.format(job=job), json=body, headers=headers)
            assert r.status_code == 401, (method, path, headers, r.text)
            assert error_of(r)["code"] == "unauthorized"
    assert api.gw.store.get(job).state.value == "queued"  # nothing above touched the job


def test_another_users_job_is_404_on_every_route(api: Api) -> None:
    alice, bob = api.user("alice"), api.user("bob")
    job = api.imagine(alice).json()["id"]
    missing = "0" * 32
    for method, path, body in PRIVATE_ROUTES:
        if "{job}" not in path:
            continue
        foreign = api.client.request(method, path.format(job=job), json=body, headers=bob)
        absent = api.client.request(method, path.format(job=missing), json=body, headers=bob)
        assert foreign.status_code == 404, (method, path, foreign.text)
        assert foreign.json() == absent.json()  # no existence leak
    # Bob's history, export and data deletion do not see or touch Alice's job.
    assert api.client.get("/v1/me/jobs", headers=bob).json()["jobs"] == []
    assert api.client.get("/v1/me/export", headers=bob).json()["jobs"] == []
    assert api.client.delete("/v1/me/data", headers=bob).status_code == 200
    assert api.client.get(f"/v1/jobs/{job}", headers=alice).json()["status"] == "queued"


# --- submit, tiers, prompts -------------------------------------------------------------------------
def test_imagine_queues_a_job_with_the_tiers_budget(api: Api) -> None:
    alice = api.user(tier="pro")
    r = api.imagine(alice, "a lighthouse at dusk --ar 16:9 --seed 7")
    assert r.status_code == 202
    job = r.json()
    assert r.headers["location"] == f"/v1/jobs/{job['id']}"
    assert job["status"] == "queued" and job["queue_position"] == 0 and job["queue_estimate_s"] > 0
    assert job["tier"] == "pro" and job["mode"] == "fast" and job["step_budget"] == 80
    assert job["seed"] == 7 and job["width"] > job["height"]
    assert job["images"] == [] and job["parent"] is None
    stored = api.gw.store.get(job["id"])
    assert stored.step_budget == 80 and stored.mode == "fast" and stored.params["settings"]["seed"] == 7


def test_tier_comes_from_credentials_and_is_never_exceeded(api: Api) -> None:
    free = api.user("fred", tier="free")
    r = api.imagine(free, "a cat --fast")
    assert r.status_code == 403 and error_of(r)["code"] == "mode_not_allowed"
    r = api.imagine(free, "a cat --quality 4")  # 20 steps x 4 x draft 0.5 = 40 > 30
    assert r.status_code == 403 and error_of(r)["code"] == "step_budget_exceeded"
    assert "30" in error_of(r)["message"]
    r = api.imagine(free, "a cat", tier="pro")  # a tier in the body is refused, not obeyed
    assert r.status_code == 422
    ok = api.imagine(free, "a cat")
    assert ok.status_code == 202
    assert ok.json()["mode"] == "draft" and ok.json()["step_budget"] == 30 and ok.json()["steps"] <= 30
    assert len(api.client.get("/v1/me/jobs", headers=free).json()["jobs"]) == 1


def test_grammar_errors_carry_the_parsers_message(api: Api) -> None:
    alice = api.user()
    r = api.imagine(alice, "a cat --stylize 5000")
    err = error_of(r)
    assert r.status_code == 400 and err["code"] == "invalid_prompt" and err["param"] == "stylize"
    assert "1000" in err["message"]
    r = api.imagine(alice, "a cat --sref 123")
    assert r.status_code == 400 and error_of(r)["code"] == "unsupported_parameter"


def test_blocked_prompt_creates_no_job_and_repeats_restrict(api: Api) -> None:
    alice = api.user()
    r = api.imagine(alice, f"a scene with {BLOCK_WORD}")
    err = error_of(r)
    assert r.status_code == 400 and err["code"] == "prompt_blocked" and err["category"] == "violence_gore"
    assert BLOCK_WORD not in err["message"]  # never reveal the matched term
    assert api.client.get("/v1/me/jobs", headers=alice).json()["jobs"] == []
    assert sum(api.gw.store.lane_depths().values()) == 0
    for _ in range(4):  # the default tracker restricts at the fifth violation
        api.imagine(alice, f"{BLOCK_WORD} again")
    r = api.imagine(alice, "a harmless kitten")
    assert r.status_code == 403 and error_of(r)["code"] == "account_restricted"
    assert api.imagine(api.user("bob"), "a harmless kitten").status_code == 202


# --- bad input: always 4xx, never 5xx --------------------------------------------------------------
def test_bad_input_is_4xx(api: Api) -> None:
    alice = api.user()
    job = api.imagine(alice).json()["id"]
    as_json = {**alice, "Content-Type": "application/json"}
    cases = [
        api.client.post("/v1/imagine", content=b"{not json", headers=as_json),
        api.client.post("/v1/imagine", content=b"[1, 2]", headers=as_json),
        api.client.post("/v1/imagine", json={"prompt": 7}, headers=alice),
        api.client.post("/v1/imagine", json={}, headers=alice),
        api.client.post("/v1/imagine", json={"prompt": "x" * 3000}, headers=alice),
        api.client.post("/v1/imagine", content=b'{"prompt": "' + b"y" * 40_000 + b'"}',
                        headers={**alice, "Content-Type": "application/json"}),
        api.imagine(alice, "   "),
        api.imagine(alice, "a cat", webhook_url="ftp://example.test/x"),
        api.client.post("/v1/imagine", json={"prompt": "a cat"}, headers={**alice, "Idempotency-Key": "a b"}),
        api.client.get(f"/v1/jobs/{job}/events", headers={**alice, "Last-Event-ID": "not-an-id"}),
        api.client.get("/v1/me/jobs", params={"cursor": "garbage"}, headers=alice),
        api.client.get("/v1/me/jobs", params={"limit": 0}, headers=alice),
        api.client.get("/v1/jobs/..%2F..%2Fetc", headers=alice),
        api.client.post(f"/v1/jobs/{job}/actions", json={"action": "explode"}, headers=alice),
        api.client.post("/v1/session", json={}),
        api.client.get("/v1/images/abc.png"),
        api.client.get("/v1/nope"),
        api.client.put("/v1/imagine", json={}, headers=alice),
    ]
    statuses = [r.status_code for r in cases]
    assert all(400 <= s < 500 for s in statuses), statuses
    for r in cases:
        error_of(r)
    assert statuses[4] == 400 and error_of(cases[4])["code"] == "prompt_too_long"
    assert statuses[5] == 413 and error_of(cases[5])["code"] == "payload_too_large"


# --- idempotency ----------------------------------------------------------------------------------
def test_idempotency_key_returns_the_same_job(api: Api) -> None:
    alice, bob = api.user("alice"), api.user("bob")
    key = {"Idempotency-Key": "req-123"}
    first = api.client.post("/v1/imagine", json={"prompt": "a fox"}, headers={**alice, **key})
    again = api.client.post("/v1/imagine", json={"prompt": "a fox"}, headers={**alice, **key})
    assert first.status_code == again.status_code == 202
    assert first.json()["id"] == again.json()["id"] and first.json()["seed"] == again.json()["seed"]
    other = api.client.post("/v1/imagine", json={"prompt": "a wolf"}, headers={**alice, **key})
    assert other.status_code == 409 and error_of(other)["code"] == "idempotency_conflict"
    bobs = api.client.post("/v1/imagine", json={"prompt": "a fox"}, headers={**bob, **key})
    assert bobs.status_code == 202 and bobs.json()["id"] != first.json()["id"]
    assert len(api.client.get("/v1/me/jobs", headers=alice).json()["jobs"]) == 1


# --- rate limits ------------------------------------------------------------------------------------
def test_rate_limit_is_429_with_retry_after(api: Api) -> None:
    free = api.user("fred", tier="free")  # small_policy: 3 submits per minute, 2 queued
    codes = [api.imagine(free, f"cat {i}").status_code for i in range(2)]
    assert codes == [202, 202]
    r = api.imagine(free, "cat 3")  # third submit: under the per-minute limit, over the queue
    assert r.status_code == 429 and error_of(r)["scope"] == "queued"
    assert int(r.headers["Retry-After"]) >= 1
    r = api.imagine(free, "cat 4")  # fourth submit in the minute
    assert r.status_code == 429 and error_of(r)["scope"] == "user"
    assert 1 <= int(r.headers["Retry-After"]) <= 60 and error_of(r)["retry_after_s"] >= 1
    assert api.imagine(api.user("paula", tier="paid"), "cat").status_code == 202  # per user
    metrics = api.client.get("/metrics").text
    assert 'pixelmill_rate_limited_total{scope="user"}' in metrics


def test_per_ip_limit(tmp_path: Path, prefilter: PreFilter) -> None:
    policy = Policy(ip_requests_per_hour=3)
    for api in make_api(tmp_path, prefilter, policy):
        alice = api.user()
        codes = [api.client.get("/v1/me", headers=alice).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]


# --- reading jobs: view, history, cancel, SSE -------------------------------------------------------
def test_history_pages_newest_first_and_searches(api: Api) -> None:
    alice = api.user()
    ids = [api.imagine(alice, f"{'red' if i % 2 else 'blue'} bird {i}").json()["id"] for i in range(5)]
    def page(cursor: str | None) -> dict[str, Any]:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        return api.client.get("/v1/me/jobs", params=params, headers=alice).json()  # type: ignore[no-any-return]

    page1 = page(None)
    page2 = page(page1["next_cursor"])
    page3 = page(page2["next_cursor"])
    seen = [j["id"] for j in page1["jobs"] + page2["jobs"] + page3["jobs"]]
    assert seen == ids[::-1] and page3["next_cursor"] is None
    red = api.client.get("/v1/me/jobs", params={"q": "RED"}, headers=alice).json()["jobs"]
    assert sorted(j["id"] for j in red) == sorted([ids[1], ids[3]])


def test_cancel(api: Api) -> None:
    alice = api.user()
    job = api.imagine(alice).json()["id"]
    r = api.client.post(f"/v1/jobs/{job}/cancel", headers=alice)
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    done = api.imagine(alice).json()["id"]
    api.finish(done)
    r = api.client.post(f"/v1/jobs/{done}/cancel", headers=alice)
    assert r.status_code == 409 and error_of(r)["code"] == "not_cancellable"


def sse_events(client: httpx.Client, url: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    with client.stream("GET", url, headers=headers) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        for line in r.iter_lines():
            if line.startswith("id: "):
                current["id"] = line[4:]
            elif line.startswith("event: "):
                current["event"] = line[7:]
            elif line.startswith("data: "):
                current["data"] = json.loads(line[6:])
            elif line == "" and current:
                events.append(current)
                current = {}
    return events


def test_sse_streams_progress_and_resumes_after_last_event_id(api: Api) -> None:
    alice = api.user()
    job = api.imagine(alice).json()["id"]
    api.finish(job)
    events = sse_events(api.client, f"/v1/jobs/{job}/events", alice)
    assert [e["event"] for e in events] == ["snapshot", "queued", "progress", "completed"]
    assert events[0]["data"]["id"] == job and "id" not in events[0]
    assert events[2]["data"]["step"] == 1 and events[3]["data"]["status"] == "succeeded"
    resumed = sse_events(api.client, f"/v1/jobs/{job}/events", {**alice, "Last-Event-ID": events[1]["id"]})
    assert [e["event"] for e in resumed] == ["progress", "completed"]
    assert [e["id"] for e in resumed] == [events[2]["id"], events[3]["id"]]


def test_sse_waits_for_live_events(api: Api) -> None:
    alice = api.user()
    job = api.imagine(alice).json()["id"]
    got: list[dict[str, Any]] = []
    url = f"/v1/jobs/{job}/events"
    reader = threading.Thread(target=lambda: got.extend(sse_events(api.client, url, alice)))
    reader.start()
    time.sleep(0.5)
    api.finish(job)
    reader.join(timeout=20)
    assert not reader.is_alive() and got[-1]["event"] == "completed"


# --- images ----------------------------------------------------------------------------------------
def test_image_etag_immutable_cache_and_304(api: Api) -> None:
    alice = api.user()
    job = api.imagine(alice, "a red kite").json()["id"]
    api.finish(job)
    view = api.client.get(f"/v1/jobs/{job}", headers=alice).json()
    assert view["status"] == "succeeded" and len(view["images"]) == 4
    assert [img["index"] for img in view["images"]] == [0, 1, 2, 3]
    url = view["images"][0]["url"]
    r = api.client.get(url)  # public image: no credentials needed
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    sha = url.rsplit("/", 1)[1].removesuffix(".png")
    assert hashlib.sha256(r.content).hexdigest() == sha
    assert r.headers["etag"] == f'"{sha}"'
    assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
    again = api.client.get(url, headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == r.headers["etag"]
    assert api.client.get(url, headers={"If-None-Match": '"other"'}).status_code == 200
    assert api.client.get(f"/v1/images/{'0' * 64}.png").status_code == 404


def test_stealth_images_only_for_their_owner(api: Api) -> None:
    alice, bob = api.user("alice"), api.user("bob")
    job = api.imagine(alice, "a secret garden", private=True).json()["id"]
    api.finish(job, color=99)
    url = api.client.get(f"/v1/jobs/{job}", headers=alice).json()["images"][0]["url"]
    mine = api.client.get(url, headers=alice)
    assert mine.status_code == 200 and mine.headers["cache-control"].startswith("private")
    for headers in ({}, bob, {"Authorization": "Bearer wrong"}):
        r = api.client.get(url, headers=headers)
        assert r.status_code == 404 and error_of(r)["code"] == "not_found"
    assert api.client.get(url, headers={**bob, "If-None-Match": mine.headers["etag"]}).status_code == 404


# --- follow-ups ------------------------------------------------------------------------------------
def test_reroll_is_a_child_of_its_parent(api: Api) -> None:
    alice = api.user()
    parent = api.imagine(alice, "a castle --seed 5").json()["id"]
    r = api.client.post(f"/v1/jobs/{parent}/actions", json={"action": "reroll"}, headers=alice)
    assert r.status_code == 409  # not finished yet
    api.finish(parent)
    r = api.client.post(f"/v1/jobs/{parent}/actions", json={"action": "reroll"}, headers=alice)
    assert r.status_code == 202
    child = r.json()
    assert child["kind"] == "reroll" and child["parent"]["id"] == parent and child["seed"] != 5
    view = api.client.get(f"/v1/jobs/{parent}", headers=alice).json()
    assert [c["id"] for c in view["children"]] == [child["id"]]
    caps = api.client.get("/v1/capabilities").json()
    assert "reroll" in caps["actions"] and set(caps["actions"]) <= set(caps["all_actions"])


# --- account data -----------------------------------------------------------------------------------
def test_export_and_delete_my_data(api: Api) -> None:
    alice = api.user()
    job = api.imagine(alice, "a blue whale").json()["id"]
    api.finish(job)
    url = api.client.get(f"/v1/jobs/{job}", headers=alice).json()["images"][0]["url"]
    export = api.client.get("/v1/me/export", headers=alice)
    assert export.status_code == 200 and "attachment" in export.headers["content-disposition"]
    assert [j["id"] for j in export.json()["jobs"]] == [job]
    r = api.client.delete("/v1/me/data", headers=alice)
    assert r.status_code == 200 and r.json()["deleted_blobs"] >= 4
    assert api.client.get(url).status_code == 404
    assert api.client.get("/v1/me", headers=alice).status_code == 401  # keys are revoked too


# --- sessions (the web app) ---------------------------------------------------------------------------
def test_signin_link_is_one_time_and_sessions_need_the_client_header(api: Api) -> None:
    user, _key = api.gw.store.create_user("local", "pro")
    token = api.gw.signin.issue(user.id)
    r = api.client.post("/v1/session", json={"signin_token": token})
    assert r.status_code == 200 and r.json()["name"] == "local"
    cookie = r.cookies["pixelmill_session"]
    set_cookie = r.headers["set-cookie"].lower()
    assert "httponly" in set_cookie and "samesite=strict" in set_cookie
    assert api.client.post("/v1/session", json={"signin_token": token}).status_code == 401
    fresh = httpx.Client(base_url=api.server.url, cookies={"pixelmill_session": cookie})
    with fresh:
        assert fresh.get("/v1/me").json()["id"] == user.id
        r = fresh.post("/v1/imagine", json={"prompt": "a cat"})
        assert r.status_code == 403  # CSRF guard: no X-Pixelmill-Client header
        r = fresh.post("/v1/imagine", json={"prompt": "a cat"}, headers={"X-Pixelmill-Client": "web"})
        assert r.status_code == 202
    tampered = httpx.Client(base_url=api.server.url, cookies={"pixelmill_session": cookie[:-2] + "xx"})
    with tampered:
        assert tampered.get("/v1/me").status_code == 401


# --- webhooks ----------------------------------------------------------------------------------------
class Receiver(BaseHTTPRequestHandler):
    calls: ClassVar[list[tuple[dict[str, str], bytes]]] = []
    fail_first = 1

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).calls.append((dict(self.headers), body))
        status = 500 if len(type(self).calls) <= type(self).fail_first else 204
        self.send_response(status)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_webhook_is_signed_and_retried(api: Api) -> None:
    Receiver.calls = []
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=receiver.serve_forever, daemon=True)
    thread.start()
    try:
        alice = api.user()
        secret = api.client.get("/v1/me", headers=alice).json()["webhook_secret"]
        hook = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
        job = api.imagine(alice, "a sailboat", webhook_url=hook).json()["id"]
        api.finish(job)
        deadline = time.monotonic() + 15
        while len(Receiver.calls) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        receiver.shutdown()
    assert len(Receiver.calls) == 2  # one failure (500), one retry that succeeded
    ids = set()
    for headers, body in Receiver.calls:
        lower = {k.lower(): v for k, v in headers.items()}
        assert verify(secret, int(lower[TIMESTAMP_HEADER.lower()]), body, lower[SIGNATURE_HEADER.lower()])
        assert not verify("wrong-secret", int(lower[TIMESTAMP_HEADER.lower()]), body,
                          lower[SIGNATURE_HEADER.lower()])
        event = json.loads(body)
        ids.add(lower[EVENT_ID_HEADER.lower()])
        assert event["type"] == "job.succeeded" and event["job"]["id"] == job
        assert len(event["job"]["images"]) == 4
    assert len(ids) == 1  # a redelivery carries the same event id


# --- operations ------------------------------------------------------------------------------------
def test_health_readiness_and_metrics(api: Api) -> None:
    assert api.client.get("/healthz").json() == {"status": "ok"}
    ready = api.client.get("/readyz")
    checks = ready.json()["checks"]
    assert checks["store"]["ok"] and checks["blobs"]["ok"]
    assert ready.status_code == (200 if checks["worker"]["ok"] else 503)
    alice = api.user()
    api.imagine(alice)
    text = api.client.get("/metrics").text
    assert 'pixelmill_queue_depth{lane="pro"} 1.0' in text
    assert 'pixelmill_http_requests_total{route="/v1/imagine",status="202"}' in text
    assert "pixelmill_e2e_seconds" in text and "pixelmill_denoise_seconds" in text


def test_web_app_is_served(api: Api) -> None:
    page = api.client.get("/")
    assert page.status_code == 200 and 'id="prompt-input"' in page.text
    assert api.client.get("/app.js").headers["content-type"].startswith("text/javascript")
    assert api.client.get("/app.css").status_code == 200
