"""Readiness and the test inference a revision must pass before it gets traffic."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp
from temporalio import activity

from kaptain.activities.local.serving_processes import ReplicaProcesses
from kaptain.contracts.serve import InferenceProtocol
from kaptain.serving.examples import EXAMPLE_FILE, infer_url, metadata_url, probe_request

__all__ = ["EXAMPLE_FILE", "RevisionNotReady", "check_replica"]

"""A request body beside the model that its test inference sends."""

_POLL_SECONDS = 0.2
_REQUEST_TIMEOUT = aiohttp.ClientTimeout(total=60, sock_connect=5)


class RevisionNotReady(Exception):
    """A revision cannot serve.

    Args:
        reason: What went wrong, in words.
        replica: The replica it happened to (None: before any replica ran).
    """

    def __init__(self, reason: str, replica: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.replica = replica


async def check_replica(
    processes: ReplicaProcesses,
    replica: str,
    base_url: str,
    model: str,
    protocol: InferenceProtocol,
    model_dir: Path,
    ready_seconds: float,
) -> None:
    """Wait until a replica is ready, then send it the test inference.

    Args:
        processes: The revision's replicas (to notice a replica that exits).
        replica: Which one.
        base_url: Its base URL.
        model: The model name in inference URLs.
        protocol: The protocol of the test inference.
        model_dir: The model directory (where ``input_example.json`` may be).
        ready_seconds: Seconds to wait for readiness.

    Raises:
        RevisionNotReady: The replica exited, never became ready, or failed the test.
    """
    async with aiohttp.ClientSession(timeout=_REQUEST_TIMEOUT) as session:
        ready_url = f"{base_url}/v1/models/{model}"
        await _wait_ready(session, processes, replica, ready_url, ready_seconds)
        example = await asyncio.to_thread(_read_example, model_dir / EXAMPLE_FILE)
        try:
            await _test_inference(session, base_url, model, protocol, example)
        except (aiohttp.ClientError, TimeoutError) as error:
            raise RevisionNotReady(f"the test inference failed: {error!r}", replica) from error
        except RevisionNotReady as failure:
            raise RevisionNotReady(failure.reason, replica) from None


def _read_example(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


async def _wait_ready(
    session: aiohttp.ClientSession,
    processes: ReplicaProcesses,
    replica: str,
    url: str,
    ready_seconds: float,
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + ready_seconds
    while True:
        reason = processes.exit_reason(replica)
        if reason is not None:
            raise RevisionNotReady(reason, replica)
        try:
            async with session.get(url) as answer:
                if answer.status == 200 and (await answer.json()).get("ready"):
                    return
        except (aiohttp.ClientError, TimeoutError, ValueError):
            pass
        if loop.time() > deadline:
            reason = f"the model server was not ready after {ready_seconds:.0f} s"
            raise RevisionNotReady(reason, replica)
        activity.heartbeat(f"waiting for {replica}")
        await asyncio.sleep(_POLL_SECONDS)


async def _test_inference(
    session: aiohttp.ClientSession,
    base_url: str,
    model: str,
    protocol: InferenceProtocol,
    example: bytes | None,
) -> None:
    v1 = protocol is InferenceProtocol.V1
    if example is None:
        url = metadata_url(base_url, model, protocol)
        async with session.get(url) as answer:
            if answer.status != 200:
                text = await answer.text()
                raise RevisionNotReady(f"GET {url} answered {answer.status}: {text[:500]}")
        return
    url = infer_url(base_url, model, protocol)
    expected = "predictions" if v1 else "outputs"
    try:
        body = probe_request(protocol, json.loads(example))
    except ValueError as err:
        raise RevisionNotReady(f"{EXAMPLE_FILE} is not a usable request: {err}") from None
    async with session.post(url, json=body) as answer:
        text = await answer.text()
    if answer.status != 200:
        raise RevisionNotReady(
            f"the test inference ({EXAMPLE_FILE}) answered {answer.status}: {text[:500]}"
        )
    try:
        answered = expected in json.loads(text)
    except ValueError:
        answered = False
    if not answered:
        raise RevisionNotReady(f"the test inference's answer has no {expected!r}: {text[:500]}")
