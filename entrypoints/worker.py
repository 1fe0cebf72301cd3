"""Run projection workers in the foreground: `python -m entrypoints.worker [--batch-size N]`.

For deployments that keep projections apart from the API processes. It follows the log
until interrupted; exactly-once comes from the view's transactional tracking, so killing it
at any moment loses and doubles nothing.
"""

from __future__ import annotations

import argparse
import time

from application.timeline import Timeline
from entrypoints.container import build, close, init_db


def follow(timeline: Timeline, poll_seconds: float = 0.2, once: bool = False) -> int:
    """Catch the timeline up, then keep following the log (or stop when `once`)."""
    while True:
        position = timeline.catch_up()
        if once:
            return position
        time.sleep(poll_seconds)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the timeline projection worker.")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--once", action="store_true", help="catch up, then exit")
    args = parser.parse_args(argv)
    container = build()
    init_db(container)
    timeline = container.timeline()
    timeline.batch_size = args.batch_size
    try:
        follow(timeline, once=args.once)
    except KeyboardInterrupt:
        pass
    finally:
        close(container)


if __name__ == "__main__":
    main()
