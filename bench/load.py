"""A small closed-loop HTTP load generator (one thread per client, keep-alive connections).

Each client sends its next request as soon as the previous one is answered, for a fixed
number of requests or seconds. Records client-side latency and the server's own
``Server-Timing: app;dur=`` figure for every request.
"""
from __future__ import annotations

import http.client
import json
import statistics
import threading
import time
from dataclasses import dataclass, field


@dataclass
class Sample:
    status: int
    latency_ms: float
    server_ms: float | None


@dataclass
class Result:
    name: str
    clients: int
    seconds: float
    samples: list[Sample] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    reconnects: int = 0

    def summary(self) -> dict:
        lat = sorted(s.latency_ms for s in self.samples)
        srv = sorted(s.server_ms for s in self.samples if s.server_ms is not None)
        statuses: dict[str, int] = {}
        for s in self.samples:
            statuses[str(s.status)] = statuses.get(str(s.status), 0) + 1
        return {
            "scenario": self.name,
            "clients": self.clients,
            "requests": len(self.samples),
            "seconds": round(self.seconds, 2),
            "throughput_rps": round(len(self.samples) / self.seconds, 1) if self.seconds else 0,
            "p50_ms": _pct(lat, 50), "p95_ms": _pct(lat, 95),
            "server_p50_ms": _pct(srv, 50), "server_p95_ms": _pct(srv, 95),
            "statuses": statuses,
            "errors": self.errors[:5],
            "error_count": len(self.errors),
            "reconnects": self.reconnects,
        }


def _pct(values, p):
    if not values:
        return None
    k = max(0, min(len(values) - 1, round(p / 100 * (len(values) - 1))))
    return round(values[k], 2)


def _server_ms(header: str | None) -> float | None:
    if not header:
        return None
    for part in header.split(","):
        name, _, rest = part.strip().partition(";")
        if name == "app" and rest.startswith("dur="):
            try:
                return float(rest[4:])
            except ValueError:
                return None
    return None


def run(name: str, host: str, port: int, make_request, *, clients: int, requests: int | None = None,
        duration: float | None = None, warmup: int = 0) -> Result:
    """``make_request(client_index, n)`` returns (method, path, headers, body_bytes_or_None)."""
    result = Result(name, clients, 0.0)
    lock = threading.Lock()
    barrier = threading.Barrier(clients + 1)
    stop_at = [None]
    counter = iter(range(10**9))

    def worker(index: int):
        conn = http.client.HTTPConnection(host, port, timeout=60)
        for w in range(warmup):
            _send(conn, *make_request(index, -1 - w))
        barrier.wait()
        while True:
            with lock:
                n = next(counter)
            if requests is not None and n >= requests:
                break
            if stop_at[0] is not None and time.perf_counter() >= stop_at[0]:
                break
            method, path, headers, body = make_request(index, n)
            started = time.perf_counter()
            try:
                try:
                    status, server = _send(conn, method, path, headers, body)
                except STALE_CONNECTION:
                    # The server closed the idle keep-alive connection (gunicorn's keep-alive is a few
                    # seconds, and a client may wait longer than that at the start line): what any HTTP
                    # client does, reconnect and send again, timing only the request that was answered.
                    conn.close()
                    conn = http.client.HTTPConnection(host, port, timeout=60)
                    with lock:
                        result.reconnects += 1
                    started = time.perf_counter()
                    status, server = _send(conn, method, path, headers, body)
            except Exception as exc:  # connection trouble is a result, not a crash
                with lock:
                    result.errors.append(repr(exc))
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=60)
                continue
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                result.samples.append(Sample(status, elapsed, server))
        conn.close()

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    barrier.wait()
    began = time.perf_counter()
    if duration is not None:
        stop_at[0] = began + duration
    for t in threads:
        t.join()
    result.seconds = time.perf_counter() - began
    return result


STALE_CONNECTION = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


def _send(conn, method, path, headers, body):
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    response.read()
    return response.status, _server_ms(response.getheader("Server-Timing"))


def json_body(data) -> bytes:
    return json.dumps(data).encode()


def median(values):
    return statistics.median(values) if values else None
