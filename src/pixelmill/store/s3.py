"""S3 blob store (distributed): the :class:`~pixelmill.store.blobs.BlobStore` contract on a bucket.

Works with AWS S3 and S3-compatible servers (MinIO, Ceph, moto) through ``endpoint_url``.
Credentials come from boto3's usual chain (environment, config files, instance role). A
``put`` is one PUT request, which S3 makes atomic: readers see the old object, the new one or
nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pixelmill.store.blobs import check_key, put_content


class S3BlobStore:
    """Blobs as objects of ``bucket`` under an optional ``prefix``.

    - ``endpoint_url``: an S3-compatible server (``PIXELMILL_S3_ENDPOINT``); None means AWS.
    - ``create_bucket``: create the bucket when it does not exist (handy for local servers).
    - ``client``: a ready boto3 S3 client (overrides ``endpoint_url``/``region``).
    """

    def __init__(self, bucket: str, *, prefix: str = "", endpoint_url: str | None = None,
                 region: str = "us-east-1", create_bucket: bool = False, client: Any = None) -> None:
        import boto3

        if not bucket:
            raise ValueError("S3 bucket name: must not be empty (s3://BUCKET[/prefix])")
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.client = client or boto3.client("s3", endpoint_url=endpoint_url, region_name=region)
        if create_bucket:
            try:
                self.client.head_bucket(Bucket=bucket)
            except self.client.exceptions.ClientError:
                self.client.create_bucket(Bucket=bucket)

    def _key(self, key: str) -> str:
        return self.prefix + check_key(key)

    def put(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)

    def get(self, key: str) -> bytes:
        try:
            obj = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        except self.client.exceptions.NoSuchKey:
            raise KeyError(key) from None
        return bytes(obj["Body"].read())

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except self.client.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                return False
            raise
        return True

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def list(self, prefix: str = "") -> Iterator[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix):
            for obj in page.get("Contents", []):
                yield obj["Key"][len(self.prefix):]

    def put_content(self, data: bytes, suffix: str = ".png") -> str:
        return put_content(self, data, suffix)
