"""The live streams' writer thread: every byte in order to a slow client (through the
loop's backlog once the socket is full), the end after the last byte, and a client that
leaves is noticed."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import threading

import pytest

from adapters.live.writer import YIELD, Outlet, SocketWriter


def test_a_slow_client_gets_every_byte_in_order_then_the_end() -> None:
    async def scenario() -> bytes:
        loop = asyncio.get_running_loop()
        ours, theirs = socket.socketpair()
        ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)  # full at once
        ours.setblocking(False)
        theirs.setblocking(False)
        writer = SocketWriter()
        writer.start()
        lost = asyncio.Event()
        outlet = Outlet(ours.detach(), loop, writer, lost.set)
        chunks = [bytes([n % 251]) * 10_000 for n in range(200)]  # 2 MB
        for chunk in chunks[:-1]:
            outlet.send(chunk)
        outlet.send(chunks[-1], finish=True)
        received = bytearray()
        await asyncio.sleep(0.2)  # the client reads nothing for a while: the loop holds it
        assert outlet.pending > 0
        while True:
            try:
                data = await loop.sock_recv(theirs, 65536)
            except ConnectionError:
                break
            if not data:
                break
            received += data
        await asyncio.wait_for(lost.wait(), 5)
        writer.stop()
        theirs.close()
        assert bytes(received) == b"".join(chunks)
        return bytes(received)

    asyncio.run(scenario())


def test_a_client_that_leaves_is_noticed_and_its_socket_closed() -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        ours, theirs = socket.socketpair()
        ours.setblocking(False)
        writer = SocketWriter()
        writer.start()
        lost = asyncio.Event()
        outlet = Outlet(ours.detach(), loop, writer, lost.set)
        outlet.send(b"hello")
        await asyncio.sleep(0.05)
        assert theirs.recv(100) == b"hello"
        theirs.close()
        await asyncio.wait_for(lost.wait(), 5)
        assert outlet.gone
        writer.stop()
        outlet.send(b"too late")  # dropped: nothing is written to a closed descriptor

    asyncio.run(scenario())


def test_several_threads_keep_each_sockets_bytes_in_order() -> None:
    """Sockets are shared out between the threads by descriptor; each socket's writes, and
    then its end, arrive whole and in order whichever thread writes them."""

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        writer = SocketWriter(threads=3)
        writer.start()
        pairs = [socket.socketpair() for _ in range(12)]
        lost = [asyncio.Event() for _ in pairs]
        outlets = []
        for (ours, theirs), gone in zip(pairs, lost, strict=True):
            ours.setblocking(False)
            theirs.setblocking(False)
            outlets.append(Outlet(ours.detach(), loop, writer, gone.set))
        assert len({outlet.fd % 3 for outlet in outlets}) == 3  # every thread has sockets
        for n in range(300):
            for outlet in outlets:
                outlet.send(b"%d," % n, finish=n == 299)
            if n % 50 == 0:
                await asyncio.sleep(0)  # several loop turns, several batches
        for (_, theirs), gone in zip(pairs, lost, strict=True):
            received = bytearray()
            while data := await loop.sock_recv(theirs, 65536):
                received += data
            await asyncio.wait_for(gone.wait(), 5)
            theirs.close()
            assert bytes(received) == b"".join(b"%d," % n for n in range(300))
        writer.stop()

    asyncio.run(scenario())


@pytest.mark.skipif(sys.platform != "linux", reason="per-thread nice values are Linux's")
def test_writer_threads_yield_their_core_to_the_event_loop() -> None:
    """The writer threads run `YIELD` nice steps below the process (capped at 19), so a
    request on the loop's thread is served before a fan-out's sends; the loop's own
    priority is untouched."""

    async def scenario() -> None:
        writer = SocketWriter(threads=2)
        writer.start()
        ours = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        outlet_threads = [t for t in threading.enumerate() if t.name.startswith("zakops-live-")]
        assert len(outlet_threads) == 2
        expected = min(19, ours + YIELD)
        for _ in range(100):  # each thread lowers itself as it starts
            niceness = [os.getpriority(os.PRIO_PROCESS, t.native_id or 0) for t in outlet_threads]
            if niceness == [expected, expected]:
                break
            await asyncio.sleep(0.01)
        assert niceness == [expected, expected]
        assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == ours
        writer.stop()

    asyncio.run(scenario())
