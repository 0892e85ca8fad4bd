"""Durability with the real dev server: a worker crash, a caller crash, secrets in history."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer
from temporalio.client import Client

from harness import (
    REPO,
    Background,
    WorkerProcess,
    all_histories,
    job_dirs,
    make_model,
    records,
    wait_for,
)
from kaptain.config import Config
from kaptain.contracts import train_workflow_id
from kaptain.platform.config.docker import DockerConfigurationProvider
from kaptain.platform.config.s3 import S3ConfigurationProvider
from kaptain.stack.temporal_server import free_port


def replicas_running(home: Path, count: int) -> bool:
    return len(list(home.glob("jobs/*/*/*.pid"))) >= count


def test_worker_sigkill_mid_training_completes_without_duplicates(
    worker: WorkerProcess, kaptain_home: Path, tmp_path: Path
) -> None:
    model = make_model()
    seen = tmp_path / "seen"
    caller = Background(
        lambda: model.train(
            workers=2,
            hyperparameters={"--epochs": 4, "--sleep": 8},
            args={"--record-dir": str(seen)},
        )
    )
    wait_for(lambda: replicas_running(kaptain_home, 2), 60)
    worker.kill()  # SIGKILL: no shutdown, heartbeats stop
    worker.start()  # a new worker process on the same queue and state directory
    assert caller.result(180) is True
    # every replica started exactly once: the new worker adopted the running job
    starts = records(seen)
    assert sorted(r["env"]["RANK"] for r in starts) == ["0", "1"]
    assert len(job_dirs(kaptain_home)) == 1
    assert model.metrics is not None and model.metrics["accuracy"]["latest"] > 0


CALLER = """
import sys
sys.path.insert(0, {tests!r})
from harness import make_model
make_model().train(workers=2, hyperparameters={{"--epochs": 3, "--sleep": 6}},
                   ttl_seconds_after_finished=3)
"""


def test_caller_killed_run_completes_reattach_and_ttl_cleanup(
    worker: WorkerProcess,
    kaptain_home: Path,
    temporal_address: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    script = CALLER.format(tests=str(REPO / "tests"))
    caller = subprocess.Popen([sys.executable, "-c", script], env=dict(os.environ))
    wait_for(lambda: replicas_running(kaptain_home, 2), 60)
    caller.send_signal(signal.SIGKILL)  # the notebook kernel dies
    caller.wait()

    # a new process attaches to the run that kept going, and gets its result
    model = make_model()
    assert model.train(workers=2, hyperparameters={"--epochs": 3, "--sleep": 6})
    assert "already in progress" in capsys.readouterr().out
    workflow_id = train_workflow_id(os.environ["KAPTAIN_SDK_NAMESPACE"], "dev/tiny")

    async def last_result_revision() -> str:
        client = await Client.connect(temporal_address)
        description = await client.get_workflow_handle(workflow_id).describe()
        return str(description.search_attributes.get("KaptainRevision", [""])[0])

    assert asyncio.run(last_result_revision()) == model.revision
    # the TTL given by the killed caller still deletes the job, with no client involved
    wait_for(lambda: job_dirs(kaptain_home) == [], 60)


@pytest.fixture
def s3_endpoint() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def test_credentials_never_reach_workflow_history(
    worker: WorkerProcess,
    s3_endpoint: str,
    temporal_address: str,
    kaptain_home: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    key_id = f"AKIA{uuid.uuid4().hex[:16].upper()}"
    secret = f"s3cr3t-{uuid.uuid4().hex}"
    s3 = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        region_name="us-east-1",
    )
    s3.create_bucket(Bucket="kaptain")
    provider = S3ConfigurationProvider(
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        s3_endpoint=s3_endpoint,
        s3_force_path_style=True,
    )
    config = Config(
        DockerConfigurationProvider.empty(),
        provider,
        base_dir=str(make_model().config.base_dir),
        base_model_storage_uri="s3://kaptain/models",
    )
    model = make_model(config=config)
    assert model.train(workers=2, hyperparameters={"--epochs": 2, "--lr": 0.5})
    # the trainer uploaded to S3 with the credentials it got by reference
    uploaded = s3.get_object(
        Bucket="kaptain", Key=f"models/dev/tiny/trained/{model.revision}/model.txt"
    )
    assert uploaded["Body"].read() == b"lr=0.5\n"
    assert [r.action for r in model.history() if r.revision == model.revision] == ["train"]

    everything = all_histories(temporal_address)
    assert f"trained/{model.revision}" in everything  # payloads are decoded: a real search
    assert re.search(r"kaptain-dev-tiny-[0-9a-f]{8}-storage", everything)  # the reference...
    assert secret not in everything  # ...the credentials are not
    assert key_id not in everything
    assert secret not in capsys.readouterr().out
    assert secret not in worker.log.read_text()
    # the staged secret was private while it existed, and the run deleted it when it ended
    assert list((kaptain_home / "secrets").glob("*.json")) == []
    assert oct((kaptain_home / "secrets").stat().st_mode & 0o777) == "0o700"
