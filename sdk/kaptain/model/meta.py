"""Immutable snapshot of a model's fields."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ModelMeta:
    """A copy of every field of a :class:`~kaptain.model.models.Model` at one moment."""

    id: str
    name: str
    description: str
    version: str
    framework: str
    framework_version: str
    main_file: str
    image_name: str
    base_image: str
    extra_files: tuple[str, ...] = ()
    requirements: str | None = None
    labels: tuple[str, ...] = ()
    serving_config: dict[str, str] = field(default_factory=dict)
    revision: str = ""
    state: str = "untrained"
    hyperparameters: dict[str, Any] | None = None
    metrics: dict[str, dict[str, float]] | None = None
    model_uri: str | None = None
