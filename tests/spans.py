"""Traces in tests: record the process's spans in memory, run a worker in this process.

OpenTelemetry lets a process set the global tracer provider once: :func:`recorded_spans`
reuses an SDK provider that is already installed (by another test module), else installs one.
Its exporter is shut down afterwards, so the provider left behind records nothing more (and
exports nowhere). A worker in this process (:func:`worker_in_process`, on the SDK portal's
loop) sends its spans to the same exporter as the SDK's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.worker import Worker

from kaptain.client.connect import connect
from kaptain.client.portal import portal
from kaptain.worker.main import build_worker
from kaptain.worker.settings import WorkerSettings

_WORKER_START_SECONDS = 60
_WORKER_STOP_SECONDS = 60


@contextmanager
def recorded_spans() -> Iterator[InMemorySpanExporter]:
    """An in-memory exporter on the process-wide tracer provider.

    ``kaptain.telemetry.configure_tracing`` installs a provider only when an OTLP endpoint
    is configured, so those variables are cleared meanwhile.
    """
    with pytest.MonkeyPatch.context() as env:
        for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
            env.delenv(name, raising=False)
        current = trace.get_tracer_provider()
        if isinstance(current, TracerProvider):
            provider = current
        else:
            provider = TracerProvider()
            trace.set_tracer_provider(provider)
        assert trace.get_tracer_provider() is provider
        exporter = InMemorySpanExporter()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        try:
            yield exporter
        finally:
            exporter.shutdown()


@contextmanager
def worker_in_process(settings: WorkerSettings) -> Iterator[Worker]:
    """A Kaptain worker running on the portal's loop, in this process."""
    loop = portal().loop

    async def start() -> tuple[Worker, asyncio.Task[None]]:
        client = await connect(settings.address, settings.namespace)
        worker = build_worker(client, settings)
        return worker, asyncio.create_task(worker.run())

    worker, running = asyncio.run_coroutine_threadsafe(start(), loop).result(_WORKER_START_SECONDS)
    try:
        yield worker
    finally:

        async def stop() -> None:
            await worker.shutdown()
            await running

        asyncio.run_coroutine_threadsafe(stop(), loop).result(_WORKER_STOP_SECONDS)


def named(finished: list[ReadableSpan], prefix: str) -> list[ReadableSpan]:
    return [s for s in finished if s.name.startswith(prefix)]


def trace_id(span: ReadableSpan) -> int:
    assert span.context is not None
    return int(span.context.trace_id)


def span_id(span: ReadableSpan) -> int:
    assert span.context is not None
    return int(span.context.span_id)


def root_of(span: ReadableSpan, by_id: dict[int, ReadableSpan]) -> ReadableSpan:
    """Follow parent links up to the root (every parent must have been recorded)."""
    seen: set[int] = set()
    while span.parent is not None:
        assert span_id(span) not in seen, "cycle in the span tree"
        seen.add(span_id(span))
        assert span.parent.span_id in by_id, f"{span.name}: parent span was not recorded"
        span = by_id[span.parent.span_id]
    return span


def one_tree(finished: list[ReadableSpan], root_name: str) -> ReadableSpan:
    """Every span is in one trace, under the one span named ``root_name``."""
    names = sorted({s.name for s in finished})
    roots = [s for s in finished if s.name == root_name]
    assert len(roots) == 1, names
    [root] = roots
    assert root.parent is None, "the SDK's span must be the root of the trace"
    by_trace: dict[str, list[str]] = {}
    for span in finished:
        by_trace.setdefault(format(trace_id(span), "032x"), []).append(span.name)
    assert list(by_trace) == [format(trace_id(root), "032x")], by_trace
    by_id = {span_id(s): s for s in finished}
    assert {root_of(s, by_id).name for s in finished} == {root_name}
    return root


def parent_name(span: ReadableSpan, finished: list[ReadableSpan]) -> str | None:
    if span.parent is None:
        return None
    return {span_id(s): s.name for s in finished}[span.parent.span_id]


def ancestors(span: ReadableSpan, finished: list[ReadableSpan]) -> list[str]:
    """Names of the span's ancestors, nearest first."""
    by_id = {span_id(s): s for s in finished}
    names = []
    while span.parent is not None:
        span = by_id[span.parent.span_id]
        names.append(span.name)
    return names
