"""The hidden states of a Hugging Face DINOv2 exported to ONNX, computed by onnxruntime running the
file's own graph: the output of every transformer block and of the final LayerNorm are made extra
graph outputs (the file's outputs may be another model's, e.g. a decoder's).

Usage: run_onnx_hidden_states.py MODEL.onnx PIXELS.safetensors OUT.safetensors
  PIXELS holds "pixel_values" (B, 3, H, W), normalised; OUT gets hidden.N (N = 1..depth, the block
  outputs, as transformers' hidden_states[N]) and last_hidden_state.
"""
import re
import sys

import onnx
import onnxruntime
from safetensors.numpy import load_file, save_file


def main():
    model_path, pixels_path, out_path = sys.argv[1:4]
    model = onnx.load(model_path)
    # The residual Add that ends each block ("/backbone/encoder/layer.3/Add_1") and the final norm's
    # last Add ("/backbone/layernorm/Add_1").
    block = re.compile(r"^(.*)/encoder/layer\.(\d+)/Add_1$")
    final = re.compile(r"^(.*)/layernorm/Add_1$")
    wanted = {}
    for node in model.graph.node:
        if m := block.match(node.name):
            wanted[node.output[0]] = f"hidden.{int(m.group(2)) + 1}"
        elif final.match(node.name):
            wanted[node.output[0]] = "last_hidden_state"
    if "last_hidden_state" not in wanted.values():
        sys.exit(f"{model_path}: no final LayerNorm node found")
    present = {o.name for o in model.graph.output}
    for name in wanted:
        if name not in present:
            model.graph.output.append(onnx.ValueInfoProto(name=name))
    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    pixels = load_file(pixels_path)["pixel_values"]
    names = list(wanted)
    outputs = session.run(names, {session.get_inputs()[0].name: pixels})
    save_file({wanted[n]: o for n, o in zip(names, outputs)}, out_path)
    print("ok", len(names))


if __name__ == "__main__":
    main()
