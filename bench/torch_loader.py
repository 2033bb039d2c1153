"""PyTorch's side of bench/loader_vs_pytorch: one pass over the same generated image folder
with torchvision's ImageFolder and DataLoader, in batches of 64 (the last incomplete one
dropped), with the same pipeline as ours: decode, resize, random crop, horizontal flip,
normalise. Prints `<workers> <images per second>` per worker count, timed from the first
batch to the last (worker start-up left out, as on our side).

python bench/torch_loader.py <folder> <png|jpeg> <workers>...
"""
import sys
import time

import torch
from torchvision import datasets, transforms


def main():
    folder, kind, workers = sys.argv[1], sys.argv[2], [int(w) for w in sys.argv[3:]]
    if kind == "png":
        stored, crop, mean, std, mode = 32, 28, [0.286], [0.353], "L"
    else:
        stored, crop, mean, std, mode = 72, 64, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225], "RGB"
    pipeline = transforms.Compose([
        transforms.Resize((stored, stored)),
        transforms.RandomCrop(crop),
        transforms.RandomHorizontalFlip(),
        transforms.ToTensor(),
        transforms.Normalize(mean, std),
    ])
    # torchvision's default loader converts to RGB; the PNG folder is grey, as ours reads it.
    loader = lambda path: open_image(path, mode)
    torch.manual_seed(0)
    for w in workers:
        dataset = datasets.ImageFolder(folder, transform=pipeline, loader=loader)
        batches = torch.utils.data.DataLoader(dataset, batch_size=64, shuffle=True, num_workers=w, drop_last=True)
        iterator = iter(batches)
        first = next(iterator)[0]
        assert list(first.shape) == [64, len(mean), crop, crop], first.shape
        started, seen = time.perf_counter(), 0
        for data, _ in iterator:
            seen += data.shape[0]
        print(f"{w} {seen / (time.perf_counter() - started):.1f} {len(dataset)}", flush=True)


def open_image(path, mode):
    from PIL import Image
    with open(path, "rb") as f:
        return Image.open(f).convert(mode)


if __name__ == "__main__":
    main()
