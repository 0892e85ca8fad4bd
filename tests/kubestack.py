"""The Kubernetes-platform test stack: what a test talks to, and how it makes models."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness import TRAINERS, WorkerProcess, make_model
from kaptain.config import Config
from kaptain.model.models import Model
from kaptain.platform.config.certificates import DockerRegistryCertificateProvider
from kaptain.platform.config.docker import DockerConfigurationProvider
from kaptain.platform.config.s3 import S3ConfigurationProvider
from kubeemu import KubeEmulator
from registry import LocalRegistry

S3_KEY_ID = "AKIAKUBETESTS0000000"
S3_SECRET = "kube-tests-secret-0123456789"


@dataclass
class KubeStack:
    """Everything a Kubernetes-platform test talks to."""

    emulator: KubeEmulator
    registry: LocalRegistry
    s3_endpoint: str
    kubeconfig: Path
    worker: WorkerProcess

    def config(self, base_dir: Path = TRAINERS) -> Config:
        return Config(
            DockerConfigurationProvider(self.registry.docker_config_json),
            S3ConfigurationProvider(
                aws_access_key_id=S3_KEY_ID,
                aws_secret_access_key=S3_SECRET,
                s3_endpoint=self.s3_endpoint,
                s3_force_path_style=True,
            ),
            docker_registry_url=self.registry.url,
            docker_registry_certificate_provider=DockerRegistryCertificateProvider(
                self.registry.ca_pem
            ),
            base_dir=str(base_dir),
            base_model_storage_uri="s3://kaptain/models",
        )

    def model(self, model_id: str = "dev/tiny", **overrides: object) -> Model:
        fields: dict[str, object] = {
            "image_name": f"{self.registry.host}/kaptain/tiny",
            "config": self.config(),
        }
        fields.update(overrides)
        return make_model(model_id, **fields)
