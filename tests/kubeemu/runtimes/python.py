"""The default runtime: run the image's Python program as a local process.

The image's files are the build context the kaniko runtime pushed for that reference (see
:class:`~kubeemu.runtimes.ImageStore`); the pod runs in a private copy of it. The argv is
what Docker would run: the container ``command`` (else the Dockerfile ``ENTRYPOINT``) plus
``args`` (else ``CMD`` when the entrypoint was not overridden). ``python``/``python3`` become
this interpreter (``sys.executable``), so the trainer sees the test's virtual environment.
Images no build produced run their ``command``/``args`` in an empty directory — handy for
``python -c '...'`` test pods; with ``args`` only, they run ``python -u <args>`` (as an
``ENTRYPOINT ["python", "-u"]`` image would).
"""

from __future__ import annotations

import re
import shutil
import sys

from kubeemu.runtimes import Command, RunContext

_PYTHON = re.compile(r"^(?:/usr(?:/local)?/bin/)?python(?:3(?:\.\d+)?)?$")


class NoCommandError(RuntimeError):
    """The container has nothing to run (no known image build and no command)."""


def python_runtime(ctx: RunContext) -> Command:
    """Runs ``ENTRYPOINT``/``CMD`` (or ``command``/``args``) with this Python interpreter."""
    container = ctx.container
    image = str(container.get("image", ""))
    command = container.get("command")
    args = container.get("args")
    record = ctx.images.get(image)
    name = str(container.get("name", "container"))
    if record is not None:
        entry = list(command) if command else list(record.entrypoint)
        rest = list(args) if args is not None else ([] if command else list(record.cmd))
        cwd = ctx.pod_dir / "app" / name
        if not cwd.exists():
            shutil.copytree(record.context_dir, cwd, symlinks=True)
        env = {**record.env, **ctx.env}
        image_workdir = record.workdir
    else:
        entry = list(command) if command else (["python", "-u"] if args else [])
        rest = list(args or [])
        cwd = ctx.pod_dir / "work" / name
        cwd.mkdir(parents=True, exist_ok=True)
        env = dict(ctx.env)
        image_workdir = ""
    argv = [str(part) for part in (*entry, *rest)]
    if not argv:
        raise NoCommandError(
            f'failed to start container "{name}": no build of image "{image}" is known and the '
            "container has no command"
        )
    if _PYTHON.match(argv[0]):
        argv[0] = sys.executable
    working_dir = container.get("workingDir")
    if working_dir and working_dir != image_workdir:
        cwd = ctx.resolve_path(str(working_dir))
        cwd.mkdir(parents=True, exist_ok=True)
    return Command(argv=argv, env=env, cwd=cwd)
