"""The Kaptain notebook flow, as a script: build, train with 2 DDP workers, deploy, canary.

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
    print()
    if model.deployment() is not None:
        model.undeploy()  # a previous demo's deployment
    if not model.deploy(cpu="1", memory="1G"):
        return 1
    # a second revision, rolled out as a canary with 30 % of the traffic, then promoted
    if not model.train(workers=2, hyperparameters={"--epochs": 12, "--lr": 0.08}):
        return 1
    model.deploy_canary(canary_traffic_percentage=30)
    state = model.deployment()
    assert state is not None
    print(f"traffic:   {state.traffic}")
    model.promote_canary()
    state = model.deployment()
    assert state is not None and state.url is not None
    example = os.path.join(HERE, "digit.json")
    print()
    print("Ask the deployed model which digit this is (the highest of its 10 scores wins):")
    print(
        f"curl -s -H 'Content-Type: application/json' -d @{example} "
        f"{state.url}/v1/models/dev-mnist:predict"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
