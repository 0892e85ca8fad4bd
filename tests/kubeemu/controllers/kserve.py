"""KServe's InferenceService controller (Serverless mode, Knative revisions), simulated.

Every change of the predictor's template (``spec.predictor`` without
``canaryTrafficPercent``, plus the InferenceService's labels and annotations, which KServe
copies into the revision template) creates a Knative-like revision ``<name>-predictor-0000N``:
one Pod (owned by the InferenceService) with KServe's ``storage-initializer`` init container
(``[storageUri, /mnt/models]``, S3 credentials injected from the service account's Secret
and its ``serving.kserve.io/s3-*`` annotations, as KServe's credential builder does) and a
``kserve-container`` from the serving runtime (``deploy/kserve/cluster-serving-runtime.yaml``;
stock formats without a pinned runtime run the same server with ``--framework=<format>``),
listening on a free local port. The kubelet runs both for real, so the model is really
downloaded and served by ``kaptain.serving.server``.

A revision is ready when its pod runs and answers ``/v2/health/ready``; it fails when a
container exits (reason ``RevisionFailed``, the container's last log lines as message, and
``modelStatus.lastFailureInfo`` with reason ``ModelLoadFailed``). Traffic follows KServe's
``canaryTrafficPercent`` rules: without it the latest *ready* revision gets 100 %; with it
(once a revision was rolled out) the latest ready revision gets that share (tag ``latest``)
and ``latestRolledoutRevision`` the rest (tag ``prev``, left out at 100). A revision with all
the traffic becomes ``latestRolledoutRevision`` (the one before becomes
``previousRolledoutRevision``). Tags exist with ``serving.kserve.io/enable-tag-routing``.

Data plane: one real ``kaptain.serving.router`` process per InferenceService splits requests
by the traffic block; its URL is ``status.url``. A tag's URL is its revision's server
(``http://127.0.0.1:<port>``) instead of a ``<tag>-<name>-predictor`` host name. Each revision
has a ``<revision>-private`` Service whose ``http-usermetric`` port answers, through the API
server's service proxy, with the router's metrics of that revision in queue-proxy form
(``service_name="<name>-predictor"``). Pods of revisions that are neither latest, rolled out
nor routed to are deleted (Knative scales them to zero). Transformers are validated, not run.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import subprocess
import sys
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kubeemu import resources
from kubeemu.controllers.base import Controller
from kubeemu.errors import ApiError
from kubeemu.logs import LogBook
from kubeemu.proxy import Answer, forward_to
from kubeemu.resources import ResourceType
from kubeemu.util import JSON, clone, free_port, now_iso, owner_reference

logger = logging.getLogger("kubeemu.controllers")

PODS = resources.resolve("pods")
SERVICES = resources.resolve("services")
SECRETS = resources.resolve("secrets")
SERVICE_ACCOUNTS = resources.resolve("serviceaccounts")
INFERENCE_SERVICES = resources.resolve("inferenceservices")

RUNTIMES_FILE = (
    Path(__file__).resolve().parents[3] / "deploy" / "kserve" / "cluster-serving-runtime.yaml"
)
"""The ClusterServingRuntimes Kaptain ships (what a pinned ``runtime`` refers to)."""
STORAGE_INITIALIZER = "kserve/storage-initializer:v0.15.0"
MODEL_DIR = "/mnt/models"
REVISION_LABEL = "serving.knative.dev/revision"
ISVC_LABEL = "serving.kserve.io/inferenceservice"
_TAG_ROUTING = "serving.kserve.io/enable-tag-routing"
_LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
_S3 = "serving.kserve.io/s3-"
_STUCK = ("CreateContainerConfigError", "ImagePullBackOff", "ErrImagePull", "InvalidImageName")


@dataclass
class Revision:
    """One Knative revision of a predictor."""

    name: str
    template: str
    port: int
    pod: str
    state: str = "Pending"
    """``Pending``, ``Ready``, ``Failed`` or ``Retired`` (scaled to zero)."""
    message: str = ""
    exit_code: int | None = None
    failed_at: str = ""

    @property
    def url(self) -> str:
        """The revision's own server."""
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Deployment:
    """What the controller keeps about one InferenceService."""

    uid: str
    namespace: str
    name: str
    root: Path
    revisions: list[Revision] = field(default_factory=list)
    router: subprocess.Popen[bytes] | None = None
    router_port: int = 0
    router_ready: bool = False
    rolled_out: str | None = None
    previous_rolled_out: str | None = None
    routes: str = ""

    @property
    def url(self) -> str:
        """The router's URL (``status.url``)."""
        return f"http://127.0.0.1:{self.router_port}"


