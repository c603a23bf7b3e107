"""Shared test set-up: every test session gets its own PIXELMILL_HOME; torch uses few threads."""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("PIXELMILL_HOME", tempfile.mkdtemp(prefix="pixelmill-test-home-"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

pytest_plugins = ["tests.servers"]  # real PostgreSQL / Redis / S3 servers for integration tests
