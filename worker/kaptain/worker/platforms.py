"""Platform choice: which activity implementations a worker registers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kaptain.activities.storage import StorageActivities
from kaptain.worker.settings import Platform, WorkerSettings


def activities_for(settings: WorkerSettings) -> list[Callable[..., Any]]:
    """The activity callables of the configured platform."""
    from kaptain.activities.tuning.suggest import TuningActivities

    shared: list[Callable[..., Any]] = [TuningActivities().suggest]
    if settings.platform is Platform.KUBERNETES:
        return kubernetes_activities(settings) + shared
    return local_activities(settings) + shared


def local_activities(settings: WorkerSettings) -> list[Callable[..., Any]]:
    """Venv builds and supervised processes on this machine."""
    from kaptain.activities.local import (
        LocalBuildActivities,
        LocalJobActivities,
        LocalSecretActivities,
    )
    from kaptain.secrets import LocalSecretStore

    paths = settings.paths.ensure()
    secrets = LocalSecretStore(paths.secrets)
    build = LocalBuildActivities(paths.envs, secrets)
    jobs = LocalJobActivities(paths.jobs, paths.envs, secrets, paths.secrets)
    storage = StorageActivities(secrets)
    return [
        build.check_image,
        build.build_image,
        jobs.start_job,
        jobs.wait_job,
        jobs.job_metrics,
        jobs.delete_job,
        storage.check_upload,
        storage.record,
        storage.copy_model,
        LocalSecretActivities(secrets).delete_secrets,
    ]


def kubernetes_activities(settings: WorkerSettings) -> list[Callable[..., Any]]:
    """Kaniko builds and Kubeflow jobs through the Kubernetes API."""
    from kaptain.activities.kubernetes.build import KubeBuildActivities
    from kaptain.activities.kubernetes.connect import connect
    from kaptain.activities.kubernetes.jobs import KubeJobActivities
    from kaptain.activities.kubernetes.secrets import KubeCredentials, KubeSecrets

    api = connect(settings.kubeconfig)
    secrets = KubeSecrets(api)
    build = KubeBuildActivities(api, secrets, stuck_grace_seconds=settings.stuck_grace_seconds)
    jobs = KubeJobActivities(api, stuck_grace_seconds=settings.stuck_grace_seconds)
    storage = StorageActivities(KubeCredentials(secrets))
    return [
        build.check_image,
        build.build_image,
        jobs.start_job,
        jobs.wait_job,
        jobs.job_metrics,
        jobs.delete_job,
        storage.check_upload,
        storage.record,
        storage.copy_model,
        secrets.delete_secrets,
    ]
