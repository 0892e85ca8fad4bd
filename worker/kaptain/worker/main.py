"""``kaptain worker`` / ``python -m kaptain.worker``: serve Kaptain's task queue."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
from collections.abc import Sequence

from temporalio.client import Client
from temporalio.worker import Worker

from kaptain.client import connect
from kaptain.contracts.names import TASK_QUEUE
from kaptain.telemetry import configure_tracing
from kaptain.worker.metrics import metrics_runtime
from kaptain.worker.platforms import activities_for
from kaptain.worker.settings import Platform, WorkerSettings
from kaptain.workflows import ALL_WORKFLOWS

log = logging.getLogger("kaptain.worker")


def build_worker(client: Client, settings: WorkerSettings) -> Worker:
    """A worker with every Kaptain workflow and the platform's activities."""
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=ALL_WORKFLOWS,
        activities=activities_for(settings),
        max_concurrent_activities=settings.max_concurrent_activities,
    )


async def serve(settings: WorkerSettings) -> None:
    """Connect, then run the worker until SIGINT/SIGTERM."""
    configure_tracing("kaptain-worker")
    runtime = metrics_runtime(settings.metrics_address)
    client = await connect(settings.address, settings.namespace, runtime=runtime)
    worker = build_worker(client, settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    log.info(
        "Kaptain worker (%s platform) serving %r on %s",
        settings.platform.value,
        settings.task_queue,
        settings.address,
    )
    if settings.metrics_address:
        log.info("Temporal metrics for Prometheus on http://%s/metrics", settings.metrics_address)
    running = asyncio.create_task(worker.run())
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if running.done():
        stopping.cancel()
        running.result()  # a fatal worker error ends the process (and lets it restart)
        return
    await worker.shutdown()
    await running
    log.info("Kaptain worker stopped")


def parse_args(argv: Sequence[str] | None = None) -> WorkerSettings:
    """Flags to settings (flags win over the environment)."""
    defaults = WorkerSettings(
        address=os.environ.get("KAPTAIN_TEMPORAL_ADDRESS") or "127.0.0.1:7233",
        namespace=os.environ.get("KAPTAIN_TEMPORAL_NAMESPACE") or "default",
        task_queue=os.environ.get("KAPTAIN_TASK_QUEUE") or TASK_QUEUE,
    )
    parser = argparse.ArgumentParser(
        prog="kaptain worker", description="Run a Kaptain worker: Kaptain's workflows and the "
        "activities of one platform, on one Temporal task queue."
    )  # fmt: skip
    parser.add_argument(
        "--platform",
        choices=[p.value for p in Platform],
        default=defaults.platform.value,
        help="where activities act (default: local)",
    )
    parser.add_argument("--address", default=defaults.address, help="Temporal host:port")
    parser.add_argument("--namespace", default=defaults.namespace, help="Temporal namespace")
    parser.add_argument("--task-queue", default=defaults.task_queue, help="task queue to serve")
    parser.add_argument("--home", default=str(defaults.home), help="local platform state dir")
    parser.add_argument("--kubeconfig", default=None, help="kubeconfig (kubernetes platform)")
    parser.add_argument(
        "--stuck-grace-seconds",
        type=float,
        default=float(os.environ.get("KAPTAIN_STUCK_GRACE_SECONDS") or 60),
        help="fail a job whose pod cannot be scheduled or pull its image for this long",
    )
    parser.add_argument(
        "--metrics-port",
        type=int,  # also applied to the variable's value: a bad one is a usage error
        default=os.environ.get("KAPTAIN_METRICS_PORT") or None,
        help="serve Temporal's SDK metrics for Prometheus on this port, at /metrics "
        "(default: KAPTAIN_METRICS_PORT; unset: off)",
    )
    parser.add_argument(
        "--metrics-host",
        default=defaults.metrics_host,
        help="interface of the metrics endpoint (default: all)",
    )
    args = parser.parse_args(argv)
    return WorkerSettings(
        platform=Platform(args.platform),
        address=args.address,
        namespace=args.namespace,
        task_queue=args.task_queue,
        home=args.home,
        kubeconfig=args.kubeconfig,
        stuck_grace_seconds=args.stuck_grace_seconds,
        metrics_port=args.metrics_port,
        metrics_host=args.metrics_host,
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    asyncio.run(serve(parse_args(argv)))
