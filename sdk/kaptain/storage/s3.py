"""An object store in an S3 (or S3-compatible) bucket, through boto3."""

from __future__ import annotations

import builtins
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from kaptain.envs import is_true
from kaptain.exceptions import InvalidConfigurationException
from kaptain.storage.base import ObjectStore
from kaptain.storage.tracing import traced

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client

__all__ = ["S3ObjectStore", "client_from_env"]

_MISSING: Final = frozenset({"404", "NoSuchKey", "NoSuchBucket", "NotFound"})
_FALSE_VALUES: Final = frozenset({"0", "false", "no", "n", "off"})
_PAGE_SIZE: Final = 1000


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def client_from_env(env: Mapping[str, str] | None = None) -> S3Client:
    """Builds an S3 client from the variables ``S3ConfigurationProvider`` writes.

    Reads ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``,
    ``AWS_REGION``/``AWS_DEFAULT_REGION``, ``S3_ENDPOINT`` (or ``AWS_ENDPOINT_URL_S3`` or
    ``AWS_ENDPOINT_URL``; a bare ``host:port`` gets the scheme of ``S3_USE_HTTPS``),
    ``S3_FORCE_PATH_STYLE``, ``S3_SIGNATURE_VERSION`` and ``S3_VERIFY_SSL``. Without keys,
    boto3's default credential chain applies.

    Args:
        env: The variables; defaults to the process environment.

    Returns:
        The client.

    Raises:
        InvalidConfigurationException: Only one of the access key id and secret is set.
    """
    source: Mapping[str, str] = os.environ if env is None else env

    def get(name: str) -> str | None:
        value = source.get(name)
        return value.strip() if value and value.strip() else None

    key_id, secret = get("AWS_ACCESS_KEY_ID"), get("AWS_SECRET_ACCESS_KEY")
    if (key_id is None) != (secret is None):
        missing = "AWS_SECRET_ACCESS_KEY" if secret is None else "AWS_ACCESS_KEY_ID"
        raise InvalidConfigurationException(f"Environment variable {missing} is not set")
    endpoint = get("S3_ENDPOINT") or get("AWS_ENDPOINT_URL_S3") or get("AWS_ENDPOINT_URL")
    if endpoint is not None and "://" not in endpoint:
        use_https = (get("S3_USE_HTTPS") or "1").lower() not in _FALSE_VALUES
        endpoint = f"{'https' if use_https else 'http'}://{endpoint}"
    options: dict[str, Any] = {"retries": {"max_attempts": 5, "mode": "standard"}}
    if is_true(get("S3_FORCE_PATH_STYLE")):
        options["s3"] = {"addressing_style": "path"}
    signature_version = get("S3_SIGNATURE_VERSION")
    if signature_version is not None:
        options["signature_version"] = signature_version
    session = boto3.session.Session(
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        aws_session_token=get("AWS_SESSION_TOKEN"),
        region_name=get("AWS_REGION") or get("AWS_DEFAULT_REGION"),
    )
    return session.client(
        "s3",
        endpoint_url=endpoint,
        config=Config(**options),
        verify=(get("S3_VERIFY_SSL") or "1").lower() not in _FALSE_VALUES,
    )


