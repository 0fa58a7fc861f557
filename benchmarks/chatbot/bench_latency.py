#!/usr/bin/env python
"""Reply latency of POST /api/chat/ on CPU, through gunicorn, against the demo shop.

Creates (once) a PostgreSQL database with a small demo shop (manage.py seed_demo), trains the assistant there
(manage.py chat_train: exports the ONNX encoder the first time, about a minute), starts gunicorn (sync workers,
this machine's CPU, no GPU) and asks --n questions one at a time, as one visitor keeping its session and CSRF
cookie: prices, stock, sizes, searches with filters, order status, FAQ, out-of-scope. Prints p50/p95/p99 per
kind of question and overall, and, measured in the same run, the same statistics for GET /healthz (the
framework's floor) and their ratio. Then --clients visitors at once for --seconds: replies/s and p95.

    nice python benchmarks/chatbot/bench_latency.py                 # seeds shop_bench_chat once (~1-2 min)
    nice python benchmarks/chatbot/bench_latency.py --n 1000 --workers 2 --clients 4
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from benchmarks.shop import _http  # noqa: E402
from benchmarks.shop._common import ROOT, apply_env, bench_env, ensure_database, pct, setup_django  # noqa: E402

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/shop_bench_chat"


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--database-url", default=DEFAULT_DB)
    p.add_argument("--reseed", action="store_true")
    p.add_argument("--n", type=int, default=400, help="questions asked one at a time")
    p.add_argument("--workers", type=int, default=1, help="gunicorn sync workers")
    p.add_argument("--clients", type=int, default=4, help="concurrent visitors in the throughput part")
    p.add_argument("--seconds", type=float, default=15)
    p.add_argument("--prediction-cache", type=int, default=0,
                   help="CHATBOT_PREDICTION_CACHE for the server (default 0: the encoder runs for every question, "
                        "as for questions never asked before; the shop's default keeps 2000)")
    return p.parse_args(argv)


def prepare(args, env):
    ensure_database(args.database_url, fresh=args.reseed)
    full = {**os.environ, **env}
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=full, check=True)
    out = subprocess.run([sys.executable, "manage.py", "seed_demo", "--if-empty", "--products", "300", "--customers",
                          "200", "--days", "120"], cwd=ROOT, env=full, check=True, capture_output=True, text=True)
    print("seed:", (out.stdout.strip().splitlines() or ["-"])[-1])
    out = subprocess.run([sys.executable, "manage.py", "chat_train", "--if-missing"], cwd=ROOT, env=full, check=True,
                         capture_output=True, text=True)
    print("train:", out.stdout.strip().splitlines()[-1][:200])


def questions() -> list[tuple[str, str]]:
    from shop.models import Order, Product

    names = list(Product.objects.filter(is_active=True).order_by("pk").values_list("name", flat=True)[:40])
    numbers = list(Order.objects.order_by("pk").values_list("number", flat=True)[:5])
    qs = []
    for k, name in enumerate(names):
        qs += [("price", f"how much is the {name.lower()}?"), ("stock", f"is the {name} in stock"),
               ("attribute", f"what sizes does the {name} come in")]
        if k % 3 == 0:
            qs.append(("typo", f"price of the {name[:-1].lower()}s"))
    qs += [("search", q) for q in ["red mugs under 20", "cotton tees in M", "lamps under 80", "black totes",
                                   "show me blue hoodies", "notebooks between 5 and 15"]]
    qs += [("order", f"where is my order {n}") for n in numbers]
    qs += [("faq", q) for q in ["what is your return policy", "how much is shipping", "how can I pay",
                                "do you ship to france"]]
    qs += [("oos", q) for q in ["what's the weather tomorrow", "tell me a joke", "who won the match"]]
    return qs


class Visitor:
    def __init__(self, port: int):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.origin = f"http://127.0.0.1:{port}"
        self.cookies: dict[str, str] = {}
        self.get("/")  # session and CSRF cookies, as the widget has them

    def _remember(self, resp):
        for header, value in resp.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]

    def _headers(self):
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}

    def get(self, path: str) -> float:
        t0 = time.perf_counter()
        self.conn.request("GET", path, headers=self._headers())
        resp = self.conn.getresponse()
        resp.read()
        self._remember(resp)
        return (time.perf_counter() - t0) * 1000

    def ask(self, text: str) -> tuple[float, dict]:
        body = json.dumps({"message": text})
        headers = {**self._headers(), "Content-Type": "application/json",
                   "X-CSRFToken": self.cookies.get("csrftoken", ""), "Origin": self.origin}
        t0 = time.perf_counter()
        self.conn.request("POST", "/api/chat/", body=body, headers=headers)
        resp = self.conn.getresponse()
        data = resp.read()
        ms = (time.perf_counter() - t0) * 1000
        self._remember(resp)
        if resp.status != 200:
            raise SystemExit(f"HTTP {resp.status}: {data[:300]!r}")
        return ms, json.loads(data)


def worker_cpu_seconds(master_pid: int) -> float:
    """CPU time (user + system) of gunicorn's workers: what a reply costs the web process, whatever the load."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master_pid:  # ppid
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def line(label, values):
    return (f"{label:10s} n={len(values):4d}  p50 {pct(values, 50):6.1f} ms  p95 {pct(values, 95):6.1f} ms  "
            f"p99 {pct(values, 99):6.1f} ms")


