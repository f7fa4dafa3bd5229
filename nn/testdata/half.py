"""Writes half.safetensors, the fixture of nn's TestLoadHalf: 16-bit
floating-point tensors as PyTorch stores them, and PyTorch's own float32
conversions of them, to check that nn.Load converts F16 and BF16 as PyTorch
does, bit for bit.

Tensors, each [N]: "f16" (float16) and "f16_f32" (float16 → float32 by
PyTorch), "bf16" (bfloat16) and "bf16_f32" likewise. The values are the
bit patterns 0, 257, 514, … (every 257th of the 65,536, across every
exponent) and the special ones listed below: signed zeros, the least and
greatest subnormals, the least normal, 1 and its neighbour, the greatest
finite value, infinities, quiet and signalling NaNs with payloads. A
second part is a model: "linear.weight" [3, 4] and "linear.bias" [3] of
an nn.Linear(4, 3) from torch.manual_seed(0), saved in bfloat16 as a
published checkpoint is, with "linear_f32.weight" and "linear_f32.bias",
its float32 conversion.

Run with PyTorch 1.13 (Debian's python3-torch): /usr/bin/python3 half.py.
The safetensors package is not needed: the file is written here as
safetensors.torch.save_file writes it (an 8-byte little-endian header
length, the JSON header padded with spaces to a multiple of 8, the data).
"""

import json
import struct

import torch

SPECIAL = [
    0x0000, 0x8000,  # ±0
    0x0001, 0x8001, 0x0002, 0x0200, 0x03FF, 0x83FF,  # f16 subnormals
    0x0400, 0x8400,  # least f16 normal
    0x3C00, 0x3C01, 0xBC00, 0x3555, 0x7BFF, 0xFBFF,  # 1, next, −1, ~1/3, f16 max
    0x7C00, 0xFC00,  # f16 ±Inf
    0x7E00, 0xFE00, 0x7C01, 0x7D55, 0x7FFF, 0xFFFF,  # f16 NaNs (quiet, signalling, payloads)
    0x0040, 0x007F, 0x0080, 0x8080, 0x3F80, 0x7F7F, 0xFF7F,  # bf16 subnormals, least normal, 1, max
    0x7F80, 0xFF80,  # bf16 ±Inf
    0x7FC0, 0xFFC0, 0x7F81, 0x7FAA, 0x7FFF,  # bf16 NaNs
]


def patterns():
    bits = list(range(0, 1 << 16, 257)) + SPECIAL
    # as int16 (two's complement) for torch
    return torch.tensor([b - (1 << 16) if b >= 1 << 15 else b for b in bits], dtype=torch.int16)


def raw(t):
    return t.contiguous().view(torch.int8).numpy().tobytes() if t.dtype in (torch.float16, torch.bfloat16) \
        else t.contiguous().numpy().tobytes()


DTYPES = {torch.float16: "F16", torch.bfloat16: "BF16", torch.float32: "F32"}


def save(path, tensors):
    header, data = {}, b""
    for name, t in tensors.items():
        b = raw(t)
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [len(data), len(data) + len(b)]}
        data += b
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + data)


def main():
    p = patterns()
    f16, bf16 = p.view(torch.float16), p.view(torch.bfloat16)
    torch.manual_seed(0)
    lin = torch.nn.Linear(4, 3).to(torch.bfloat16)
    save("half.safetensors", {
        "f16": f16, "f16_f32": f16.float(),
        "bf16": bf16, "bf16_f32": bf16.float(),
        "linear.weight": lin.weight.data, "linear.bias": lin.bias.data,
        "linear_f32.weight": lin.weight.data.float(), "linear_f32.bias": lin.bias.data.float(),
    })


if __name__ == "__main__":
    main()
