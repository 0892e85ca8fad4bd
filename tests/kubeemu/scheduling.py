"""The scheduler's decision for one pod: which node fits (node selector, GPUs), or why none."""

from __future__ import annotations

from collections import Counter

from kubeemu.util import JSON, labels_of

GPU = "nvidia.com/gpu"
TERMINAL = ("Succeeded", "Failed")


def _as_int(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0


def gpu_request(pod: JSON) -> int:
    """GPUs a pod needs: the larger of its containers' sum and any init container's."""
    spec = pod.get("spec") or {}

    def wanted(container: JSON) -> int:
        resources = container.get("resources") or {}
        requests = resources.get("requests") or {}
        limits = resources.get("limits") or {}
        return _as_int(requests.get(GPU, limits.get(GPU, 0)))

    main = sum(wanted(c) for c in spec.get("containers") or [])
    init = max((wanted(c) for c in spec.get("initContainers") or []), default=0)
    return max(main, init)


def node_gpus(node: JSON) -> int:
    """Allocatable GPUs of a node."""
    status = node.get("status") or {}
    return _as_int((status.get("allocatable") or status.get("capacity") or {}).get(GPU, 0))


def choose_node(pod: JSON, nodes: list[JSON], pods: list[JSON]) -> tuple[str | None, str]:
    """``(node name, "")`` or ``(None, scheduler message)`` like ``0/1 nodes are available:
    1 Insufficient nvidia.com/gpu. preemption: ...``."""
    wanted = gpu_request(pod)
    selector = (pod.get("spec") or {}).get("nodeSelector") or {}
    uid = pod["metadata"].get("uid")
    reasons: Counter[str] = Counter()
    for node in nodes:
        name = node["metadata"]["name"]
        if (node.get("spec") or {}).get("unschedulable"):
            reasons["node(s) were unschedulable"] += 1
            continue
        labels = labels_of(node)
        if any(labels.get(k) != v for k, v in selector.items()):
            reasons["node(s) didn't match Pod's node affinity/selector"] += 1
            continue
        used = sum(
            gpu_request(other)
            for other in pods
            if (other.get("spec") or {}).get("nodeName") == name
            and (other.get("status") or {}).get("phase") not in TERMINAL
            and other["metadata"].get("uid") != uid
        )
        if wanted > node_gpus(node) - used:
            reasons[f"Insufficient {GPU}"] += 1
            continue
        return name, ""
    total = len(nodes)
    detail = ", ".join(f"{count} {reason}" for reason, count in sorted(reasons.items()))
    message = (
        f"0/{total} nodes are available: {detail}." if detail else f"0/{total} nodes are available."
    )
    message += (
        f" preemption: 0/{total} nodes are available: {total} Preemption is not helpful for"
        " scheduling."
    )
    return None, message
