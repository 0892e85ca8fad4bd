"""The SDK's side of each action: prepare inputs, start or attach, follow, map the outcome.

The SDK never mutates a platform directly: it uploads the build context and stages
credentials (by reference), then drives a workflow.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from temporalio.client import WorkflowFailureError

from kaptain.client.session import session
from kaptain.config import Config
from kaptain.contracts import (
    BuildInput,
    BuildResult,
    ResourceSpec,
    StorageRef,
    TrainInput,
    TrainResult,
    WorkflowName,
    build_workflow_id,
    model_slug,
    train_workflow_id,
)
from kaptain.envs import get_env_str
from kaptain.model.build_context import BuildContext
from kaptain.model.output import say
from kaptain.model.runs import RunDriver, application_error, to_kaptain_error
from kaptain.secrets import LocalSecretStore, storage_secret_name
from kaptain.stack.paths import state_paths
from kaptain.storage import open_location
from kaptain.telemetry import tracer

InputT = TypeVar("InputT")
R = TypeVar("R")


def storage_ref(config: Config, model_id: str) -> StorageRef:
    """Stage the storage credentials (if any) and return the reference to them."""
    body = config.storage_credentials()
    if not body:
        return StorageRef(base_uri=config.base_model_storage_uri)
    name = storage_secret_name(model_slug(model_id))
    LocalSecretStore(state_paths().secrets).put(name, body)
    return StorageRef(base_uri=config.base_model_storage_uri, credentials_ref=name)


def builder_resources() -> ResourceSpec:
    """Builder resources from ``DOCKER_BUILDER_*``."""
    return ResourceSpec(
        cpu_limit=get_env_str("DOCKER_BUILDER_CPU_LIMIT", "1"),
        memory_limit=get_env_str("DOCKER_BUILDER_MEM_LIMIT", "1G"),
        cpu_request=get_env_str("DOCKER_BUILDER_CPU_REQUEST", "500m"),
        memory_request=get_env_str("DOCKER_BUILDER_MEM_REQUEST", "500M"),
    )


def upload_context(config: Config, model_id: str, context: BuildContext) -> str:
    """Upload the context tarball (once per checksum); returns its URI."""
    relative = f"{model_id}/build/{context.checksum}.tar.gz"
    uri = f"{config.base_model_storage_uri}/{relative}"
    store, key = open_location(uri, config.storage_credentials() or None)
    if not store.exists(key):
        store.put_bytes(key, context.tarball())
    return uri


def build_input(
    config: Config, model_id: str, image: str, context: BuildContext, storage: StorageRef
) -> BuildInput:
    """Everything the BuildImage workflow needs, after uploading the context."""
    return BuildInput(
        model_id=model_id,
        image=image,
        checksum=context.checksum,
        context_uri=upload_context(config, model_id, context),
        dockerfile=context.dockerfile(context.checksum),
        main_file=context.main_file,
        base_image=context.base_image,
        requirements=context.requirements,
        storage=storage,
        resources=builder_resources(),
    )


def report_build(result: BuildResult) -> None:
    """Kaptain's build messages."""
    if result.skipped:
        say(
            f"Skipping the build: image {result.image} with the same contents "
            f"(checksum {result.checksum[:12]}) is already published."
        )
    else:
        say(f"Image {result.image} built and published.")


async def _drive(
    workflow: str,
    prepare: Callable[[], InputT],
    *,
    result_type: type[R],
    action: str,
    model_id: str,
    workflow_id: Callable[[InputT], str],
    summary: Callable[[InputT], str],
    verbose: bool,
) -> R:
    """Connect, prepare the input, start (or attach to) a run, follow it to its result.

    ``prepare`` runs only once Temporal answers, so an unreachable Temporal leaves nothing
    behind. The whole call is one OpenTelemetry span, the parent of the run's spans.
    """
    with tracer().start_as_current_span(
        f"kaptain.{action}", attributes={"kaptain.model_id": model_id}
    ):
        client, settings = await session(say)
        arg = await asyncio.to_thread(prepare)
        driver = RunDriver(client, settings, say)
        handle = await driver.start_or_attach(
            workflow,
            arg,
            workflow_id=workflow_id(arg),
            result_type=result_type,
            model_id=model_id,
            action=action,
            summary=summary(arg),
        )
        return await driver.follow(handle, verbose=verbose)


async def run_build(
    prepare: Callable[[], BuildInput], *, model_id: str, verbose: bool
) -> BuildResult:
    """Build (or skip) the model's image through the BuildImage workflow.

    Raises:
        ImageBuildException: The build failed.
    """
    try:
        return await _drive(
            WorkflowName.BUILD_IMAGE,
            prepare,
            result_type=BuildResult,
            action="build",
            model_id=model_id,
            workflow_id=lambda build: build_workflow_id(build.image, build.checksum),
            summary=lambda build: f"build {build.image}",
            verbose=verbose,
        )
    except WorkflowFailureError as err:
        raise to_kaptain_error(err) from None


async def run_train(
    prepare: Callable[[], TrainInput], *, model_id: str, verbose: bool
) -> TrainResult | None:
    """Train through the model's TrainModel workflow (attaching to a running one).

    Returns:
        The result, or None when the job ran and failed or timed out (already reported).

    Raises:
        ImageBuildException: The image could not be built.
        WorkloadDeploymentError: The job could not be scheduled.
    """
    try:
        return await _drive(
            WorkflowName.TRAIN_MODEL,
            prepare,
            result_type=TrainResult,
            action="train",
            model_id=model_id,
            workflow_id=lambda train: train_workflow_id(train.namespace, train.model_id),
            summary=lambda train: f"train {train.model_id} ({train.workers} workers)",
            verbose=verbose,
        )
    except WorkflowFailureError as err:
        cause = application_error(err)
        if cause is not None and cause.type in ("TrainingFailed", "TrainingTimeout"):
            say(f"Training of {model_id} failed: {cause.message}")
            return None
        raise to_kaptain_error(err) from None
