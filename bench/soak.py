#!/usr/bin/env python3
"""Load and soak runs against a real `facematch serve` on loopback (issue 6). Standard library only.

  bench/soak.py load [--binary build/release/facematch] [--seconds 15]
      1. capacity: `workers` closed-loop clients post /verify for --seconds; capacity = answers/s.
      2. overload: an open-loop sender offers 2x capacity for --seconds; every request must be answered
         (200, or 429/503 "overloaded" quickly), none may time out or fail.
      3. recovery: closed-loop clients again; throughput must return to capacity with only 200s.
  bench/soak.py soak [--requests 10000] [--warmup 500]
      A mix of /verify, /detect, /embed and error requests from `workers` clients; the server's VmRSS
      after --requests must be within 5% of its value after the warm-up.

Both start the server themselves on 127.0.0.1 at a free port (--workers, default 2) and stop it at the
end; every phase is bounded in time and count. Prints one JSON line of figures; exit 1 if a bound fails.
"""
import argparse
import base64
import http.client
import json
import os
import pathlib
import queue
import signal
import subprocess
import sys
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return -1.0


class Server:
    def __init__(self, binary, workers, queue_size, extra):
        cmd = [binary, "serve", "--port", "0", "--bind", "127.0.0.1", "--workers", str(workers),
               "--queue", str(queue_size), "--log-level", "warn", *extra]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline()
        prefix = "facematch listening on http://127.0.0.1:"
        if not line.startswith(prefix):
            self.proc.kill()
            raise SystemExit(f"server did not start: {line!r}")
        self.port = int(line[len(prefix):])
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                if request(self.port, "GET", "/readyz", None, None, 5)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise SystemExit("server not ready")

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


_local = threading.local()


def request(port, method, path, body, content_type, timeout=30, keep_alive=True):
    """One request on this thread's keep-alive connection; returns (status, seconds)."""
    conn = getattr(_local, "conn", None) if keep_alive else None
    if conn is None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    headers = {"Content-Type": content_type} if content_type else {}
    start = time.perf_counter()
    try:
        conn.request(method, path, body=body, headers=headers)
        r = conn.getresponse()
        r.read()
        status = r.status
        if r.getheader("Connection", "").lower() == "close" or not keep_alive:
            conn.close()
            conn = None
    except (OSError, http.client.HTTPException):
        conn.close()
        _local.conn = None
        raise
    if keep_alive:
        _local.conn = conn
    return status, time.perf_counter() - start


def photo(name):
    shared = pathlib.Path(os.environ.get("FACEMATCH_SHARED", ROOT.parent / "shared"))
    path = shared / "faces" / name
    if not path.exists():
        raise SystemExit(f"missing {path} (../shared/faces)")
    return base64.b64encode(path.read_bytes()).decode()


def percentile(values, p):
    if not values:
        return 0.0
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100.0 * len(values)))]