def main(argv=None) -> int:
    args = parse(argv)
    env = bench_env(args.database_url, CHATBOT_RATE_VISITOR="1000000/min", CHATBOT_RATE_ADDRESS="1000000/min",
                    CHATBOT_ENCODER_CACHE=str(ROOT / ".cache" / "chatbot-encoder" / "bench-shop"),
                    CHATBOT_PREDICTION_CACHE=str(args.prediction_cache))
    apply_env(env)
    prepare(args, env)
    setup_django(migrate=False)
    qs = questions()
    with _http.Gunicorn(env, workers=args.workers, settings="config.settings") as server:
        v = Visitor(server.port)
        for _, q in qs[:10]:  # warm-up: models and catalog index loaded in the worker
            v.ask(q)
        per: dict[str, list[float]] = {}
        allv, floor = [], []
        cpu0 = worker_cpu_seconds(server.proc.pid)
        for k in range(args.n):
            kind, q = qs[k % len(qs)]
            v.ask(q)
        cpu_per_reply = (worker_cpu_seconds(server.proc.pid) - cpu0) / args.n * 1000
        load_before = os.getloadavg()[0]
        for k in range(args.n):
            kind, q = qs[k % len(qs)]
            ms, _ = v.ask(q)
            per.setdefault(kind, []).append(ms)
            allv.append(ms)
            floor.append(v.get("/healthz"))
        print(f"one visitor, {args.n} questions one at a time, gunicorn {args.workers} sync worker(s), CPU, "
              f"CHATBOT_PREDICTION_CACHE={args.prediction_cache}:")
        for kind, values in per.items():
            print("  " + line(kind, values))
        print("  " + line("all", allv))
        print("  " + line("/healthz", floor))
        print(f"  web worker CPU per reply: {cpu_per_reply:.1f} ms (measured over {args.n} more replies; "
              f"machine load average {load_before:.1f} -> {os.getloadavg()[0]:.1f} over the timed questions, "
              f"{os.cpu_count()} cores)")
        print(f"  ratio chat/healthz: p50 {pct(allv, 50) / pct(floor, 50):.1f}x, p95 {pct(allv, 95) / pct(floor, 95):.1f}x")
        lat, lock, stop = [], threading.Lock(), time.perf_counter() + args.seconds

        def visitor(seed):
            me, mine, k = Visitor(server.port), [], seed
            while time.perf_counter() < stop:
                mine.append(me.ask(qs[k % len(qs)][1])[0])
                k += 7
            with lock:
                lat.extend(mine)

        threads = [threading.Thread(target=visitor, args=(i,)) for i in range(args.clients)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
        print(f"{args.clients} visitors at once for {args.seconds:.0f} s: {len(lat) / wall:.1f} replies/s, "
              + line("", lat).strip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
