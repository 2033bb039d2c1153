"""PML's side of bench/trainers_vs_pml: the workloads of examples/bench_trainers.rs in
pytorch-metric-learning's own trainers. `pml_trainers.py WORKLOAD THREADS [bf16]`; prints
`WORKLOAD THREADS PRECISION it_per_s VALUE` (or `map_at_r`). bf16 wraps training in
torch.autocast("cpu", dtype=torch.bfloat16), PyTorch's CPU mixed precision (PML's trainers
have none of their own); there the losses run under autocast too.
"""
import contextlib
import sys
import time

import torch
from pytorch_metric_learning import losses, miners, samplers, trainers
from pytorch_metric_learning.utils.accuracy_calculator import AccuracyCalculator

from pml_demo import split as fashion

WARM_UP = 5


def synthetic():
    labels = torch.arange(20_000) % 100
    centres = torch.randn(100, 64)
    return centres[labels] + torch.randn(20_000, 64) * 2.0, labels


class View(torch.nn.Module):
    def forward(self, x):
        return x.view(-1, 1, 28, 28)


def conv_trunk():
    return torch.nn.Sequential(
        View(),
        torch.nn.Conv2d(1, 32, 3, stride=2, padding=1),
        torch.nn.ReLU(),
        torch.nn.Conv2d(32, 64, 3, stride=2, padding=1),
        torch.nn.ReLU(),
        torch.nn.Flatten(),
        torch.nn.Linear(64 * 7 * 7, 128),
    )


def main():
    workload, threads = sys.argv[1], int(sys.argv[2])
    bf16 = len(sys.argv) > 3 and sys.argv[3] == "bf16"
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    native = torch.ops.mkldnn._is_mkldnn_bf16_supported()
    timed = lambda n: 4 if bf16 and not native else n
    if workload.startswith("mlp"):
        x, y = synthetic()
        trunk = torch.nn.Sequential(torch.nn.Linear(64, 256), torch.nn.ReLU(), torch.nn.Linear(256, 128))
        batch, iterations = 256, WARM_UP + timed(200)
    else:
        x, y = fashion("train")
        trunk = conv_trunk()
        batch, iterations = 128, WARM_UP + timed(60)
    embedder = torch.nn.Linear(128, 64)
    models = {"trunk": trunk, "embedder": embedder}
    optimizers = {"trunk_optimizer": torch.optim.Adam(trunk.parameters(), lr=1e-3), "embedder_optimizer": torch.optim.Adam(embedder.parameters(), lr=1e-3)}
    loss_funcs = {"metric_loss": losses.TripletMarginLoss(margin=0.1)}
    arguments = {}
    trainer_class = trainers.MetricLossOnly
    if workload == "mlp-classifier":
        classifier = torch.nn.Linear(64, 100)
        models["classifier"] = classifier
        optimizers["classifier_optimizer"] = torch.optim.Adam(classifier.parameters(), lr=1e-3)
        loss_funcs["classifier_loss"] = torch.nn.CrossEntropyLoss()
        arguments["loss_weights"] = {"metric_loss": 1, "classifier_loss": 1}
        trainer_class = trainers.TrainWithClassifier
    stamps = []
    trainer = trainer_class(
        models=models,
        optimizers=optimizers,
        batch_size=batch,
        loss_funcs=loss_funcs,
        mining_funcs={"tuple_miner": miners.MultiSimilarityMiner(epsilon=0.1)},
        dataset=torch.utils.data.TensorDataset(x, y),
        sampler=samplers.MPerClassSampler(y, m=4, length_before_new_iter=len(y)),
        iterations_per_epoch=None if workload == "conv-map" else iterations,
        dataloader_num_workers=0,
        data_device=torch.device("cpu"),
        end_of_iteration_hook=lambda _: stamps.append(time.perf_counter()),
        **arguments,
    )
    autocast = torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()
    precision = "bf16" if bf16 else "f32"
    with autocast:
        trainer.train(num_epochs=2 if workload == "conv-map" else 1)
    if workload == "conv-map":
        test_x, test_y = fashion("t10k")
        trunk.eval(), embedder.eval()
        with torch.no_grad():
            embeddings = embedder(trunk(test_x[:5000]))
        result = AccuracyCalculator(include=("mean_average_precision_at_r",), k="max_bin_count").get_accuracy(embeddings, test_y[:5000])
        print(f"{workload} {threads} {precision} map_at_r {result['mean_average_precision_at_r']:.4f}")
    else:
        rate = (len(stamps) - WARM_UP) / (stamps[-1] - stamps[WARM_UP - 1])
        print(f"{workload} {threads} {precision} it_per_s {rate:.2f}")


if __name__ == "__main__":
    main()
