"""Reading an InferenceService in Kaptain's terms: revisions, traffic, readiness, failures.

KServe names Knative revisions (``<name>-predictor-00003``); Kaptain knows only its own
revisions. The mapping follows from the annotations Kaptain writes with each spec
(:mod:`kaptain.activities.kubernetes.manifests.serving`): the latest created Knative revision
serves the spec's revision, and the rolled-out one, when it is another, serves the revision
that was rolled out when the spec was written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kaptain.activities.kubernetes.manifests.serving import (
    PREVIOUS_REVISION_ANNOTATION,
    REVISION_ANNOTATION,
    SPEC_HASH_ANNOTATION,
)

__all__ = ["ServiceView", "TrafficTarget"]

_REVISION_CONDITIONS = ("PredictorConfigurationReady", "PredictorReady")


@dataclass(frozen=True)
class TrafficTarget:
    """One entry of ``status.components.predictor.traffic``.

    Attributes:
        revision: The Knative revision it routes to.
        percent: Its share of the traffic.
        tag: Its tag (``latest``, ``prev``), if any.
        url: The tag's own URL, if any.
        latest: Whether it follows the latest ready revision.
    """

    revision: str
    percent: int
    tag: str | None
    url: str | None
    latest: bool


@dataclass(frozen=True)
class ServiceView:
    """What an InferenceService says, with Knative revisions mapped to Kaptain revisions.

    Attributes:
        generation: ``metadata.generation``.
        observed_generation: The generation the status describes.
        spec_revision: Kaptain revision of the spec (the latest Knative revision).
        previous_revision: Kaptain revision rolled out when the spec was written.
        spec_hash: Hash of the spec Kaptain wrote.
        canary_percent: ``canaryTrafficPercent`` of the spec.
        url: ``status.url``.
        latest_created: Knative revision of the current spec.
        latest_ready: The newest ready Knative revision.
        rolled_out: The Knative revision that last had all the traffic.
        traffic: The traffic targets in effect.
        conditions: Condition type -> the condition.
        failure_info: ``status.modelStatus.lastFailureInfo``.
    """

    generation: int
    observed_generation: int
    spec_revision: str | None
    previous_revision: str | None
    spec_hash: str | None
    canary_percent: int | None
    url: str | None
    latest_created: str | None
    latest_ready: str | None
    rolled_out: str | None
    traffic: tuple[TrafficTarget, ...]
    conditions: dict[str, dict[str, Any]]
    failure_info: dict[str, Any]

    @classmethod
    def of(cls, obj: dict[str, Any]) -> ServiceView:
        """Parse an InferenceService object."""
        metadata = obj.get("metadata") or {}
        annotations = metadata.get("annotations") or {}
        status = obj.get("status") or {}
        predictor = (status.get("components") or {}).get("predictor") or {}
        percent = ((obj.get("spec") or {}).get("predictor") or {}).get("canaryTrafficPercent")
        traffic = tuple(
            TrafficTarget(
                revision=str(entry.get("revisionName") or ""),
                percent=int(entry.get("percent") or 0),
                tag=entry.get("tag"),
                url=entry.get("url"),
                latest=bool(entry.get("latestRevision")),
            )
            for entry in predictor.get("traffic") or []
        )
        return cls(
            generation=int(metadata.get("generation") or 0),
            observed_generation=int(status.get("observedGeneration") or 0),
            spec_revision=annotations.get(REVISION_ANNOTATION),
            previous_revision=annotations.get(PREVIOUS_REVISION_ANNOTATION),
            spec_hash=annotations.get(SPEC_HASH_ANNOTATION),
            canary_percent=None if percent is None else int(percent),
            url=status.get("url"),
            latest_created=predictor.get("latestCreatedRevision"),
            latest_ready=predictor.get("latestReadyRevision"),
            rolled_out=predictor.get("latestRolledoutRevision"),
            traffic=traffic,
            conditions={
                str(c.get("type")): c for c in status.get("conditions") or [] if c.get("type")
            },
            failure_info=dict((status.get("modelStatus") or {}).get("lastFailureInfo") or {}),
        )

    @property
    def current(self) -> bool:
        """Whether the status describes the latest spec."""
        return self.observed_generation >= self.generation > 0

    def kaptain_revision(self, knative: str | None) -> str | None:
        """The Kaptain revision a Knative revision serves (None when unknown)."""
        if not knative:
            return None
        if knative == self.latest_created:
            return self.spec_revision
        if knative == self.rolled_out:
            return self.previous_revision
        return None

    @property
    def rolled_out_revision(self) -> str | None:
        """The Kaptain revision that last had all the traffic."""
        return self.kaptain_revision(self.rolled_out)

    def kaptain_traffic(self) -> dict[str, int]:
        """Kaptain revision -> percent in effect.

        Unknown revisions appear under their Knative name; revisions without traffic are
        left out.
        """
        split: dict[str, int] = {}
        for target in self.traffic:
            if target.percent <= 0 or not target.revision:
                continue
            name = self.kaptain_revision(target.revision) or target.revision
            split[name] = split.get(name, 0) + target.percent
        return split

    def knative_revisions(self) -> dict[str, str]:
        """Knative revision -> Kaptain revision, for every mapped revision in the status."""
        names = [self.latest_created, self.rolled_out, *(t.revision for t in self.traffic)]
        mapped: dict[str, str] = {}
        for name in names:
            kaptain = self.kaptain_revision(name)
            if name and kaptain:
                mapped[name] = kaptain
        return mapped

    def condition_true(self, kind: str) -> bool:
        """Whether condition ``kind`` is True."""
        return (self.conditions.get(kind) or {}).get("status") == "True"

    @property
    def latest_is_ready(self) -> bool:
        """The latest created revision is ready (the newest ready one)."""
        return bool(self.latest_created) and self.latest_created == self.latest_ready

    def latest_failure(self) -> str | None:
        """Why the latest created revision failed, in words (None when it did not)."""
        for kind in _REVISION_CONDITIONS:
            condition = self.conditions.get(kind) or {}
            if condition.get("status") == "False":
                reason = str(condition.get("reason") or "RevisionFailed")
                message = str(condition.get("message") or "").strip()
                detail = str(self.failure_info.get("message") or "").strip()
                words = f"{reason}: {message}" if message else reason
                if detail and detail not in words:
                    words += f" ({detail})"
                return words
        return None

    def tagged_url(self, knative: str) -> str | None:
        """The URL of a tag routing to ``knative`` (``latest`` first)."""
        tagged = [t for t in self.traffic if t.revision == knative and t.url and t.tag]
        tagged.sort(key=lambda t: t.tag != "latest")
        return tagged[0].url if tagged else None
