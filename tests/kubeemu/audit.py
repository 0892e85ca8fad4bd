"""The audit log: one record per HTTP request, in Kubernetes terms (for RBAC assertions)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field


@dataclass
class RequestRecord:
    """One request as the API server's authorizer sees it, plus the answer's code.

    ``code`` is 0 when the connection was dropped without an answer.
    """

    verb: str
    group: str
    resource: str
    namespace: str | None
    name: str | None
    code: int = 0
    method: str = ""
    path: str = ""
    query: dict[str, str] = field(default_factory=dict)
    user_agent: str = ""
    fault: bool = False
    """Answered by a fault rule."""

    @property
    def permission(self) -> tuple[str, str, str]:
        """``(group, resource, verb)`` — what an RBAC Role must grant."""
        return (self.group, self.resource, self.verb)


class AuditLog(list[RequestRecord]):
    """A thread-safe list of the resource requests (what RBAC rules are about), with helpers.

    Requests for non-resource paths — discovery (``/api``, ``/apis/...``), ``/version``,
    health checks and unknown paths — go to :attr:`nonresource` instead, so
    ``{(r.group, r.resource, r.verb) for r in emu.requests}`` is exactly what a Role must grant.
    """

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self.nonresource: list[RequestRecord] = []
        """Discovery, version, health and unknown-path requests (``resource == ""``)."""

    def record(self, entry: RequestRecord) -> None:
        """Appends one record (to :attr:`nonresource` when it names no resource)."""
        with self._lock:
            (self if entry.resource else self.nonresource).append(entry)

    def permissions(self, namespace: str | None = None) -> set[tuple[str, str, str]]:
        """The distinct ``(group, resource, verb)`` of resource requests (one namespace, or all)."""
        with self._lock:
            return {
                r.permission
                for r in self
                if r.resource and (namespace is None or r.namespace == namespace)
            }

    def matching(
        self, *, verb: str | None = None, resource: str | None = None, name: str | None = None
    ) -> list[RequestRecord]:
        """The records with this verb/resource/name (``None`` matches anything)."""
        with self._lock:
            return [
                r
                for r in self
                if (verb is None or r.verb == verb)
                and (resource is None or r.resource == resource)
                and (name is None or r.name == name)
            ]
