"""A real S3-compatible server for the tests: ``moto`` in server mode (``moto[server]``, in the
``test`` extra) on a free loopback port, as its own process; Ray's and pyarrow's S3 clients reach
it through ``AWS_ENDPOINT_URL``, the same variable a user sets for MinIO or Ceph."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

START_S = 60.0          # an upper bound under CI load, not a timing


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class S3Server:
    """``moto_server`` on ``port``; ``env`` holds what a client (driver or Ray node) needs."""
    port: int
    log: Path
    proc: subprocess.Popen | None = None
    env: dict[str, str] = field(default_factory=dict)

    def start(self) -> "S3Server":
        with open(self.log, "ab") as handle:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + START_S
        while not _port_open(self.port):
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"moto_server did not start:\n"
                                   f"{self.log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.2)
        # moto accepts any credentials; the SDKs need some, and a region.
        self.env = {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{self.port}",
                    "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                    "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"}
        return self

    def filesystem(self):
        """A pyarrow S3 filesystem on this server (it may create buckets)."""
        from pyarrow import fs

        return fs.S3FileSystem(endpoint_override=f"127.0.0.1:{self.port}", scheme="http",
                               access_key="testing", secret_key="testing", region="us-east-1",
                               allow_bucket_creation=True)

    def make_bucket(self, name: str) -> None:
        """Create ``name`` and write one object into it: a server that cannot take pyarrow's
        uploads fails here, with its version, not minutes later inside a study."""
        filesystem = self.filesystem()
        filesystem.create_dir(name)
        try:
            with filesystem.open_output_stream(f"{name}/.probe") as stream:
                stream.write(b"probe")
            filesystem.delete_file(f"{name}/.probe")
        except OSError as error:
            from importlib.metadata import version

            raise RuntimeError(f"moto {version('moto')} at port {self.port} refuses pyarrow "
                               f"{version('pyarrow')}'s upload ({error}); the test extra needs "
                               f"a moto that takes it (pyproject.toml)") from error

    def keys(self, prefix: str) -> list[str]:
        """Every object under ``bucket/prefix``."""
        from pyarrow import fs

        infos = self.filesystem().get_file_info(fs.FileSelector(prefix, recursive=True,
                                                                allow_not_found=True))
        return [i.path for i in infos if i.type == fs.FileType.File]

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)
