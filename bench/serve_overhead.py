"""Overhead of the local serving router against calling the KServe ModelServer directly.

One scikit-learn model served by ``kaptain.serving.server`` and the router in front of it
(one revision, one replica); the same V1 predict request is sent both ways, interleaved:

* direct -- ``POST <server>/v1/models/bench:predict``;
* router -- ``POST <router>/v1/models/bench:predict`` (route lookup, weighted pick,
  proxying, metrics).

Usage: ``.venv/bin/python bench/serve_overhead.py [--requests N] [--concurrency C]
[--rounds R]``. Prints requests/s, p50 and p99 latency per side and the ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import joblib  # type: ignore[import-untyped]
import numpy as np
from sklearn.linear_model import LinearRegression

BODY = json.dumps({"instances": [[1.0, 2.0]]}).encode()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen([sys.executable, "-m", *args], stdout=out, stderr=out)


async def wait_ready(url: str) -> None:
    deadline = time.monotonic() + 90
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            try:
                async with session.get(url) as answer:
                    if answer.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise SystemExit(f"{url} did not answer")


async def load(url: str, requests: int, concurrency: int) -> tuple[float, list[float]]:
    """Send ``requests`` POSTs with ``concurrency`` workers; returns (seconds, latencies ms)."""
    latencies: list[float] = []
    remaining = iter(range(requests))
    headers = {"content-type": "application/json"}
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            for _ in remaining:
                started = time.perf_counter()
                async with session.post(url, data=BODY, headers=headers) as answer:
                    await answer.read()
                    if answer.status != 200:
                        raise SystemExit(f"{url} answered {answer.status}")
                latencies.append((time.perf_counter() - started) * 1000)

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - began, latencies


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98]


async def bench(requests: int, concurrency: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        model_dir = root / "model"
        model_dir.mkdir()
        model = LinearRegression().fit(np.array([[0, 0], [1, 0], [0, 1]]), np.array([0, 1, 2]))
        joblib.dump(model, model_dir / "model.joblib")
        server_port, router_port = free_port(), free_port()
        server = f"http://127.0.0.1:{server_port}"
        router = f"http://127.0.0.1:{router_port}"
        routes = {"deployments": {"bench": {"namespace": "default", "revisions": [
            {"revision": "r1", "weight": 100, "backends": [server]}]}}}  # fmt: skip
        (root / "routes.json").write_text(json.dumps(routes))
        processes = [
            start(["kaptain.serving.server", "--name", "bench", "--model-dir", str(model_dir),
                   "--framework", "sklearn", "--http-port", str(server_port)],
                  root / "server.log"),
            start(["kaptain.serving.router", "--port", str(router_port),
                   "--routes", str(root / "routes.json")], root / "router.log"),
        ]  # fmt: skip
        try:
            await wait_ready(f"{server}/v2/health/ready")
            await wait_ready(f"{router}/-/healthz")
            sides = {
                "direct": f"{server}/v1/models/bench:predict",
                "router": f"{router}/v1/models/bench:predict",
            }
            for url in sides.values():  # warm up both paths
                await load(url, 200, concurrency)
            seconds = {side: 0.0 for side in sides}
            latencies: dict[str, list[float]] = {side: [] for side in sides}
            for _ in range(rounds):
                for side, url in sides.items():
                    took, observed = await load(url, requests, concurrency)
                    seconds[side] += took
                    latencies[side] += observed
        finally:
            for process in processes:
                process.terminate()
                process.wait(timeout=30)
    print(f"{requests} requests x {rounds} rounds, concurrency {concurrency}")
    print(f"{'':8} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
    rates = {}
    for side in sides:
        rates[side] = len(latencies[side]) / seconds[side]
        print(
            f"{side:8} {rates[side]:8.1f} {statistics.median(latencies[side]):8.2f} "
            f"{p99(latencies[side]):8.2f}"
        )
    p50 = {side: statistics.median(values) for side, values in latencies.items()}
    print(
        f"ratio router/direct: throughput {rates['router'] / rates['direct']:.2f}, "
        f"p50 {p50['router'] / p50['direct']:.2f}, "
        f"p99 {p99(latencies['router']) / p99(latencies['direct']):.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(bench(args.requests, args.concurrency, args.rounds))


if __name__ == "__main__":
    main()
