"""MNIST-style digit classifier trained with PyTorch DDP on scikit-learn's bundled digits.

Runs under Kaptain (one process per replica, with MASTER_ADDR/MASTER_PORT/WORLD_SIZE/RANK set)
and by hand (`python trainer.py --epochs 3`) alike. Reports `accuracy=...` lines that Kaptain
collects as metrics, and uploads the trained model when TRAINED_MODEL_UPLOAD_PATH is set.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile

import torch
import torch.distributed as dist
from model import DigitNet
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.data.distributed import DistributedSampler

from kaptain.platform.metadata_util import MetadataUtil
from kaptain.platform.model_export_util import ModelExportUtil


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Digits classifier")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    args, _unknown = parser.parse_known_args()
    return args


def datasets(seed: int) -> tuple[TensorDataset, TensorDataset]:
    digits = load_digits()
    images = torch.tensor(digits.images / 16.0, dtype=torch.float32).unsqueeze(1)
    labels = torch.tensor(digits.target, dtype=torch.long)
    x_train, x_test, y_train, y_test = train_test_split(
        images, labels, test_size=0.25, random_state=seed, stratify=labels
    )
    return TensorDataset(x_train, y_train), TensorDataset(x_test, y_test)


def evaluate(model: nn.Module, data: TensorDataset) -> float:
    model.eval()
    with torch.no_grad():
        images, labels = data.tensors
        predicted = model(images).argmax(dim=1)
    model.train()
    return float((predicted == labels).float().mean())


def main() -> None:
    args = parse_args()
    torch.manual_seed(args.seed)
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    distributed = world_size > 1
    if distributed:
        dist.init_process_group("gloo", rank=rank, world_size=world_size)
    train_data, test_data = datasets(args.seed)
    sampler: DistributedSampler[tuple[torch.Tensor, ...]] | None = (
        DistributedSampler(train_data, seed=args.seed) if distributed else None
    )
    loader = DataLoader(
        train_data, batch_size=args.batch_size, sampler=sampler, shuffle=sampler is None
    )
    model: nn.Module = DigitNet()
    if distributed:
        model = DistributedDataParallel(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    print(f"rank {rank}/{world_size}: {len(loader)} batches per epoch", flush=True)
    for epoch in range(1, args.epochs + 1):
        if sampler is not None:
            sampler.set_epoch(epoch)
        total = 0.0
        for images, labels in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(images), labels)
            loss.backward()
            optimizer.step()
            total += float(loss.detach())
        if rank == 0:
            accuracy = evaluate(model, test_data)
            print(f"epoch {epoch}: mean loss {total / len(loader):.4f}", flush=True)
            MetadataUtil.record_metrics({"loss": total / len(loader), "accuracy": accuracy})
    if distributed:
        dist.barrier()  # every rank finished training
    if rank == 0:
        plain = model.module if isinstance(model, DistributedDataParallel) else model
        with tempfile.TemporaryDirectory() as tmp:
            # TorchScript: the model server loads it without this file's classes.
            path = os.path.join(tmp, "model.pt")
            torch.jit.script(plain.eval()).save(path)
            # A request the server answers before a new revision gets traffic.
            example = os.path.join(tmp, "input_example.json")
            with open(example, "w") as out:
                json.dump({"instances": test_data.tensors[0][:2].tolist()}, out)
            ModelExportUtil().upload_model(path, extra_files=[example])
    if distributed:
        # Leave together: a rank tearing gloo down while a peer still holds the group can
        # abort the peer (SIGABRT) on exit.
        dist.barrier()
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
