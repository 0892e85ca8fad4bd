from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kaptain.exceptions import InvalidConfigurationException
from kaptain.storage import (
    LocalObjectStore,
    ObjectStore,
    S3ObjectStore,
    client_from_env,
    join,
    key_join,
    open_location,
)

pytestmark = pytest.mark.usefixtures("clean_env")


@pytest.fixture(params=["local", "s3"])
def store(
    request: pytest.FixtureRequest, tmp_path: Path, s3_env: dict[str, str], bucket: str
) -> Iterator[ObjectStore]:
    """The same contract tests against a directory and against a real S3 API."""
    if request.param == "local":
        yield LocalObjectStore(tmp_path / "store")
    else:
        yield S3ObjectStore(bucket, client_from_env(s3_env))


def make_tree(root: Path) -> Path:
    (root / "sub" / "deep").mkdir(parents=True)
    (root / "model.pt").write_bytes(b"weights")
    (root / "sub" / "a.txt").write_text("a")
    (root / "sub" / "deep" / "b.txt").write_text("b")
    return root


def test_put_get_overwrite(store: ObjectStore) -> None:
    store.put_bytes("models/x/model.json", b"one")
    assert store.get_bytes("models/x/model.json") == b"one"
    store.put_bytes("models/x/model.json", b"two")
    assert store.get_bytes("models/x/model.json") == b"two"


def test_get_missing(store: ObjectStore) -> None:
    with pytest.raises(FileNotFoundError):
        store.get_bytes("nothing/here")
    store.put_bytes("dir/file", b"x")
    with pytest.raises(FileNotFoundError):
        store.get_bytes("dir")


def test_exists(store: ObjectStore) -> None:
    assert not store.exists("a/b")
    store.put_bytes("a/b", b"")
    assert store.exists("a/b")
    assert not store.exists("a")


def test_list_uses_string_prefixes(store: ObjectStore) -> None:
    assert store.list("m/") == []
    for key in ["m/a/1", "m/a/2", "m/ab/3", "m/b/4", "n/5"]:
        store.put_bytes(key, key.encode())
    assert store.list("m/a/") == ["m/a/1", "m/a/2"]
    assert store.list("m/a") == ["m/a/1", "m/a/2", "m/ab/3"]
    assert store.list("m/") == ["m/a/1", "m/a/2", "m/ab/3", "m/b/4"]
    assert store.list("") == ["m/a/1", "m/a/2", "m/ab/3", "m/b/4", "n/5"]
    assert store.list("zzz") == []


def test_delete_prefix(store: ObjectStore) -> None:
    for key in ["t/rev1/a", "t/rev1/b/c", "t/rev10/d", "t/rev2/e"]:
        store.put_bytes(key, b"x")
    assert store.delete_prefix("t/rev1/") == 2
    assert store.list("t/") == ["t/rev10/d", "t/rev2/e"]
    assert store.delete_prefix("t/rev1/") == 0
    with pytest.raises(ValueError, match="empty prefix"):
        store.delete_prefix("")


def test_upload_and_download_file(store: ObjectStore, tmp_path: Path) -> None:
    source = tmp_path / "in.bin"
    source.write_bytes(bytes(range(256)) * 100)
    store.upload_file(source, "files/in.bin")
    target = tmp_path / "out" / "nested" / "copy.bin"
    store.download_file("files/in.bin", target)
    assert target.read_bytes() == source.read_bytes()


