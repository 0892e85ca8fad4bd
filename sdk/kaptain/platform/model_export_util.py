"""Uploading a trained model from inside a trainer.

Kaptain runs the trainer with ``TRAINED_MODEL_UPLOAD_PATH`` (e.g.
``s3://kaptain/models/dev/mnist/trained/<revision>``) and the storage credentials in the
environment; :meth:`ModelExportUtil.upload_model` puts the model there. Run by hand,
without that variable, it warns and uploads nothing, so the same trainer works both ways.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from kaptain.exceptions import ModelValidationException
from kaptain.storage import ObjectStore, key_join, open_location

__all__ = ["RANK_VAR", "UPLOAD_PATH_VAR", "ModelExportUtil"]

UPLOAD_PATH_VAR: Final = "TRAINED_MODEL_UPLOAD_PATH"
"""Variable holding the URI the trained model is uploaded to."""

RANK_VAR: Final = "RANK"
"""Distributed-training rank; only rank 0 (or an unset rank) uploads."""

logger = logging.getLogger(__name__)


def _upload(store: ObjectStore, path: Path, key: str) -> int:
    if path.is_dir():
        return len(store.upload_dir(path, key))
    store.upload_file(path, key)
    return 1


class ModelExportUtil:
    """Uploads model files to the location Kaptain assigned to this training run."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        """Creates the helper.

        Args:
            env: Variables to read the upload path, rank and storage credentials from;
                defaults to the process environment, read when uploading.
        """
        self._env = env

    def upload_model(self, local_path: str, extra_files: list[str] | None = None) -> str:
        """Uploads a model file or directory, and extra files, to the run's upload path.

        A file is stored as ``<upload path>/<file name>``; a directory's contents are
        stored under ``<upload path>/`` keeping their relative paths (so a SavedModel in
        ``export/0001/`` uploaded as ``export`` lands in ``<upload path>/0001/``). Extra
        files (or directories) are stored under their base names.

        Args:
            local_path: The model file or directory.
            extra_files: Further files to upload next to the model (e.g. a vocabulary).

        Returns:
            The URI uploaded to, or ``""`` when nothing was uploaded: the upload path is
            unset (trainer run by hand) or this process is not rank 0.

        Raises:
            ModelValidationException: ``local_path`` or an extra file does not exist.
            InvalidConfigurationException: The upload path is not a supported URI.
        """
        env: Mapping[str, str] = os.environ if self._env is None else self._env
        uri = (env.get(UPLOAD_PATH_VAR) or "").strip()
        if not uri:
            logger.warning(
                "%s is not set (trainer not run by Kaptain): the model at %s is not uploaded",
                UPLOAD_PATH_VAR,
                local_path,
            )
            return ""
        rank = (env.get(RANK_VAR) or "").strip()
        if rank and rank != "0":
            logger.info("Rank %s does not upload the model; rank 0 does", rank)
            return ""
        if extra_files is not None and (
            isinstance(extra_files, str) or not isinstance(extra_files, list)
        ):
            raise ModelValidationException("extra_files must be a list of paths")
        paths = [Path(local_path), *(Path(extra) for extra in extra_files or [])]
        for path in paths:
            if not path.exists():
                raise ModelValidationException(f"Cannot upload {path}: no such file or directory")
        store, prefix = open_location(uri, env)
        model, *extras = paths
        count = _upload(store, model, key_join(prefix, model.name) if model.is_file() else prefix)
        for extra in extras:
            count += _upload(store, extra, key_join(prefix, extra.name))
        logger.info("Uploaded %d files to %s", count, uri)
        return uri
