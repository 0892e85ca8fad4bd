"""The Training Operator's validating webhook for PyTorchJob and TFJob (v1.8 rules)."""

from __future__ import annotations

from kubeemu.util import JSON
from kubeemu.validation.core import Causes, check_dns1035

REPLICA_FIELDS = {"PyTorchJob": "pytorchReplicaSpecs", "TFJob": "tfReplicaSpecs"}
"""The replica-spec map of each job kind."""
DEFAULT_CONTAINERS = {"PyTorchJob": "pytorch", "TFJob": "tensorflow"}
"""The container the operator configures (env, ports) in each replica."""
_REPLICA_TYPES = {
    "PyTorchJob": ("Master", "Worker"),
    "TFJob": ("Chief", "Master", "Worker", "PS", "Evaluator"),
}
WEBHOOK_NAMES = {
    "PyTorchJob": "validator.pytorchjob.training-operator.kubeflow.org",
    "TFJob": "validator.tfjob.training-operator.kubeflow.org",
}
"""The webhook configuration names, quoted in denials."""


def check_training_job(obj: JSON) -> Causes:
    """Name, replica types, one master/chief, and a container named like the framework."""
    kind = obj.get("kind", "")
    if kind not in REPLICA_FIELDS:
        return []
    causes: Causes = check_dns1035("metadata.name", (obj.get("metadata") or {}).get("name", ""))
    field = REPLICA_FIELDS[kind]
    specs = (obj.get("spec") or {}).get(field)
    if not specs:
        return [*causes, (f"spec.{field}", "Required value: must be specified")]
    for rtype, replica in specs.items():
        prefix = f"spec.{field}[{rtype}]"
        if rtype not in _REPLICA_TYPES[kind]:
            allowed = ", ".join(f'"{t}"' for t in _REPLICA_TYPES[kind])
            causes.append((prefix, f'Unsupported value: "{rtype}": supported values: {allowed}'))
            continue
        if (
            rtype in ("Master", "Chief")
            and replica.get("replicas") not in (None, 1)
            and isinstance(replica.get("replicas"), int)
        ):
            causes.append(
                (f"{prefix}.replicas", f"Invalid value: {replica.get('replicas')}: must be 1")
            )
        containers = ((replica.get("template") or {}).get("spec") or {}).get("containers") or []
        if not containers:
            causes.append(
                (f"{prefix}.template.spec.containers", "Required value: must be specified")
            )
            continue
        wanted = DEFAULT_CONTAINERS[kind]
        if not any(c.get("name") == wanted for c in containers):
            causes.append(
                (
                    f"{prefix}.template.spec.containers",
                    f"Required value: There is no container named {wanted} in {rtype}",
                )
            )
        for i, container in enumerate(containers):
            if not container.get("image"):
                causes.append((f"{prefix}.template.spec.containers[{i}].image", "Required value"))
    return causes