def test_upload_missing_file(store: ObjectStore, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        store.upload_file(tmp_path / "missing", "k")


def test_download_missing_object(store: ObjectStore, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        store.download_file("missing", tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_upload_dir(store: ObjectStore, tmp_path: Path) -> None:
    root = make_tree(tmp_path / "model")
    keys = store.upload_dir(root, "models/dev/mnist/trained/abc/")
    assert keys == [
        "models/dev/mnist/trained/abc/model.pt",
        "models/dev/mnist/trained/abc/sub/a.txt",
        "models/dev/mnist/trained/abc/sub/deep/b.txt",
    ]
    assert store.list("models/") == keys
    assert store.get_bytes("models/dev/mnist/trained/abc/sub/deep/b.txt") == b"b"


def test_upload_dir_requires_a_directory(store: ObjectStore, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        store.upload_dir(tmp_path / "missing", "p")


def test_copy_prefix(store: ObjectStore, tmp_path: Path) -> None:
    store.upload_dir(make_tree(tmp_path / "model"), "trials/t1")
    store.put_bytes("trials/t10/other", b"no")
    assert store.copy_prefix("trials/t1/", "tuned/rev/") == 3
    assert store.list("tuned/") == [
        "tuned/rev/model.pt",
        "tuned/rev/sub/a.txt",
        "tuned/rev/sub/deep/b.txt",
    ]
    assert store.get_bytes("tuned/rev/model.pt") == b"weights"
    assert store.copy_prefix("nothing/", "else/") == 0


# -- local specifics ---------------------------------------------------------------------


def test_local_writes_leave_no_temporary_files(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    store.put_bytes("a/b", b"1")
    store.upload_file(__file__, "a/c")
    assert sorted(path.name for path in (tmp_path / "a").iterdir()) == ["b", "c"]


def test_local_failed_write_keeps_the_old_object(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    store.put_bytes("a/b", b"old")

    class Boom(Exception):
        pass

    class Exploding:
        def read(self, size: int = -1) -> bytes:
            raise Boom

    from kaptain.storage import local

    with pytest.raises(Boom), local._atomic_writer(tmp_path / "a" / "b") as handle:
        handle.write(b"partial")
        Exploding().read()
    assert store.get_bytes("a/b") == b"old"
    assert store.list("a/") == ["a/b"]
    assert [path.name for path in (tmp_path / "a").iterdir()] == ["b"]


@pytest.mark.parametrize("key", ["", "/abs", "a/../b", "../x", "a//b", "./a", "a/"])
def test_local_rejects_bad_keys(tmp_path: Path, key: str) -> None:
    with pytest.raises(ValueError, match="Invalid object key"):
        LocalObjectStore(tmp_path).put_bytes(key, b"x")


def test_local_delete_removes_empty_directories(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path / "root")
    store.put_bytes("m/rev1/x/y", b"1")
    store.put_bytes("m/rev2/z", b"2")
    assert store.delete_prefix("m/rev1/") == 1
    assert not (tmp_path / "root" / "m" / "rev1").exists()
    assert (tmp_path / "root" / "m" / "rev2" / "z").exists()
    assert store.delete_prefix("m/") == 1
    assert (tmp_path / "root").is_dir()
    assert not (tmp_path / "root" / "m").exists()


def test_local_repr(tmp_path: Path) -> None:
    assert repr(LocalObjectStore(tmp_path)) == f"LocalObjectStore(root_dir={str(tmp_path)!r})"


# -- S3 specifics ------------------------------------------------------------------------


def test_s3_bucket_is_created_on_first_write(s3_env: dict[str, str], bucket: str) -> None:
    client = client_from_env(s3_env)
    store = S3ObjectStore(bucket, client)
    assert store.list("") == []
    assert not store.exists("k")
    names = [item["Name"] for item in client.list_buckets().get("Buckets", [])]
    assert bucket not in names
    store.put_bytes("k", b"v")
    assert bucket in [item["Name"] for item in client.list_buckets().get("Buckets", [])]
    assert S3ObjectStore(bucket, client).get_bytes("k") == b"v"


def test_s3_bucket_in_another_region(s3_env: dict[str, str], bucket: str) -> None:
    env = {**s3_env, "AWS_REGION": "eu-west-1"}
    store = S3ObjectStore(bucket, client_from_env(env))
    store.put_bytes("k", b"v")
    location = store.client.get_bucket_location(Bucket=bucket)
    assert location.get("LocationConstraint") == "eu-west-1"


def test_s3_lists_and_deletes_page_by_page(
    s3_env: dict[str, str], bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = client_from_env(s3_env)
    store = S3ObjectStore(bucket, client, page_size=3)
    keys = [f"many/{index:02d}" for index in range(8)]
    for key in keys:
        store.put_bytes(key, b"")
    pages: list[int] = []
    deletes: list[int] = []
    list_objects, delete_objects = client.list_objects_v2, client.delete_objects

    def counting_list(**kwargs: Any) -> Any:
        response = list_objects(**kwargs)
        pages.append(len(response.get("Contents", [])))
        return response

    def counting_delete(**kwargs: Any) -> Any:
        deletes.append(len(kwargs["Delete"]["Objects"]))
        return delete_objects(**kwargs)

    monkeypatch.setattr(client, "list_objects_v2", counting_list)
    monkeypatch.setattr(client, "delete_objects", counting_delete)
    assert store.list("many/") == keys
    assert pages == [3, 3, 2]
    assert store.delete_prefix("many/") == 8
    assert deletes == [3, 3, 2]
    assert store.list("many/") == []


def test_s3_page_size_bounds(s3_env: dict[str, str]) -> None:
    for size in (0, 1001):
        with pytest.raises(ValueError, match="page_size"):
            S3ObjectStore("b", client_from_env(s3_env), page_size=size)


def test_s3_repr_has_no_credentials(s3_env: dict[str, str], bucket: str) -> None:
    store = S3ObjectStore(bucket, client_from_env(s3_env))
    assert repr(store) == f"S3ObjectStore(bucket={bucket!r})"


def test_client_from_env_settings(moto_endpoint: str) -> None:
    host = moto_endpoint.removeprefix("http://")
    client = client_from_env(
        {
            "AWS_ACCESS_KEY_ID": "a",
            "AWS_SECRET_ACCESS_KEY": "b",
            "AWS_REGION": "eu-north-1",
            "S3_ENDPOINT": host,
            "S3_USE_HTTPS": "0",
            "S3_FORCE_PATH_STYLE": "true",
            "S3_SIGNATURE_VERSION": "s3v4",
        }
    )
    assert client.meta.endpoint_url == moto_endpoint
    assert client.meta.region_name == "eu-north-1"
    assert vars(client.meta.config)["s3"] == {"addressing_style": "path"}
    url = client.generate_presigned_url("get_object", Params={"Bucket": "b", "Key": "k"})
    assert url.startswith(f"{moto_endpoint}/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256")


@pytest.mark.parametrize("present", ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"])
def test_client_from_env_partial_credentials(present: str) -> None:
    missing = ({"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} - {present}).pop()
    with pytest.raises(InvalidConfigurationException, match=missing):
        client_from_env({present: "x"})


# -- URIs --------------------------------------------------------------------------------


def test_open_file_location(tmp_path: Path) -> None:
    store, key = open_location((tmp_path / "models").as_uri())
    assert isinstance(store, LocalObjectStore)
    assert key == str(tmp_path / "models").lstrip("/")
    store.put_bytes(key_join(key, "dev/model.json"), b"{}")
    assert (tmp_path / "models" / "dev" / "model.json").read_bytes() == b"{}"


@pytest.mark.parametrize(
    ("uri", "key"),
    [
        ("file:///data/models", "data/models"),
        ("file:///data/models/", "data/models/"),
        ("file://localhost/data/m", "data/m"),
        ("file:/data/m", "data/m"),
        ("file:///data/a%20b", "data/a b"),
        ("file:///data/x/../y", "data/y"),
        ("FILE:///data", "data"),
    ],
)
def test_file_uri_keys(uri: str, key: str) -> None:
    assert open_location(uri)[1] == key


def test_open_s3_location_with_env(s3_env: dict[str, str], bucket: str) -> None:
    store, key = open_location(f"s3://{bucket}/models/dev", s3_env)
    assert isinstance(store, S3ObjectStore)
    assert (store.bucket, key) == (bucket, "models/dev")
    store.put_bytes(key_join(key, "model.json"), b"{}")
    assert store.list("models/") == ["models/dev/model.json"]


def test_open_s3_location_from_process_env(
    monkeypatch: pytest.MonkeyPatch, s3_env: dict[str, str], bucket: str
) -> None:
    for name, value in s3_env.items():
        monkeypatch.setenv(name, value)
    store, key = open_location(f"s3://{bucket}")
    assert key == ""
    store.put_bytes("x", b"1")
    assert store.get_bytes("x") == b"1"


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("gs://bucket/x", "Unsupported"),
        ("/data/models", "Unsupported"),
        ("models", "Unsupported"),
        ("", "blank"),
        ("s3://", "no bucket"),
        ("s3:///key", "no bucket"),
        ("file://relative/path", "absolute"),
        ("file:relative", "absolute"),
        ("s3://b/k?versionId=1", "'?'"),
    ],
)
def test_open_location_errors(uri: str, message: str) -> None:
    with pytest.raises(InvalidConfigurationException, match=message):
        open_location(uri)


@pytest.mark.parametrize(
    ("uri", "parts", "expected"),
    [
        (
            "s3://kaptain/models",
            ("dev/mnist", "trained", "abc"),
            "s3://kaptain/models/dev/mnist/trained/abc",
        ),
        ("s3://kaptain/models/", ("/dev/", "model.json"), "s3://kaptain/models/dev/model.json"),
        ("s3://kaptain", ("x",), "s3://kaptain/x"),
        ("file:///", ("data",), "file:///data"),
        ("file:///data", ("", "m"), "file:///data/m"),
        ("s3://kaptain/models", (), "s3://kaptain/models"),
    ],
)
def test_join(uri: str, parts: tuple[str, ...], expected: str) -> None:
    assert join(uri, *parts) == expected


@pytest.mark.parametrize(
    ("parts", "expected"),
    [(("a", "b"), "a/b"), (("", "b"), "b"), (("a/", "/b/"), "a/b"), (("a", ""), "a")],
)
def test_key_join(parts: tuple[str, ...], expected: str) -> None:
    assert key_join(*parts) == expected
