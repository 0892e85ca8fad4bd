"""kubeemu's kaniko runtime: a Kaniko Job builds from an S3 context (moto) and pushes to a
TLS registry with basic auth; the pushed image then runs as a pod with the python runtime."""

from __future__ import annotations

import base64
import io
import json
import tarfile
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from kubernetes import client

from kubeemu import KubeEmulator
from kubeemu.registry import MiniRegistry

NS = "builds"
DOCKERFILE = """\
FROM python:3.11-slim
LABEL checksum=abc123 \\
      kaptain.managed="true"
WORKDIR /kaptain
COPY . /kaptain
RUN pip install -r requirements.txt
ENTRYPOINT ["python", "-u", "trainer.py"]
"""
TRAINER = """\
import os, sys
from helper import metric
print("args", sys.argv[1:], "rank", os.environ.get("RANK", "-"))
print(metric())
"""


@pytest.fixture
def registry() -> Iterator[MiniRegistry]:
    with MiniRegistry(users={"builder": "s3cret"}, tls=True) as running:
        yield running


@pytest.fixture
def context_url(moto_endpoint: str, bucket: str) -> str:
    s3 = boto3.client(
        "s3",
        endpoint_url=moto_endpoint,
        aws_access_key_id="AKIAKANIKO",
        aws_secret_access_key="kaniko-secret",
        region_name="us-east-1",
    )
    s3.create_bucket(Bucket=bucket)
    data = io.BytesIO()
    files = {
        "Dockerfile": DOCKERFILE,
        "trainer.py": TRAINER,
        "helper.py": "def metric():\n    return 'accuracy=0.93'\n",
        "requirements.txt": "",
    }
    with tarfile.open(fileobj=data, mode="w:gz") as archive:
        for name, text in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(text.encode())
            archive.addfile(info, io.BytesIO(text.encode()))
    s3.put_object(Bucket=bucket, Key="contexts/app.tar.gz", Body=data.getvalue())
    return f"s3://{bucket}/contexts/app.tar.gz"


def _any(api: object) -> Any:
    """A client API typed ``Any``: the tests pass JSON dicts, which the client accepts."""
    return api


@pytest.fixture
def emu(moto_endpoint: str, registry: MiniRegistry) -> Iterator[KubeEmulator]:
    with KubeEmulator() as emulator:
        core: Any = client.CoreV1Api(emulator.api_client())
        auth = base64.b64encode(b"builder:s3cret").decode()
        core.create_namespaced_secret(
            NS,
            {
                "metadata": {"name": "registry"},
                "type": "kubernetes.io/dockerconfigjson",
                "stringData": {
                    ".dockerconfigjson": json.dumps({"auths": {registry.host: {"auth": auth}}})
                },
            },
        )
        core.create_namespaced_secret(
            NS,
            {
                "metadata": {"name": "storage"},
                "stringData": {
                    "AWS_ACCESS_KEY_ID": "AKIAKANIKO",
                    "AWS_SECRET_ACCESS_KEY": "kaniko-secret",
                    "S3_ENDPOINT": moto_endpoint,
                    "S3_FORCE_PATH_STYLE": "true",
                },
            },
        )
        core.create_namespaced_secret(
            NS,
            {
                "metadata": {"name": "registry-ca"},
                "stringData": {"ca.crt": registry.ca_pem.decode()},
            },
        )
        yield emulator


