#!/usr/bin/python3
"""PyTorch peer numbers for perf/README.md, on the same machine and thread count as the BenchmarkDotNet run.

Run: /usr/bin/python3 perf/pytorch_bench.py [threads]      (Debian python3-torch with libopenblas0-openmp)
Prints: nn.LSTMCell batch-1 step at H = I = 256 (and LSTMCell/GRUCell at 1024), nn.LSTM(256)'s 100-step sequence
forward at batch 1 and 32, one training iteration of the character language model
(Embedding(96, 64) -> LSTM(256) -> Linear(96), batch 32, length 64, cross-entropy, Adam, clip_grad_norm_(5)), and one
training segment of fastrnn's kjv-char model (2 x LSTM(256) with dropout 0.2, batch 32, length 100, Adam, clip 1).
"""
import sys
import time

import torch
import torch.nn as nn


def best_of(fn, repeats, rounds=7):
    fn()
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(repeats):
            fn()
        times.append((time.perf_counter() - start) / repeats)
    times.sort()
    return times[len(times) // 2]  # the median round


def main():
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, config: {torch.__config__.show().splitlines()[0:1]}")

    cell = nn.LSTMCell(256, 256)
    x = torch.randn(1, 256)
    h = torch.zeros(1, 256)
    c = torch.zeros(1, 256)
    with torch.no_grad():
        def step():
            nonlocal h, c
            h, c = cell(x, (h, c))
        t = best_of(step, 2000)
    print(f"LSTMCell step, batch 1, H=I=256: {t * 1e6:.1f} us")

    # the shapes of FastRnn's PeerBenchmarks: the batch-1 step of the large layers, and the 100-step sequence forward
    with torch.no_grad():
        for name, make in (("LSTMCell", nn.LSTMCell), ("GRUCell", nn.GRUCell)):
            big = make(1024, 1024)
            xb = torch.randn(1, 1024)
            hb = torch.zeros(1, 1024)
            state_b = (hb, torch.zeros(1, 1024)) if name == "LSTMCell" else hb
            t = best_of(lambda: big(xb, state_b), 200)
            print(f"{name} step, batch 1, H=I=1024: {t * 1e6:.1f} us")
        lstm = nn.LSTM(256, 256)
        for batch in (1, 32):
            xs = torch.randn(100, batch, 256)
            t = best_of(lambda: lstm(xs), 20)
            print(f"LSTM(256) sequence forward, batch {batch} x 100 steps: {t * 1e3:.2f} ms")

    class CharModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(96, 64)
            self.rnn = nn.LSTM(64, 256)
            self.head = nn.Linear(256, 96)

        def forward(self, tokens):
            out, _ = self.rnn(self.embedding(tokens))
            return self.head(out)

    model = CharModel()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    tokens = torch.randint(0, 96, (64, 32))
    targets = torch.randint(0, 96, (64, 32))
    loss_fn = nn.CrossEntropyLoss()

    def iteration():
        opt.zero_grad()
        loss = loss_fn(model(tokens).reshape(-1, 96), targets.reshape(-1))
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()

    t = best_of(iteration, 5)
    print(f"char LM training iteration (B=32, T=64, Adam, clip_grad_norm_): {t * 1e3:.2f} ms, {32 * 64 / t:,.0f} tokens/s")

    # fastrnn train --task kjv-char: Embedding(96, 64) -> dropout 0.2 -> LSTM(256) -> dropout 0.2 -> LSTM(256) ->
    # dropout 0.2 -> Linear(96); one segment of 32 x 100 from the carried (detached) state, Adam 2e-3, clip_grad_norm_(1).
    class KjvCharModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(96, 64)
            self.drop = nn.Dropout(0.2)
            self.rnn = nn.LSTM(64, 256, num_layers=2, dropout=0.2)
            self.head = nn.Linear(256, 96)

        def forward(self, tokens, state):
            out, state = self.rnn(self.drop(self.embedding(tokens)), state)
            return self.head(self.drop(out)), state

    kjv = KjvCharModel()
    kjv_opt = torch.optim.Adam(kjv.parameters(), lr=2e-3)
    kjv_tokens = torch.randint(0, 96, (100, 32))
    kjv_targets = torch.randint(0, 96, (100, 32))
    state = (torch.zeros(2, 32, 256), torch.zeros(2, 32, 256))

    def segment():
        nonlocal state
        kjv_opt.zero_grad()
        logits, new_state = kjv(kjv_tokens, tuple(s.detach() for s in state))
        loss = loss_fn(logits.reshape(-1, 96), kjv_targets.reshape(-1))
        loss.backward()
        nn.utils.clip_grad_norm_(kjv.parameters(), 1.0)
        kjv_opt.step()
        state = new_state

    t = best_of(segment, 3)
    print(f"kjv-char training segment (2 x LSTM(256), dropout 0.2, B=32, T=100, Adam, clip_grad_norm_(1)): {t * 1e3:.2f} ms, {32 * 100 / t:,.0f} chars/s")


if __name__ == "__main__":
    main()
