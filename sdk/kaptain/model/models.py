"""The Model: Kaptain's notebook API for building, training, tuning and deploying."""

from __future__ import annotations

import datetime as dt
import json
import math
import uuid
from typing import Any

from kaptain import constants
from kaptain.client.portal import portal
from kaptain.config import Config
from kaptain.contracts import (
    BuildInput,
    ModelState,
    ResourceSpec,
    TrackingRecord,
    TrainInput,
    TrialRecord,
    TuneInput,
    WorkflowName,
    build_workflow_id,
    model_slug,
    train_workflow_id,
    tune_workflow_id,
)
from kaptain.contracts.names import ServeMessage
from kaptain.contracts.serve import (
    CanaryPolicy,
    CanaryRequest,
    DeployRequest,
    RollbackRequest,
    ServingState,
)
from kaptain.envs import get_env_bool
from kaptain.exceptions import (
    ModelAlreadyExistsException,
    ModelValidationException,
    UnsupportedMetricsTypeException,
)
from kaptain.hyperparameter.algorithms import Algorithm
from kaptain.hyperparameter.domains import Domain
from kaptain.model import actions, display, inputs, plots, requests, revisions, serving, tuning
from kaptain.model.build_context import BuildContext, collect, image_reference
from kaptain.model.frameworks import ModelFramework, of
from kaptain.model.meta import ModelMeta
from kaptain.model.output import say
from kaptain.model.resources import Resources, resolve_resources
from kaptain.model.transformer import Transformer
from kaptain.secrets import StagedCredentials
from kaptain.storage import open_location
from kaptain.tracking import TrackingStore

__all__ = ["Model", "ModelMeta"]

METRICS_TYPES = ("training", "testing", "validation", "production")
"""Evaluation types accepted by :meth:`Model.log_metrics`."""


