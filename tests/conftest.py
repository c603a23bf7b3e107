"""Shared test set-up: every test session gets its own PIXELMILL_HOME (removed at exit).

The home is always a fresh temporary folder, even when the caller exported one (the Makefile
does): tests must never read or write a user's real ``~/.pixelmill``.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

_home = tempfile.mkdtemp(prefix="pixelmill-test-home-")
os.environ["PIXELMILL_HOME"] = _home
atexit.register(shutil.rmtree, _home, ignore_errors=True)
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

pytest_plugins = ["tests.servers"]  # real PostgreSQL / Redis / S3 servers for integration tests
