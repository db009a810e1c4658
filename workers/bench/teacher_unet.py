#!/usr/bin/env python3
"""The `ml` bench's teacher (workers/ml/unet.ts's default UNet) trained as trainDdpm does, in PyTorch.

Net: stem conv3x3 -> [ResBlock -> stride-2 conv3x3] per level -> ResBlock (middle) -> [nearest x2 ->
ResBlock over concat(h, skip)] per level -> ReLU -> conv3x3 -> eps; ResBlock(x) = skip(x) +
conv2(ReLU(GroupNorm(conv1(x) + Linear(temb)))), skip a 1x1 conv when the width changes; GroupNorm of 4
channels a group (eps 1e-5, affine); timestep: 64 sinusoid features -> Linear+ReLU -> Linear+ReLU; level l
has width*2^min(l, 2) channels; each residual branch's last conv and the output conv start at zero. Width
16, depth 4, 1 channel: 597,329 parameters, as in ours.

Step (workers/ml/train.ts): 16 random 64x64 images of 32 with a random flip/quarter turn each,
t ~ U{1..1000}, eps ~ N(0, I), x_t by q_sample on the linear beta schedule 1e-4..0.02, MSE on eps, Adam 1e-3
after a linear warm-up over 100 steps, gradients clipped to global norm 1, EMA of the weights with decay
min(0.995, (1 + n)/(10 + n)), the loss read back every step. Timed as reference_unet.py times training: the
median over timed rounds after warm-up steps; NCHW, as there.

    python3 workers/bench/teacher_unet.py [--threads 2] [--rounds 5] [--steps 5] [--warmup 3] [--device cpu|cuda]
                                          [--lockstep]

Prints the parameter count on stderr, then one JSON line: {"framework", "version", "threads", "device",
"train_img_per_s", "train_rounds", "batch", "size", "params", "final_loss"}.
"""
import json
import math
import statistics
import sys

import torch
from torch import nn
import torch.nn.functional as F

from reference_unet import Turns, bench_setup, device_name, rounds_per_s  # same folder: the shared timing

BATCH = 16
SIZE = 64
IMAGES = 32
T = 1000
LR = 1e-3
LR_WARMUP = 100
EMA_DECAY = 0.995
GRAD_CLIP = 1.0
SINUSOID_DIM = 64


def he_conv(cin, cout, k, stride=1, zero=False):
    # He-uniform over the fan-in and zero biases, as unet.ts initialises. Stride 2 pads 1 on every side where
    # tfjs's 'same' pads only bottom/right: the same output shape and work, the grid shifted by one pixel.
    conv = nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2)
    init_weights(conv, zero)
    return conv


def he_linear(cin, cout):
    linear = nn.Linear(cin, cout)
    init_weights(linear, False)
    return linear


def init_weights(layer, zero):
    if zero:
        nn.init.zeros_(layer.weight)
    else:
        nn.init.kaiming_uniform_(layer.weight, nonlinearity="relu")  # bound sqrt(6 / fan_in)
    nn.init.zeros_(layer.bias)