class S3ObjectStore(ObjectStore):
    """Objects in one bucket. The bucket is created on the first write if missing."""

    def __init__(self, bucket: str, client: S3Client, *, page_size: int = _PAGE_SIZE) -> None:
        """Creates the store.

        Args:
            bucket: The bucket name.
            client: A boto3 S3 client (see :func:`client_from_env`).
            page_size: Keys per listing page and per delete request (S3 allows 1000 at most).

        Raises:
            ValueError: ``page_size`` is not between 1 and 1000.
        """
        if not 1 <= page_size <= _PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {_PAGE_SIZE}, got {page_size}")
        self._bucket = bucket
        self._client = client
        self._page_size = page_size
        self._bucket_ready = False

    @property
    def bucket(self) -> str:
        """The bucket name."""
        return self._bucket

    @property
    def client(self) -> S3Client:
        """The boto3 client."""
        return self._client

    def _ensure_bucket(self) -> None:
        if self._bucket_ready:
            return
        try:
            self._client.head_bucket(Bucket=self._bucket)
        except ClientError as error:
            if _error_code(error) not in _MISSING:
                # e.g. 403: the bucket may exist without ListBucket rights; let writes tell.
                self._bucket_ready = True
                return
            region = self._client.meta.region_name
            try:
                if region and region != "us-east-1":
                    self._client.create_bucket(
                        Bucket=self._bucket,
                        CreateBucketConfiguration={"LocationConstraint": region},  # type: ignore[typeddict-item]
                    )
                else:
                    self._client.create_bucket(Bucket=self._bucket)
            except ClientError as create_error:
                if _error_code(create_error) not in (
                    "BucketAlreadyOwnedByYou",
                    "BucketAlreadyExists",
                ):
                    raise
        self._bucket_ready = True

    @traced("s3", "put_bytes")
    def put_bytes(self, key: str, data: bytes) -> None:
        """See :meth:`ObjectStore.put_bytes`."""
        self._ensure_bucket()
        self._client.put_object(Bucket=self._bucket, Key=key, Body=data)

    @traced("s3", "get_bytes")
    def get_bytes(self, key: str) -> bytes:
        """See :meth:`ObjectStore.get_bytes`."""
        try:
            response = self._client.get_object(Bucket=self._bucket, Key=key)
        except ClientError as error:
            if _error_code(error) in _MISSING:
                raise FileNotFoundError(f"No object s3://{self._bucket}/{key}") from None
            raise
        with response["Body"] as body:
            return body.read()

    @traced("s3", "exists")
    def exists(self, key: str) -> bool:
        """See :meth:`ObjectStore.exists`."""
        try:
            self._client.head_object(Bucket=self._bucket, Key=key)
        except ClientError as error:
            if _error_code(error) in _MISSING:
                return False
            raise
        return True

    @traced("s3", "list")
    def list(self, prefix: str = "") -> builtins.list[str]:
        """See :meth:`ObjectStore.list`."""
        paginator = self._client.get_paginator("list_objects_v2")
        keys: builtins.list[str] = []
        try:
            pages = paginator.paginate(
                Bucket=self._bucket, Prefix=prefix, PaginationConfig={"PageSize": self._page_size}
            )
            for page in pages:
                keys.extend(item["Key"] for item in page.get("Contents", []) if "Key" in item)
        except ClientError as error:
            if _error_code(error) in _MISSING:
                return []
            raise
        return sorted(keys)

    @traced("s3", "delete_prefix")
    def delete_prefix(self, prefix: str) -> int:
        """See :meth:`ObjectStore.delete_prefix`.

        Raises:
            ValueError: ``prefix`` is empty.
            OSError: S3 refused to delete some objects.
        """
        if not prefix:
            raise ValueError("Refusing to delete an empty prefix (everything)")
        keys = self.list(prefix)
        for start in range(0, len(keys), self._page_size):
            batch = keys[start : start + self._page_size]
            response = self._client.delete_objects(
                Bucket=self._bucket,
                Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True},
            )
            errors = response.get("Errors", [])
            if errors:
                first = errors[0]
                raise OSError(
                    f"Could not delete {len(errors)} objects under s3://{self._bucket}/{prefix} "
                    f"(first: {first.get('Key')!r}: {first.get('Code')})"
                )
        return len(keys)

    @traced("s3", "upload_file", key_arg=1)
    def upload_file(self, local_path: str | os.PathLike[str], key: str) -> None:
        """See :meth:`ObjectStore.upload_file` (multipart for large files)."""
        path = Path(local_path)
        if not path.is_file():
            raise FileNotFoundError(f"No such file: {path}")
        self._ensure_bucket()
        self._client.upload_file(str(path), self._bucket, key)

    @traced("s3", "download_file")
    def download_file(self, key: str, local_path: str | os.PathLike[str]) -> None:
        """See :meth:`ObjectStore.download_file`."""
        target = Path(local_path)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._client.download_file(self._bucket, key, str(target))
        except ClientError as error:
            if _error_code(error) in _MISSING:
                raise FileNotFoundError(f"No object s3://{self._bucket}/{key}") from None
            raise

    @traced("s3", "copy_prefix")
    def copy_prefix(self, src: str, dst: str) -> int:
        """See :meth:`ObjectStore.copy_prefix`; copies happen server-side."""
        keys = self.list(src)
        if keys:
            self._ensure_bucket()
        for key in keys:
            self._client.copy(
                {"Bucket": self._bucket, "Key": key}, self._bucket, dst + key[len(src) :]
            )
        return len(keys)

    def __repr__(self) -> str:
        return f"S3ObjectStore(bucket={self._bucket!r})"
