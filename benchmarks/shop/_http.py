"""gunicorn on 127.0.0.1 and a load generator: Debian's wrk when installed, else a Python keep-alive client."""
from __future__ import annotations

import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from benchmarks.shop._common import ROOT, pct


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    """`gunicorn config.wsgi` (sync workers) with the given environment, on a free loopback port."""

    def __init__(self, env: dict[str, str], workers: int = 2, settings: str = "benchmarks.shop.bench_settings"):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        full = {**os.environ, **env, "DJANGO_SETTINGS_MODULE": settings, "PYTHONPATH": str(ROOT)}
        gunicorn = os.path.join(os.path.dirname(sys.executable), "gunicorn")
        self.proc = subprocess.Popen(
            [gunicorn, "config.wsgi:application", "--bind", f"127.0.0.1:{self.port}", "--workers", str(workers),
             "--worker-class", "sync", "--log-level", "warning", "--timeout", "60"],
            cwd=ROOT, env=full, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit("gunicorn exited:\n" + self.proc.stderr.read().decode()[-3000:])
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        raise SystemExit("gunicorn did not become ready")

    def worker_rss_mb(self) -> list[float]:
        """Resident memory of each worker process (the children of the gunicorn master), in MB."""
        out = []
        for pid in self.worker_pids():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            out.append(int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024)
        return out

    def worker_pids(self) -> list[int]:
        """The workers: the children of the gunicorn master (Linux /proc)."""
        return [int(pid) for task in Path(f"/proc/{self.proc.pid}/task").iterdir()
                if (task / "children").exists() for pid in (task / "children").read_text().split()]

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # our own process group (start_new_session)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def __enter__(self):
        self.wait_ready()
        return self

    def __exit__(self, *exc):
        self.stop()


def fetch(url: str, headers: dict | None = None) -> bytes:
    return fetch_with_headers(url, headers)[0]


def fetch_with_headers(url: str, headers: dict | None = None) -> tuple[bytes, dict]:
    """The body and the response headers (lower-cased names) of a GET that must answer 200."""
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=30) as r:
        if r.status != 200:
            raise SystemExit(f"{url}: HTTP {r.status}")
        return r.read(), {k.lower(): v for k, v in r.headers.items()}


@dataclass
class Result:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int


def tool() -> str:
    return "wrk" if shutil.which("wrk") else "python"


def _ms(text: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s|m)$", text)
    value, unit = float(m.group(1)), m.group(2)
    return value * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[unit]


# wrk script for a list of paths: each thread walks the list from its own offset, one path per request. A line
# "path<TAB>cookie" also sends that Cookie header with its request (a different visitor per request).
PATHS_LUA = """
local paths = {}
local counter = 0
local next_id = 0
setup = function(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end
init = function(args)
  for line in io.lines(args[1]) do paths[#paths + 1] = line end
  counter = math.floor((id or 0) * #paths / tonumber(args[2] or 1))
end
request = function()
  counter = counter % #paths + 1
  local path, cookie = paths[counter]:match("^([^\t]*)\t(.*)$")
  if path then
    return wrk.format("GET", path, {["Cookie"] = cookie})
  end
  return wrk.format("GET", paths[counter])
end
"""


def load(url: str, seconds: float, connections: int, threads: int = 2, headers: dict | None = None,
         paths: list[str] | None = None, cookies: list[str] | None = None) -> Result:
    """Closed-loop load on one URL; ``headers`` (e.g. a Cookie) are sent with every request. With ``paths``, the
    requests walk that list of paths (on the host of ``url``) in order, each client thread from its own offset.
    With ``cookies`` (one Cookie header per visitor), the requests of ``url`` walk those visitors the same way."""
    if cookies:
        path = re.match(r"http://[^/]+(/.*)$", url).group(1)
        paths = [f"{path}\t{c}" for c in cookies]
    if tool() == "wrk":
        extra = [a for k, v in (headers or {}).items() for a in ("-H", f"{k}: {v}")]
        script = []
        if paths:
            folder = tempfile.mkdtemp(prefix="wrk-paths-")
            with open(os.path.join(folder, "paths.txt"), "w") as f:
                f.write("\n".join(paths) + "\n")
            with open(os.path.join(folder, "paths.lua"), "w") as f:
                f.write(PATHS_LUA)
            script = ["-s", os.path.join(folder, "paths.lua")]
        out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{int(seconds)}s", "--latency",
                              "--timeout", "10s", *extra, *script, url,
                              *(["--", os.path.join(folder, "paths.txt"), str(threads)] if paths else [])],
                             capture_output=True, text=True, timeout=seconds + 30)
        if paths:
            shutil.rmtree(folder, ignore_errors=True)
        text = out.stdout
        if out.returncode != 0 or "Requests/sec" not in text:
            raise SystemExit(f"wrk failed: {out.stdout}{out.stderr}")
        lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", text, re.M))
        errors = sum(int(x) for x in re.findall(r"Non-2xx or 3xx responses: (\d+)", text))
        errors += sum(int(x) for x in re.findall(r"(?:connect|read|write|timeout) (\d+)", text))
        return Result(float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)), _ms(lat["50"]),
                      _ms(lat["99"]), int(re.search(r"(\d+) requests in", text).group(1)), errors)
    return _python_load(url, seconds, connections, headers, paths)


def _python_load(url: str, seconds: float, connections: int, headers: dict | None = None,
                 paths: list[str] | None = None) -> Result:
    """Closed loop: `connections` threads, each one keep-alive connection, for `seconds`."""
    m = re.match(r"http://([^/:]+):(\d+)(/.*)$", url)
    host, port, path = m.group(1), int(m.group(2)), m.group(3)
    paths = paths or [path]
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds

    def client(k):
        conn = http.client.HTTPConnection(host, port, timeout=10)
        mine = []
        i = k * len(paths) // max(1, connections)
        while time.perf_counter() < stop_at:
            t0 = time.perf_counter()
            i = (i + 1) % len(paths)
            path, _, cookie = paths[i].partition("\t")
            try:
                conn.request("GET", path, headers={**(headers or {}), **({"Cookie": cookie} if cookie else {})})
                resp = conn.getresponse()
                resp.read()
                if resp.status != 200:
                    errors[0] += 1
                if resp.getheader("Connection", "").lower() == "close":
                    conn.close()
            except (OSError, http.client.HTTPException):
                errors[0] += 1
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=10)
                continue
            mine.append((time.perf_counter() - t0) * 1000)
        with lock:
            latencies.extend(mine)

    t0 = time.perf_counter()
    workers = [threading.Thread(target=client, args=(k,)) for k in range(connections)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - t0
    return Result(len(latencies) / elapsed, pct(latencies, 50), pct(latencies, 99), len(latencies), errors[0])


def cpu_seconds(pids: list[int] | None = None, name: str | None = None) -> float:
    """User + system CPU seconds of the given processes, or of every process whose command name starts with ``name``
    (Linux /proc; a process gone meanwhile counts 0)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    if pids is None:
        pids = [int(d.name) for d in Path("/proc").iterdir() if d.name.isdigit()]
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        comm, rest = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2:].split()
        if name is None or comm.startswith(name):
            total += int(rest[11]) + int(rest[12])  # utime, stime
    return total / tick
