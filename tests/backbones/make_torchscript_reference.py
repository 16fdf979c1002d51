"""TorchScript backbones for the tests: a scripted module returning a list of two feature maps at
strides 8 and 16, and a traced one returning a tuple; plus the features lidere's contract
defines (ImageNet-normalised input, maps resized bilinearly to the first one's grid,
L2-normalised per token, concatenated).

Usage: make_torchscript_reference.py OUT_DIR
"""
import sys
from typing import List

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

OUT = sys.argv[1]
MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


class TwoScales(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a = torch.nn.Conv2d(3, 12, 8, stride=8)
        self.b = torch.nn.Conv2d(12, 20, 2, stride=2)

    def forward(self, x: torch.Tensor) -> List[torch.Tensor]:
        f8 = torch.relu(self.a(x))
        return [self.b(f8), f8]


def contract_features(model, images):
    maps = list(model((images - MEAN) / STD))
    h, w = maps[0].shape[2:]
    return torch.cat([F.normalize(F.interpolate(m, (h, w), mode="bilinear", align_corners=False)
                                  if m.shape[2:] != (h, w) else m, p=2, dim=1) for m in maps], 1)


torch.manual_seed(0)
model = TwoScales().eval()
images = torch.rand(2, 3, 64, 96)
torch.jit.save(torch.jit.script(model), f"{OUT}/scripted.pt")


class AsTuple(torch.nn.Module):
    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        out = self.inner(x)
        return out[0], out[1]


traced = torch.jit.trace(AsTuple(model), torch.rand(1, 3, 64, 96))
torch.jit.save(traced, f"{OUT}/traced.pt")
with torch.no_grad():
    save_file({"images": images, "features": contract_features(model, images).contiguous()},
              f"{OUT}/reference.safetensors")
print("ok")
