"""Blob store contract on the local folder and on S3 (moto's real HTTP server)."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from pixelmill.store import open_blob_store
from pixelmill.store.blobs import BlobStore


def test_blob_store_contract(blob_store: Any) -> None:
    assert isinstance(blob_store, BlobStore)
    blob_store.put("a/b.bin", b"one")
    blob_store.put("a/b.bin", b"two")  # overwrite
    assert blob_store.get("a/b.bin") == b"two" and blob_store.exists("a/b.bin")
    blob_store.put("a/c.bin", b"3")
    blob_store.put("z.bin", b"4")
    assert sorted(blob_store.list("a/")) == ["a/b.bin", "a/c.bin"]
    blob_store.delete("a/b.bin")
    assert not blob_store.exists("a/b.bin")
    with pytest.raises(KeyError):
        blob_store.get("a/b.bin")
    blob_store.delete("never/there")  # deleting a missing key is fine


def test_content_addressing(blob_store: Any) -> None:
    data = b"\x89PNG fake image bytes"
    digest = blob_store.put_content(data)
    assert digest == hashlib.sha256(data).hexdigest()
    assert blob_store.get(f"images/{digest}.png") == data
    assert blob_store.put_content(data) == digest
    assert list(blob_store.list("images/")) == [f"images/{digest}.png"]


@pytest.mark.parametrize("key", ["../etc/passwd", "/abs", "a//b", "a/./b", "sp ace"])
def test_bad_keys_are_refused(blob_store: Any, key: str) -> None:
    with pytest.raises(ValueError, match="invalid blob key"):
        blob_store.put(key, b"x")


def test_open_blob_store_urls(tmp_path: Any) -> None:
    assert open_blob_store(f"file://{tmp_path}/b").root == tmp_path / "b"  # type: ignore[attr-defined]
    assert open_blob_store(str(tmp_path / "c")).root == tmp_path / "c"  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="use file:///PATH or s3://BUCKET"):
        open_blob_store("ftp://x")


def test_s3_prefix_is_applied(s3_endpoint: str) -> None:
    store = open_blob_store("s3://prefixed/tenant1", s3_endpoint=s3_endpoint)
    store.put("k.bin", b"x")
    raw = store.client.list_objects_v2(Bucket="prefixed")["Contents"]  # type: ignore[attr-defined]
    assert [o["Key"] for o in raw] == ["tenant1/k.bin"]
    assert list(store.list()) == ["k.bin"]


def test_local_list_walks_only_the_prefix_folder(tmp_path: Any, monkeypatch: Any) -> None:
    from pathlib import Path

    from pixelmill.store.blobs import LocalBlobStore

    store = LocalBlobStore(tmp_path)
    j1 = ["checkpoints/j1/0/000010.ckpt", "checkpoints/j1/1/000010.ckpt"]
    for key in (*j1, "checkpoints/j2/0/000010.ckpt", "images/abc.png"):
        store.put(key, b"x")
    assert list(store.list("checkpoints/j1/")) == j1
    assert list(store.list("checkpoints/j")) == [*j1, "checkpoints/j2/0/000010.ckpt"]
    assert list(store.list("nothing/here/")) == []
    assert len(list(store.list())) == 4
    walked: list[Path] = []
    real_rglob = Path.rglob

    def spy(self: Path, pattern: str) -> Any:
        walked.append(self)
        return real_rglob(self, pattern)

    monkeypatch.setattr(Path, "rglob", spy)
    list(store.list("checkpoints/j1/"))
    assert walked == [tmp_path / "checkpoints" / "j1"]  # not the whole store
