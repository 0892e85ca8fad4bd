"""Kubernetes build: skip via the registry's image labels, else a Kaniko Job, then clean up."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from kaptain.activities.errors import permanent
from kaptain.activities.kubernetes.api import JOBS, PODS, KubeApi
from kaptain.activities.kubernetes.errors import Conflict, KubeError, to_application_error
from kaptain.activities.kubernetes.manifests import kaniko_job
from kaptain.activities.kubernetes.pods import StuckPods
from kaptain.activities.kubernetes.registry import RegistryClient, credentials_for, split_image
from kaptain.activities.kubernetes.registry_errors import RegistryError
from kaptain.activities.kubernetes.secrets import KubeSecrets
from kaptain.activities.kubernetes.watching import wait_for
from kaptain.contracts import ActivityName, BuildInput, BuildResult, model_slug

_LOG_TAIL = 40


def build_job_name(build: BuildInput) -> str:
    """Deterministic Kaniko Job name for an image's contents (a retry adopts the same Job)."""
    return f"kaptain-build-{model_slug(build.model_id)[:34].rstrip('-')}-{build.checksum[:12]}"


def job_outcome(job: dict[str, Any]) -> str | None:
    """``Complete`` or ``Failed`` once a batch Job finished, else None."""
    for condition in (job.get("status") or {}).get("conditions") or []:
        if condition.get("status") == "True" and condition.get("type") in ("Complete", "Failed"):
            return str(condition["type"])
    return None


class KubeBuildActivities:
    """Checks the registry and runs Kaniko Jobs.

    Args:
        api: The Kubernetes adapter.
        secrets: Reads the staged registry Secrets.
        registry: Makes a registry client (``base_url``, username, password, CA).
        stuck_grace_seconds: How long the Kaniko pod may stay unschedulable or unable to
            pull its image before the build fails.
    """

    def __init__(
        self,
        api: KubeApi,
        secrets: KubeSecrets,
        registry: Callable[..., RegistryClient] = RegistryClient,
        *,
        stuck_grace_seconds: float = 60.0,
    ) -> None:
        self._api = api
        self._secrets = secrets
        self._registry = registry
        self._grace = stuck_grace_seconds

    def _labels(self, build: BuildInput) -> dict[str, str] | None:
        host, repository, reference = split_image(build.image)
        docker = ca = None
        if build.docker_config_ref:
            docker = self._secrets.read(build.namespace, build.docker_config_ref)
        if build.registry_ca_ref:
            ca = self._secrets.read(build.namespace, build.registry_ca_ref).get("ca.crt")
        creds = credentials_for(docker[".dockerconfigjson"], host) if docker else None
        url = build.registry_url or f"https://{host}"
        with self._registry(
            url,
            username=creds[0] if creds else None,
            password=creds[1] if creds else None,
            ca_pem=ca,
        ) as client:
            return client.image_labels(repository, reference)

    @activity.defn(name=ActivityName.CHECK_IMAGE)
    async def check_image(self, build: BuildInput) -> BuildResult:
        """``skipped=True`` when the registry has this image with this checksum label."""
        try:
            labels = await self._api.run(self._labels, build)
        except RegistryError as err:
            raise _registry_failure(err) from None
        except KubeError as err:
            raise to_application_error(err) from None
        skipped = labels is not None and labels.get("checksum") == build.checksum
        return BuildResult(
            image=build.image, checksum=build.checksum, skipped=skipped, location=build.image
        )

    @activity.defn(name=ActivityName.BUILD_IMAGE)
    async def build_image(self, build: BuildInput) -> BuildResult:
        """Run the Kaniko Job to completion; delete it afterwards whatever happened.

        Raises:
            ApplicationError: ``ImageBuildException`` with the tail of the Kaniko log.
        """
        name = build_job_name(build)
        host, _, _ = split_image(build.image)
        manifest = kaniko_job(
            build,
            name=name,
            context_uri=build.context_uri,
            storage_secret=build.storage.credentials_ref,
            docker_config_secret=build.docker_config_ref,
            ca_secret=build.registry_ca_ref,
            registry_host=host,
        )
        try:
            try:
                await self._api.run(self._api.create, JOBS, build.namespace, manifest)
            except Conflict:
                activity.logger.info("Adopting the existing build Job %s", name)
            outcome = await wait_for(
                self._api,
                JOBS,
                build.namespace,
                name,
                done=job_outcome,
                between=self._watchdog(build.namespace, name),
                resource_version=_resume_version(),
            )
            if outcome == "Failed":
                tail = await self._api.run(self._log_tail, build.namespace, name)
                raise permanent(
                    "ImageBuildException",
                    f"the Kaniko build of {build.image} failed:\n{tail}",
                )
        except KubeError as err:
            raise to_application_error(err) from None
        finally:
            await self._api.run(self._api.delete, JOBS, build.namespace, name)
        return BuildResult(
            image=build.image, checksum=build.checksum, skipped=False, location=build.image
        )

    def _watchdog(
        self, namespace: str, job: str
    ) -> Callable[[str, dict[str, Any] | None], Awaitable[None]]:
        stuck = StuckPods(self._api, self._grace, error_type="ImageBuildException")

        async def between(version: str, _latest: dict[str, Any] | None) -> None:
            activity.heartbeat(version)
            await self._api.run(stuck.check, namespace, f"job-name={job}", f"the build {job}")

        return between

    def _log_tail(self, namespace: str, job: str) -> str:
        pods = self._api.list(PODS, namespace, label_selector=f"job-name={job}").items
        if not pods:
            return "(no build pod was created)"
        pod = pods[-1]["metadata"]["name"]
        return self._api.read_log(namespace, pod, tail_lines=_LOG_TAIL)


def _resume_version() -> str | None:
    details = activity.info().heartbeat_details
    return str(details[0]) if details else None


def _registry_failure(err: RegistryError) -> ApplicationError:
    if err.retryable:
        return ApplicationError(str(err), type="TemporaryRegistryError")
    return permanent("ImageBuildException", str(err))
