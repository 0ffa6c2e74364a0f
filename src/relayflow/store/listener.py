"""PostgreSQL LISTEN/NOTIFY: workers wake as soon as another process queues a run."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from relayflow.store.database import Database

log = logging.getLogger(__name__)

CHANNEL = "relayflow_runs"


class Listener:
    """Calls `on_notify` (from its own thread) whenever a run is queued anywhere."""

    def __init__(self, db: Database, on_notify: Callable[[], None]) -> None:
        self.db = db
        self.on_notify = on_notify
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="relayflow-listen", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn = self.db.connect()
                conn.autocommit = True
                conn.execute(f"LISTEN {CHANNEL}")
                while not self._stop.is_set():
                    for _ in conn.notifies(timeout=1.0, stop_after=1):
                        self.on_notify()
                conn.close()
            except Exception:  # noqa: BLE001 - reconnect; workers also poll meanwhile
                log.warning("LISTEN connection lost; reconnecting", exc_info=True)
                time.sleep(1)