def load_runtimes(path: Path = RUNTIMES_FILE) -> dict[str, JSON]:
    """ClusterServingRuntime name -> its first container (the server)."""
    found: dict[str, JSON] = {}
    for doc in yaml.safe_load_all(path.read_text()):
        if doc and doc.get("kind") == "ClusterServingRuntime":
            found[doc["metadata"]["name"]] = doc["spec"]["containers"][0]
    return found


def template_hash(isvc: JSON) -> str:
    """What decides a new revision: the predictor without its traffic share, and the
    InferenceService's labels and annotations (copied into the revision template)."""
    predictor = dict((isvc.get("spec") or {}).get("predictor") or {})
    predictor.pop("canaryTrafficPercent", None)
    metadata = isvc.get("metadata") or {}
    annotations = {
        k: v for k, v in (metadata.get("annotations") or {}).items() if k != _LAST_APPLIED
    }
    text = json.dumps([predictor, metadata.get("labels") or {}, annotations], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def revision_metrics(text: str, revision: str, service: str) -> str:
    """The router's metrics of one revision, as that revision's queue-proxy reports them."""
    lines = []
    for line in text.splitlines():
        if line.startswith("#"):
            lines.append(line)
        elif f'revision_name="{revision}"' in line:
            lines.append(
                line.replace(f'service_name="{service}"', f'service_name="{service}-predictor"')
            )
    return "\n".join(lines) + "\n"


def _condition(type_: str, status: str, reason: str = "", message: str = "") -> JSON:
    entry: JSON = {"type": type_, "status": status}
    if reason:
        entry["reason"] = reason
    if message:
        entry["message"] = message
    return entry


class KServeController(Controller):
    """Reconciles InferenceServices (see the module docstring).

    Args:
        api: The API server.
        recorder: Event recorder.
        logs: Container logs (for failure messages).
        root: Where routes files and router logs live.
    """

    owned = (INFERENCE_SERVICES,)
    watched = (PODS, SERVICE_ACCOUNTS, SECRETS)

    def __init__(self, api: Any, recorder: Any, logs: LogBook, root: Path, **kwargs: Any) -> None:
        super().__init__(api, recorder, **kwargs)
        self.logs = logs
        self.root = root
        self.runtimes = load_runtimes()
        self.deployments: dict[str, Deployment] = {}

    # -- lifecycle ----------------------------------------------------------------------------

    def reconcile_all(self) -> None:
        """One pass; forgets (and stops the routers of) deleted InferenceServices."""
        super().reconcile_all()
        alive = {obj["metadata"]["uid"] for obj in self.store.items(INFERENCE_SERVICES)}
        for uid in [uid for uid in self.deployments if uid not in alive]:
            self._forget(self.deployments.pop(uid))

    def shutdown(self) -> None:
        """Stops the loop and every router."""
        super().shutdown()
        for deployment in list(self.deployments.values()):
            self._forget(deployment)
        self.deployments.clear()

    def _forget(self, deployment: Deployment) -> None:
        if deployment.router is not None and deployment.router.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(deployment.router.pid, 15)
            with contextlib.suppress(subprocess.TimeoutExpired):
                deployment.router.wait(5)
        for revision in deployment.revisions:
            self.api.proxy.unregister(deployment.namespace, f"{revision.name}-private")

    # -- reconcile ----------------------------------------------------------------------------

    def reconcile(self, rt: ResourceType, isvc: JSON) -> None:
        """One pass over an InferenceService."""
        if isvc["metadata"].get("deletionTimestamp"):
            return
        deployment = self._deployment(isvc)
        template = template_hash(isvc)
        if not deployment.revisions or deployment.revisions[-1].template != template:
            self._new_revision(deployment, isvc, template)
        for revision in deployment.revisions:
            if revision.state == "Pending":
                self._observe(deployment, revision)
        self._check_router(deployment)
        latest = deployment.revisions[-1]
        ready = next((r for r in reversed(deployment.revisions) if r.state == "Ready"), None)
        traffic = self._traffic(deployment, isvc, ready)
        totals: dict[str, int] = {}
        for target in traffic:
            totals[target["revisionName"]] = (
                totals.get(target["revisionName"], 0) + target["percent"]
            )
        if (
            ready is not None
            and totals.get(ready.name) == 100
            and deployment.rolled_out != ready.name
        ):
            deployment.previous_rolled_out = deployment.rolled_out
            deployment.rolled_out = ready.name
            traffic = self._traffic(deployment, isvc, ready)
            totals = {}
            for target in traffic:
                totals[target["revisionName"]] = (
                    totals.get(target["revisionName"], 0) + target["percent"]
                )
        self._write_routes(deployment, totals)
        self._retire(deployment, latest, ready, totals)
        self._publish(rt, isvc, deployment, latest, ready, traffic)

    def _deployment(self, isvc: JSON) -> Deployment:
        uid = isvc["metadata"]["uid"]
        deployment = self.deployments.get(uid)
        if deployment is None:
            namespace, name = isvc["metadata"]["namespace"], isvc["metadata"]["name"]
            root = self.root / f"{namespace}_{name}_{uid[:8]}"
            root.mkdir(parents=True, exist_ok=True)
            deployment = Deployment(uid, namespace, name, root)
            self.deployments[uid] = deployment
        if deployment.router is None:
            self._start_router(deployment)
        return deployment

    def _start_router(self, deployment: Deployment) -> None:
        deployment.router_port = free_port()
        routes = deployment.root / "routes.json"
        routes.write_text(json.dumps({"deployments": {}}))
        log = (deployment.root / "router.log").open("ab")
        deployment.router = subprocess.Popen(
            [sys.executable, "-m", "kaptain.serving.router", "--port", str(deployment.router_port),
             "--routes", str(routes)],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        log.close()

    def _check_router(self, deployment: Deployment) -> None:
        if deployment.router_ready:
            return
        deployment.router_ready = _http_ok(f"{deployment.url}/-/healthz")

    # -- revisions ------------------------------------------------------------------------------

    def _new_revision(self, deployment: Deployment, isvc: JSON, template: str) -> None:
        number = len(deployment.revisions) + 1
        name = f"{deployment.name}-predictor-{number:05d}"
        port = free_port()
        revision = Revision(name=name, template=template, port=port, pod=f"{name}-deployment-0")
        deployment.revisions.append(revision)
        self._create_service(deployment, isvc, revision)
        try:
            pod = self._pod(deployment, isvc, revision)
            self.api.create(PODS, deployment.namespace, pod)
        except (ApiError, ValueError) as error:
            message = error.message if isinstance(error, ApiError) else str(error)
            self._fail(revision, message)
            return
        self.event(
            isvc, "Normal", "RevisionCreated", f"Created revision {name}", "kserve-controller"
        )

    def _fail(self, revision: Revision, message: str, exit_code: int | None = None) -> None:
        revision.state = "Failed"
        revision.message = message
        revision.exit_code = exit_code
        revision.failed_at = now_iso()

    def _create_service(self, deployment: Deployment, isvc: JSON, revision: Revision) -> None:
        service_name = f"{revision.name}-private"
        body = {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "name": service_name,
                "namespace": deployment.namespace,
                "labels": {REVISION_LABEL: revision.name, ISVC_LABEL: deployment.name},
                "ownerReferences": [owner_reference(isvc)],
            },
            "spec": {
                "ports": [
                    {"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8012},
                    {
                        "name": "http-usermetric",
                        "port": 9091,
                        "protocol": "TCP",
                        "targetPort": 9091,
                    },
                ],
                "selector": {REVISION_LABEL: revision.name},
            },
        }
        with contextlib.suppress(ApiError):
            self.api.create(SERVICES, deployment.namespace, body)
        proxy = self.api.proxy
        proxy.register(deployment.namespace, service_name, "http", forward_to(revision.url))

        def usermetric(method: str, path: str, _body: bytes) -> Answer:
            if method != "GET" or path.split("?", maxsplit=1)[0] != "/metrics":
                return 404, "text/plain", b"404 page not found\n"
            status, kind, data = forward_to(deployment.url)("GET", "/metrics", b"")
            text = revision_metrics(data.decode(errors="replace"), revision.name, deployment.name)
            return status, kind, text.encode()

        proxy.register(deployment.namespace, service_name, "http-usermetric", usermetric)

    def _pod(self, deployment: Deployment, isvc: JSON, revision: Revision) -> JSON:
        predictor = (isvc.get("spec") or {}).get("predictor") or {}
        model = predictor.get("model") or {}
        account = predictor.get("serviceAccountName") or "default"
        labels = {
            **(isvc["metadata"].get("labels") or {}),
            REVISION_LABEL: revision.name,
            "serving.knative.dev/configuration": f"{deployment.name}-predictor",
            "serving.knative.dev/service": f"{deployment.name}-predictor",
            ISVC_LABEL: deployment.name,
            "component": "predictor",
        }
        volume_mount = {"name": "kserve-provision-location", "mountPath": MODEL_DIR}
        init = {
            "name": "storage-initializer",
            "image": STORAGE_INITIALIZER,
            "args": [str(model.get("storageUri") or ""), MODEL_DIR],
            "env": self._credential_env(deployment.namespace, account),
            "volumeMounts": [volume_mount],
        }
        server = self._server_container(deployment, model, revision)
        server["volumeMounts"] = [{**volume_mount, "readOnly": True}]
        return {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": revision.pod,
                "namespace": deployment.namespace,
                "labels": labels,
                "ownerReferences": [owner_reference(isvc)],
            },
            "spec": {
                "serviceAccountName": account,
                "initContainers": [init],
                "containers": [server],
                "volumes": [{"name": "kserve-provision-location", "emptyDir": {}}],
            },
        }

    def _server_container(self, deployment: Deployment, model: JSON, revision: Revision) -> JSON:
        runtime = model.get("runtime")
        model_format = str((model.get("modelFormat") or {}).get("name") or "")
        if runtime and runtime not in self.runtimes:
            raise ValueError(f"specified runtime {runtime} does not exist")
        template = clone(self.runtimes.get(runtime or "") or next(iter(self.runtimes.values())))
        args = []
        for arg in template.get("args") or []:
            text = str(arg).replace("{{.Name}}", deployment.name)
            if text.startswith("--http-port"):
                text = f"--http-port={revision.port}"
            elif text.startswith("--framework") and not runtime:
                text = f"--framework={model_format}"
            args.append(text)
        template["args"] = args
        template["ports"] = [{"containerPort": revision.port, "protocol": "TCP"}]
        if model.get("resources"):
            template["resources"] = model["resources"]
        if model.get("env"):
            template["env"] = model["env"]
        return template

    def _credential_env(self, namespace: str, account: str) -> list[JSON]:
        """KServe's credential builder: S3 variables from the service account's Secrets."""
        sa = self.store.get(SERVICE_ACCOUNTS, namespace, account) or {}
        env: list[JSON] = []
        for ref in sa.get("secrets") or []:
            secret = self.store.get(SECRETS, namespace, str(ref.get("name"))) or {}
            annotations = (secret.get("metadata") or {}).get("annotations") or {}
            if "AWS_ACCESS_KEY_ID" not in (secret.get("data") or {}):
                continue
            name = secret["metadata"]["name"]
            for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
                env.append({"name": key, "valueFrom": {"secretKeyRef": {"name": name, "key": key}}})
            https = annotations.get(f"{_S3}usehttps", "1") not in ("0", "false")
            endpoint = annotations.get(f"{_S3}endpoint")
            values = {
                "S3_USE_HTTPS": "1" if https else "0",
                "S3_ENDPOINT": endpoint,
                "AWS_ENDPOINT_URL": f"{'https' if https else 'http'}://{endpoint}"
                if endpoint
                else None,
                "AWS_REGION": annotations.get(f"{_S3}region"),
                "S3_VERIFY_SSL": annotations.get(f"{_S3}verifyssl"),
                "S3_USER_VIRTUAL_BUCKET": annotations.get(f"{_S3}usevirtualbucket"),
            }
            env.extend({"name": k, "value": v} for k, v in values.items() if v is not None)
            break
        return env

    def _observe(self, deployment: Deployment, revision: Revision) -> None:
        pod = self.store.get(PODS, deployment.namespace, revision.pod)
        if pod is None:
            return
        status = pod.get("status") or {}
        statuses = [
            *(status.get("initContainerStatuses") or []),
            *(status.get("containerStatuses") or []),
        ]
        for container in statuses:
            state = container.get("state") or {}
            terminated = state.get("terminated") or {}
            waiting = state.get("waiting") or {}
            if terminated and terminated.get("exitCode", 0) != 0:
                tail = self._log_tail(deployment.namespace, revision.pod, container["name"])
                why = tail or terminated.get("reason")
                self._fail(
                    revision,
                    f"Container {container['name']} failed with: {why}",
                    int(terminated.get("exitCode") or 1),
                )
                return
            if waiting.get("reason") in _STUCK:
                message = waiting.get("message") or waiting["reason"]
                self._fail(
                    revision, f"Container {container['name']}: {waiting['reason']}: {message}"
                )
                return
        if status.get("phase") == "Failed":
            self._fail(revision, "the revision's pod failed")
        elif status.get("phase") == "Running" and _http_ok(f"{revision.url}/v2/health/ready"):
            revision.state = "Ready"

    def _log_tail(self, namespace: str, pod: str, container: str) -> str:
        log = self.logs.find(namespace, pod, container)
        if log is None:
            return ""
        lines = [line for line in log.text().splitlines() if line.strip()]
        return " ".join(lines[-3:])

    # -- traffic --------------------------------------------------------------------------------

    def _traffic(self, deployment: Deployment, isvc: JSON, ready: Revision | None) -> list[JSON]:
        if ready is None:
            return []
        predictor = (isvc.get("spec") or {}).get("predictor") or {}
        canary = predictor.get("canaryTrafficPercent")
        tags = (isvc["metadata"].get("annotations") or {}).get(_TAG_ROUTING) == "true"
        by_name = {r.name: r for r in deployment.revisions}

        def target(revision: Revision, percent: int, latest: bool, tag: str) -> JSON:
            entry: JSON = {
                "revisionName": revision.name,
                "percent": percent,
                "latestRevision": latest,
                "configurationName": f"{deployment.name}-predictor",
            }
            if tags:
                entry["tag"] = tag
                entry["url"] = revision.url
            return entry

        rolled_out = by_name.get(deployment.rolled_out or "")
        if canary is not None and rolled_out is not None:
            targets = [target(ready, int(canary), True, "latest")]
            if int(canary) < 100:
                targets.append(target(rolled_out, 100 - int(canary), False, "prev"))
            return targets
        return [target(ready, 100, True, "latest")]

    def _write_routes(self, deployment: Deployment, totals: dict[str, int]) -> None:
        by_name = {r.name: r for r in deployment.revisions}
        revisions = [
            {"revision": name, "weight": percent, "backends": [by_name[name].url]}
            for name, percent in totals.items()
        ]
        document = {
            "deployments": {
                deployment.name: {"namespace": deployment.namespace, "revisions": revisions}
            }
        }
        text = json.dumps(document, sort_keys=True)
        if text == deployment.routes:
            return
        path = deployment.root / "routes.json"
        temporary = path.with_suffix(".tmp")
        temporary.write_text(text)
        temporary.replace(path)
        deployment.routes = text

    def _retire(
        self,
        deployment: Deployment,
        latest: Revision,
        ready: Revision | None,
        totals: dict[str, int],
    ) -> None:
        keep = {latest.name, deployment.rolled_out, *(totals)}
        if ready is not None:
            keep.add(ready.name)
        for revision in deployment.revisions:
            if revision.name in keep or revision.state in ("Retired", "Failed"):
                continue
            revision.state = "Retired"
            with contextlib.suppress(ApiError):
                self.api.delete(PODS, deployment.namespace, revision.pod)

    # -- status ---------------------------------------------------------------------------------

    def _publish(
        self,
        rt: ResourceType,
        isvc: JSON,
        deployment: Deployment,
        latest: Revision,
        ready: Revision | None,
        traffic: list[JSON],
    ) -> None:
        name, namespace = deployment.name, deployment.namespace
        if latest.state == "Failed":
            configuration = _condition(
                "PredictorConfigurationReady", "False", "RevisionFailed",
                f'Revision "{latest.name}" failed with message: {latest.message}.',
            )  # fmt: skip
        elif latest.state == "Ready":
            configuration = _condition("PredictorConfigurationReady", "True")
        else:
            configuration = _condition(
                "PredictorConfigurationReady", "Unknown", "RevisionMissing",
                f'Configuration "{name}-predictor" is waiting for a Revision to become ready.',
            )  # fmt: skip
        routed = bool(traffic) and deployment.router_ready
        route = (
            _condition("PredictorRouteReady", "True")
            if routed
            else _condition(
                "PredictorRouteReady",
                "Unknown",
                "RevisionMissing",
                f'Configuration "{name}-predictor" does not have any ready Revision.',
            )
        )
        predictor_ready = configuration if configuration["status"] != "True" else route
        predictor_ready = {**predictor_ready, "type": "PredictorReady"}
        ingress = (
            _condition("IngressReady", "True")
            if routed
            else _condition(
                "IngressReady",
                "Unknown",
                "IngressNotConfigured",
                "Ingress has not yet been reconciled.",
            )
        )
        overall = predictor_ready if predictor_ready["status"] != "True" else ingress
        conditions = [ingress, configuration, predictor_ready, route, {**overall, "type": "Ready"}]
        component: JSON = {"latestCreatedRevision": latest.name, "traffic": traffic}
        if ready is not None:
            component["latestReadyRevision"] = ready.name
        if deployment.rolled_out:
            component["latestRolledoutRevision"] = deployment.rolled_out
        if deployment.previous_rolled_out:
            component["previousRolledoutRevision"] = deployment.previous_rolled_out
        if deployment.router_ready:
            component["url"] = deployment.url
        component["address"] = {"url": f"http://{name}-predictor.{namespace}.svc.cluster.local"}
        model_status = self._model_status(deployment, latest, ready)
        generation = isvc["metadata"].get("generation", 1)
        uid = isvc["metadata"]["uid"]

        def change(current: JSON) -> JSON | None:
            if current["metadata"].get("uid") != uid:
                return None
            old = current.get("status") or {}
            stamps = {c.get("type"): c for c in old.get("conditions") or []}
            stamped = []
            for condition in conditions:
                previous = stamps.get(condition["type"]) or {}
                same = previous.get("status") == condition["status"]
                stamped.append(
                    {
                        **condition,
                        "lastTransitionTime": previous.get("lastTransitionTime")
                        if same and previous.get("lastTransitionTime")
                        else now_iso(),
                    }
                )
            status: JSON = {
                "observedGeneration": generation,
                "deploymentMode": "Serverless",
                "address": {"url": f"http://{name}.{namespace}.svc.cluster.local"},
                "components": {"predictor": component},
                "conditions": stamped,
                "modelStatus": model_status,
            }
            if deployment.router_ready:
                status["url"] = deployment.url
            if status == old:
                return None
            current["status"] = status
            return current

        self.store.mutate(rt, namespace, name, change)

    def _model_status(
        self, deployment: Deployment, latest: Revision, ready: Revision | None
    ) -> JSON:
        active = "Loaded" if ready is not None else "Pending"
        if latest.state == "Failed":
            info: JSON = {
                "reason": "ModelLoadFailed",
                "message": latest.message,
                "location": latest.pod,
                "modelRevisionName": latest.name,
                "time": latest.failed_at,
            }
            if latest.exit_code is not None:
                info["exitCode"] = latest.exit_code
            return {
                "transitionStatus": "BlockedByFailedLoad",
                "states": {
                    "activeModelState": active if ready else "FailedToLoad",
                    "targetModelState": "FailedToLoad",
                },
                "lastFailureInfo": info,
            }
        if latest.state == "Ready":
            return {
                "transitionStatus": "UpToDate",
                "states": {"activeModelState": "Loaded", "targetModelState": "Loaded"},
            }
        return {
            "transitionStatus": "InProgress",
            "states": {"activeModelState": active, "targetModelState": "Loading"},
        }


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=0.5) as answer:
            return bool(200 <= answer.status < 300)
    except OSError:
        return False
