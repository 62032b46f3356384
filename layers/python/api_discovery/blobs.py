"""Where snapshots, manifests and results go: an S3 bucket, or a local folder for scans from a laptop."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Protocol


class BlobStore(Protocol):
    def put(self, key: str, data: bytes, content_type: str = "application/json") -> str:
        """Store the bytes under key and return their URI."""
        ...

    def get(self, key: str) -> bytes: ...

    def open(self, key: str) -> IO[bytes]:
        """The object as a stream, for files too large to hold at once (map results, run target files)."""
        ...

    def keys(self, prefix: str) -> list[str]: ...

    def uri(self, key: str) -> str: ...


def read_lines(stream: IO[bytes], chunk: int = 1 << 20) -> Iterator[bytes]:
    """The non-empty lines of a stream, a chunk at a time (an S3 body iterates in chunks, not lines)."""
    pending = b""
    with stream:
        while block := stream.read(chunk):
            pending += block
            *lines, pending = pending.split(b"\n")
            yield from (line for line in lines if line.strip())
    if pending.strip():
        yield pending


class S3BlobStore:
    def __init__(self, client: Any, bucket: str) -> None:
        self.client = client
        self.bucket = bucket

    def put(self, key: str, data: bytes, content_type: str = "application/json") -> str:
        self.client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)
        return self.uri(key)

    def get(self, key: str) -> bytes:
        body: bytes = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return body

    def open(self, key: str) -> IO[bytes]:
        stream: IO[bytes] = self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
        return stream

    def keys(self, prefix: str) -> list[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        return [
            o["Key"] for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix) for o in page.get("Contents", [])
        ]

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"


class LocalBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, key: str, data: bytes, content_type: str = "application/json") -> str:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)  # never leave a half-written snapshot behind
        return self.uri(key)

    def get(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def open(self, key: str) -> IO[bytes]:
        return self._path(key).open("rb")

    def keys(self, prefix: str) -> list[str]:
        if not self.root.exists():
            return []
        found = (p.relative_to(self.root).as_posix() for p in self.root.rglob("*") if p.is_file())
        return sorted(k for k in found if k.startswith(prefix) and not k.endswith(".tmp"))

    def uri(self, key: str) -> str:
        return str(self._path(key))

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ValueError(f"key escapes the store: {key!r}")
        return path
