"""A PostgreSQL cluster of a test's own, on another port and socket directory, that the test
may stop, restart and kill -9 (never the shared server on 5432).

Built with the server's own `initdb` and `pg_ctl`, run as the `postgres` user when the tests
run as root (PostgreSQL refuses to run as root)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.postgres import postgres_unavailable


def _bin_dir() -> Path | None:
    root = Path("/usr/lib/postgresql")
    versions = sorted(
        (p for p in root.glob("*/bin") if (p / "initdb").exists()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    return versions[-1] if versions else None


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Cluster:
    bin_dir: Path
    data: Path
    sockets: Path
    port: int

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *command: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*prefix, *command], check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c full_page_writes=off"
        )
        log = str(self.sockets.parent / "server.log")  # not our pipe: the server outlives pg_ctl
        self._run(
            str(self.bin_dir / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            log,
            "-o",
            options,
            "-w",
            "start",
        )

    def stop(self) -> None:
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def kill(self) -> None:
        """kill -9 the postmaster (its backends exit when they notice)."""
        pid = int((self.data / "postmaster.pid").read_text().split()[0])
        os.kill(pid, signal.SIGKILL)

    def running(self) -> bool:
        pid_file = self.data / "postmaster.pid"
        if not pid_file.exists():
            return False
        try:
            os.kill(int(pid_file.read_text().split()[0]), 0)
        except (ProcessLookupError, ValueError):
            return False
        return True


@contextmanager
def own_cluster() -> Iterator[Cluster]:
    bin_dir = _bin_dir()
    if bin_dir is None or (shutil.which("runuser") is None and os.geteuid() == 0):
        postgres_unavailable("no initdb/pg_ctl (or runuser) to start a cluster of our own")
        raise AssertionError("unreachable")
    base = Path(tempfile.mkdtemp(prefix="zakops-pg-"))
    data, sockets = base / "data", base / "sockets"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
        shutil.chown(sockets, "postgres")
    cluster = Cluster(bin_dir, data, sockets, _free_port())
    try:
        cluster._run(
            str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"
        )
        cluster.start()
        yield cluster
    finally:
        if cluster.running():
            cluster.kill()
        shutil.rmtree(base, ignore_errors=True)