def _kaniko_job(
    name: str, context: str, destination: str, registry: MiniRegistry
) -> dict[str, Any]:
    container = {
        "name": "kaniko",
        "image": "gcr.io/kaniko-project/executor:v1.23.2",
        "args": [
            "--dockerfile=Dockerfile",
            f"--context={context}",
            f"--destination={destination}",
            f"--registry-certificate={registry.host}=/kaniko/ssl/certs/registry.crt",
        ],
        "envFrom": [{"secretRef": {"name": "storage"}}],
        "volumeMounts": [
            {"name": "docker-config", "mountPath": "/kaniko/.docker"},
            {"name": "registry-ca", "mountPath": "/kaniko/ssl/certs"},
        ],
    }
    volumes = [
        {
            "name": "docker-config",
            "secret": {
                "secretName": "registry",
                "items": [{"key": ".dockerconfigjson", "path": "config.json"}],
            },
        },
        {
            "name": "registry-ca",
            "secret": {
                "secretName": "registry-ca",
                "items": [{"key": "ca.crt", "path": "registry.crt"}],
            },
        },
    ]
    return {
        "metadata": {"name": name},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "spec": {"restartPolicy": "Never", "containers": [container], "volumes": volumes}
            },
        },
    }


def _build(emu: KubeEmulator, job: dict[str, Any]) -> tuple[str, str]:
    _any(client.BatchV1Api(emu.api_client())).create_namespaced_job(NS, job)
    name = job["metadata"]["name"]

    def finished() -> str | None:
        status = (emu.get("jobs", NS, name) or {}).get("status") or {}
        return next(
            (
                c["type"]
                for c in status.get("conditions", [])
                if c["type"] in ("Complete", "Failed")
            ),
            None,
        )

    outcome = emu.wait_for(finished, 20, f"job {name}")
    pod = emu.objects("pods", NS)[0]["metadata"]["name"]
    return outcome, emu.pod_log(NS, pod)


def test_build_push_and_run(emu: KubeEmulator, registry: MiniRegistry, context_url: str) -> None:
    image = f"{registry.host}/team/mnist:v1"
    outcome, log = _build(emu, _kaniko_job("build", context_url, image, registry))
    assert outcome == "Complete", log
    assert "INFO[0000] Retrieving image manifest python:3.11-slim" in log
    assert f"Pushed {registry.host}/team/mnist@sha256:" in log
    assert registry.labels("team/mnist", "v1") == {"checksum": "abc123", "kaptain.managed": "true"}
    manifest = registry.manifest("team/mnist", "v1") or {}
    assert manifest["mediaType"] == "application/vnd.oci.image.manifest.v1+json"

    pod = {
        "metadata": {"name": "train"},
        "spec": {
            "restartPolicy": "Never",
            "containers": [{"name": "pytorch", "image": image, "args": ["--epochs", "2"]}],
        },
    }
    _any(client.CoreV1Api(emu.api_client())).create_namespaced_pod(NS, pod)
    emu.wait_for(
        lambda: (
            (emu.get("pods", NS, "train") or {})["status"].get("phase") in ("Succeeded", "Failed")
        ),
        10,
    )
    assert emu.pod_log(NS, "train") == "args ['--epochs', '2'] rank -\naccuracy=0.93\n"


def test_bad_credentials_fail_the_build(
    emu: KubeEmulator, registry: MiniRegistry, context_url: str
) -> None:
    wrong = base64.b64encode(b"builder:wrong").decode()
    _any(client.CoreV1Api(emu.api_client())).patch_namespaced_secret(
        "registry",
        NS,
        {
            "stringData": {
                ".dockerconfigjson": json.dumps({"auths": {registry.host: {"auth": wrong}}})
            }
        },
    )
    outcome, log = _build(
        emu, _kaniko_job("denied", context_url, f"{registry.host}/team/x:v1", registry)
    )
    assert outcome == "Failed"
    assert log.startswith("error checking push permissions")
    assert "UNAUTHORIZED" in log
    pod = emu.objects("pods", NS)[0]
    assert pod["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 1
    assert registry.manifest("team/x", "v1") is None


def test_missing_context_fails_the_build(
    emu: KubeEmulator, registry: MiniRegistry, bucket: str, context_url: str
) -> None:
    outcome, log = _build(
        emu,
        _kaniko_job(
            "nocontext", f"s3://{bucket}/missing.tar.gz", f"{registry.host}/a/b:c", registry
        ),
    )
    assert outcome == "Failed"
    assert "error building image: getting build context" in log and "NoSuchKey" in log
