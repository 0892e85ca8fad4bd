"""The local transformer hook: a Python module with ``preprocess`` and/or ``postprocess``.

Both receive what a KServe transformer's handlers receive: the decoded request (a dict for
V1, a ``kserve.InferRequest`` for V2) and the response (a dict for V1, an ``InferResponse``
for V2). Either may be a plain or an ``async`` function; a missing one passes data through.
"""

from __future__ import annotations

import importlib.util
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["Transformer"]

_Hook = Callable[[Any], Any]


async def _call(hook: _Hook | None, data: Any) -> Any:
    if hook is None:
        return data
    result = hook(data)
    return await result if inspect.isawaitable(result) else result


class Transformer:
    """Pre- and post-processing functions around a model's predict.

    Args:
        preprocess: Applied to each decoded request; None passes it through.
        postprocess: Applied to each response; None passes it through.
    """

    def __init__(self, preprocess: _Hook | None = None, postprocess: _Hook | None = None) -> None:
        self._preprocess = preprocess
        self._postprocess = postprocess

    @classmethod
    def from_file(cls, path: Path) -> Transformer:
        """Import the module at ``path`` and take its ``preprocess`` / ``postprocess``.

        Raises:
            ValueError: The module defines neither function.
        """
        spec = importlib.util.spec_from_file_location("kaptain_transformer", path)
        if spec is None or spec.loader is None:
            raise ValueError(f"cannot import transformer module {path}")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        pre = getattr(module, "preprocess", None)
        post = getattr(module, "postprocess", None)
        if not callable(pre) and not callable(post):
            raise ValueError(f"{path} defines neither preprocess nor postprocess")
        return cls(pre if callable(pre) else None, post if callable(post) else None)

    async def preprocess(self, payload: Any) -> Any:
        """The request after the module's ``preprocess``."""
        return await _call(self._preprocess, payload)

    async def postprocess(self, response: Any) -> Any:
        """The response after the module's ``postprocess``."""
        return await _call(self._postprocess, response)
