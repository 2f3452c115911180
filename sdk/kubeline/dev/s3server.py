"""A throwaway real S3 server (versitygw over a temporary folder) on loopback.

Used by benchmarks and tests that need S3 but not a cluster::

    with local_s3() as s3:
        fs = s3fs.S3FileSystem(key=s3["access_key"], secret=s3["secret_key"],
                               client_kwargs={"endpoint_url": s3["endpoint"]})
"""

from __future__ import annotations

import contextlib
import secrets
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from kubeline.dev.gobuild import tool_path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def local_s3(bucket: str = "kubeline", data_dir: Path | None = None,
             accounts: bool = False) -> Iterator[dict[str, str]]:
    """Start versitygw on 127.0.0.1 with ``bucket``; yields endpoint, bucket and credentials
    (the root account's). ``accounts``: with versitygw's own accounts (``--iam-dir``), for
    ``kubeline.dev.s3_identities``."""
    binary = tool_path("versitygw")
    access, secret = "test" + secrets.token_hex(4), secrets.token_hex(16)
    with contextlib.ExitStack() as stack:
        root = data_dir or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="kl-s3-")))
        (root / bucket).mkdir(parents=True, exist_ok=True)
        port = _free_port()
        iam: list[str] = []
        if accounts:
            iam_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="kl-iam-")))
            iam = ["--iam-dir", str(iam_dir)]
        proc = subprocess.Popen(
            [str(binary), "--port", f"127.0.0.1:{port}", *iam, "posix", str(root)],
            env={"ROOT_ACCESS_KEY": access, "ROOT_SECRET_KEY": secret, "PATH": "/usr/bin:/bin"},
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        try:
            deadline = time.monotonic() + 20
            while True:
                if proc.poll() is not None:
                    err = proc.stderr.read().decode() if proc.stderr else ""
                    raise RuntimeError(f"versitygw exited: {err[-2000:]}")
                with contextlib.suppress(OSError), socket.create_connection(
                        ("127.0.0.1", port), timeout=0.5):
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError("versitygw did not listen within 20s")
                time.sleep(0.05)
            yield {"endpoint": f"http://127.0.0.1:{port}", "bucket": bucket,
                   "access_key": access, "secret_key": secret, "region": "us-east-1"}
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
