"""Runtimes of KServe's pods: the storage initializer and the model server.

* :func:`storage_initializer_runtime` -- ``kserve/storage-initializer`` (args ``[uri, dest]``):
  downloads every object under an ``s3://`` URI into the mounted ``dest`` with the credentials
  KServe injects from the service account's Secret (``AWS_ACCESS_KEY_ID``, ...,
  ``S3_ENDPOINT`` without scheme, ``S3_USE_HTTPS``, ``S3_USER_VIRTUAL_BUCKET``), and fails like
  KServe's (``Failed to fetch model. No model found in ...``) when there is nothing.
* :func:`serving_runtime` -- a model server container (``python -m kaptain.serving.server``)
  run as a local process; arguments naming a mounted path (``--model-dir=/mnt/models``) are
  rewritten to the local directory of that volume.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from kaptain.storage import open_location
from kubeemu.runtimes import Command, InProcess, RunContext
from kubeemu.runtimes.python import python_runtime

STORAGE_INITIALIZER_IMAGE = r"(^|/)storage-initializer(:|@|$)"
"""Image pattern of KServe's storage initializer."""
SERVING_IMAGE = r"(^|/)kaptain-serving(:|@|$)"
"""Image pattern of Kaptain's serving image (the kaptain-pytorch runtime)."""

_FALSE = ("0", "false", "no")


def _storage_env(env: dict[str, str]) -> dict[str, str]:
    """KServe's injected variables as Kaptain's storage client reads them."""
    endpoint = env.get("AWS_ENDPOINT_URL") or env.get("S3_ENDPOINT") or ""
    if endpoint and "://" not in endpoint:
        https = env.get("S3_USE_HTTPS", "1").lower() not in _FALSE
        endpoint = f"{'https' if https else 'http'}://{endpoint}"
    virtual = env.get("S3_USER_VIRTUAL_BUCKET", "false").lower() == "true"
    out = {
        key: env[key]
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "S3_VERIFY_SSL")
        if env.get(key)
    }
    if endpoint:
        out["S3_ENDPOINT"] = endpoint
    out["S3_FORCE_PATH_STYLE"] = "false" if virtual else "true"
    return out


def _download(uri: str, dest: Path, env: dict[str, str], log: Callable[[str], None]) -> int:
    if not uri.startswith("s3://"):
        log(f"Exception: Cannot recognize storage type for {uri}")
        return 1
    log(f"Copying contents of {uri} to local")
    store, prefix = open_location(uri, _storage_env(env))
    base = prefix.rstrip("/") + "/" if prefix.strip("/") else ""
    keys = [key for key in store.list(base) if not key.endswith("/")]
    if not keys:
        log(f"RuntimeError: Failed to fetch model. No model found in {uri}.")
        return 1
    for key in keys:
        target = dest / key[len(base) :]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(store.get_bytes(key))
        log(f"Downloaded object {key} to {target.name}")
    log(f"Successfully copied {uri} to {dest}")
    return 0


def storage_initializer_runtime(ctx: RunContext) -> InProcess:
    """Downloads the model (see the module docstring)."""
    args = [str(a) for a in ctx.container.get("args") or []]

    def run(log: Callable[[str], None]) -> int:
        if len(args) != 2:
            log(f"usage: storage-initializer <uri> <dest>, got {args}")
            return 1
        try:
            return _download(args[0], ctx.resolve_path(args[1]), ctx.env, log)
        except Exception as error:
            log(f"Exception: {type(error).__name__}: {error}")
            return 1

    return InProcess(run)


def serving_runtime(ctx: RunContext) -> Command:
    """The python runtime, with mounted container paths in the arguments made local."""
    command = python_runtime(ctx)
    mounts = sorted(ctx.mounts, key=len, reverse=True)

    def local(arg: str) -> str:
        flag, eq, value = arg.partition("=")
        path = value if eq else arg
        if any(path == m or path.startswith(m.rstrip("/") + "/") for m in mounts):
            resolved = str(ctx.resolve_path(path))
            return f"{flag}={resolved}" if eq else resolved
        return arg

    command.argv = [command.argv[0], *(local(arg) for arg in command.argv[1:])]
    return command
