#!/usr/bin/env python3
"""Start-up time of `tally serve`: spawn -> first 200 answer to GET /healthz.

usage: startup.py TALLY_BIN WORK_DIR RUNS THREADS

Polls with raw sockets every 0.2 ms (no HTTP client process per attempt, which
would cost more than what is measured). Two cases, RUNS times each, median
reported: `fresh` (no database yet: schema created, sites seeded) and
`existing` (restart on the database of the previous run). Prints one JSON
object.
"""
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time

REQUEST = b"GET /healthz HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def healthy(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(REQUEST)
            return s.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def once(tally, db, threads):
    port = free_port()
    start = time.perf_counter()
    proc = subprocess.Popen(
        [tally, "serve", "--store", "sqlite:" + db, "--listen", f"127.0.0.1:{port}",
         "--threads", str(threads)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while not healthy(port):
            if proc.poll() is not None:
                raise RuntimeError(f"tally exited with {proc.returncode}")
            if time.perf_counter() - start > 10:
                raise RuntimeError("tally did not answer within 10 s")
            time.sleep(0.0002)
        return (time.perf_counter() - start) * 1000
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait()


def main():
    tally, work, runs, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    fresh, existing = [], []
    for i in range(runs):
        shutil.rmtree(work, ignore_errors=True)
        os.makedirs(work)
        db = os.path.join(work, "tally.db")
        fresh.append(once(tally, db, threads))
        existing.append(once(tally, db, threads))
    print(json.dumps({
        "runs": runs,
        "fresh_ms_median": round(statistics.median(fresh), 2),
        "existing_ms_median": round(statistics.median(existing), 2),
        "fresh_ms": [round(x, 2) for x in fresh],
        "existing_ms": [round(x, 2) for x in existing],
    }))


if __name__ == "__main__":
    main()
