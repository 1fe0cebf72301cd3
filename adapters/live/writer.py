"""A few threads per process (one per core, up to four) write the live streams' bytes to
their sockets.

A live stream's socket, once the stream owns it (adapters/http/sse.py), is an `Outlet`: a
file descriptor of its own, watched by the event loop for the client leaving. Writing an
event to a thousand sockets holds the interpreter lock for every `send` when the event
loop does it, and the requests served meanwhile (a write's answer) wait for the lock; a
writer thread's `os.write` lets go of it during each system call, so the loop and the
request threads run while the kernel copies. The loop hands each thread its share of a
batch per loop turn: the bytes are the hub's, encoded once and shared by every stream.

Order and lifetime: the loop queues an outlet's writes in order; one thread, always the
same for that outlet, writes them in that order. A socket that does not take all of a
write (a slow client) is `behind`: from then on the thread hands every later write back
to the loop, which keeps them in the outlet's backlog and writes them when the socket is
writable (the stream's budget bounds the backlog, see `LiveStream.deliver`). Only the
outlet's thread closes the descriptor, after the loop stopped watching it and after every
write queued before, so no write can reach a descriptor number that a new connection has
reused.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import queue
import sys
import threading
from collections.abc import Callable

log = logging.getLogger("zakops.live")

# Threads that write: each `write` lets go of the interpreter lock while the kernel copies,
# so two threads send on two cores at once and a write's fan-out to 1,000 streams ends
# sooner (README, part (8)). Past a few, the Python between the system calls, under the
# lock, is what they would wait for.
THREADS = max(1, min(4, os.cpu_count() or 1))
# How much lower the writer threads' scheduling priority is than the process's (a nice
# increment, Linux only): when a fan-out and a request want the same core, the request
# (the event loop) gets it first and the fan-out takes what is left (README, part (8)).
YIELD = 15
DATA, FINISH, CLOSE = 0, 1, 2  # write; write then end the connection; close the descriptor
Batch = list[tuple["Outlet", bytes, int]]


class Outlet:
    """A stream's socket: written by one of the `SocketWriter`'s threads, watched by the
    loop."""

    __slots__ = (
        "_lost",
        "backlog",
        "behind",
        "broken",
        "closing",
        "fd",
        "gone",
        "loop",
        "writer",
    )

    def __init__(
        self,
        fd: int,
        loop: asyncio.AbstractEventLoop,
        writer: SocketWriter,
        lost: Callable[[], None],
    ) -> None:
        self.fd = fd
        self.loop = loop
        self.writer = writer
        self._lost = lost
        # the loop's
        self.backlog: bytearray | None = None  # what a slow client's socket did not take yet
        self.closing = False  # end the connection once the backlog is written
        self.gone = False  # no longer watched; the thread closes the descriptor
        # the thread's
        self.behind = False  # the socket once took less than a write: the loop writes
        self.broken = False
        loop.add_reader(fd, self._readable)

    # On the loop's thread.

    def send(self, data: bytes, finish: bool = False) -> None:
        """Write `data` after everything sent before; with `finish`, then end."""
        if not self.gone:
            self.writer.queue(self, data, FINISH if finish else DATA)

    @property
    def pending(self) -> int:
        """Bytes waiting for a slow client (besides what the kernel holds)."""
        return len(self.backlog) if self.backlog is not None else 0

    def abort(self) -> None:
        """End the connection now, as a network failure would."""
        self._lose()

    def _readable(self) -> None:
        try:
            data = os.read(self.fd, 4096)  # a client says nothing on a stream: dropped
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._lose()  # the client left

    def _later(self, data: bytes, finish: bool) -> None:
        """From the thread: what the socket did not take, to write when it is writable."""
        if self.gone:
            return
        if data:
            if self.backlog is None:
                self.backlog = bytearray()
                self.loop.add_writer(self.fd, self._writable)
            self.backlog += data
        if finish:
            self.closing = True
            if self.backlog is None:
                self._lose()

    def _writable(self) -> None:
        backlog = self.backlog
        if backlog is None:
            return
        try:
            written = os.write(self.fd, backlog)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._lose()
            return
        del backlog[:written]
        if not backlog:
            self.loop.remove_writer(self.fd)
            self.backlog = None
            if self.closing:
                self._lose()

    def _lose(self) -> None:
        if self.gone:
            return
        self.gone = True
        self.loop.remove_reader(self.fd)
        if self.backlog is not None:
            self.loop.remove_writer(self.fd)
            self.backlog = None
        self.writer.queue(self, b"", CLOSE)
        self._lost()

    # On its writer thread (or the loop's, once the writer has stopped).

    def _write(self, data: bytes, kind: int) -> None:
        if kind == CLOSE:
            os.close(self.fd)
            return
        if self.broken:
            return
        if data and not self.behind:
            try:
                written = os.write(self.fd, data)
            except (BlockingIOError, InterruptedError):
                written = 0
            except OSError:  # the client is gone (reset, broken pipe)
                self.broken = True
                self._call(self._lose)
                return
            if written < len(data):
                self.behind = True
            data = data[written:]
        if self.behind:
            self._call(self._later, data, kind == FINISH)
        elif kind == FINISH:
            self._call(self._lose)

    def _call(self, callback: Callable[..., None], *args: object) -> None:
        if self.writer.on_loop_thread():
            callback(*args)
        else:
            with contextlib.suppress(RuntimeError):  # the loop has closed: the process ends
                self.loop.call_soon_threadsafe(callback, *args)


class SocketWriter:
    """The threads, and the batch the loop fills during one turn. A socket is always
    written by the same thread (by its descriptor number), so its writes, and its close,
    stay in the order the loop queued them; a descriptor number that a new connection
    reuses after the close goes to that same thread, behind the close."""

    def __init__(self, threads: int = THREADS) -> None:
        self.threads = threads
        self._loop: asyncio.AbstractEventLoop | None = None
        self._batch: Batch = []
        self._queues: list[queue.SimpleQueue[Batch | None]] = []
        self._running: list[threading.Thread] = []
        self._loop_thread: int | None = None

    @property
    def running(self) -> bool:
        return bool(self._running)

    def on_loop_thread(self) -> bool:
        return threading.get_ident() == self._loop_thread

    def start(self) -> None:
        if self._running:
            return
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        for n in range(self.threads):
            batches: queue.SimpleQueue[Batch | None] = queue.SimpleQueue()
            name = f"zakops-live-{n}"
            thread = threading.Thread(target=_run, args=(batches,), name=name, daemon=True)
            self._queues.append(batches)
            self._running.append(thread)
            thread.start()

    def stop(self) -> None:
        """Write what is queued, then stop; later writes are made on the loop's thread."""
        self._flush()
        for batches in self._queues:
            batches.put(None)
        for thread in self._running:
            thread.join(timeout=10)
        self._queues, self._running = [], []

    def queue(self, outlet: Outlet, data: bytes, kind: int) -> None:
        if not self._running:
            _write(outlet, data, kind)
            return
        if not self._batch and self._loop is not None:
            self._loop.call_soon(self._flush)
        self._batch.append((outlet, data, kind))

    def _flush(self) -> None:
        batch, self._batch = self._batch, []
        if not batch:
            return
        if not self._running:
            for outlet, data, kind in batch:
                _write(outlet, data, kind)
        else:
            shares: list[Batch] = [[] for _ in self._queues]
            for item in batch:
                shares[item[0].fd % len(shares)].append(item)
            for batches, share in zip(self._queues, shares, strict=True):
                if share:
                    batches.put(share)


def _run(batches: queue.SimpleQueue[Batch | None]) -> None:
    _lower_priority()
    while (batch := batches.get()) is not None:
        for outlet, data, kind in batch:
            _write(outlet, data, kind)


def _lower_priority() -> None:
    """This thread yields its core to the process's other threads (on Linux a thread is
    a task of its own, with its own nice value); elsewhere, or where the system refuses,
    it keeps the process's priority."""
    if sys.platform != "linux":
        return
    me = threading.get_native_id()
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, me, min(19, os.getpriority(os.PRIO_PROCESS, me) + YIELD))


def _write(outlet: Outlet, data: bytes, kind: int) -> None:
    try:
        outlet._write(data, kind)
    except Exception:  # one socket's trouble must not stop the others' writes
        log.exception("live stream write failed")
