"""Pytest plugin: real servers for integration tests (PostgreSQL, Redis, moto S3) on loopback.

Each server starts once per session from the installed binaries (see
:mod:`pixelmill.testing.servers`); a test that needs one that is missing is skipped with a
message saying what to install. Parametrised fixtures run the same behavioural test on the
embedded backend and on the real one:

- ``job_store``: SqliteJobStore | PostgresJobStore (a fresh database per test)
- ``event_bus``: MemoryEventBus | RedisEventBus (a flushed server per test)
- ``blob_store``: LocalBlobStore | S3BlobStore (a fresh bucket per test)
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pixelmill.testing.servers import (
    HOW_TO_ENABLE,
    MotoS3Server,
    PostgresServer,
    RedisServer,
    find_postgres,
    find_redis,
)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    if find_postgres() is None:
        pytest.skip("PostgreSQL not found: " + HOW_TO_ENABLE["postgres"])
    server = PostgresServer().start()
    try:
        yield server
    finally:
        server.stop(remove=True)


@pytest.fixture(scope="session")
def _pg_test_db(pg_server: PostgresServer) -> str:
    return pg_server.fresh_database("pixelmill_test")


@pytest.fixture
def pg_url(_pg_test_db: str) -> str:
    """An empty database on the session's PostgreSQL (its schema is dropped before each test:
    much faster than CREATE DATABASE)."""
    import psycopg

    with psycopg.connect(_pg_test_db, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
    return _pg_test_db


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    if find_redis() is None:
        pytest.skip("redis-server not found: " + HOW_TO_ENABLE["redis"])
    server = RedisServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    import redis

    redis.Redis.from_url(redis_server.url).flushall()
    return redis_server.url


@pytest.fixture(scope="session")
def s3_server() -> Iterator[MotoS3Server]:
    try:
        server = MotoS3Server()
    except ImportError:
        pytest.skip("moto server not importable: " + HOW_TO_ENABLE["s3"])
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                        ("AWS_DEFAULT_REGION", "us-east-1")):
        os.environ.setdefault(name, value)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def s3_endpoint(s3_server: MotoS3Server) -> str:
    return s3_server.endpoint


@pytest.fixture(params=["sqlite", "postgres"])
def job_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'jobs.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def job_store(job_store_url: str) -> Iterator[Any]:
    from pixelmill.store import open_job_store

    store = open_job_store(job_store_url)
    try:
        yield store
    finally:
        store.close()


@pytest.fixture(params=["memory", "redis"])
def event_bus(request: pytest.FixtureRequest) -> Iterator[Any]:
    from pixelmill.store import open_event_bus

    url = "memory://" if request.param == "memory" else str(request.getfixturevalue("redis_url"))
    bus = open_event_bus(url)
    try:
        yield bus
    finally:
        bus.close()


@pytest.fixture(params=["local", "s3"])
def blob_store(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    from pixelmill.store import open_blob_store

    if request.param == "local":
        return open_blob_store(f"file://{tmp_path / 'blobs'}")
    endpoint = str(request.getfixturevalue("s3_endpoint"))
    return open_blob_store(f"s3://b-{uuid.uuid4().hex[:12]}", s3_endpoint=endpoint)
