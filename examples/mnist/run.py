"""The Kaptain notebook flow, as a script: build, then train with 2 DDP workers.

Run from anywhere: `python examples/mnist/run.py` (the embedded stack starts if needed).
"""

from __future__ import annotations

import os
import sys

from kaptain.config import Config
from kaptain.model.frameworks import ModelFramework
from kaptain.model.models import Model

HERE = os.path.dirname(os.path.abspath(__file__))


def main() -> int:
    model = Model(
        id="dev/mnist",
        name="MNIST",
        description="Digit classifier (scikit-learn digits, PyTorch DDP)",
        version="0.0.1",
        framework=ModelFramework.PYTORCH,
        framework_version="2.13.0",
        main_file="trainer.py",
        extra_files=["model.py"],
        requirements="requirements.txt",
        base_image="pytorch/pytorch:2.13.0",
        image_name="registry.local/kaptain/mnist",
        config=Config.default(base_dir=HERE),
    )
    model.build()
    ok = model.train(workers=2, cpu="1", memory="1G", hyperparameters={"--epochs": 10, "--lr": 0.1})
    if not ok:
        return 1
    print()
    print(f"model:     {model.id}")
    print(f"state:     {model.state.value}")
    print(f"revision:  {model.revision}")
    print(f"metrics:   {model.metrics}")
    print(f"model uri: {model.model_uri}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
