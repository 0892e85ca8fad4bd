"""The test inference a new revision must answer before it gets traffic.

With an ``input_example.json`` beside the model, the example is POSTed to the revision's
predict endpoint (V1 ``/v1/models/<name>:predict``, V2 ``/v2/models/<name>/infer``); else a
metadata request (``GET /v1/models/<name>`` or ``/v2/models/<name>``) must succeed.
Connection failures and 502/503/504 (an ingress still being programmed) are retried until a
deadline; any other error status fails at once.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any, Final

from kaptain.contracts.serve import InferenceProtocol
from kaptain.serving.examples import EXAMPLE_FILE, infer_url, metadata_url, probe_request
from kaptain.storage import open_location

__all__ = ["EXAMPLE_FILE", "ProbeFailed", "example_payload", "probe_revision", "request_body"]


_RETRIED: Final = frozenset({502, 503, 504})
_MAX_TEXT: Final = 300


class ProbeFailed(Exception):
    """The revision did not answer the test inference correctly."""


def example_payload(model_uri: str, credentials: Mapping[str, str] | None) -> Any | None:
    """The decoded ``input_example.json`` under ``model_uri`` (None when there is none).

    Args:
        model_uri: The served model's location.
        credentials: Storage credentials as environment variables (None: the worker's).

    Raises:
        ProbeFailed: The example is not JSON.
    """
    store, prefix = open_location(model_uri, credentials)
    key = f"{prefix.rstrip('/')}/{EXAMPLE_FILE}" if prefix.strip("/") else EXAMPLE_FILE
    try:
        data = store.get_bytes(key)
    except FileNotFoundError:
        return None
    try:
        return json.loads(data)
    except ValueError as error:
        raise ProbeFailed(f"{EXAMPLE_FILE} beside {model_uri} is not JSON: {error}") from None


def request_body(protocol: InferenceProtocol, example: Any) -> dict[str, Any]:
    """The test request for ``example`` in the revision's protocol.

    Raises:
        ProbeFailed: The example cannot be put in that protocol.
    """
    try:
        return probe_request(protocol, example)
    except ValueError as err:
        raise ProbeFailed(str(err)) from None


def probe_revision(
    base_url: str,
    model: str,
    protocol: InferenceProtocol,
    example: Any | None,
    *,
    deadline_seconds: float = 60.0,
    request_timeout: float = 30.0,
) -> str:
    """Send the test inference; return a short description of the answer.

    Args:
        base_url: The revision's own URL (its tag URL).
        model: The model name in the inference paths.
        protocol: The protocol the revision speaks.
        example: The example request (None: a metadata request instead).
        deadline_seconds: How long unreachable answers are retried.
        request_timeout: Seconds one request may take.

    Raises:
        ProbeFailed: The revision answered with an error, or not at all by the deadline.
    """
    if example is None:
        url = metadata_url(base_url, model, protocol)
        data = None
    else:
        url = infer_url(base_url, model, protocol)
        data = json.dumps(request_body(protocol, example)).encode()
    give_up = time.monotonic() + deadline_seconds
    while True:
        request = urllib.request.Request(  # noqa: S310 (the URL is the revision's http(s) URL)
            url,
            data=data,
            method="POST" if data is not None else "GET",
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=request_timeout) as answer:  # noqa: S310
                body = answer.read()
                return f"{answer.status} from {url}: {_text(body)}"
        except urllib.error.HTTPError as error:
            text = _text(error.read())
            if error.code not in _RETRIED or time.monotonic() >= give_up:
                raise ProbeFailed(
                    f"the test inference {'POST' if data else 'GET'} {url} answered "
                    f"{error.code}: {text}"
                ) from None
        except (urllib.error.URLError, OSError) as error:
            if time.monotonic() >= give_up:
                reason = getattr(error, "reason", error)
                raise ProbeFailed(f"the test inference to {url} got no answer: {reason}") from None
        time.sleep(0.5)


def _text(body: bytes) -> str:
    text = body.decode(errors="replace").strip()
    return text if len(text) <= _MAX_TEXT else text[:_MAX_TEXT] + "..."
