"""The kaniko runtime: what ``gcr.io/kaniko-project/executor`` does, minus the filesystem.

It reads ``--context=s3://bucket/key.tar.gz`` (or ``dir://``/``tar://`` paths) with the S3
settings kaniko reads from its environment (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``,
``S3_ENDPOINT`` or ``AWS_ENDPOINT_URL``, ``S3_FORCE_PATH_STYLE``, ``AWS_REGION``), parses the
Dockerfile, and pushes a minimal OCI image (config with the Dockerfile's labels, entrypoint,
env and workdir; one empty layer) to each ``--destination`` over the distribution API. The
credentials come from the Docker config mounted into the pod (``$DOCKER_CONFIG/config.json``,
default ``/kaniko/.docker``, or any Secret volume with ``.dockerconfigjson``/``config.json``),
the registry CA from ``--registry-certificate=host:port=/path``. ``RUN`` steps are logged,
not executed. The build context is remembered for the pushed image, so the python runtime
can run pods of that image. Exit code 0, or 1 with kaniko's error line in the log.
"""

from __future__ import annotations

import io
import json
import shutil
import ssl
import tarfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kubeemu.runtimes import ImageRecord, InProcess, RunContext
from kubeemu.runtimes.dockerfile import ImageConfig, parse_dockerfile
from kubeemu.runtimes.oci import (
    Reference,
    RegistryClient,
    RegistryError,
    docker_credentials,
    image_blobs,
)

KANIKO_IMAGE = r"kaniko-project/executor"
"""The image pattern the emulator maps to this runtime."""


class BuildError(RuntimeError):
    """A failed build step (logged as kaniko's ``error ...`` line, exit code 1)."""


def parse_flags(argv: list[str]) -> dict[str, list[str]]:
    """``--flag=value`` and ``--flag value`` pairs (repeatable) and bare ``--switch``es."""
    flags: dict[str, list[str]] = {}
    i = 0
    while i < len(argv):
        token = argv[i]
        if token.startswith("-"):
            key, has_value, value = token.lstrip("-").partition("=")
            if not has_value and i + 1 < len(argv) and not argv[i + 1].startswith("-"):
                value, i = argv[i + 1], i + 1
            elif not has_value:
                value = "true"
            flags.setdefault(key, []).append(value)
        i += 1
    return flags


def _s3_client(env: dict[str, str]) -> Any:
    import boto3
    from botocore.config import Config

    endpoint = env.get("S3_ENDPOINT") or env.get("AWS_ENDPOINT_URL") or None
    force_path = env.get("S3_FORCE_PATH_STYLE", "").lower() in ("true", "1", "yes")
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=env.get("AWS_ACCESS_KEY_ID"),
        aws_secret_access_key=env.get("AWS_SECRET_ACCESS_KEY"),
        region_name=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
        config=Config(
            s3={"addressing_style": "path" if force_path else "auto"}, retries={"max_attempts": 2}
        ),
    )


def _unpack(data: bytes, target: Path) -> None:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
        archive.extractall(target, filter="data")


def fetch_context(context: str, ctx: RunContext, target: Path) -> None:
    """Downloads and unpacks the build context into ``target``."""
    target.mkdir(parents=True, exist_ok=True)
    if context.startswith("s3://"):
        bucket, _, key = context[5:].partition("/")
        try:
            body = _s3_client(ctx.env).get_object(Bucket=bucket, Key=key)["Body"].read()
        except Exception as error:
            raise BuildError(f"error building image: getting build context: {error}") from error
        _unpack(body, target)
    elif context.startswith("tar://"):
        _unpack(ctx.resolve_path(context[6:]).read_bytes(), target)
    else:
        source = context[6:] if context.startswith("dir://") else context
        shutil.copytree(ctx.resolve_path(source), target, dirs_exist_ok=True)


def _docker_config(ctx: RunContext) -> dict[str, Any]:
    candidates = [ctx.resolve_path(ctx.env.get("DOCKER_CONFIG", "/kaniko/.docker")) / "config.json"]
    for local in ctx.mounts.values():
        candidates += [local / "config.json", local / ".dockerconfigjson"]
    for path in candidates:
        if path.is_file():
            loaded: dict[str, Any] = json.loads(path.read_text())
            return loaded
    return {}


def _ssl_context(flags: dict[str, list[str]], host: str, ctx: RunContext) -> ssl.SSLContext:
    if "skip-tls-verify" in flags or host in flags.get("skip-tls-verify-registry", []):
        insecure = ssl.create_default_context()
        insecure.check_hostname = False
        insecure.verify_mode = ssl.CERT_NONE
        return insecure
    context = ssl.create_default_context()
    for entry in flags.get("registry-certificate", []):
        registry, _, path = entry.partition("=")
        if registry == host:
            context.load_verify_locations(cafile=str(ctx.resolve_path(path)))
    return context


