"""REST semantics of the API server, callable in-process (by the simulated controllers)
and from the HTTP handler: create, get, list, update, patch, delete, status, pod logs."""

from __future__ import annotations

import base64
import contextlib
import functools
import json
import threading
from collections.abc import Iterator
from typing import Any

import yaml

from kubeemu import resources
from kubeemu.defaults import apply_defaults, initial_status
from kubeemu.errors import ApiError, bad_request, forbidden, invalid, not_found
from kubeemu.logs import LogBook
from kubeemu.patch import (
    APPLY_PATCH,
    JSON_PATCH,
    MERGE_PATCH,
    STRATEGIC_MERGE_PATCH,
    PatchError,
    json_patch,
    merge_patch,
    strategic_merge_patch,
)
from kubeemu.proxy import ServiceProxy
from kubeemu.resources import ResourceType
from kubeemu.selectors import object_filter
from kubeemu.store import ObjectStore
from kubeemu.util import JSON, clone, meta, new_uid, now_iso, random_suffix
from kubeemu.validation import Validator

NAMESPACES = resources.resolve("namespaces")
SERVICE_ACCOUNTS = resources.resolve("serviceaccounts")
CONFIG_MAPS = resources.resolve("configmaps")
PODS = resources.resolve("pods")

JOB_ORPHAN_WARNING = (
    "child pods are preserved by default when jobs are deleted; set propagationPolicy=Background "
    "to remove them or set propagationPolicy=Orphan to suppress this warning"
)


def _status_success(rt: ResourceType, obj: JSON) -> JSON:
    details = {"name": obj["metadata"]["name"], "kind": rt.plural, "uid": obj["metadata"]["uid"]}
    if rt.group:
        details["group"] = rt.group
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": details,
    }


