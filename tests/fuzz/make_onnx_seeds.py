"""Seeds for fuzz_onnx: tiny DINOv2 models (transformers, random weights) inside a model with a
decoder, exported by PyTorch's TorchScript-based ONNX exporter as real exports are (anonymous
MatMul weights, the split position embedding, Identity-shared equal tensors in the fresh one).

Usage: make_onnx_seeds.py OUT_DIR
"""
import sys
import warnings
from pathlib import Path

import torch
from transformers import Dinov2Config, Dinov2Model


class WithDecoder(torch.nn.Module):
    def __init__(self, backbone):
        super().__init__()
        self.backbone = backbone
        self.decoder = torch.nn.Conv2d(backbone.config.hidden_size, 1, 1)

    def forward(self, pixel_values):
        tokens = self.backbone(pixel_values=pixel_values).last_hidden_state[:, 1:]
        return self.decoder(tokens.transpose(1, 2).reshape(tokens.shape[0], -1, 2, 2))


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    for name, randomise in (("dinov2_tiny_fresh.onnx", False), ("dinov2_tiny_random.onnx", True)):
        model = Dinov2Model(Dinov2Config(hidden_size=8, intermediate_size=16, num_hidden_layers=1,
                                         num_attention_heads=2, patch_size=14, image_size=42)).eval()
        if randomise:
            with torch.no_grad():
                for p in model.parameters():
                    p.add_(0.1 * torch.randn_like(p))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(WithDecoder(model).eval(), (torch.rand(1, 3, 28, 28),), str(out / name), dynamo=False,
                              opset_version=14, do_constant_folding=True)
    print("ok")


if __name__ == "__main__":
    main()
