"""The build context of a model: its files, the generated Dockerfile, the checksum.

The checksum covers everything the image would contain -- the Dockerfile (without its own
checksum label), the base image, and every file's relative path and bytes -- so the same
contents always give the same checksum, on every platform.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
from dataclasses import dataclass
from pathlib import Path

from kaptain.contracts.names import model_slug
from kaptain.exceptions import ModelValidationException

_WORKDIR = "/kaptain"


@dataclass(frozen=True)
class BuildContext:
    """Files of a model image, ready to hash and pack.

    Attributes:
        files: Relative path (as in the image) -> bytes.
        main_file: Relative path of the entry point.
        requirements: Relative path of the requirements file, if any.
        base_image: The base image.
    """

    files: dict[str, bytes]
    main_file: str
    requirements: str | None
    base_image: str

    def dockerfile(self, checksum: str | None = None) -> str:
        """The generated Dockerfile; with ``checksum`` it carries the checksum label."""
        lines = [f"FROM {self.base_image}"]
        if checksum:
            lines.append(f"LABEL checksum={checksum}")
        lines += [f"WORKDIR {_WORKDIR}", f"COPY . {_WORKDIR}"]
        if self.requirements:
            lines.append(f"RUN pip install --no-cache-dir -r {self.requirements}")
        lines.append(f'ENTRYPOINT ["python", "-u", "{self.main_file}"]')
        return "\n".join(lines) + "\n"

    @property
    def checksum(self) -> str:
        """SHA-256 over the base image, the Dockerfile and every file."""
        digest = hashlib.sha256()
        digest.update(b"base-image\0" + self.base_image.encode() + b"\0")
        digest.update(b"dockerfile\0" + self.dockerfile().encode() + b"\0")
        for path in sorted(self.files):
            content = self.files[path]
            digest.update(f"file\0{path}\0{len(content)}\0".encode())
            digest.update(content)
        return digest.hexdigest()

    def tarball(self) -> bytes:
        """A reproducible ``.tar.gz`` of the files plus the labelled Dockerfile."""
        entries = dict(self.files)
        entries["Dockerfile"] = self.dockerfile(self.checksum).encode()
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=6) as tar:
            for path in sorted(entries):
                info = tarfile.TarInfo(path)
                info.size = len(entries[path])
                info.mode = 0o644
                info.mtime = 0
                tar.addfile(info, io.BytesIO(entries[path]))
        return buffer.getvalue()


def resolve_file(base_dir: str, path: str, role: str) -> tuple[str, bytes]:
    """Read a model file that must exist inside ``base_dir``.

    Args:
        base_dir: The model's base directory.
        path: The path as given (relative to ``base_dir``, or absolute inside it).
        role: What the file is (``main_file``, ``extra_files``, ``requirements``).

    Returns:
        The path relative to ``base_dir`` (POSIX) and the file's bytes.

    Raises:
        ModelValidationException: Missing, not a file, or outside ``base_dir``.
    """
    base = Path(base_dir).resolve()
    candidate = (base / path).resolve()
    if not candidate.is_relative_to(base):
        raise ModelValidationException(
            f"{role} {path!r} is outside the base directory {base}; "
            "model files must live under Config.base_dir"
        )
    if not candidate.is_file():
        raise ModelValidationException(f"{role} {path!r} not found (looked for {candidate})")
    return candidate.relative_to(base).as_posix(), candidate.read_bytes()


def collect(
    base_dir: str,
    main_file: str,
    extra_files: list[str],
    requirements: str | None,
    base_image: str,
) -> BuildContext:
    """Read and check every file of a model's image.

    Raises:
        ModelValidationException: A file is missing or outside ``base_dir``.
    """
    files: dict[str, bytes] = {}
    main_rel, files_main = resolve_file(base_dir, main_file, "main_file")
    files[main_rel] = files_main
    for extra in extra_files:
        rel, content = resolve_file(base_dir, extra, "extra_files")
        files[rel] = content
    req_rel = None
    if requirements:
        req_rel, content = resolve_file(base_dir, requirements, "requirements")
        files[req_rel] = content
    return BuildContext(files, main_rel, req_rel, base_image)


def image_reference(image_name: str, model_id: str, framework: str, version: str) -> str:
    """``image_name`` with a tag; without one it gets ``<id>-<framework>-<version>``."""
    last = image_name.rsplit("/", 1)[-1]
    if ":" in last or "@" in last:
        return image_name
    tag = f"{model_slug(model_id)}-{framework}-{version}"
    tag = "".join(c if c.isalnum() or c in "._-" else "-" for c in tag)[:128]
    return f"{image_name}:{tag}"
