"""BuildImage workflow and build activities."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from kaptain.contracts.common import ResourceSpec, StorageRef


class BuildInput(BaseModel):
    """Build (or skip) the training image for one content checksum.

    Attributes:
        model_id: Model the image belongs to (for labels and search attributes).
        image: Full image reference, tag included.
        checksum: Content hash over the Dockerfile, code, requirements and base image.
        context_uri: Build context tarball in object storage.
        dockerfile: The generated Dockerfile (also inside the context).
        main_file: The trainer's entry point, relative to the context root.
        base_image: The base image the Dockerfile starts from.
        requirements: Requirements file, relative to the context root, if any.
        storage: Storage holding the context.
        docker_config_ref: Secret with the registry's Docker config, if any.
        registry_ca_ref: Secret with the registry's CA certificate, if any.
        registry_url: Registry endpoint (``https://host:port``); by default ``https://``
            and the image's registry host.
        namespace: Namespace the build runs in (Kubernetes platform).
        resources: Builder resources (``DOCKER_BUILDER_*``).
        owns_secrets: The build was started on its own (not as a child of a training
            run), so it deletes the secrets it was given when it ends.
    """

    model_config = ConfigDict(extra="forbid")

    model_id: str
    image: str
    checksum: str
    context_uri: str
    dockerfile: str
    main_file: str
    base_image: str
    requirements: str | None = None
    storage: StorageRef
    docker_config_ref: str | None = None
    registry_ca_ref: str | None = None
    registry_url: str | None = None
    namespace: str = "default"
    resources: ResourceSpec = ResourceSpec()
    owns_secrets: bool = False


class BuildResult(BaseModel):
    """Outcome of a build.

    Attributes:
        image: The image reference that holds the trainer.
        checksum: The content checksum it was built for.
        skipped: True when the registry already had this image with this checksum.
        location: Where the platform keeps it (registry reference or local environment dir).
    """

    image: str
    checksum: str
    skipped: bool
    location: str