def _image_config(config: ImageConfig) -> dict[str, Any]:
    settings: dict[str, Any] = {"Labels": config.labels, "WorkingDir": config.workdir}
    if config.env:
        settings["Env"] = [f"{k}={v}" for k, v in config.env.items()]
    if config.entrypoint:
        settings["Entrypoint"] = config.entrypoint
    if config.cmd:
        settings["Cmd"] = config.cmd
    return {
        "architecture": "amd64",
        "os": "linux",
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "config": settings,
        "history": [{"created_by": f"{k} {v}"} for k, v in config.instructions],
    }


def build(ctx: RunContext, log: Callable[[str], None]) -> int:
    """The executor: returns 0 on success, 1 after logging the error."""
    started = time.monotonic()

    def info(message: str) -> None:
        log(f"INFO[{int(time.monotonic() - started):04d}] {message}")

    flags = parse_flags([a for a in ctx.argv if not a.endswith("/executor")])
    destinations = flags.get("destination", [])
    try:
        if not destinations and "no-push" not in flags:
            raise BuildError("error: You must provide --destination, or use --no-push")
        config_json = _docker_config(ctx)
        clients: dict[str, RegistryClient] = {}
        references = [Reference.parse(d) for d in destinations]
        for ref in references:
            client = RegistryClient(
                ref.host,
                credentials=docker_credentials(config_json, ref.host),
                ssl_context=_ssl_context(flags, ref.host, ctx),
                insecure=ref.host in flags.get("insecure-registry", []) or "insecure" in flags,
            )
            clients[ref.host] = client
            if "no-push" not in flags:
                try:
                    client.start_upload(ref.repository)
                except (RegistryError, OSError) as error:
                    raise BuildError(
                        "error checking push permissions -- make sure you entered the correct "
                        "tag name, "
                        "and that you are authenticated correctly, and try again: checking push "
                        f'permission for "{ref}": {error}'
                    ) from error
        context_dir = ctx.pod_dir / "kaniko" / "context"
        fetch_context(flags.get("context", ["dir:///workspace"])[0], ctx, context_dir)
        sub_path = flags.get("context-sub-path", [""])[0]
        root = context_dir / sub_path if sub_path else context_dir
        dockerfile = root / flags.get("dockerfile", ["Dockerfile"])[0]
        if not dockerfile.is_file():
            raise BuildError(
                "error resolving dockerfile path: please provide a valid path to a Dockerfile "
                f"within the build context with --dockerfile ({dockerfile.name} not found)"
            )
        build_args = dict(a.partition("=")[::2] for a in flags.get("build-arg", []))
        config = parse_dockerfile(dockerfile.read_text(), build_args)
        for label in flags.get("label", []):
            key, _, value = label.partition("=")
            config.labels[key] = value
        info(f"Retrieving image manifest {config.base}")
        registry = config.base.split("/")[0] if "/" in config.base else "index.docker.io"
        info(f"Retrieving image {config.base} from registry {registry}")
        info("Built cross stage deps: map[]")
        info("Executing 0 build triggers")
        info(f"Building stage '{config.base}' [idx: '0', base-idx: '-1']")
        for keyword, rest in config.instructions:
            if keyword in ("FROM", "ARG"):
                continue
            info(f"{keyword} {rest}")
            if keyword == "LABEL":
                for key, value in parse_dockerfile(f"LABEL {rest}").labels.items():
                    info(f"Applying label {key}={value}")
            elif keyword == "RUN":
                info(f"Cmd: /bin/sh\nINFO[{int(time.monotonic() - started):04d}] Args: [-c {rest}]")
                info("Taking snapshot of full filesystem...")
        if ctx.cancelled.is_set():
            raise BuildError("error building image: context canceled")
        if "no-push" in flags:
            info("Skipping push to container registry due to --no-push flag")
            return 0
        config_blob, layer, manifest = image_blobs(_image_config(config))
        for ref in references:
            client = clients[ref.host]
            info(f"Pushing image to {ref}")
            try:
                client.push_blob(ref.repository, layer)
                client.push_blob(ref.repository, config_blob)
                digest = client.push_manifest(ref.repository, ref.tag, manifest)
            except (RegistryError, OSError) as error:
                raise BuildError(
                    f"error pushing image: failed to push to destination {ref}: {error}"
                ) from error
            kept = ctx.images.keep(root, digest)
            ctx.images.add(
                ImageRecord(
                    reference=str(ref),
                    digest=digest,
                    context_dir=kept,
                    workdir=config.workdir,
                    entrypoint=config.entrypoint,
                    cmd=config.cmd,
                    env=config.env,
                    labels=config.labels,
                )
            )
            info(f"Pushed {ref.host}/{ref.repository}@{digest}")
            for flag in ("digest-file", "image-name-with-digest-file"):
                for path in flags.get(flag, []):
                    target = ctx.resolve_path(path)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_text(
                        digest
                        if flag == "digest-file"
                        else f"{ref.host}/{ref.repository}@{digest}\n"
                    )
        return 0
    except BuildError as error:
        log(f"{error}")
        return 1
    except Exception as error:
        log(f"error building image: {error}")
        return 1


def kaniko_runtime(ctx: RunContext) -> InProcess:
    """The runtime for images matching :data:`KANIKO_IMAGE`."""
    return InProcess(run=lambda log: build(ctx, log))
