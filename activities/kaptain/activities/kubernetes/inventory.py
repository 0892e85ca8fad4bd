"""What a namespace holds that Kaptain created, selected by Kaptain's labels; deleting it.

Every list uses the label selector ``app.kubernetes.io/managed-by=kaptain``, and every delete
reads the object first and refuses one without that label, so an object Kaptain did not
create is never listed nor deleted, even when asked for by name.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Final

from temporalio import activity

from kaptain.activities.errors import permanent
from kaptain.activities.kubernetes.api import (
    INFERENCE_SERVICES,
    JOBS,
    PODS,
    PYTORCHJOBS,
    SECRETS,
    SERVICE_ACCOUNTS,
    TFJOBS,
    KubeApi,
    Resource,
)
from kaptain.activities.kubernetes.errors import KubeError, NotFound, to_application_error
from kaptain.activities.kubernetes.jobs import final_condition
from kaptain.activities.kubernetes.manifests.labels import (
    MODEL_ID_ANNOTATION,
    REVISION_LABEL,
    WORKFLOW_ID_ANNOTATION,
    selector_for,
)
from kaptain.constants import MANAGED_BY_LABEL, MANAGED_BY_VALUE, MODEL_ID_LABEL
from kaptain.contracts.inventory import (
    DeleteOutcome,
    Inventory,
    InventoryQuery,
    ManagedResource,
    ResourceKind,
    ResourceRef,
)
from kaptain.contracts.names import ActivityName

RESOURCES: Final[dict[ResourceKind, Resource]] = {
    ResourceKind.PYTORCHJOB: PYTORCHJOBS,
    ResourceKind.TFJOB: TFJOBS,
    ResourceKind.JOB: JOBS,
    ResourceKind.INFERENCESERVICE: INFERENCE_SERVICES,
    ResourceKind.SECRET: SECRETS,
    ResourceKind.SERVICEACCOUNT: SERVICE_ACCOUNTS,
    ResourceKind.POD: PODS,
}
"""The API resource of each kind the Kubernetes platform lists."""

DELETABLE: Final = frozenset(RESOURCES) - {ResourceKind.POD}
"""Kinds deleted on request (pods go with their workload)."""

_WORKLOADS: Final = (
    ResourceKind.PYTORCHJOB,
    ResourceKind.TFJOB,
    ResourceKind.JOB,
    ResourceKind.POD,
    ResourceKind.INFERENCESERVICE,
)


def status_of(kind: ResourceKind, obj: dict[str, Any]) -> tuple[str, bool]:
    """``(status, finished)`` of a managed object in one word.

    Args:
        kind: Its kind.
        obj: The object as the API returns it.

    Returns:
        Training jobs: ``Succeeded``/``Failed`` (finished) or their latest true condition;
        Jobs: ``Complete``/``Failed`` or ``Running``; pods: their phase; inference
        services: ``Ready`` or ``NotReady``; anything else ``Active``.
    """
    status = obj.get("status") or {}
    conditions = status.get("conditions") or []
    true = [str(c.get("type")) for c in conditions if c.get("status") == "True"]
    if kind in (ResourceKind.PYTORCHJOB, ResourceKind.TFJOB):
        final = final_condition(obj)
        if final is not None:
            return final, True
        return (true[-1] if true else "Created"), False
    if kind is ResourceKind.JOB:
        for end in ("Complete", "Failed"):
            if end in true:
                return end, True
        return "Running", False
    if kind is ResourceKind.POD:
        phase = str(status.get("phase") or "Pending")
        return phase, phase in ("Succeeded", "Failed")
    if kind is ResourceKind.INFERENCESERVICE:
        return ("Ready" if "Ready" in true else "NotReady"), False
    return "Active", False


def referenced(obj: Any) -> Iterator[tuple[ResourceKind, str]]:
    """Every Secret and ServiceAccount an object's spec names (envFrom, volumes, pulls)."""
    if isinstance(obj, list):
        for item in obj:
            yield from referenced(item)
        return
    if not isinstance(obj, dict):
        return
    for key, value in obj.items():
        if key == "secretRef" and isinstance(value, dict) and value.get("name"):
            yield ResourceKind.SECRET, str(value["name"])
        elif key == "secretName" and isinstance(value, str):
            yield ResourceKind.SECRET, value
        elif key in ("imagePullSecrets", "secrets") and isinstance(value, list):
            for item in value:
                if isinstance(item, dict) and item.get("name"):
                    yield ResourceKind.SECRET, str(item["name"])
        elif key == "serviceAccountName" and isinstance(value, str):
            yield ResourceKind.SERVICEACCOUNT, value
        else:
            yield from referenced(value)