def closed_loop(port, clients, seconds, body, max_requests=100000):
    """`clients` threads posting `body` back to back for `seconds`; returns (statuses, latencies)."""
    stop = time.time() + seconds
    results, lock, count = [], threading.Lock(), [0]

    def run():
        while time.time() < stop:
            with lock:
                if count[0] >= max_requests:
                    return
                count[0] += 1
            try:
                status, took = request(port, "POST", "/verify", body, "application/json")
            except OSError as e:
                status, took = f"error:{type(e).__name__}", 0.0
            with lock:
                results.append((status, took))

    threads = [threading.Thread(target=run) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def load(args):
    server = Server(args.binary, args.workers, args.queue, [])
    try:
        body = json.dumps({"img1": photo("obama_240p.jpg"), "img2": photo("obama_2.jpg")}).encode()
        closed_loop(server.port, args.workers, 3, body)  # warm-up
        base = closed_loop(server.port, args.workers, args.seconds, body)
        ok = [t for s, t in base if s == 200]
        capacity = len(ok) / args.seconds
        # Open loop at twice the capacity: a sender thread releases one request every 1/rate seconds to
        # a pool of short-lived client threads, so a slow server cannot slow the offered load down.
        rate = 2 * capacity
        total = int(rate * args.seconds)
        results, lock = [], threading.Lock()
        jobs = queue.Queue()

        def client():
            while True:
                job = jobs.get()
                if job is None:
                    return
                try:
                    status, took = request(server.port, "POST", "/verify", body, "application/json", timeout=60,
                                           keep_alive=False)
                except OSError as e:
                    status, took = f"error:{type(e).__name__}", 0.0
                with lock:
                    results.append((status, took))

        pool = [threading.Thread(target=client) for _ in range(args.queue + args.workers + 32)]
        for t in pool:
            t.start()
        start = time.perf_counter()
        for i in range(total):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            jobs.put(i)
        for _ in pool:
            jobs.put(None)
        for t in pool:
            t.join()
        offered_s = time.perf_counter() - start
        by_status = {}
        for s, _ in results:
            by_status[str(s)] = by_status.get(str(s), 0) + 1
        refused = [t for s, t in results if s in (429, 503)]
        served = [t for s, t in results if s == 200]
        after = closed_loop(server.port, args.workers, args.seconds, body)
        recovered = [t for s, t in after if s == 200]
        figures = {
            "mode": "load", "workers": args.workers, "queue": args.queue,
            "capacity_rps": round(capacity, 2), "capacity_p50_ms": round(percentile(ok, 50) * 1000, 1),
            "overload_offered_rps": round(rate, 2), "overload_requests": total, "overload_seconds": round(offered_s, 1),
            "overload_status": by_status,
            "refused_p50_ms": round(percentile(refused, 50) * 1000, 1),
            "refused_p99_ms": round(percentile(refused, 99) * 1000, 1),
            "served_p99_ms": round(percentile(served, 99) * 1000, 1),
            "recovery_rps": round(len(recovered) / args.seconds, 2),
            "recovery_non_200": len(after) - len(recovered),
            "rss_mb": round(rss_mb(server.proc.pid), 1),
        }
        print(json.dumps(figures))
        errors = sum(v for k, v in by_status.items() if k.startswith("error"))
        failed = (errors > 0 or not refused or percentile(refused, 99) > 0.5
                  or figures["recovery_non_200"] > 0 or figures["recovery_rps"] < 0.8 * capacity)
        return 1 if failed else 0
    finally:
        server.stop()


def soak(args):
    server = Server(args.binary, args.workers, args.queue, [])
    try:
        small, other = photo("obama_240p.jpg"), photo("obama_2.jpg")
        mix = [
            ("/verify", json.dumps({"img1": small, "img2": other}).encode(), 200),
            ("/verify", json.dumps({"img1": small, "img2": small, "detector": "tiny"}).encode(), 200),
            ("/detect", json.dumps({"img": other}).encode(), 200),
            ("/embed", json.dumps({"images": [small, other]}).encode(), 200),
            ("/verify", json.dumps({"img1": small, "img2": "bm90IGFuIGltYWdl"}).encode(), 400),
            ("/verify", b"{\"img1\": ", 400),
        ]
        lock, counter, failures, latencies = threading.Lock(), [0], [], []
        deadline = time.time() + args.max_seconds

        def run(limit):
            while time.time() < deadline:
                with lock:
                    if counter[0] >= limit:
                        return
                    i = counter[0]
                    counter[0] += 1
                path, body, want = mix[i % len(mix)]
                try:
                    status, took = request(server.port, "POST", path, body, "application/json")
                except OSError as e:
                    status, took = f"error:{type(e).__name__}", 0.0
                with lock:
                    latencies.append(took)
                    if status != want:
                        failures.append((path, status))

        def phase(limit):
            threads = [threading.Thread(target=run, args=(limit,)) for _ in range(args.workers)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()

        phase(args.warmup)
        warm = rss_mb(server.proc.pid)
        samples = []
        start = time.time()
        step = max(1, args.requests // 10)
        for k in range(1, 11):
            phase(args.warmup + min(args.requests, k * step))
            samples.append(round(rss_mb(server.proc.pid), 1))
        final = samples[-1]
        done = counter[0] - args.warmup
        figures = {
            "mode": "soak", "workers": args.workers, "requests": done, "seconds": round(time.time() - start, 1),
            "rps": round(done / max(time.time() - start, 1e-9), 1), "failures": len(failures),
            "p50_ms": round(percentile(latencies, 50) * 1000, 1), "p99_ms": round(percentile(latencies, 99) * 1000, 1),
            "rss_warm_mb": round(warm, 1), "rss_final_mb": final, "rss_change_pct": round((final / warm - 1) * 100, 2),
            "rss_samples_mb": samples,
        }
        print(json.dumps(figures))
        if failures:
            print("first failures:", failures[:5], file=sys.stderr)
        return 1 if failures or done < args.requests or abs(final / warm - 1) > 0.05 else 0
    finally:
        server.stop()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=["load", "soak"])
    p.add_argument("--binary", default=str(ROOT / "build" / "release" / "facematch"))
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--queue", type=int, default=8)
    p.add_argument("--seconds", type=float, default=15, help="load: length of each phase")
    p.add_argument("--requests", type=int, default=10000, help="soak: requests after the warm-up")
    p.add_argument("--warmup", type=int, default=500, help="soak: requests before the RSS baseline")
    p.add_argument("--max-seconds", type=float, default=1200, help="soak: hard stop")
    args = p.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    sys.exit(load(args) if args.mode == "load" else soak(args))


if __name__ == "__main__":
    main()
