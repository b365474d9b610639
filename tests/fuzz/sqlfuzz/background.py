"""--background-writes: while the oracles query a round's table, a second client writes rows
to another table of the same database and compacts it, so scans meet flushes, compactions and
new series of the same vnodes (races show up as sanitizer reports or wrong answers).

The round's own table is not touched, so the oracles stay valid. What the background client
gets back is ignored: a crash it causes is seen by the next request of the main loop (the
report then names that request, and the case may not reproduce without the background).
"""

import random
import threading
import time

import requests


class BackgroundWriter(threading.Thread):
    def __init__(self, srv, runner, seed):
        super().__init__(daemon=True)
        self.srv = srv
        self.runner = runner  # its current database is the one written to
        self.rng = random.Random(seed)
        self.stopped = threading.Event()
        self.writes = 0

    def stop(self):
        self.stopped.set()
        self.join(10)

    def run(self):
        session = requests.Session()
        n = 0
        while not self.stopped.is_set():
            n += 1
            db, port = f"fz{self.runner.ndb}", self.srv.port
            base = f"http://127.0.0.1:{port}/api/v1"
            try:
                if n % 25 == 0:
                    session.post(f"{base}/sql", params={"db": db},
                                 data=f"COMPACT DATABASE {db}", auth=("root", ""), timeout=30)
                else:
                    r = self.rng
                    t0 = 1_700_000_000_000_000_000
                    lines = "\n".join(
                        f"bg,h=h{r.randint(0, 50)} v={r.random()},i={r.randint(-9, 9)}i "
                        f"{t0 + r.randint(0, 10**12)}" for _ in range(r.randint(1, 200)))
                    session.post(f"{base}/write", params={"db": db, "precision": "ns"},
                                 data=lines, auth=("root", ""), timeout=30)
                    self.writes += 1
            except requests.RequestException:
                time.sleep(0.2)  # restarting, or down: the main loop deals with it
            self.stopped.wait(self.rng.uniform(0.005, 0.05))
        session.close()
