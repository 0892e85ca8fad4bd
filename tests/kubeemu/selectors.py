"""Label and field selectors: the query syntax and the ``LabelSelector`` object."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kubeemu.errors import bad_request
from kubeemu.util import JSON, get_path, labels_of

_COMMON_FIELDS = frozenset({"metadata.name", "metadata.namespace"})
FIELDS: dict[str, frozenset[str]] = {
    "pods": frozenset(
        {
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "status.phase",
            "status.podIP",
            "status.nominatedNodeName",
        }
    ),
    "events": frozenset(
        {
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
        }
    ),
    "secrets": frozenset({"type"}),
    "namespaces": frozenset({"status.phase"}),
    "jobs": frozenset({"status.successful"}),
}
"""Field labels each resource supports besides ``metadata.name``/``metadata.namespace``."""


@dataclass(frozen=True)
class Requirement:
    """One term of a label selector: ``key op values``."""

    key: str
    op: str  # "=", "!=", "in", "notin", "exists", "!"
    values: tuple[str, ...] = ()

    def matches(self, labels: dict[str, str]) -> bool:
        """Whether a label set satisfies this term."""
        present = self.key in labels
        value = labels.get(self.key)
        if self.op == "=":
            return present and value == self.values[0]
        if self.op == "!=":
            return not present or value != self.values[0]
        if self.op == "in":
            return present and value in self.values
        if self.op == "notin":
            return not present or value not in self.values
        if self.op == "exists":
            return present
        return not present


_TERM = re.compile(
    r"\s*(?:(?P<not>!)\s*(?P<nkey>[^\s,=!()]+)"
    r"|(?P<key>[^\s,=!()]+)\s*(?:(?P<op>==|=|!=)\s*(?P<value>[^\s,=!()]*)"
    r"|\s+(?P<set>in|notin)\s*\((?P<values>[^)]*)\))?)\s*(?:,|$)"
)


def parse_label_selector(text: str | None) -> list[Requirement]:
    """Parses ``a=b,c!=d,e in (x,y),f notin (z),g,!h``; raises a 400 ApiError."""
    if not text or not text.strip():
        return []
    requirements: list[Requirement] = []
    pos = 0
    while pos < len(text):
        match = _TERM.match(text, pos)
        if not match or match.end() == pos:
            raise bad_request(f"unable to parse requirement: invalid label selector {text!r}")
        pos = match.end()
        if match["nkey"]:
            requirements.append(Requirement(match["nkey"], "!"))
        elif match["op"]:
            op = "!=" if match["op"] == "!=" else "="
            requirements.append(Requirement(match["key"], op, (match["value"],)))
        elif match["set"]:
            values = tuple(v.strip() for v in match["values"].split(",") if v.strip())
            requirements.append(Requirement(match["key"], match["set"], values))
        else:
            requirements.append(Requirement(match["key"], "exists"))
    return requirements


def selector_requirements(selector: JSON | None) -> list[Requirement]:
    """The requirements of a ``LabelSelector`` object (matchLabels + matchExpressions)."""
    if not selector:
        return []
    result = [
        Requirement(k, "=", (str(v),)) for k, v in (selector.get("matchLabels") or {}).items()
    ]
    ops = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}
    for expr in selector.get("matchExpressions") or []:
        values = tuple(str(v) for v in expr.get("values") or ())
        result.append(Requirement(expr["key"], ops[expr["operator"]], values))
    return result


def matches_labels(requirements: list[Requirement], obj: JSON) -> bool:
    """Whether the object's labels satisfy every requirement."""
    labels = labels_of(obj)
    return all(req.matches(labels) for req in requirements)


def parse_field_selector(text: str | None, resource: str) -> list[tuple[str, bool, str]]:
    """Parses ``metadata.name=x,status.phase!=Running`` into ``(field, equal, value)``."""
    if not text or not text.strip():
        return []
    allowed = _COMMON_FIELDS | FIELDS.get(resource, frozenset())
    terms: list[tuple[str, bool, str]] = []
    for part in text.split(","):
        match = re.fullmatch(r"\s*([^=!\s]+)\s*(==|=|!=)\s*(.*?)\s*", part)
        if not match:
            raise bad_request(f"invalid selector: {text!r}; can't understand {part!r}")
        field, op, value = match.groups()
        if field not in allowed:
            raise bad_request(f"field label not supported: {field}")
        terms.append((field, op != "!=", value))
    return terms


def _field_value(obj: JSON, field: str) -> str:
    value: Any = get_path(obj, field)
    if field == "source" and isinstance(value, dict):
        value = value.get("component")
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def matches_fields(terms: list[tuple[str, bool, str]], obj: JSON) -> bool:
    """Whether the object satisfies every field selector term."""
    return all((_field_value(obj, f) == v) == equal for f, equal, v in terms)


def object_filter(
    label_selector: str | None, field_selector: str | None, resource: str
) -> Callable[[JSON], bool]:
    """One predicate for both selectors of a list or watch request."""
    labels = parse_label_selector(label_selector)
    fields = parse_field_selector(field_selector, resource)
    return lambda obj: matches_labels(labels, obj) and matches_fields(fields, obj)
