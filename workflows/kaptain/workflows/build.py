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
