"""Platform choice: which activity implementations a worker registers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kaptain.activities.local import (
    LocalBuildActivities,
    LocalJobActivities,
    LocalSecretActivities,
)
from kaptain.activities.storage import StorageActivities
from kaptain.exceptions import PlatformUnavailableException
from kaptain.secrets import LocalSecretStore
from kaptain.worker.settings import Platform, WorkerSettings


def activities_for(settings: WorkerSettings) -> list[Callable[..., Any]]:
    """The activity callables of the configured platform.

    Raises:
        PlatformUnavailableException: The platform is not available in this release.
    """
    if settings.platform is not Platform.LOCAL:
        raise PlatformUnavailableException(
            f"the {settings.platform.value} platform is not available in this release; "
            "run the worker with --platform local"
        )
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
        jobs.delete_job,
        storage.check_upload,
        storage.record,
        LocalSecretActivities(secrets).delete_secrets,
    ]
