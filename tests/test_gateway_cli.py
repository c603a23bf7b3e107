"""``pixelmill users add`` and ``pixelmill serve`` as a newcomer runs them (real processes)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx

from pixelmill.gateway.live import free_port

PIXELMILL = [sys.executable, "-c", "from pixelmill.cli import main; main()"]


def env_for(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIXELMILL_")}
    return {**env, "PIXELMILL_HOME": str(home)}


def test_users_add_prints_the_key_once_as_json(tmp_path: Path) -> None:
    out = subprocess.run([*PIXELMILL, "users", "add", "carol", "--tier", "paid", "--json"],
                         env=env_for(tmp_path), capture_output=True, text=True, timeout=120, check=True)
    data = json.loads(out.stdout)
    assert data["user"] == "carol" and data["tier"] == "paid" and data["api_key"].startswith("pm_")
    db = (tmp_path / "pixelmill.db").read_bytes()
    assert data["api_key"].encode() not in db  # only the key's hash is stored
    bad = subprocess.run([*PIXELMILL, "users", "add", "dave", "--tier", "gold"], env=env_for(tmp_path),
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "gold" in bad.stderr


def test_serve_prints_the_url_and_a_one_time_sign_in_link(tmp_path: Path) -> None:
    port = free_port()
    env = {**env_for(tmp_path), "PIXELMILL_PREFILTER_EMBEDDING": "0"}  # faster start; same routes
    proc = subprocess.Popen([*PIXELMILL, "serve", "--port", str(port), "--no-worker"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines: list[str] = []
        deadline = time.monotonic() + 120
        assert proc.stdout is not None
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            lines.append(line)
            if "Sign in" in line or not line:
                break
        text = "".join(lines)
        assert f"http://127.0.0.1:{port}" in text, text
        match = re.search(r"#signin=([A-Za-z0-9_-]+)", text)
        assert match, text
        base = f"http://127.0.0.1:{port}"
        while time.monotonic() < deadline:
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        first = httpx.post(base + "/v1/session", json={"signin_token": match.group(1)})
        assert first.status_code == 200 and first.json()["tier"] == "pro" and first.json()["name"] == "local"
        again = httpx.post(base + "/v1/session", json={"signin_token": match.group(1)})
        assert again.status_code == 401  # one time only
    finally:
        proc.terminate()
        proc.wait(timeout=30)