def managed_resource(kind: ResourceKind, obj: dict[str, Any]) -> ManagedResource:
    """The inventory entry of one labelled object."""
    meta = obj.get("metadata") or {}
    labels = meta.get("labels") or {}
    annotations = meta.get("annotations") or {}
    status, finished = status_of(kind, obj)
    return ManagedResource(
        kind=kind,
        name=str(meta.get("name")),
        namespace=str(meta.get("namespace") or ""),
        model=labels.get(MODEL_ID_LABEL, ""),
        model_id=annotations.get(MODEL_ID_ANNOTATION, ""),
        revision=labels.get(REVISION_LABEL, ""),
        owner=annotations.get(WORKFLOW_ID_ANNOTATION, ""),
        status=status,
        finished=finished,
        created=meta.get("creationTimestamp"),
    )


def with_users(
    items: list[ManagedResource], objects: list[tuple[ResourceKind, dict[str, Any]]]
) -> list[ManagedResource]:
    """Fill ``used_by`` of Secrets and ServiceAccounts.

    A Secret or ServiceAccount is used by the unfinished workloads (and the
    ServiceAccounts) that name it.
    """
    users: dict[tuple[ResourceKind, str], set[str]] = {}
    for item, (kind, obj) in zip(items, objects, strict=True):
        if item.finished or kind not in (*_WORKLOADS, ResourceKind.SERVICEACCOUNT):
            continue
        for target in referenced(obj.get("spec") or {}):
            users.setdefault(target, set()).add(f"{kind.value}/{item.name}")
        if kind is ResourceKind.SERVICEACCOUNT:
            for target in referenced({"secrets": obj.get("secrets") or []}):
                users.setdefault(target, set()).add(f"{kind.value}/{item.name}")
            for target in referenced({"imagePullSecrets": obj.get("imagePullSecrets") or []}):
                users.setdefault(target, set()).add(f"{kind.value}/{item.name}")
    result = []
    for entry in items:
        item = entry
        used = sorted(users.get((item.kind, item.name), set()))
        if item.kind in (ResourceKind.SECRET, ResourceKind.SERVICEACCOUNT):
            item = entry.model_copy(
                update={"used_by": used, "status": "InUse" if used else "Active"}
            )
        result.append(item)
    return result


def is_managed(obj: dict[str, Any]) -> bool:
    """Whether Kaptain created the object (its managed-by label)."""
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return bool(labels.get(MANAGED_BY_LABEL) == MANAGED_BY_VALUE)


class KubeInventoryActivities:
    """List and delete the objects Kaptain created in a namespace.

    Args:
        api: The Kubernetes adapter.
    """

    def __init__(self, api: KubeApi) -> None:
        self._api = api

    @activity.defn(name=ActivityName.INVENTORY_LIST)
    async def list_resources(self, query: InventoryQuery) -> Inventory:
        """Every labelled object of the asked kinds (all kinds by default)."""
        kinds = [k for k in (query.kinds or list(RESOURCES)) if k in RESOURCES]
        # Secrets and ServiceAccounts are in use when a workload names them: list those too.
        wanted = set(kinds)
        if wanted & {ResourceKind.SECRET, ResourceKind.SERVICEACCOUNT}:
            wanted |= {*_WORKLOADS, ResourceKind.SERVICEACCOUNT}
        objects: list[tuple[ResourceKind, dict[str, Any]]] = []
        try:
            for kind in RESOURCES:
                if kind not in wanted:
                    continue
                listing = await self._api.run(
                    self._api.list, RESOURCES[kind], query.namespace, label_selector=selector_for()
                )
                objects += [(kind, obj) for obj in listing.items]
        except KubeError as err:
            raise to_application_error(err) from None
        items = with_users([managed_resource(kind, obj) for kind, obj in objects], objects)
        return Inventory(items=[item for item in items if item.kind in kinds])

    @activity.defn(name=ActivityName.INVENTORY_DELETE)
    async def delete_resource(self, ref: ResourceRef) -> DeleteOutcome:
        """Delete one object after checking that Kaptain created it.

        Raises:
            ApplicationError: ``ModelValidationException`` for an object without Kaptain's
                label or a kind that is not deleted on its own.
        """
        if ref.kind not in DELETABLE:
            raise permanent(
                "ModelValidationException", f"a {ref.kind.value} is not deleted on its own"
            )
        resource = RESOURCES[ref.kind]
        try:
            try:
                obj = await self._api.run(self._api.get, resource, ref.namespace, ref.name)
            except NotFound:
                return DeleteOutcome(ref=ref, deleted=False, message="already gone")
            if not is_managed(obj):
                raise permanent(
                    "ModelValidationException",
                    f"{ref.kind.value} {ref.name!r} in namespace {ref.namespace!r} was not "
                    "created by Kaptain; not deleting it",
                )
            deleted = await self._api.run(self._api.delete, resource, ref.namespace, ref.name)
        except KubeError as err:
            raise to_application_error(err) from None
        return DeleteOutcome(ref=ref, deleted=deleted, message="deleted" if deleted else "gone")
