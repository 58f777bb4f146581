"""Evidence files, stored by content: ``<root>/<sha[:2]>/<sha[2:4]>/<sha>``, written atomically.

The same file sent twice is stored once; a crash mid-write never leaves a partial file under the final name.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class StoredBlob:
    sha256: str
    path: str  # relative to the store's root
    size: int


class EvidenceStore:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    @staticmethod
    def relative(sha256: str) -> str:
        return f"{sha256[:2]}/{sha256[2:4]}/{sha256}"

    def put(self, data: bytes) -> StoredBlob:
        sha = hashlib.sha256(data).hexdigest()
        target = self.root / self.relative(sha)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(data)
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(tmp, target)  # atomic on POSIX: readers see the whole file or none
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        return StoredBlob(sha256=sha, path=self.relative(sha), size=len(data))

    def path(self, sha256: str) -> Path:
        return self.root / self.relative(sha256)

    def read(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()
