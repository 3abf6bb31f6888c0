"""Throughput under gunicorn, measured with wrk on loopback.

`Loopback` starts gunicorn (sync workers, the bench's settings and database: `bench.settings`, the same
settings the in-process client uses) on a free 127.0.0.1 port and stops it again; `run_wrk` runs
`wrk -t1 -c<connections> -d<seconds>s` against one path with a session cookie and parses its report.
The peak resident memory reported for a server-side run is the largest VmHWM among the gunicorn
workers (reset through their /proc/<pid>/clear_refs before each run).
"""

from __future__ import annotations

import contextlib
import http.client
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def wrk_path() -> str | None:
    return shutil.which("wrk")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class WrkResult:
    rps: float
    requests: int
    errors: int  # non-2xx/3xx responses, socket errors and timeouts
    p50_ms: float | None
    output: str


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def parse_wrk(output: str) -> WrkResult:
    rps = re.search(r"Requests/sec:\s+([0-9.]+)", output)
    total = re.search(r"([0-9]+) requests in", output)
    if rps is None or total is None:
        raise RuntimeError(f"wrk printed no report:\n{output}")
    errors = 0
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+([0-9]+)", output)
    if non2xx:
        errors += int(non2xx.group(1))
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if socket_errors:
        errors += sum(int(n) for n in socket_errors.groups())
    p50 = re.search(r"^\s*50%\s+([0-9.]+)(us|ms|s|m)\s*$", output, re.MULTILINE)
    return WrkResult(
        rps=float(rps.group(1)),
        requests=int(total.group(1)),
        errors=errors,
        p50_ms=_ms(*p50.groups()) if p50 else None,
        output=output,
    )


def _header_lines(cookie: str, headers: dict[str, str] | None) -> dict[str, str]:
    """The request headers of a run: the session cookie, or the given headers (an API's bearer token)."""
    return dict(headers) if headers is not None else {"Cookie": cookie}


def run_wrk(
    url: str, cookie: str, seconds: float, connections: int, headers: dict[str, str] | None = None
) -> WrkResult:
    duration = max(1, round(seconds))  # wrk takes whole seconds
    cmd = [
        wrk_path() or "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{duration}s",
        "--timeout",
        "120s",
        "--latency",
        *(arg for name, value in _header_lines(cookie, headers).items() for arg in ("-H", f"{name}: {value}")),
        url,
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 180, check=False)  # noqa: S603 - our own argv
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    return parse_wrk(done.stdout)


class Loopback:
    """gunicorn on a free loopback port with the bench's settings and database."""

    def __init__(
        self, database_url: str, workers: int = 2, settings: str = "bench.settings", env: dict[str, str] | None = None
    ) -> None:
        self.database_url = database_url
        self.workers_count = workers
        self.settings = settings
        self.extra_env = env or {}
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = ""

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.port = free_port()
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": self.settings,
            "DATABASE_URL": self.database_url,
            "REDIS_URL": "",
            "LOG_LEVEL": "WARNING",
            **self.extra_env,
        }
        fd, self.log_path = tempfile.mkstemp(prefix="bench-gunicorn-", suffix=".log")
        cmd = [
            sys.executable,
            "-m",
            "gunicorn",
            "patent_platform.wsgi:application",
            "--workers",
            str(self.workers_count),
            "--worker-class",
            "sync",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--timeout",
            "300",
            "--log-level",
            "warning",
        ]
        with os.fdopen(fd, "wb") as log:
            self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(Path(self.log_path).read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def get(self, path: str, cookie: str, timeout: float = 300, headers: dict[str, str] | None = None) -> int:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request("GET", path, headers=_header_lines(cookie, headers))
            response = conn.getresponse()
            response.read()
            return response.status
        finally:
            conn.close()

    def wait_ready(self, cookie: str, path: str, timeout: float = 90, headers: dict[str, str] | None = None) -> None:
        """Until `path` answers 200 with the cookie (a redirect to the login page is not ready)."""
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{self.log_tail()}")
            try:
                status = self.get(path, cookie, timeout=60, headers=headers)
            except OSError as exc:
                last = str(exc)
            else:
                if status == 200 and len(self.worker_pids()) >= self.workers_count:
                    return
                last = f"status {status}"
            time.sleep(0.3)
        raise RuntimeError(f"gunicorn not ready on {self.base}{path} ({last}):\n{self.log_tail()}")

    def worker_pids(self) -> list[int]:
        if self.proc is None:
            return []
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == self.proc.pid:
                pids.append(int(entry.name))
        return pids

    def reset_peak(self) -> None:
        for pid in self.worker_pids():
            with contextlib.suppress(OSError):
                Path(f"/proc/{pid}/clear_refs").write_text("5")

    def peak_mb(self) -> float:
        peaks = [0.0]
        for pid in self.worker_pids():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        peaks.append(int(line.split()[1]) / 1024)
            except OSError:
                pass
        return max(peaks)

    def measure(
        self, path: str, cookie: str, seconds: float, connections: int, headers: dict[str, str] | None = None
    ) -> tuple[WrkResult, float, int]:
        """One wrk run against `path`: (result, peak MiB, duration in seconds).

        First a warm-up — `connections` concurrent requests, so every worker has served the page once; each
        must answer 200. wrk counts only the requests completed within its duration, so the duration is
        `seconds`, or three times the warm-up's if that is longer (a slow page still completes several)."""
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=connections) as pool:
            statuses = list(
                pool.map(
                    lambda _i: self.get(path, cookie, headers=headers), range(max(connections, self.workers_count))
                )
            )
        warm_up = time.perf_counter() - started
        if any(status != 200 for status in statuses):
            raise RuntimeError(f"GET {path} under gunicorn answered {statuses}")
        duration = max(1, round(seconds), math.ceil(3 * warm_up))
        self.reset_peak()
        result = run_wrk(self.base + path, cookie, duration, connections, headers=headers)
        return result, self.peak_mb(), duration

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # the master stops its workers gracefully
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None
        with contextlib.suppress(OSError):
            os.unlink(self.log_path)
