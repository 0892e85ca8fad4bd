"""BuildImage: publish the training image for one content checksum, or skip it."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from kaptain.contracts import ActivityName, BuildInput, BuildResult, WorkflowName
    from kaptain.workflows.options import (
        BUILD_RETRY,
        BUILD_TIMEOUT,
        HEARTBEAT,
        QUICK_ACTIVITY,
        RETRY,
        delete_secrets,
    )


@workflow.defn(name=WorkflowName.BUILD_IMAGE)
class BuildImageWorkflow:
    """Skip when the platform already has the image with this checksum, else build it."""

    @workflow.run
    async def run(self, build: BuildInput) -> BuildResult:
        """Check, then build if needed.

        Args:
            build: What to build.

        Returns:
            The image, with ``skipped`` set when nothing had to be built.
        """
        try:
            return await self._build(build)
        finally:
            if build.owns_secrets:
                await delete_secrets(
                    build.namespace,
                    [build.storage.credentials_ref, build.docker_config_ref, build.registry_ca_ref],
                )

    async def _build(self, build: BuildInput) -> BuildResult:
        existing: BuildResult = await workflow.execute_activity(
            ActivityName.CHECK_IMAGE,
            build,
            result_type=BuildResult,
            start_to_close_timeout=QUICK_ACTIVITY,
            retry_policy=RETRY,
        )
        if existing.skipped:
            workflow.logger.info("Image %s already published; skipping the build", build.image)
            return existing
        built: BuildResult = await workflow.execute_activity(
            ActivityName.BUILD_IMAGE,
            build,
            result_type=BuildResult,
            start_to_close_timeout=BUILD_TIMEOUT,
            heartbeat_timeout=HEARTBEAT,
            retry_policy=BUILD_RETRY,
        )
        return built