class Model:
    """A representation of a machine learning model.

    When the model is created for the first time, its internal revision is set to a random
    UUID and its state is ``untrained``. Training or tuning updates the state, sets the
    hyperparameter values and refreshes the revision; every action is recorded in the
    model tracking store.

    Args:
        id: Unique identifier of the model, e.g. ``dev/mnist``.
        name: Short name of the model, e.g. ``MNIST``.
        description: Description of the model.
        version: Model version, e.g. ``4.5``.
        framework: Machine learning framework, e.g. ``pytorch`` (a ModelFramework or an
            alias such as ``tf``).
        framework_version: Framework version, e.g. ``2.13.0``.
        main_file: Main (Python) file with the model code, e.g. ``trainer.py``.
        image_name: Repository of the resulting image, optionally with a tag.
        base_image: Base container image.
        extra_files: Auxiliary files, e.g. ``["model.py"]``.
        requirements: pip requirements file of additional packages.
        labels: Custom labels for deployment-related metadata.
        config: Access to registries and blob storage (default: :meth:`Config.default`).
        serving_config: Configuration specific to model servers.

    Raises:
        InvalidModelProperty: A required property is None or blank.
        UnsupportedModelFrameworkException: The framework is not supported.
    """

    def __init__(
        self,
        id: str,
        name: str,
        description: str,
        version: str,
        framework: ModelFramework | str,
        framework_version: str,
        main_file: str,
        image_name: str,
        base_image: str,
        extra_files: list[str] | None = None,
        requirements: str | None = None,
        labels: list[str] | None = None,
        config: Config | None = None,
        serving_config: dict[str, str] | None = None,
    ) -> None:
        self.id = requests.require_text(id.strip("/") if isinstance(id, str) else id, "id")
        self.name = requests.require_text(name, "name")
        self.description = requests.require_text(description, "description")
        self.version = requests.require_text(version, "version")
        self.framework = of(framework)
        self.framework_version = requests.require_text(framework_version, "framework_version")
        self.main_file = requests.require_text(main_file, "main_file")
        self.image_name = requests.require_text(image_name, "image_name")
        self.base_image = requests.require_text(base_image, "base_image")
        self.extra_files = [
            requests.require_text(f, "extra_files")
            for f in requests.text_list(extra_files, "extra_files")
        ]
        self.requirements = (
            None if requirements is None else requests.require_text(requirements, "requirements")
        )
        self.labels = [
            requests.require_text(label, "labels") for label in requests.text_list(labels, "labels")
        ]
        self.serving_config = requests.text_dict(serving_config, "serving_config")
        self._config = config
        self._revision = str(uuid.uuid4())
        self._state = ModelState.UNTRAINED
        self._hyperparameters: dict[str, Any] | None = None
        self._metrics: dict[str, dict[str, float]] | None = None
        self._model_uri: str | None = None
        self._trials: list[TrialRecord] = []

    # -- properties -----------------------------------------------------------------------

    @property
    def config(self) -> Config:
        """The configuration (created with :meth:`Config.default` on first use)."""
        if self._config is None:
            self._config = Config.default()
        return self._config

    @property
    def revision(self) -> str:
        """The current revision (a new one after every train, tune and deploy)."""
        return self._revision

    @property
    def state(self) -> ModelState:
        """``untrained``, ``trained``, ``tuned`` or ``deployed``."""
        return self._state

    @property
    def hyperparameters(self) -> dict[str, Any] | None:
        """Hyperparameters as defined through the last action (train: the static values)."""
        return None if self._hyperparameters is None else dict(self._hyperparameters)

    @property
    def metrics(self) -> dict[str, dict[str, float]] | None:
        """Metrics of the last run: ``{name: {"min": .., "max": .., "latest": ..}}``."""
        return None if self._metrics is None else {k: dict(v) for k, v in self._metrics.items()}

    @property
    def model_uri(self) -> str | None:
        """Where the last trained or tuned revision's model was uploaded."""
        return self._model_uri

    @property
    def image(self) -> str:
        """The image reference (``image_name`` with a tag)."""
        return image_reference(
            self.image_name, self.id, self.framework.value, self.framework_version
        )

    # -- build and train ----------------------------------------------------------------

    def _checked_context(self) -> BuildContext:
        """The build context, after checking the files and the storage the platform needs."""
        context = collect(
            self.config.base_dir,
            self.main_file,
            self.extra_files,
            self.requirements,
            self.base_image,
        )
        inputs.check_platform(self.config)
        return context

    def build(self, verbose: bool | None = None) -> bool:
        """Builds the image with the model's code and requirements and publishes it.

        The image is labelled with the checksum of its contents and rebuilt only when no
        image of that name with that checksum is published.

        Args:
            verbose: Enable verbose output (default: ``KAPTAIN_SDK_VERBOSE``).

        Returns:
            True when the image is published (built now or before).

        Raises:
            ModelValidationException: A model file is missing or outside ``base_dir``.
            ImageBuildException: The build failed (with the tail of its log).
        """
        context = self._checked_context()
        config, model_id, image = self.config, self.id, self.image

        def make(staged: StagedCredentials) -> BuildInput:
            return inputs.build_input(config, model_id, image, context, staged, owns_secrets=True)

        request = actions.Request(
            workflow=WorkflowName.BUILD_IMAGE,
            workflow_id=build_workflow_id(image, context.checksum),
            summary=f"build {image}",
            model_id=model_id,
            action="build",
            prepare=lambda: inputs.with_credentials(config, model_id, make),
            discard=lambda build: inputs.discard(config, inputs.staged_of(build)),
        )
        result = portal().run(actions.run_build(request, verbose=requests.verbose(verbose)))
        actions.report_build(result)
        return True

    def train(
        self,
        hyperparameters: dict[str, Any],
        args: dict[str, Any] | None = None,
        gpus: int | None = None,
        cpu: str | None = None,
        memory: str | None = None,
        resources: Resources | None = None,
        workers: int = 2,
        verbose: bool | None = None,
        ttl_seconds_after_finished: int | None = None,
        force_cleanup: bool | None = None,
        timeout: int | None = constants.DEFAULT_TIMEOUT_SECONDS,
    ) -> bool:
        """Trains the model in a distributed manner.

        Resources are given either with the simple parameters ``cpu``, ``memory`` and
        ``gpus`` (each sets the request and the limit alike) or with ``resources``, not
        both. Hyperparameters and ``args`` reach the trainer as ``--flag=value``.

        Args:
            hyperparameters: Dictionary of hyperparameter values, keyed by flag.
            args: Other arguments for the training code, keyed by flag.
            gpus: Number of GPUs per worker (default 0).
            cpu: CPUs per worker.
            memory: Memory per worker.
            resources: Advanced resource specification.
            workers: Number of parallel workers (default 2).
            verbose: Stream the workers' logs (default: ``KAPTAIN_SDK_VERBOSE``).
            ttl_seconds_after_finished: Delete the finished job after this many seconds
                (default: ``KAPTAIN_SDK_TTL_SECONDS_AFTER_FINISHED``; unset keeps it).
            force_cleanup: Delete the finished job at once (default:
                ``KAPTAIN_SDK_FORCE_CLEANUP``).
            timeout: Seconds to wait for the job before deleting it and failing.

        Returns:
            True when the job succeeded, False when it failed or timed out.

        Raises:
            ModelValidationException: An argument is invalid (nothing was created).
            ImageBuildException: The image could not be built.
            WorkloadDeploymentError: The job could not be scheduled.
        """
        request = self._train_request(
            hyperparameters=hyperparameters,
            args=args,
            resources=resolve_resources(cpu=cpu, memory=memory, gpus=gpus, resources=resources),
            workers=workers,
            ttl=requests.ttl_seconds(ttl_seconds_after_finished),
            force=requests.force_cleanup(force_cleanup),
            timeout=timeout,
        )
        result = portal().run(actions.run_train(request, verbose=requests.verbose(verbose)))
        if result is None:
            return False
        self._revision = result.revision
        self._state = result.state
        self._hyperparameters = dict(result.hyperparameters)
        self._metrics = {k: v.model_dump() for k, v in result.metrics.items()}
        self._model_uri = result.model_uri
        say(f"Training of {self.id} succeeded: revision {result.revision}")
        if self._metrics:
            say("Metrics: " + json.dumps(self._metrics))
        if not result.model_uploaded:
            say(f"Warning: the trainer uploaded no model to {result.model_uri}")
        return True

    def _train_request(
        self,
        *,
        hyperparameters: dict[str, Any],
        args: dict[str, Any] | None,
        resources: ResourceSpec,
        workers: int,
        ttl: int | None,
        force: bool,
        timeout: int | None,
    ) -> actions.Request[TrainInput]:
        """Validate everything now; the request uploads and stages only when it starts."""
        flags = requests.flag_values(hyperparameters, "hyperparameters")
        extra = requests.flag_values(args, "args")
        replicas = requests.positive_int(workers, "workers")
        seconds = requests.timeout_seconds(timeout)
        context = self._checked_context()
        config, model_id, image = self.config, self.id, self.image
        namespace, framework = config.namespace, self.framework.value

        def make(staged: StagedCredentials) -> TrainInput:
            return TrainInput(
                namespace=namespace,
                model_id=model_id,
                framework=framework,
                build=inputs.build_input(
                    config, model_id, image, context, staged, owns_secrets=False
                ),
                hyperparameters=flags,
                args=extra,
                workers=replicas,
                resources=resources,
                storage=inputs.storage_ref(config, staged),
                timeout_seconds=seconds,
                ttl_seconds_after_finished=ttl,
                force_cleanup=force,
            )

        return actions.Request(
            workflow=WorkflowName.TRAIN_MODEL,
            workflow_id=train_workflow_id(namespace, model_id),
            summary=f"train {model_id} ({replicas} workers)",
            model_id=model_id,
            action="train",
            prepare=lambda: inputs.with_credentials(config, model_id, make),
            discard=lambda train: inputs.discard(config, inputs.staged_of(train.build)),
        )

    # -- tuning -----------------------------------------------------------------------------

    def tune(
        self,
        hyperparameters: dict[str, Domain],
        objectives: list[str],
        objective_goal: float | None = None,
        objective_type: str = "maximize",
        workers: int = 2,
        gpus: int | None = None,
        cpu: str | None = None,
        memory: str | None = None,
        resources: Resources | None = None,
        trials: int = 16,
        parallel_trials: int = 2,
        failed_trials: int = 4,
        algorithm: str | None = Algorithm.RANDOM.value,
        algorithm_setting: dict[str, Any] | None = None,
        args: dict[str, Any] | None = None,
        verbose: bool | None = None,
        delete_experiment: bool | None = None,
        ttl_seconds_after_finished: int | None = None,
        timeout: int | None = constants.DEFAULT_TIMEOUT_SECONDS,
    ) -> bool:
        """Tunes a model with parallel and possibly distributed trials.

        Every trial is a training run of the same image with hyperparameters chosen by the
        algorithm (Katib's names, computed with Optuna); the best trial becomes the model's
        new revision (state ``tuned``), its model copied to ``<base>/<id>/tuned/<revision>``.
        A progress bar shows trials done / total, the best objective so far, running and
        failed trials; :meth:`trials` returns the trial table afterwards.

        Args:
            hyperparameters: Flag -> Domain (``Double``, ``Integer``, ``Discrete``,
                ``Categorical``).
            objectives: Metrics to record; the first drives the search.
            objective_goal: Stop early once the main objective reaches it.
            objective_type: ``maximize`` (default) or ``minimize``.
            workers: Replicas per trial (default 2).
            gpus: GPUs per replica.
            cpu: CPUs per replica.
            memory: Memory per replica.
            resources: Advanced resource specification (not with cpu/memory/gpus).
            trials: Maximum number of trials (default 16).
            parallel_trials: Trials at once (default 2).
            failed_trials: Failed trials that stop the experiment (default 4).
            algorithm: random (default), grid, bayesianoptimization, tpe,
                multivariate-tpe, cmaes, sobol.
            algorithm_setting: Katib algorithm settings.
            args: Static flags of every trial.
            verbose: Kept for the seed's signature (the progress bar is always shown).
            delete_experiment: Delete the trials' jobs when done (default:
                ``KAPTAIN_SDK_DELETE_EXPERIMENT``).
            ttl_seconds_after_finished: Delete each trial's job this long after it ends.
            timeout: Seconds the whole experiment may take.

        Returns:
            True when a best trial was found, False when the experiment failed.

        Raises:
            ModelValidationException: An argument is invalid (nothing was created).
            UnsupportedAlgorithmException: Unknown algorithm or setting.
        """
        from kaptain.hyperparameter.settings import validate_algorithm

        specs = tuning.parameter_specs(hyperparameters)
        names = tuning.objective_names(objectives)
        direction = tuning.objective_direction(objective_type)
        target = tuning.goal(objective_goal)
        method, settings = validate_algorithm(algorithm, algorithm_setting, specs)
        counts = {
            name: requests.positive_int(value, name)
            for name, value in (
                ("trials", trials),
                ("parallel_trials", parallel_trials),
                ("failed_trials", failed_trials),
                ("workers", workers),
            )
        }
        extra = requests.flag_values(args, "args")
        spec = resolve_resources(cpu=cpu, memory=memory, gpus=gpus, resources=resources)
        ttl = requests.ttl_seconds(ttl_seconds_after_finished)
        delete = (
            get_env_bool("KAPTAIN_SDK_DELETE_EXPERIMENT")
            if delete_experiment is None
            else requests.flag(delete_experiment, "delete_experiment")
        )
        seconds = requests.timeout_seconds(timeout)
        context = self._checked_context()
        config, model_id, image = self.config, self.id, self.image
        namespace, framework = config.namespace, self.framework.value

        def make(staged: StagedCredentials) -> TuneInput:
            return TuneInput(
                namespace=namespace,
                model_id=model_id,
                framework=framework,
                build=inputs.build_input(
                    config, model_id, image, context, staged, owns_secrets=False
                ),
                parameters=specs,
                objectives=names,
                objective_goal=target,
                objective_type=direction,  # type: ignore[arg-type]
                trials=counts["trials"],
                parallel_trials=counts["parallel_trials"],
                failed_trials=counts["failed_trials"],
                algorithm=method,
                algorithm_setting=settings,
                args=extra,
                workers=counts["workers"],
                resources=spec,
                storage=inputs.storage_ref(config, staged),
                timeout_seconds=seconds,
                ttl_seconds_after_finished=ttl,
                delete_experiment=delete,
            )

        request = actions.Request(
            workflow=WorkflowName.TUNE_MODEL,
            workflow_id=tune_workflow_id(namespace, model_id),
            summary=f"tune {model_id} ({counts['trials']} trials, {method})",
            model_id=model_id,
            action="tune",
            prepare=lambda: inputs.with_credentials(config, model_id, make),
            discard=lambda tune: inputs.discard(config, inputs.staged_of(tune.build)),
        )
        result = portal().run(actions.run_tune(request, objective=names[0]))
        if result is None:
            return False
        self._revision = result.revision
        self._state = ModelState.TUNED
        self._hyperparameters = dict(result.hyperparameters)
        self._metrics = {k: v.model_dump() for k, v in result.metrics.items()}
        self._model_uri = result.model_uri
        self._trials = list(result.trials)
        say(f"Tuning of {self.id} succeeded: {result.message} ({result.reason})")
        say(f"Hyperparameters: {json.dumps(self._hyperparameters)}")
        return True

    def trials(self) -> Any:
        """The last tuning experiment's trials, one row each.

        Returns:
            A pandas DataFrame when pandas is installed, else a list of dicts (trial, state,
            objective, the hyperparameters, the latest value of each metric, message).
        """
        rows = tuning.trial_table(self._trials)
        try:
            import pandas as pd
        except ImportError:
            return rows
        return pd.DataFrame(rows)

    def plot_trials(self, objective_type: str | None = None, ax: Any = None) -> Any:
        """Plots the last tuning experiment: each trial's objective and the best so far.

        Args:
            objective_type: ``maximize`` or ``minimize`` (default: told from the best trial).
            ax: A matplotlib ``Axes`` to draw on (default: a new figure).

        Returns:
            The matplotlib ``Axes``.

        Raises:
            ImportError: matplotlib is not installed.
            ValueError: No trial has an objective yet.
        """
        return plots.plot_trials(
            self._trials,
            maximize=objective_type == "maximize"
            if objective_type
            else plots.is_maximized(self._trials, self._hyperparameters),
            ax=ax,
        )

    def deploy(
        self,
        model_uri: str | None = None,
        autoscale: int = 2,
        gpus: int | None = None,
        cpu: str | None = None,
        memory: str | None = None,
        resources: Resources | None = None,
        replace: bool = False,
        transformer: Transformer | None = None,
        **kwargs: str,
    ) -> bool:
        """Deploys a model.

        The model is served behind one stable URL by the model's long-lived ServeModel
        workflow: ``<url>/v1/models/<name>:predict`` (or ``/v2/models/<name>/infer`` with
        ``serving_config={"protocol_version": "v2"}``), ``<name>`` being the id as a DNS
        name (``dev/mnist`` -> ``dev-mnist``). The new revision gets traffic only once it
        is ready and answers a test inference (``input_example.json`` beside the model).
        Resources are given either with ``cpu``/``memory``/``gpus`` (request and limit
        alike) or with ``resources``, not both.

        Args:
            model_uri: The saved model to serve (default: the latest trained or tuned one).
            autoscale: Target concurrency per replica (default 2).
            gpus: GPUs per replica (default 0).
            cpu: CPUs per replica.
            memory: Memory per replica.
            resources: Advanced resource specification.
            replace: Replace an existing deployment (else it is refused).
            transformer: Pre/post-processing next to the model server.
            **kwargs: ``min_replicas`` and ``max_replicas`` (default 1 and 3).

        Returns:
            True when the revision serves; False when it could not become ready (the
            reason is printed, and any previous deployment keeps serving).

        Raises:
            ModelDeploymentException: Already deployed and ``replace`` is False, or nothing
                trained to deploy.
            ModelValidationException: An argument is invalid (nothing was created).
            UnsupportedModelDeploymentException: The framework cannot be served.
        """
        plan = self._plan_revision(
            model_uri,
            autoscale=autoscale,
            resources=resolve_resources(cpu=cpu, memory=memory, gpus=gpus, resources=resources),
            transformer=transformer,
            kwargs=kwargs,
        )
        requests.flag(replace, "replace")
        say(f"Deploying revision {plan.spec.revision} of {self.id} from {plan.spec.source_uri}")
        try:
            state = self._serve_change(ServeMessage.DEPLOY, plan, replace=replace)
        except serving.RevisionFailedException as err:
            say(f"Deployment of {self.id} failed: {err}")
            return False
        self._deployed(plan.spec.revision, state)
        return True

    def deploy_canary(
        self,
        canary_traffic_percentage: int,
        model_uri: str | None = None,
        *,
        policy: CanaryPolicy | None = None,
        **kwargs: str,
    ) -> None:
        """Deploys a model in a canary with a pre-determined percentage of traffic.

        The canary (by default the latest trained or tuned revision) runs beside the
        baseline and gets ``canary_traffic_percentage`` percent of the traffic once it is
        ready and answers a test inference. Calling it again for the same model (or with no
        newer trained or tuned revision) changes only the split. With a ``policy`` the
        traffic steps up through ``policy.steps`` and the canary's error rate and p99
        latency are analysed at each step: a breach rolls it back automatically; passing
        the last step at 100 % promotes it. :meth:`deployment` shows the analysis and
        any rollback reason.

        Args:
            canary_traffic_percentage: Share of traffic for the canary (1..100).
            model_uri: The saved model to serve (default: the latest trained or tuned one).
            policy: Progressive, metric-gated rollout (Kaptain extension).
            **kwargs: ``min_replicas`` and ``max_replicas``, as in :meth:`deploy`.

        Raises:
            ModelDeploymentException: Nothing deployed, or the canary could not become
                ready (the baseline keeps serving).
            ModelValidationException: An argument is invalid (nothing was created).
        """
        percent = requests.positive_int(canary_traffic_percentage, "canary_traffic_percentage")
        if percent > 100:
            raise ModelValidationException(
                f"canary_traffic_percentage must be at most 100, got {percent}"
            )
        if policy is not None and not isinstance(policy, CanaryPolicy):
            raise ModelValidationException("policy must be a CanaryPolicy")
        current = portal().run(serving.current_state(self.config.namespace, self.id))
        latest = self._latest_model_uri()
        wanted = model_uri if model_uri is not None else latest
        same = (
            current is not None
            and current.canary is not None
            and (wanted is None or wanted.rstrip("/") == current.canary.source_uri)
        )
        if same and not kwargs:
            say(f"Setting the canary of {self.id} to {percent}% of the traffic")
            self._serve_change(ServeMessage.CANARY, None, percent=percent, policy=policy)
            return
        baseline = current.baseline if current else None
        plan = self._plan_revision(
            model_uri,
            latest,
            autoscale=baseline.target_concurrency if baseline else 2,
            resources=baseline.resources if baseline else ResourceSpec(),
            transformer=None,
            kwargs=kwargs,
        )
        first = policy.steps[0] if policy else percent
        say(f"Deploying canary {plan.spec.revision} of {self.id} at {first}% of the traffic")
        state = self._serve_change(ServeMessage.CANARY, plan, percent=percent, policy=policy)
        self._deployed(plan.spec.revision, state)

    def rollback_canary(self) -> None:
        """Removes the canary, sending all traffic to the baseline.

        Raises:
            ModelDeploymentException: There is no canary.
        """
        self._serve_change(ServeMessage.ROLLBACK, None, reason="rolled back by request")
        say(f"Canary of {self.id} rolled back; the baseline serves all traffic")

    def promote_canary(self) -> None:
        """Sends all traffic to the canary, which becomes the baseline.

        Raises:
            ModelDeploymentException: There is no canary.
        """
        state = self._serve_change(ServeMessage.PROMOTE, None)
        say(f"Canary of {self.id} promoted; it serves all traffic at {state.url}")

    def undeploy(self) -> None:
        """Removes the deployment and its canary.

        Raises:
            ModelDeploymentException: The model is not deployed.
        """
        self._serve_change(ServeMessage.UNDEPLOY, None)
        say(f"{self.id} undeployed")

    def deployment(self) -> ServingState | None:
        """Where the deployment is: URL, revisions, traffic split, rollout analysis.

        Returns:
            The ServeModel workflow's state, or None when the model is not deployed.
        """
        return portal().run(serving.current_state(self.config.namespace, self.id))

    def _plan_revision(
        self,
        model_uri: str | None,
        latest: str | None = None,
        *,
        autoscale: int,
        resources: ResourceSpec,
        transformer: Transformer | None,
        kwargs: dict[str, str],
    ) -> revisions.Plan:
        """Check a deploy or canary request and name its revision (nothing is created).

        ``latest`` is the latest trained or tuned model when the caller already looked it up.
        """
        if model_uri is None and latest is None:
            latest = self._latest_model_uri()
        return revisions.plan_revision(
            self.config,
            self.id,
            self.framework,
            source_uri=revisions.source_uri(self.id, model_uri, latest),
            serving_config=self.serving_config,
            autoscale=autoscale,
            resources=resources,
            transformer=transformer,
            kwargs=kwargs,
        )

    def _latest_model_uri(self) -> str | None:
        """The latest trained or tuned model: this object's, else the tracking history's."""
        if self._model_uri is not None:
            return self._model_uri
        for entry in reversed(self.history()):
            uri = entry.details.get("model_uri")
            if entry.action in ("train", "tune") and isinstance(uri, str):
                return uri
        return None

    def _serve_change(
        self,
        update: str,
        plan: revisions.Plan | None,
        *,
        replace: bool = False,
        percent: int = 0,
        policy: CanaryPolicy | None = None,
        reason: str = "",
    ) -> ServingState:
        """Stage, upload and send one change to the deployment's workflow."""
        config, model_id = self.config, self.id
        inputs.check_platform(config)
        if plan is None:
            request: object = None
            if update == ServeMessage.CANARY:
                request = CanaryRequest(percent=percent, policy=policy)
            elif update == ServeMessage.ROLLBACK:
                request = RollbackRequest(reason=reason)
            return portal().run(
                serving.change(
                    namespace=config.namespace, model_id=model_id, update=update, request=request
                )
            )
        storage, staged = revisions.stage_storage(config, model_id)
        try:
            plan.upload(config)
            if update == ServeMessage.DEPLOY:
                request = DeployRequest(spec=plan.spec, replace=replace, storage=storage)
                start = revisions.serve_input(config, model_id, storage)
            else:
                request = CanaryRequest(
                    spec=plan.spec, percent=percent, policy=policy, storage=storage
                )
                start = None
        except BaseException:
            inputs.discard(config, staged)
            raise
        return portal().run(
            serving.change(
                namespace=config.namespace,
                model_id=model_id,
                update=update,
                request=request,
                start=start,
                discard=lambda: inputs.discard(config, staged),
            )
        )

    def _deployed(self, revision: str, state: ServingState) -> None:
        self._revision = revision
        self._state = ModelState.DEPLOYED
        name = model_slug(self.id)
        path = (
            f"/v2/models/{name}/infer"
            if state.baseline and state.baseline.protocol.value == "v2"
            else f"/v1/models/{name}:predict"
        )
        say(f"{self.id} serves at {state.url}{path} (traffic: {state.traffic})")

    # -- tracking ---------------------------------------------------------------------------

    def _tracking(self) -> TrackingStore:
        return TrackingStore.open(
            self.config.base_model_storage_uri, self.config.storage_credentials() or None
        )

    def _record(self, action: str, details: dict[str, Any]) -> None:
        self._tracking().append(
            TrackingRecord(
                model_id=self.id,
                revision=self._revision,
                action=action,
                timestamp=dt.datetime.now(dt.UTC).isoformat(),
                details=details,
            )
        )

    def log_data(
        self,
        name: str,
        uri: str,
        description: str | None = None,
        features: list[str] | None = None,
        version: str | None = None,
    ) -> None:
        """Logs an input data set to the current revision.

        Args:
            name: Name of the data set.
            uri: URI of the data set.
            description: Optional description.
            features: List of features used.
            version: Optional version of the data set.

        Raises:
            InvalidModelProperty: ``name`` or ``uri`` is blank.
        """
        self._record(
            "log_data",
            {
                "name": requests.require_text(name, "name"),
                "uri": requests.require_text(uri, "uri"),
                "description": description,
                "features": list(features or []),
                "version": version,
            },
        )

    def log_metrics(
        self, metrics: dict[str, Any], metrics_type: str, uri: str | None = None
    ) -> None:
        """Logs model evaluation metrics to the current revision.

        Args:
            metrics: Metric names and values, e.g. ``{"accuracy": 0.95, "auc": 0.975}``.
            metrics_type: ``training``, ``testing``, ``validation`` or ``production``.
            uri: Optional URI of the metrics (e.g. a log directory).

        Raises:
            UnsupportedMetricsTypeException: Unknown ``metrics_type``.
            ModelValidationException: A metric is not a finite number.
        """
        if metrics_type not in METRICS_TYPES:
            raise UnsupportedMetricsTypeException(
                f"metrics_type {metrics_type!r} is not one of {', '.join(METRICS_TYPES)}"
            )
        if not isinstance(metrics, dict) or not metrics:
            raise ModelValidationException(f"metrics must be a non-empty dict, got {metrics!r}")
        values: dict[str, float] = {}
        for key, value in metrics.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ModelValidationException(f"metric {key!r} must be a number, got {value!r}")
            if not math.isfinite(value):
                raise ModelValidationException(f"metric {key!r} must be finite, got {value!r}")
            values[str(key)] = float(value)
        self._record("log_metrics", {"metrics": values, "metrics_type": metrics_type, "uri": uri})

    def history(self) -> list[TrackingRecord]:
        """Every tracking record of this model (all revisions), oldest first."""
        return self._tracking().records(self.id)

    # -- snapshots and persistence -----------------------------------------------------------

    def meta(self) -> ModelMeta:
        """An immutable snapshot of every field of the model."""
        return ModelMeta(
            id=self.id,
            name=self.name,
            description=self.description,
            version=self.version,
            framework=self.framework.value,
            framework_version=self.framework_version,
            main_file=self.main_file,
            image_name=self.image_name,
            base_image=self.base_image,
            extra_files=tuple(self.extra_files),
            requirements=self.requirements,
            labels=tuple(self.labels),
            serving_config=dict(self.serving_config),
            revision=self._revision,
            state=self._state.value,
            hyperparameters=self.hyperparameters,
            metrics=self.metrics,
            model_uri=self._model_uri,
        )

    def _json_uri(self, path: str) -> str:
        base = self.config.base_model_storage_uri
        if not path:
            return f"{base}/{self.id}/model.json"
        if ".." in path.replace("\\", "/").split("/"):
            raise ModelValidationException(f"path {path!r} must not contain '..' segments")
        if "://" in path:
            return path
        return f"{base}/{path.lstrip('/')}"

    def save_as_json(self, path: str = "", overwrite: bool = False) -> None:
        """Saves the model as JSON through the configured storage.

        Args:
            path: A ``s3://`` or ``file://`` URI, or a key relative to
                ``base_model_storage_uri``; default ``<base>/<id>/model.json``.
            overwrite: Replace an existing file.

        Raises:
            ModelAlreadyExistsException: The file exists and ``overwrite`` is False.
        """
        uri = self._json_uri(path)
        store, key = open_location(uri, self.config.storage_credentials() or None)
        if store.exists(key) and not overwrite:
            raise ModelAlreadyExistsException(
                f"{uri} already exists; pass overwrite=True to replace it"
            )
        meta = self.meta()
        payload = {k: getattr(meta, k) for k in meta.__dataclass_fields__}
        payload["extra_files"] = list(meta.extra_files)
        payload["labels"] = list(meta.labels)
        store.put_bytes(key, json.dumps(payload, indent=2, sort_keys=True).encode())
        say(f"Model {self.id} saved to {uri}")

    @classmethod
    def load_from_json(cls, model_uri: str, config: Config) -> Model:
        """Loads a model saved with :meth:`save_as_json`.

        Args:
            model_uri: The JSON file, or the folder holding ``model.json``
                (e.g. ``s3://kaptain/models/dev/mnist``).
            config: Configuration with the storage credentials.

        Returns:
            A new Model with the saved fields, revision, state and results.

        Raises:
            ModelValidationException: Nothing (valid) is stored at ``model_uri``.
        """
        uri = model_uri if model_uri.endswith(".json") else model_uri.rstrip("/") + "/model.json"
        store, key = open_location(uri, config.storage_credentials() or None)
        try:
            data = json.loads(store.get_bytes(key))
        except FileNotFoundError:
            raise ModelValidationException(f"no saved model at {uri}") from None
        except json.JSONDecodeError as err:
            raise ModelValidationException(f"{uri} is not a saved model: {err}") from None
        model = cls(
            id=data["id"],
            name=data["name"],
            description=data["description"],
            version=data["version"],
            framework=data["framework"],
            framework_version=data["framework_version"],
            main_file=data["main_file"],
            image_name=data["image_name"],
            base_image=data["base_image"],
            extra_files=data.get("extra_files") or None,
            requirements=data.get("requirements"),
            labels=data.get("labels") or None,
            config=config,
            serving_config=data.get("serving_config") or None,
        )
        model._revision = data.get("revision") or model._revision
        model._state = ModelState(data.get("state", "untrained"))
        model._hyperparameters = data.get("hyperparameters")
        model._metrics = data.get("metrics")
        model._model_uri = data.get("model_uri")
        return model

    def _repr_html_(self) -> str:
        """Notebook view: state, revision, hyperparameters, metrics, latest runs (UI links)."""
        return display.model_html(self)

    def __repr__(self) -> str:
        return (
            f"Model(id={self.id!r}, framework={self.framework.value!r}, "
            f"state={self._state.value!r}, revision={self._revision!r})"
        )
