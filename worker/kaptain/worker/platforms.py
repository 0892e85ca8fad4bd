"""Platform choice: which activity implementations a worker registers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kaptain.activities.storage import StorageActivities
from kaptain.worker.settings import Platform, WorkerSettings

if TYPE_CHECKING:
    from kaptain.activities.kubernetes.api import KubeApi
    from kaptain.activities.local.jobs import LocalJobActivities


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
    from kaptain.activities.local.serving import LocalServingActivities
    from kaptain.secrets import LocalSecretStore

    paths = settings.paths.ensure()
    secrets = LocalSecretStore(paths.secrets)
    build = LocalBuildActivities(paths.envs, secrets)
    jobs = LocalJobActivities(paths.jobs, paths.envs, secrets, paths.secrets)
    storage = StorageActivities(secrets)
    serving = LocalServingActivities(paths.serving, secrets)
    return [
        *platform_activities(
            build, jobs, serving, storage, LocalSecretActivities(secrets).delete_secrets
        ),
        *local_inventory_activities(jobs, paths.jobs, paths.secrets),
    ]


def kubernetes_activities(settings: WorkerSettings) -> list[Callable[..., Any]]:
    """Kaniko builds and Kubeflow jobs through the Kubernetes API."""
    from kaptain.activities.kubernetes.build import KubeBuildActivities
    from kaptain.activities.kubernetes.connect import connect
    from kaptain.activities.kubernetes.jobs import KubeJobActivities
    from kaptain.activities.kubernetes.secrets import KubeCredentials, KubeSecrets
    from kaptain.activities.kubernetes.serving import KubeServingActivities

    api = connect(settings.kubeconfig)
    secrets = KubeSecrets(api)
    build = KubeBuildActivities(api, secrets, stuck_grace_seconds=settings.stuck_grace_seconds)
    jobs = KubeJobActivities(api, stuck_grace_seconds=settings.stuck_grace_seconds)
    credentials = KubeCredentials(secrets)
    storage = StorageActivities(credentials)
    serving = KubeServingActivities(api, credentials)
    return [
        *platform_activities(build, jobs, serving, storage, secrets.delete_secrets),
        *kubernetes_inventory_activities(api),
    ]


def platform_activities(
    build: Any,
    jobs: Any,
    serving: Any,
    storage: StorageActivities,
    delete_secrets: Callable[..., Any],
) -> list[Callable[..., Any]]:
    """The activities every platform implements, from its build, job and serving classes."""
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
        delete_secrets,
        serving.apply,
        serving.metrics,
        serving.delete,
    ]


def local_inventory_activities(
    jobs: LocalJobActivities, jobs_dir: Path, secrets_dir: Path
) -> list[Callable[..., Any]]:
    """``kaptain.utils`` on this machine: list and delete managed jobs and staged secrets."""
    from kaptain.activities.local.inventory import LocalInventoryActivities

    inventory = LocalInventoryActivities(jobs, jobs_dir, secrets_dir)
    return [inventory.list_resources, inventory.delete_resource]


def kubernetes_inventory_activities(api: KubeApi) -> list[Callable[..., Any]]:
    """``kaptain.utils`` on a cluster: list and delete objects carrying Kaptain's labels."""
    from kaptain.activities.kubernetes.inventory import KubeInventoryActivities

    inventory = KubeInventoryActivities(api)
    return [inventory.list_resources, inventory.delete_resource]
