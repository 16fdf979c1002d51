"""Hugging Face transformers' Dinov2Model on the weights of a DINOv2 exported to ONNX by PyTorch,
for sizes the file's own graph cannot run (it is fixed at the export size). The weights are mapped
here independently of lidere's loader: named initializers by their names, anonymous MatMul weights
by the node that reads them (transposed back), the position embedding from its two folded parts.

Usage: run_hf_dinov2_on_onnx.py MODEL.onnx PIXELS.safetensors OUT.safetensors
  PIXELS holds pixel_values_<k> tensors (normalised, any multiple of 14); OUT gets, for each,
  last_hidden_state_<k> and hidden_<k>.N (N = 1..depth).
"""
import sys

import numpy as np
import onnx
import torch
from onnx import numpy_helper
from safetensors.torch import load_file, save_file
from transformers import Dinov2Config, Dinov2Model


def state_dict_from_onnx(path):
    graph = onnx.load(path).graph
    arrays = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    readers = {}
    for node in graph.node:
        for k, name in enumerate(node.input):
            readers.setdefault(name, []).append((node, k))
    state, cls_part, grid_part = {}, None, None
    for name, array in arrays.items():
        if not name.startswith("onnx::"):
            if name.startswith("backbone."):
                state[name.removeprefix("backbone.")] = torch.from_numpy(array.copy())
            continue
        (node, k), = readers[name]
        if node.op_type == "MatMul" and k == 1:
            module = node.name.removeprefix("/backbone/").rsplit("/", 1)[0].replace("/", ".")
            state[module + ".weight"] = torch.from_numpy(np.ascontiguousarray(array.T))
        elif node.name.startswith("/backbone/embeddings/") and array.ndim == 3:
            if array.shape[1] == 1:
                cls_part = array
            else:
                grid_part = array
    state["embeddings.position_embeddings"] = torch.from_numpy(np.concatenate([cls_part, grid_part], 1))
    # transformers 5 keeps Dinov2's attention as q/k/v/o_proj in memory (checkpoints hold the old names).
    renames = {".attention.attention.query.": ".attention.q_proj.", ".attention.attention.key.": ".attention.k_proj.",
               ".attention.attention.value.": ".attention.v_proj.", ".attention.output.dense.": ".attention.o_proj."}
    for old, new in renames.items():
        state = {k.replace(old, new): v for k, v in state.items()}
    return state


def main():
    model_path, pixels_path, out_path = sys.argv[1:4]
    state = state_dict_from_onnx(model_path)
    hidden = state["embeddings.cls_token"].shape[-1]
    depth = 1 + max(int(k.split(".")[2]) for k in state if k.startswith("encoder.layer."))
    grid = round((state["embeddings.position_embeddings"].shape[1] - 1) ** 0.5)
    config = Dinov2Config(hidden_size=hidden, num_hidden_layers=depth, num_attention_heads=hidden // 64,
                          intermediate_size=state["encoder.layer.0.mlp.fc1.weight"].shape[0], patch_size=14,
                          image_size=14 * grid)
    model = Dinov2Model(config).eval()
    missing, unexpected = model.load_state_dict(state, strict=False)
    if unexpected or set(missing) - {"embeddings.mask_token"}:
        sys.exit(f"{model_path}: weights do not fit Dinov2Model: missing {missing[:5]}, unexpected {unexpected[:5]}")
    out = {}
    for key, pixels in load_file(pixels_path).items():
        k = key.removeprefix("pixel_values_")
        with torch.no_grad():
            result = model(pixel_values=pixels, output_hidden_states=True)
        out[f"last_hidden_state_{k}"] = result.last_hidden_state
        for i, h in enumerate(result.hidden_states[1:], 1):
            out[f"hidden_{k}.{i}"] = h
    save_file({k: v.contiguous() for k, v in out.items()}, out_path)
    print("ok", len(out))


if __name__ == "__main__":
    main()
