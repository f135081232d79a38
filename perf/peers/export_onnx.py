"""Writes the ONNX Runtime peer's models: PyTorch's own nn.LSTM / nn.GRU (one layer, I = H) exported by
torch.onnx.export, the recurrent layer alone, with the initial states as inputs and the final states as outputs, and
the step count and batch as dynamic axes (so one file serves the batch-1 step and the 100-step sequence forward).

Usage: /usr/bin/python3 perf/peers/export_onnx.py OUT_DIR   (Debian's python3-torch; no onnx package needed)
Writes OUT_DIR/{lstm,gru}{256,1024}.onnx (not committed: 1–34 MB each; perf/run.sh makes them).
"""
import os
import sys

import torch


class Layer(torch.nn.Module):
    """The layer with flat inputs and outputs: (x, h0[, c0]) -> (y, hn[, cn])."""

    def __init__(self, cell, hidden):
        super().__init__()
        self.lstm = cell == "lstm"
        self.rnn = (torch.nn.LSTM if self.lstm else torch.nn.GRU)(hidden, hidden)

    def forward(self, x, h0, c0=None):
        if self.lstm:
            y, (hn, cn) = self.rnn(x, (h0, c0))
            return y, hn, cn
        y, hn = self.rnn(x, h0)
        return y, hn


def export(cell, hidden, path):
    torch.manual_seed(hidden + (0 if cell == "lstm" else 1))
    model = Layer(cell, hidden).eval()
    x = torch.randn(100, 1, hidden)
    h0 = torch.zeros(1, 1, hidden)
    states = (h0, torch.zeros(1, 1, hidden)) if cell == "lstm" else (h0,)
    inputs = ["x", "h0", "c0"][: 1 + len(states)]
    outputs = ["y", "hn", "cn"][: 1 + len(states)]
    axes = {"x": {0: "steps", 1: "batch"}, "y": {0: "steps", 1: "batch"}}
    for name in inputs[1:] + outputs[1:]:
        axes[name] = {1: "batch"}
    kwargs = dict(input_names=inputs, output_names=outputs, dynamic_axes=axes, opset_version=17)
    try:
        torch.onnx.export(model, (x, *states), path, dynamo=False, **kwargs)
    except TypeError:  # a torch without the dynamo switch exports this way by default
        torch.onnx.export(model, (x, *states), path, **kwargs)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "perf/peers/onnx"
    os.makedirs(out, exist_ok=True)
    for cell in ("lstm", "gru"):
        for hidden in (256, 1024):
            path = os.path.join(out, f"{cell}{hidden}.onnx")
            export(cell, hidden, path)
            print(f"{path}: {os.path.getsize(path):,} bytes")


if __name__ == "__main__":
    main()
