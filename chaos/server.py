"""`zakops serve` as a subprocess on a fixed port, which a scenario may SIGKILL and start
again (clients reconnect to the same address). Built on bench/http.py's launcher."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path
from types import TracebackType

from bench.http import free_port, launch, stop, wait_healthy
from entrypoints.settings import Settings


class Restartable:
    def __init__(self, settings: Settings, log: Path) -> None:
        self.settings = settings
        self.log = log  # the server's stderr, across restarts
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self._process is not None, "not started"
        return self._process.pid

    def start(self) -> None:
        self._process, _ = launch(self.settings, port=self.port, log=self.log)
        try:
            wait_healthy(self._process, self.base)
        except BaseException:
            stop(self._process)
            raise

    def kill(self) -> None:
        """SIGKILL, as a crash or the OOM killer would; waits until it is gone."""
        os.kill(self.pid, signal.SIGKILL)
        assert self._process is not None
        self._process.wait()

    def stop(self) -> None:
        if self._process is not None:
            stop(self._process)

    def __enter__(self) -> Restartable:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
