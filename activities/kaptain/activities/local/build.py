"""Local build: an environment keyed by the image checksum (venv + code snapshot).

The local analogue of an image layer stack: the worker's own Python environment is the
base image (torch and the kaptain helpers come from it), the requirements are installed
into a virtual environment on top of it, and the build context is the code snapshot.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
import sysconfig
import tarfile
import tempfile
from pathlib import Path

from temporalio import activity

from kaptain.activities.errors import permanent, truncate
from kaptain.activities.local.files import exclusive_lock, tail_lines, write_atomic
from kaptain.contracts import ActivityName, BuildInput, BuildResult
from kaptain.secrets import LocalSecretStore
from kaptain.storage import open_location

_READY = "READY"


class LocalBuildActivities:
    """Builds and checks checksum-keyed environments under ``envs_dir``.

    Args:
        envs_dir: Where environments live (``<home>/envs``).
        secrets: Resolves the storage credentials of the build context.
    """

    def __init__(self, envs_dir: Path, secrets: LocalSecretStore) -> None:
        self._envs_dir = envs_dir
        self._secrets = secrets

    def env_dir(self, checksum: str) -> Path:
        """Directory of the environment for ``checksum``."""
        if not checksum.isalnum():
            raise permanent("ImageBuildException", f"invalid checksum {checksum!r}")
        return self._envs_dir / checksum

    def _result(self, build: BuildInput, *, skipped: bool) -> BuildResult:
        return BuildResult(
            image=build.image,
            checksum=build.checksum,
            skipped=skipped,
            location=str(self.env_dir(build.checksum)),
        )

    def published_as(self, checksum: str) -> list[str]:
        """Image names the environment of ``checksum`` is published under ([] if none)."""
        try:
            ready = json.loads((self.env_dir(checksum) / _READY).read_text())
        except FileNotFoundError:
            return []
        return [str(name) for name in ready.get("images", [])]

    def _publish(self, build: BuildInput) -> None:
        names = self.published_as(build.checksum)
        ready = {"checksum": build.checksum, "images": sorted({*names, build.image})}
        write_atomic(self.env_dir(build.checksum) / _READY, json.dumps(ready))

    @activity.defn(name=ActivityName.CHECK_IMAGE)
    async def check_image(self, build: BuildInput) -> BuildResult:
        """``skipped=True`` when this image name is published with this checksum."""
        return self._result(build, skipped=build.image in self.published_as(build.checksum))

    @activity.defn(name=ActivityName.BUILD_IMAGE)
    async def build_image(self, build: BuildInput) -> BuildResult:
        """Create the environment: code snapshot, venv, requirements.

        Raises:
            ApplicationError: ``ImageBuildException`` with the tail of the pip log.
        """
        target = self.env_dir(build.checksum)
        self._envs_dir.mkdir(parents=True, exist_ok=True)
        async with exclusive_lock(self._envs_dir / f"{build.checksum}.lock"):
            if (target / _READY).exists():
                # Same contents under another name: publishing is a re-tag, not a rebuild.
                self._publish(build)
                return self._result(build, skipped=False)
            shutil.rmtree(target, ignore_errors=True)  # a half-built leftover
            target.mkdir(parents=True)
            await asyncio.to_thread(self._unpack_context, build, target / "code")
            await self._run(
                [sys.executable, "-m", "venv", "--without-pip", str(target / "venv")],
                target / "build.log",
            )
            _layer_on_base(target / "venv")
            if build.requirements:
                await self._install(build, target)
            self._publish(build)
        activity.logger.info("Built %s in %s", build.image, target)
        return self._result(build, skipped=False)

    def _unpack_context(self, build: BuildInput, code_dir: Path) -> None:
        env = (
            self._secrets.get(build.storage.credentials_ref)
            if build.storage.credentials_ref
            else None
        )
        store, key = open_location(build.context_uri, env)
        with tempfile.TemporaryDirectory() as tmp:
            archive = Path(tmp) / "context.tar.gz"
            store.download_file(key, str(archive))
            with tarfile.open(archive) as tar:
                tar.extractall(code_dir, filter="data")

    async def _install(self, build: BuildInput, target: Path) -> None:
        requirements = target / "code" / str(build.requirements)
        python = target / "venv" / "bin" / "python"
        await self._run(
            [
                sys.executable, "-m", "pip", "--python", str(python), "install",
                "--no-input", "--disable-pip-version-check", "-r", str(requirements),
            ],
            target / "build.log",
        )  # fmt: skip

    async def _run(self, command: list[str], log_path: Path) -> None:
        with log_path.open("ab") as log:
            log.write(("$ " + " ".join(command) + "\n").encode())
            log.flush()
            process = await asyncio.create_subprocess_exec(
                *command, stdout=log, stderr=asyncio.subprocess.STDOUT
            )
            try:
                while True:
                    try:
                        code = await asyncio.wait_for(process.wait(), timeout=2.0)
                        break
                    except TimeoutError:
                        activity.heartbeat()
            except asyncio.CancelledError:
                process.kill()
                await process.wait()
                raise
        if code != 0:
            tail = "\n".join(tail_lines(log_path, 25))
            raise permanent(
                "ImageBuildException",
                f"build step failed with exit code {code}: {command[2]} ...\n{truncate(tail)}",
            )


def _layer_on_base(venv: Path) -> None:
    """Make the worker's environment the base layer of ``venv`` (its packages are visible)."""
    base = sysconfig.get_paths()["purelib"]
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    site_packages = venv / "lib" / version / "site-packages"
    site_packages.mkdir(parents=True, exist_ok=True)
    (site_packages / "_kaptain_base_image.pth").write_text(
        f"import site; site.addsitedir({base!r})\n"
    )