class ResBlock(nn.Module):
    def __init__(self, cin, cout, tdim):
        super().__init__()
        self.conv1 = he_conv(cin, cout, 3)
        self.time = he_linear(tdim, cout)
        self.norm = nn.GroupNorm(max(1, cout // 4), cout, eps=1e-5)
        self.conv2 = he_conv(cout, cout, 3, zero=True)
        self.skip = he_conv(cin, cout, 1) if cin != cout else None

    def forward(self, x, temb):
        h = F.relu(self.norm(self.conv1(x) + self.time(temb)[:, :, None, None]))
        h = self.conv2(h)
        return h + (self.skip(x) if self.skip is not None else x)


class TeacherUNet(nn.Module):
    def __init__(self, channels=1, width=16, depth=4):
        super().__init__()
        widths = [width * 2 ** min(l, 2) for l in range(depth)]
        tdim = 4 * width
        self.depth = depth
        self.fc1 = he_linear(SINUSOID_DIM, tdim)
        self.fc2 = he_linear(tdim, tdim)
        self.stem = he_conv(channels, widths[0], 3)
        self.down = nn.ModuleList()
        self.downsample = nn.ModuleList()
        c = widths[0]
        for l in range(depth):
            self.down.append(ResBlock(c, widths[l], tdim))
            c = widths[l]
            if l < depth - 1:
                self.downsample.append(he_conv(c, c, 3, stride=2))
        self.mid = ResBlock(c, c, tdim)
        self.up = nn.ModuleList()  # up[i] is level depth - 1 - i
        for l in reversed(range(depth)):
            self.up.append(ResBlock(c + widths[l], widths[l], tdim))
            c = widths[l]
        self.out = he_conv(c, channels, 3, zero=True)
        half = SINUSOID_DIM // 2
        self.register_buffer("freqs", torch.exp(-math.log(10000) * torch.arange(half) / half), persistent=False)

    def forward(self, x, t):
        angles = t.float()[:, None] * self.freqs[None, :]
        temb = torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)
        temb = F.relu(self.fc2(F.relu(self.fc1(temb))))
        h = self.stem(x)
        skips = []
        for l in range(self.depth):
            h = self.down[l](h, temb)
            skips.append(h)
            if l < self.depth - 1:
                h = self.downsample[l](h)
        h = self.mid(h, temb)
        for i, skip in enumerate(reversed(skips)):
            if h.shape[-1] != skip.shape[-1]:
                h = F.interpolate(h, scale_factor=2, mode="nearest")
            h = self.up[i](torch.cat([h, skip], dim=1), temb)
        return self.out(F.relu(h))


def main():
    args, device = bench_setup(__doc__)
    model = TeacherUNet().to(device)
    params = list(model.parameters())
    n_params = sum(p.numel() for p in params)
    print(f"teacher UNet (PyTorch): {n_params} parameters", file=sys.stderr)
    optimizer = torch.optim.Adam(params, lr=LR)
    ema = [p.detach().clone() for p in params]
    betas = torch.linspace(1e-4, 0.02, T, dtype=torch.float64)
    alpha_bars = torch.cat([torch.ones(1, dtype=torch.float64), torch.cumprod(1 - betas, 0)]).float().to(device)  # [t], t = 0..T
    # The bench's synthetic images, in the [-1, 1] data scale.
    k = torch.arange(SIZE * SIZE, dtype=torch.float32)
    images = (torch.stack([0.5 + 0.3 * torch.sin(k * 0.37 + i) for i in range(IMAGES)]).view(IMAGES, 1, SIZE, SIZE) * 2 - 1).to(device)
    state = {"step": 0, "loss": float("nan")}

    def train_step():
        state["step"] += 1
        step = state["step"]
        picks = torch.randint(IMAGES, (BATCH,)).tolist()
        transforms = torch.randint(8, (BATCH,)).tolist()
        x0 = torch.stack(
            [torch.rot90(images[i].flip(-1) if f & 1 else images[i], f >> 1, (-2, -1)) for i, f in zip(picks, transforms)]
        )
        t = torch.randint(1, T + 1, (BATCH,), device=device)
        noise = torch.randn_like(x0)
        ab = alpha_bars[t].view(BATCH, 1, 1, 1)
        xt = ab.sqrt() * x0 + (1 - ab).sqrt() * noise
        for group in optimizer.param_groups:
            group["lr"] = LR * min(1, step / LR_WARMUP)
        optimizer.zero_grad()
        loss = F.mse_loss(model(xt, t), noise)
        loss.backward()
        nn.utils.clip_grad_norm_(params, GRAD_CLIP)
        optimizer.step()
        with torch.no_grad():
            d = min(EMA_DECAY, (1 + step) / (10 + step))
            torch._foreach_mul_(ema, d)
            torch._foreach_add_(ema, params, alpha=1 - d)
        state["loss"] = loss.item()  # trainDdpm reads every step's loss back (and checks it is finite)

    rates = rounds_per_s(train_step, args.warmup, args.rounds, args.steps, device, Turns(args.lockstep))
    print(
        json.dumps(
            {
                "framework": "pytorch",
                "version": torch.__version__,
                "threads": torch.get_num_threads(),
                "device": device_name(device),
                "train_img_per_s": statistics.median(rates),
                "train_rounds": rates,
                "batch": BATCH,
                "size": SIZE,
                "params": n_params,
                "final_loss": state["loss"],
            }
        )
    )


if __name__ == "__main__":
    main()
