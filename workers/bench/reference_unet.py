#!/usr/bin/env python3
"""The `ml` bench's reference UNet in PyTorch, measured the same way, for an equal-work comparison.

Net (ISSUE 3): input 64x64x1; conv3x3(16)+ReLU -> maxpool 2 -> conv3x3(32)+ReLU -> conv3x3(32)+ReLU ->
nearest upsample x2 -> concat with the first conv's output -> conv3x3(16)+ReLU -> conv3x3(1); 'same'
padding; Adam 1e-3; MSE; batch 16; random inputs. Throughput is the median over timed rounds after warm-up.

    python3 workers/bench/reference_unet.py [--threads 2] [--rounds 5] [--steps 5] [--warmup 3] [--device cpu|cuda]
                                            [--lockstep]

Prints one JSON line: {"framework", "version", "threads", "device", "train_img_per_s", "infer_img_per_s", ...}.
"""
import argparse
import json
import statistics
import sys
import time

import torch
from torch import nn
import torch.nn.functional as F

BATCH = 16
SIZE = 64


class ReferenceUNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc = nn.Conv2d(1, 16, 3, padding=1)
        self.mid1 = nn.Conv2d(16, 32, 3, padding=1)
        self.mid2 = nn.Conv2d(32, 32, 3, padding=1)
        self.dec = nn.Conv2d(32 + 16, 16, 3, padding=1)
        self.out = nn.Conv2d(16, 1, 3, padding=1)

    def forward(self, x):
        skip = F.relu(self.enc(x))
        h = F.max_pool2d(skip, 2)
        h = F.relu(self.mid1(h))
        h = F.relu(self.mid2(h))
        h = F.interpolate(h, scale_factor=2, mode="nearest")
        h = torch.cat([h, skip], dim=1)
        h = F.relu(self.dec(h))
        return self.out(h)


class Turns:
    """With --lockstep, the `ml` bench (workers/bench/ml.ts) runs each of its rounds right before the same
    round here, so each pair is timed seconds apart, never at once: this process says "ready" once set up,
    then waits for a line on stdin before its warm-up and before each timed round, and writes a line when
    it has finished one. Without it, every turn is at once."""

    def __init__(self, lockstep):
        self.lockstep = lockstep
        self.say("ready")

    def say(self, word):
        if self.lockstep:
            print(word, flush=True)

    def wait(self):
        if self.lockstep and not sys.stdin.readline():
            sys.exit("lockstep: the bench closed stdin")


def rounds_per_s(step, warmup, rounds, steps, device, turns):
    """Images per second of each timed round (`steps` calls of `step`), after `warmup` untimed calls."""
    # CUDA runs asynchronously: a round ends when the GPU has finished its work, not when it was queued.
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    turns.wait()
    for _ in range(warmup):
        step()
    sync()
    turns.say("warm")
    rates = []
    for _ in range(rounds):
        turns.wait()
        sync()
        start = time.perf_counter()
        for _ in range(steps):
            step()
        sync()
        rates.append(BATCH * steps / (time.perf_counter() - start))
        turns.say("round")
    return rates


def device_name(device):
    return torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"


def bench_setup(doc):
    """Both PyTorch bench scripts' flags, threads and seed; `doc`'s first line describes the script. Returns
    (args, device)."""
    parser = argparse.ArgumentParser(description=doc.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--device", default="cpu", help="a torch device: cpu (default) or cuda")
    parser.add_argument("--lockstep", action="store_true", help="take turns with the bench (see Turns)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    return args, torch.device(args.device)


def main():
    args, device = bench_setup(__doc__)
    model = ReferenceUNet().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.randn(BATCH, 1, SIZE, SIZE).to(device)
    y = torch.randn(BATCH, 1, SIZE, SIZE).to(device)

    def train_step():
        optimizer.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()

    def infer_step():
        with torch.no_grad():
            model(x)

    turns = Turns(args.lockstep)
    train = rounds_per_s(train_step, args.warmup, args.rounds, args.steps, device, turns)
    infer = rounds_per_s(infer_step, args.warmup, args.rounds, args.steps, device, turns)
    print(
        json.dumps(
            {
                "framework": "pytorch",
                "version": torch.__version__,
                "threads": torch.get_num_threads(),
                "device": device_name(device),
                "train_img_per_s": statistics.median(train),
                "infer_img_per_s": statistics.median(infer),
                "train_rounds": train,
                "infer_rounds": infer,
            }
        )
    )


if __name__ == "__main__":
    main()