class ApiServer:
    """Object semantics over an :class:`ObjectStore`; raises :class:`ApiError` on failures.

    Args:
        store: Where objects live.
        validator: Decode/validation rules (CRD schemas, webhooks).
        logs: Container logs for ``pods/log``.
        auto_namespaces: Create a missing namespace (with its ``default`` ServiceAccount) on
            first use instead of answering 404, so tests need not create namespaces.
    """

    def __init__(
        self,
        store: ObjectStore,
        validator: Validator,
        logs: LogBook,
        *,
        auto_namespaces: bool = True,
    ) -> None:
        self.store = store
        self.validator = validator
        self.logs = logs
        self.auto_namespaces = auto_namespaces
        self.stopping = threading.Event()
        self.proxy = ServiceProxy(store)
        """Backends behind ``services/<name>/proxy`` (registered by simulated controllers)."""

    # -- namespaces -----------------------------------------------------------------------

    def ensure_namespace(self, namespace: str) -> None:
        """404 for a missing namespace, or create it (with ``default`` SA) when automatic."""
        if self.store.get(NAMESPACES, None, namespace) is not None:
            return
        if not self.auto_namespaces:
            raise not_found(NAMESPACES, namespace)
        self.create_namespace(namespace)

    def create_namespace(self, name: str) -> JSON:
        """A namespace as the control plane sets it up: ``default`` SA, root CA ConfigMap."""
        body: JSON = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
        created, _ = self.create(NAMESPACES, None, body)
        return created

    def _namespace_contents(self, name: str) -> None:
        account = {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": "default", "namespace": name},
        }
        root_ca = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "kube-root-ca.crt", "namespace": name},
            "data": {"ca.crt": "-----BEGIN CERTIFICATE-----\nkubeemu\n-----END CERTIFICATE-----\n"},
        }
        seeds: list[tuple[ResourceType, JSON]] = [
            (SERVICE_ACCOUNTS, account),
            (CONFIG_MAPS, root_ca),
        ]
        for rt, obj in seeds:
            if self.store.get(rt, name, obj["metadata"]["name"]) is None:
                self.store.insert(rt, obj)

    # -- reads ----------------------------------------------------------------------------

    def get(self, rt: ResourceType, namespace: str | None, name: str) -> JSON:
        """One object or 404."""
        obj = self.store.get(rt, namespace, name)
        if obj is None:
            raise not_found(rt, name)
        return obj

    def list_objects(
        self,
        rt: ResourceType,
        namespace: str | None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        limit: int | None = None,
        continue_token: str | None = None,
    ) -> JSON:
        """A ``<Kind>List``; built-in items carry no apiVersion/kind (as the server sends)."""
        wanted = object_filter(label_selector, field_selector, rt.plural)
        items, rv = self.store.snapshot(rt, namespace)
        items = [obj for obj in items if wanted(obj)]
        start = 0
        if continue_token:
            try:
                token = json.loads(base64.b64decode(continue_token))
                start = int(token["start"])
                rv = int(token["rv"])
            except (ValueError, KeyError, TypeError) as error:
                raise bad_request(f"continue key is not valid: {error}") from error
        list_meta: JSON = {"resourceVersion": str(rv)}
        page = items[start:]
        if limit and limit > 0 and len(page) > limit:
            page = page[:limit]
            token_body = json.dumps({"start": start + limit, "rv": rv}).encode()
            list_meta["continue"] = base64.b64encode(token_body).decode()
            list_meta["remainingItemCount"] = len(items) - start - limit
        if not rt.custom:
            for obj in page:
                obj.pop("apiVersion", None)
                obj.pop("kind", None)
        return {
            "kind": f"{rt.kind}List",
            "apiVersion": rt.api_version,
            "metadata": list_meta,
            "items": page,
        }

    # -- writes ---------------------------------------------------------------------------

    def _check_identity(self, rt: ResourceType, namespace: str | None, body: JSON) -> None:
        if not isinstance(body, dict):
            raise bad_request(
                f"the body of the request must be a JSON object describing a {rt.kind}"
            )
        api_version = body.setdefault("apiVersion", rt.api_version)
        kind = body.setdefault("kind", rt.kind)
        if (api_version, kind) != (rt.api_version, rt.kind):
            raise bad_request(
                f"the API version in the data ({api_version}) does not match the expected API "
                f"version ({rt.api_version})"
                if api_version != rt.api_version
                else f"the kind in the data ({kind}) does not match the expected kind ({rt.kind})"
            )
        metadata = meta(body)
        if rt.namespaced:
            if metadata.get("namespace") and metadata["namespace"] != namespace:
                raise bad_request(
                    "the namespace of the provided object does not match the namespace sent on "
                    "the request"
                )
            metadata["namespace"] = namespace
        else:
            metadata.pop("namespace", None)

    def create(
        self,
        rt: ResourceType,
        namespace: str | None,
        body: JSON,
        *,
        dry_run: bool = False,
        field_validation: str = "Warn",
    ) -> tuple[JSON, list[str]]:
        """POST: returns the stored object and any warnings (pruned unknown fields)."""
        body = clone(body)
        self._check_identity(rt, namespace, body)
        body, warnings = self.validator.decode(rt, body, field_validation)
        metadata = meta(body)
        if not metadata.get("name"):
            if metadata.get("generateName"):
                metadata["name"] = f"{metadata['generateName']}{random_suffix()}"
            else:
                raise invalid(
                    rt, "", [("metadata.name", "Required value: name or generateName is required")]
                )
        for field in (
            "resourceVersion",
            "creationTimestamp",
            "deletionTimestamp",
            "generation",
            "selfLink",
        ):
            metadata.pop(field, None)
        metadata["uid"] = new_uid()
        if rt.has_status:
            body.pop("status", None)
        apply_defaults(rt, body)
        status = initial_status(rt, body)
        if status is not None:
            body["status"] = status
        self.validator.check(rt, body)
        if rt.namespaced and namespace:
            self.ensure_namespace(namespace)
        self._admit(rt, body)
        if dry_run:
            metadata["creationTimestamp"] = now_iso()
            return body, warnings
        created = self.store.insert(rt, body)
        if rt.kind == "Namespace":
            self._namespace_contents(created["metadata"]["name"])
        return created, warnings

    def _admit(self, rt: ResourceType, obj: JSON) -> None:
        """Admission plugins that look at other objects (ServiceAccount)."""
        if rt.kind != "Pod":
            return
        account = obj["spec"].get("serviceAccountName") or "default"
        namespace = obj["metadata"]["namespace"]
        if self.store.get(SERVICE_ACCOUNTS, namespace, account) is None:
            raise forbidden(
                rt,
                obj["metadata"]["name"],
                f"error looking up service account {namespace}/{account}: serviceaccount "
                f'"{account}" not found',
            )

    def update(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        body: JSON,
        *,
        subresource: str | None = None,
        dry_run: bool = False,
        field_validation: str = "Warn",
    ) -> tuple[JSON, list[str]]:
        """PUT (also on ``/status``); 409 when ``metadata.resourceVersion`` is stale."""
        body = clone(body)
        self._check_identity(rt, namespace, body)
        if meta(body).get("name") not in (None, name):
            raise bad_request(
                f"the name of the object ({meta(body).get('name')}) does not match the name on "
                f"the URL ({name})"
            )
        meta(body)["name"] = name
        old = self.get(rt, namespace, name)
        body, warnings = self.validator.decode(rt, body, field_validation)
        expected = meta(body).get("resourceVersion") or None
        uid = meta(body).get("uid")
        if uid and uid != old["metadata"]["uid"]:
            raise ApiError(
                409,
                f"Precondition failed: UID in precondition: {uid}, UID in object meta: "
                f"{old['metadata']['uid']}",
                reason="Conflict",
            )
        if subresource == "status":
            new = clone(old)
            new["status"] = body.get("status")
            if new["status"] is None:
                new.pop("status")
        else:
            new = body
            for field in ("uid", "creationTimestamp", "generation", "deletionTimestamp"):
                if field in old["metadata"]:
                    new["metadata"][field] = old["metadata"][field]
            if rt.has_status:
                if "status" in old:
                    new["status"] = old["status"]
                else:
                    new.pop("status", None)
            apply_defaults(rt, new)
        self.validator.check(rt, new, old)
        if dry_run:
            return new, warnings
        return self.store.replace(rt, new, expected_rv=expected), warnings

    def patch(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        body: bytes,
        content_type: str,
        *,
        subresource: str | None = None,
        dry_run: bool = False,
        field_validation: str = "Warn",
        field_manager: str | None = None,
    ) -> tuple[JSON, list[str]]:
        """PATCH with merge, JSON, strategic-merge (built-ins) or apply patches."""
        kind = content_type.split(";", maxsplit=1)[0].strip().lower()
        accepted = [JSON_PATCH, MERGE_PATCH, APPLY_PATCH] + (
            [] if rt.custom else [STRATEGIC_MERGE_PATCH]
        )
        if kind not in accepted:
            raise ApiError(
                415,
                "the body of the request was in an unknown format - accepted media types include: "
                + ", ".join(accepted),
            )
        try:
            document: Any = (
                yaml.safe_load(body) if kind == APPLY_PATCH else json.loads(body or b"null")
            )
        except (ValueError, yaml.YAMLError) as error:
            raise bad_request(f"error decoding patch: {error}") from error
        if kind == APPLY_PATCH:
            if not field_manager:
                raise ApiError(
                    422,
                    'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is '
                    "required for apply patch",
                    reason="Invalid",
                )
            if self.store.get(rt, namespace, name) is None:
                if not isinstance(document, dict):
                    raise bad_request("apply patch must be an object")
                meta(document).setdefault("name", name)
                return self.create(
                    rt, namespace, document, dry_run=dry_run, field_validation=field_validation
                )
        current = self.get(rt, namespace, name)
        try:
            if kind == JSON_PATCH:
                patched = json_patch(current, document)
            elif kind == STRATEGIC_MERGE_PATCH:
                patched = strategic_merge_patch(current, document)
            else:
                patched = merge_patch(current, document)
        except PatchError as error:
            raise ApiError(
                422, f"the server rejected our request due to an error in our request: {error}"
            ) from error
        if not isinstance(patched, dict):
            raise bad_request("a patch must produce an object")
        return self.update(
            rt,
            namespace,
            name,
            patched,
            subresource=subresource,
            dry_run=dry_run,
            field_validation=field_validation,
        )

    def delete(
        self, rt: ResourceType, namespace: str | None, name: str, options: JSON | None = None
    ) -> tuple[JSON, list[str]]:
        """DELETE with ``propagationPolicy`` (Jobs orphan by default, like batch/v1)."""
        options = options or {}
        obj = self.get(rt, namespace, name)
        preconditions = options.get("preconditions") or {}
        for field in ("uid", "resourceVersion"):
            wanted = preconditions.get(field)
            if wanted and wanted != obj["metadata"].get(field):
                raise ApiError(
                    409,
                    f"Precondition failed: {field} in precondition: {wanted}, {field} in object "
                    "meta: "
                    f"{obj['metadata'].get(field)}",
                    reason="Conflict",
                )
        policy = options.get("propagationPolicy")
        if policy is None and options.get("orphanDependents") is not None:
            policy = "Orphan" if options["orphanDependents"] else "Background"
        warnings: list[str] = []
        if policy is None:
            policy = "Orphan" if rt.kind == "Job" and rt.group == "batch" else "Background"
            if policy == "Orphan":
                warnings.append(JOB_ORPHAN_WARNING)
        if policy not in ("Orphan", "Background", "Foreground"):
            raise invalid(rt, name, [("propagationPolicy", f'Unsupported value: "{policy}"')])
        if options.get("dryRun"):
            return (obj if rt.kind == "Pod" else _status_success(rt, obj)), warnings
        gone = self.remove_cascading(rt, namespace, name, policy)
        if rt.kind == "Namespace":
            gone["status"] = {"phase": "Terminating"}
            return gone, warnings
        return (gone if rt.kind == "Pod" else _status_success(rt, gone)), warnings

    def remove_cascading(
        self, rt: ResourceType, namespace: str | None, name: str, policy: str
    ) -> JSON:
        """Removes an object and handles its dependents (ownerReferences) per ``policy``."""
        with self.store.lock:
            obj = self.get(rt, namespace, name)
            uid = obj["metadata"]["uid"]
            if rt.kind == "Namespace":
                for other in resources.RESOURCES:
                    if other.namespaced:
                        for item in self.store.items(other, name):
                            self._remove_quietly(other, name, item["metadata"]["name"])
            for dep_rt, dependent in self.store.dependents(
                uid, namespace if rt.namespaced else None
            ):
                dep_ns = dependent["metadata"].get("namespace")
                dep_name = dependent["metadata"]["name"]
                if policy == "Orphan":
                    self.store.mutate(
                        dep_rt, dep_ns, dep_name, functools.partial(_strip_owner, uid=uid)
                    )
                else:
                    with contextlib.suppress(ApiError):
                        self.remove_cascading(dep_rt, dep_ns, dep_name, policy)
            return self.store.remove(rt, namespace, name)

    def _remove_quietly(self, rt: ResourceType, namespace: str, name: str) -> None:
        with contextlib.suppress(ApiError):
            self.store.remove(rt, namespace, name)

    def delete_collection(
        self,
        rt: ResourceType,
        namespace: str | None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        options: JSON | None = None,
    ) -> JSON:
        """DELETE on a collection."""
        listing = self.list_objects(
            rt, namespace, label_selector=label_selector, field_selector=field_selector
        )
        for item in listing["items"]:
            try:
                self.delete(
                    rt, item["metadata"].get("namespace"), item["metadata"]["name"], options
                )
            except ApiError as error:
                if error.code != 404:
                    raise
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}

    # -- logs -----------------------------------------------------------------------------

    def pod_log(
        self,
        namespace: str,
        name: str,
        *,
        container: str | None = None,
        follow: bool = False,
        tail_lines: int | None = None,
        timestamps: bool = False,
        limit_bytes: int | None = None,
    ) -> bytes | Iterator[bytes | None]:
        """The log of one container: bytes, or an iterator when following."""
        pod = self.get(PODS, namespace, name)
        names = [c["name"] for c in pod["spec"].get("containers", [])]
        init_names = [c["name"] for c in pod["spec"].get("initContainers", []) or []]
        if container is None:
            if len(names) != 1:
                raise bad_request(
                    f"a container name must be specified for pod {name}, choose one of: "
                    f"[{' '.join(names)}]"
                    + (
                        f" or one of the init containers: [{' '.join(init_names)}]"
                        if init_names
                        else ""
                    )
                )
            container = names[0]
        if container not in names and container not in init_names:
            raise bad_request(f"container {container} is not valid for pod {name}")
        log = self.logs.find(namespace, name, container)
        if log is None or log.uid != pod["metadata"]["uid"]:
            raise bad_request(
                f'container "{container}" in pod "{name}" is waiting to start: '
                f"{_waiting(pod, container)}"
            )
        if follow:
            return log.follow(
                self.stopping, tail_lines=tail_lines, timestamps=timestamps, limit_bytes=limit_bytes
            )
        return log.read(tail_lines=tail_lines, timestamps=timestamps, limit_bytes=limit_bytes)


def _strip_owner(obj: JSON, uid: str) -> JSON:
    refs = [r for r in obj["metadata"].get("ownerReferences") or [] if r.get("uid") != uid]
    if refs:
        obj["metadata"]["ownerReferences"] = refs
    else:
        obj["metadata"].pop("ownerReferences", None)
    return obj


def _waiting(pod: JSON, container: str) -> str:
    statuses = [
        *(pod.get("status") or {}).get("containerStatuses", []),
        *(pod.get("status") or {}).get("initContainerStatuses", []),
    ]
    for status in statuses:
        if status.get("name") == container:
            reason = ((status.get("state") or {}).get("waiting") or {}).get("reason")
            if reason in ("ErrImagePull", "ImagePullBackOff"):
                return "trying and failing to pull image"
            if reason:
                return str(reason)
    return "ContainerCreating"
