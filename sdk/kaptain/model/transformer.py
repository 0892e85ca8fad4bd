"""A pre/post-processing container deployed alongside a model server."""

from __future__ import annotations

from dataclasses import dataclass, field

from kaptain.exceptions import InvalidModelProperty


@dataclass(frozen=True)
class Transformer:
    """Transformer: pre/post-processing next to model inference.

    Args:
        image_name: Image of the transformer container.
        args: Arguments of the container.
        volumes: Volumes to mount.
        env_from: Names of Secrets/ConfigMaps to take environment variables from.
        module: A Python file (relative to the config's ``base_dir``) defining
            ``preprocess(payload)`` and/or ``postprocess(response)``; the local platform runs
            it inside the model server (Kaptain extension; the image is for Kubernetes).
    """

    image_name: str
    args: list[str] = field(default_factory=list)
    volumes: list[dict[str, str]] = field(default_factory=list)
    env_from: list[str] = field(default_factory=list)
    module: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.image_name, str) or not self.image_name.strip():
            raise InvalidModelProperty("Transformer.image_name must be a non-blank string")
