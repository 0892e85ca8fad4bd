"""Object storage for models and build contexts: local directories and S3 buckets.

Open a URI with :func:`open_location` to get an :class:`ObjectStore` and the key prefix
it points at::

    store, prefix = open_location("s3://kaptain/models/dev/mnist", env=secret_body)
    store.upload_dir("model/", prefix + "/trained/abc")
"""

from kaptain.storage.base import ObjectStore, key_join
from kaptain.storage.local import LocalObjectStore
from kaptain.storage.location import join, open_location
from kaptain.storage.s3 import S3ObjectStore, client_from_env

__all__ = [
    "LocalObjectStore",
    "ObjectStore",
    "S3ObjectStore",
    "client_from_env",
    "join",
    "key_join",
    "open_location",
]
