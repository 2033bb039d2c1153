"""PML's side of bench/demo_vs_pml: the demo's configuration in pytorch-metric-learning.

MetricLossOnly, trunk MLP 784-256-ReLU-128, embedder Linear 128-64, TripletMarginLoss(0.1),
MultiSimilarityMiner(0.1), MPerClassSampler(m=8, length=60000), batch 128, Adam 1e-3, 2 epochs
on the 60k Fashion-MNIST training images; precision@1 and MAP@R on the first 5000 test images.
Prints one `key value` per line for the shell script to read.
"""
import gzip
import sys
import time

import numpy as np
import torch
from pytorch_metric_learning import losses, miners, samplers, trainers
from pytorch_metric_learning.utils.accuracy_calculator import AccuracyCalculator

DATA = "/usr/share/datasets/fashion-mnist"


def idx(path, offset):
    with gzip.open(path) as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


def split(prefix):
    images = idx(f"{DATA}/{prefix}-images-idx3-ubyte.gz", 16).reshape(-1, 784).astype(np.float32) / 255.0
    labels = idx(f"{DATA}/{prefix}-labels-idx1-ubyte.gz", 8).astype(np.int64)
    return torch.from_numpy(images), torch.from_numpy(labels)


def scores(trunk, embedder, images, labels):
    trunk.eval(), embedder.eval()
    with torch.no_grad():
        embeddings = embedder(trunk(images))
    trunk.train(), embedder.train()
    calculator = AccuracyCalculator(include=("precision_at_1", "mean_average_precision_at_r", "r_precision"), k="max_bin_count")
    result = calculator.get_accuracy(embeddings, labels)
    return result["precision_at_1"], result["mean_average_precision_at_r"], result["r_precision"]


def main():
    torch.manual_seed(0)
    workers = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    train_x, train_y = split("train")
    test_x, test_y = split("t10k")
    test_x, test_y = test_x[:5000], test_y[:5000]
    trunk = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 128))
    embedder = torch.nn.Linear(128, 64)
    trainer = trainers.MetricLossOnly(
        models={"trunk": trunk, "embedder": embedder},
        optimizers={
            "trunk_optimizer": torch.optim.Adam(trunk.parameters(), lr=1e-3),
            "embedder_optimizer": torch.optim.Adam(embedder.parameters(), lr=1e-3),
        },
        batch_size=128,
        loss_funcs={"metric_loss": losses.TripletMarginLoss(margin=0.1)},
        mining_funcs={"tuple_miner": miners.MultiSimilarityMiner(epsilon=0.1)},
        dataset=torch.utils.data.TensorDataset(train_x, train_y),
        sampler=samplers.MPerClassSampler(train_y, m=8, length_before_new_iter=len(train_y)),
        dataloader_num_workers=workers,
        data_device=torch.device("cpu"),
    )
    before = scores(trunk, embedder, test_x, test_y)
    started = time.perf_counter()
    trainer.train(num_epochs=2)
    seconds = time.perf_counter() - started
    after = scores(trunk, embedder, test_x, test_y)
    print(f"pml_train_seconds {seconds:.2f}")
    print(f"pml_precision_at_1 {before[0]:.3f} {after[0]:.3f}")
    print(f"pml_r_precision {before[2]:.3f} {after[2]:.3f}")
    print(f"pml_map_at_r {before[1]:.3f} {after[1]:.3f}")


if __name__ == "__main__":
    main()
