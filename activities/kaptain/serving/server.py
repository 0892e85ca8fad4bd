"""One model replica: a KServe ``ModelServer`` serving a model directory over V1 and V2.

``python -m kaptain.serving.server --name NAME --model-dir DIR --framework F --http-port P
[--transformer-module FILE]``

Serves ``POST /v1/models/NAME:predict`` (``{"instances": [...]}`` -> ``{"predictions":
[...]}``), ``POST /v2/models/NAME/infer``, and the health endpoints (``GET /v1/models/NAME``,
``/v2/health/ready``, ``/v2/models/NAME/ready``). gRPC is off. The model is loaded before
the server listens, so a model that cannot load makes the process exit with the reason in
its output.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import kserve  # type: ignore[import-untyped]
from kserve.utils.utils import (  # type: ignore[import-untyped]
    get_predict_input,
    get_predict_response,
)

from kaptain.serving.loaders import Predictor, load_model
from kaptain.serving.transformer import Transformer

__all__ = ["KaptainModel", "main"]


class KaptainModel(kserve.Model):  # type: ignore[misc]
    """A KServe model around a loaded :class:`Predictor` and an optional transformer.

    Args:
        name: The model name in inference URLs.
        predictor: The loaded model.
        transformer: Pre/post-processing around predict.
    """

    def __init__(self, name: str, predictor: Predictor, transformer: Transformer) -> None:
        super().__init__(name)
        self._predictor = predictor
        self._transformer = transformer
        self.ready = True

    async def preprocess(self, payload: Any, headers: dict[str, str] | None = None) -> Any:
        """The transformer's ``preprocess`` (KServe hook)."""
        return await self._transformer.preprocess(payload)

    def predict(
        self,
        payload: Any,
        headers: dict[str, str] | None = None,
        response_headers: dict[str, str] | None = None,
    ) -> Any:
        """Predictions in the request's protocol (KServe hook)."""
        result = self._predictor.predict(get_predict_input(payload))
        return get_predict_response(payload, result, self.name)

    async def postprocess(
        self,
        result: Any,
        headers: dict[str, str] | None = None,
        response_headers: dict[str, str] | None = None,
    ) -> Any:
        """The transformer's ``postprocess`` (KServe hook)."""
        return await self._transformer.postprocess(result)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Serve one model directory with KServe.")
    parser.add_argument("--name", required=True, help="model name in the inference URLs")
    parser.add_argument("--model-dir", required=True, type=Path)
    parser.add_argument("--framework", required=True, help="pytorch, sklearn or tensorflow")
    parser.add_argument("--http-port", required=True, type=int)
    parser.add_argument("--transformer-module", type=Path, default=None)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Load the model and serve it until SIGTERM."""
    args = _parse(argv)
    transformer = (
        Transformer.from_file(args.transformer_module)
        if args.transformer_module is not None
        else Transformer()
    )
    model = KaptainModel(args.name, load_model(args.model_dir, args.framework), transformer)
    server = kserve.ModelServer(http_port=args.http_port, enable_grpc=False, workers=1)
    server.start([model])


if __name__ == "__main__":
    main()
