"""Storage URIs: ``s3://bucket/prefix`` and ``file:///absolute/path``."""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from urllib.parse import unquote, urlsplit

from kaptain.exceptions import InvalidConfigurationException
from kaptain.storage.base import ObjectStore
from kaptain.storage.local import LocalObjectStore
from kaptain.storage.s3 import S3ObjectStore, client_from_env

__all__ = ["join", "open_location"]

_EXPECTED = "expected s3://bucket/prefix or file:///absolute/path"


def open_location(uri: str, env: Mapping[str, str] | None = None) -> tuple[ObjectStore, str]:
    """Opens the store a URI points into.

    ``file:///data/models/x`` gives a :class:`LocalObjectStore` rooted at ``/`` and the key
    ``data/models/x``; ``s3://bucket/models/x`` gives an :class:`S3ObjectStore` for
    ``bucket`` and the key ``models/x``.

    Args:
        uri: The storage URI.
        env: Variables holding S3 credentials and endpoint (the keys
            ``S3ConfigurationProvider.get_secret_body()`` produces); defaults to the
            process environment. Unused for ``file://``.

    Returns:
        ``(store, key_prefix)``.

    Raises:
        InvalidConfigurationException: The scheme is not ``s3`` or ``file``, or the URI is
            malformed (no bucket, a relative file path, a query or fragment).
    """
    if not isinstance(uri, str) or not uri.strip():
        raise InvalidConfigurationException(f"Storage URI must not be blank; {_EXPECTED}")
    parts = urlsplit(uri.strip())
    if parts.query or parts.fragment:
        raise InvalidConfigurationException(
            f"Storage URI {uri!r} must not contain '?' or '#'; {_EXPECTED}"
        )
    scheme = parts.scheme.lower()
    if scheme == "file":
        path = unquote(parts.path)
        if parts.netloc not in ("", "localhost") or not path.startswith("/"):
            raise InvalidConfigurationException(
                f"file URI {uri!r} must hold an absolute path, e.g. file:///data/models"
            )
        key = posixpath.normpath(path).lstrip("/")
        if key and path.endswith("/"):
            key += "/"
        return LocalObjectStore("/"), key
    if scheme == "s3":
        if not parts.netloc:
            raise InvalidConfigurationException(f"S3 URI {uri!r} has no bucket; {_EXPECTED}")
        return S3ObjectStore(parts.netloc, client_from_env(env)), parts.path.lstrip("/")
    raise InvalidConfigurationException(f"Unsupported storage URI {uri!r}; {_EXPECTED}")


def join(uri: str, *parts: str) -> str:
    """Appends path segments to a URI with single slashes.

    Args:
        uri: A storage URI such as ``s3://kaptain/models``.
        *parts: Segments, e.g. ``"dev/mnist"``, ``"trained"``; empty ones are skipped.

    Returns:
        The joined URI, e.g. ``s3://kaptain/models/dev/mnist/trained``.
    """
    scheme, separator, rest = uri.partition("://")
    if not separator:
        scheme, rest = "", uri
    leading = "/" if rest.startswith("/") else ""
    pieces = [piece for piece in rest.split("/") if piece]
    pieces += [part.strip("/") for part in parts if part.strip("/")]
    return f"{scheme}{separator}{leading}{'/'.join(pieces)}"
