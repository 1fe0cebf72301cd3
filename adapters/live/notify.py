"""PostgreSQL's NOTIFY on the events channel, as a wake-up call for the live follower.

The append function NOTIFYs the library's channel in every commit, from every process. One
thread per process LISTENs on a connection of the store's pool and calls `wake` when a
notification arrives (the payload is not needed: the follower reads what is new). When the
connection breaks (a restart), it waits a little and listens again; the follower's slow poll
covers the gap. A notification sent by one of this process's own appends (`own`: their
server processes' pids) is skipped: the store already woke the follower after that commit,
and a second wake only made it read the store again for nothing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection

from eventsourcing.postgres import PostgresDatastore
from psycopg.sql import SQL, Identifier

log = logging.getLogger("zakops.live")


class Notifications:
    def __init__(
        self,
        datastore: PostgresDatastore,
        channel: str,
        wake: Callable[[], None],
        own: Collection[int] = (),
    ):
        self.datastore = datastore
        self.channel = channel
        self.wake = wake
        self.own = own
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._listen, name="zakops-listen", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _listen(self) -> None:
        while not self._stop.is_set():
            try:
                with self.datastore.get_connection() as connection:
                    connection.execute(SQL("LISTEN {}").format(Identifier(self.channel)))
                    self.wake()  # anything committed while we were not listening
                    while not self._stop.is_set():
                        for notice in connection.notifies(timeout=0.5, stop_after=1):
                            if notice.pid not in self.own:
                                self.wake()
            except Exception as error:  # a restart or an outage: listen again shortly
                log.warning("LISTEN %s failed: %s", self.channel, error)
                self._stop.wait(1.0)
