using System.Linq;

namespace FastRnn.Generators;

internal static partial class Emitter
{
    private sealed partial class ModelEmitter
    {
        /// <summary>Whether layer n's sequence recurrence can be split by blocks of units across the model's pool: its
        /// cell updates each block from that block's gates alone, or (the classic GRU, whose candidate's product reads
        /// r⊙h(t−1) of every unit) meets the other shares at a second barrier before that product; not a normalized
        /// cell. The masks (recurrent dropout, zoneout's κ, Semeniuta's) are drawn per element from their index, so each
        /// share draws its own units' and gets the same values.</summary>
        private bool SplitsRecurrence(int n) => Cell(n).SplitsRecurrenceByBlocks && !Projects(n);

        /// <summary>Whether layer n's backward steps are split too: the LSTM's and the reset-after GRU's, whenever the
        /// forward's are (the classic GRU's backward runs on one thread).</summary>
        private bool SplitsBackwardRecurrence(int n) => SplitsRecurrence(n) && Cell(n).SplitsByBlocks;

        /// <summary>Whether a state's step can be shared by the pool's threads: every layer's fused kernel
        /// takes a block range (no zoneout, whose inference κ the fused kernel takes as a rate; no dropout in the
        /// recurrence, whose step keeps the whole-layer call) and nothing between the layers reads a whole row (no batch
        /// normalization). A model that cannot stream (a bidirectional layer) has no step to share.</summary>
        private bool SplitsStep => Streams && Enumerable.Range(0, _m.Layers.Count).All(n =>
        {
            var layer = _m.Layers[n];
            return SplitsRecurrence(n) && Cell(n).SplitsByBlocks && !OutputNorm(n) && layer.RecurrentDropout is null && layer.Zoneout is null
                && layer.CellZoneout is null && layer.CandidateDropout is null;
        });

        /// <summary>Some layer's batch-1 step is a fused kernel over a range of blocks (<c>StepLayer{n}Single</c>), which
        /// visits them last to first on every other step of a state (<c>State.Descending</c>): the same bits, and the
        /// weights read last, still in the caches, are read first.</summary>
        private bool HasFusedStep => Streams && Enumerable.Range(0, _m.Layers.Count).Any(n => Cell(n).SplitsByBlocks);

        private bool SplitsAnyRecurrence => Enumerable.Range(0, _m.Layers.Count).Any(SplitsRecurrence);

        /// <summary>The recurrence on the pool: how many threads share a layer, the work they run together and the
        /// switch that sends each thread to its share of the layer.</summary>
        private void EmitRecurrenceOnThePool()
        {
            if (!SplitsAnyRecurrence)
                return;
            _w.Lines($$"""
                // ---- The recurrence on the pool: each step's unit blocks across the threads, a barrier per step ----

                /// <summary>Threads that share a recurrence over <paramref name="blocks"/> blocks of units: at most one
                /// block each (a product's columns compute the same bits in any range, so a share may be any blocks).</summary>
                private int RecurrenceParts(int blocks) => _pool is null ? 1 : global::System.Math.Min(_pool.Concurrency, blocks);

                /// <summary>Runs layer <paramref name="layer"/>'s recurrence (forward or backward) on <paramref name="parts"/> threads at once.</summary>
                private void RunRecurrence(int layer, int parts, int batch, int steps, bool backward = false)
                {
                    _recurrence!.Set(layer, parts, batch, steps, backward);
                    _pool!.Together(parts, _recurrence);
                }

                /// <summary>Share <paramref name="part"/> of <paramref name="parts"/> of layer <paramref name="layer"/>'s recurrence.</summary>
                private void RecurrencePart(int layer, int part, int parts, int batch, int steps, bool backward, global::FastRnn.ComputeBarrier barrier)
                {
                    switch (layer)
                    {
                """);
            using (_w.Indent())
            using (_w.Indent())
                for (int n = 0; n < _m.Layers.Count; n++)
                {
                    if (!SplitsRecurrence(n))
                        continue;
                    _w.Lines($$"""
                        case {{n}}:
                        {
                            var (start, end) = Share(L{{n}}Blocks, part, parts);
                            {{(SplitsBackwardRecurrence(n) ? $"if (backward && _wide) BackRecurLayer{n}<global::FastRnn.Kernels.Block512>(batch, steps, start, end, barrier);\nelse if (backward) BackRecurLayer{n}<global::FastRnn.Kernels.Block256>(batch, steps, start, end, barrier);\nelse " : "")}}if (_wide) RecurLayer{{n}}<global::FastRnn.Kernels.Block512>(batch, steps, start, end, barrier);
                            else RecurLayer{{n}}<global::FastRnn.Kernels.Block256>(batch, steps, start, end, barrier);
                            break;
                        }
                        """);
                }
            _w.Lines($$"""
                        default:
                            throw new global::System.ArgumentOutOfRangeException(nameof(layer));
                    }
                }

                /// <summary>Blocks [start, end) of share <paramref name="part"/> of <paramref name="parts"/>: the blocks in
                /// even parts, in order.</summary>
                private static (int Start, int End) Share(int blocks, int part, int parts) => (blocks * part / parts, blocks * (part + 1) / parts);

                /// <summary>A recurrence the pool's threads run together: each its share of every step, a barrier between
                /// steps. A share that fails breaks the barrier, so the others stop instead of waiting for it.</summary>
                private sealed class RecurrenceWork({{_m.Name}} model) : global::FastRnn.IParallelWork
                {
                    private readonly global::FastRnn.ComputeBarrier _barrier = new();
                    private int _layer, _parts, _batch, _steps;
                    private bool _backward;

                    public void Set(int layer, int parts, int batch, int steps, bool backward)
                    {
                        (_layer, _parts, _batch, _steps, _backward) = (layer, parts, batch, steps, backward);
                        _barrier.Reset(parts);
                    }

                    public void Run(int part)
                    {
                        try
                        {
                            model.RecurrencePart(_layer, part, _parts, _batch, _steps, _backward, _barrier);
                        }
                        catch
                        {
                            _barrier.Break();
                            throw;
                        }
                    }
                }

                """);
        }

        /// <summary>The streaming step on a state's pool: each thread runs every layer over its share of the unit blocks,
        /// with a barrier between layers (at batch 1 the fused kernel; above, its columns of the two products and its
        /// units' cell update). A block's gates are computed the same way whatever the share, so the outputs are the
        /// same bits as on one thread.</summary>
        private void EmitSharedStep()
        {
            if (!SplitsStep)
                return;
            if (!_quantizing)
                _w.Lines($$"""
                    // ---- The streaming step on a state's pool: every layer's unit blocks across the threads ----

                    /// <summary>Most threads a step can use: the blocks of the widest layer (a narrower layer leaves
                    /// some threads without blocks; they wait at its barrier).</summary>
                    private const int SharedStepBlocks = {{Enumerable.Range(0, _m.Layers.Count).Max(n => Pad(_m.Layers[n].Hidden) / 16)}};

                    """);
            string scratch = _quantizing ? ", global::System.Span<byte> scratch" : "";
            _w.Lines($$"""
                /// <summary>Runs <paramref name="state"/>'s step on <paramref name="parts"/> threads of its pool at once.</summary>
                private void RunSharedStep(State state, int parts)
                {
                    // created on a state's first shared step and kept with it
                    var work = state.{{(_quantizing ? "QuantizedSharedStep" : "SharedStep")}} ??= new SharedStepWork();
                    work.Set(this, state, parts);
                    state.Pool!.Together(parts, work);
                }

                /// <summary>Share <paramref name="part"/> of <paramref name="parts"/> of a step: each layer's blocks of the share ({{(_quantizing
                    ? "any blocks: the quantized products compute each block on its own, in <paramref name=\"scratch\"/>, this share's"
                    : "any blocks:\n/// at batch 1 the fused kernel computes each block on its own, above the products' columns have the same bits in any range")}}).</summary>
                private void StepShare(State state, int part, int parts, global::FastRnn.ComputeBarrier barrier{{scratch}})
                {
                    if (_wide) StepShare<global::FastRnn.Kernels.Block512>(state, part, parts, barrier{{(_quantizing ? ", scratch" : "")}});
                    else StepShare<global::FastRnn.Kernels.Block256>(state, part, parts, barrier{{(_quantizing ? ", scratch" : "")}});
                }

                {{NoInlining}}
                private void StepShare<T>(State state, int part, int parts, global::FastRnn.ComputeBarrier barrier{{scratch}}) {{BlockConstraint}}
                {
                    {{ReadOnlySpan}} p = _parameters;
                    int batch = state.Batch, start, end;
                """);
            using (_w.Indent())
                for (int n = 0; n < _m.Layers.Count; n++)
                {
                    string x = n == 0 ? "state.Input" : $"state.Layer{n - 1}HiddenNext";
                    _w.Line($"// Layer {n}: h(t) of its share of blocks{(n == 0 ? "" : $", from every share of layer {n - 1}'s h(t)")}");
                    _w.Lines(Lines("// its inputs came in part from the other threads' caches: ask for every line at once",
                        Prefetch(x, InputStride(n), $"L{n}Inputs"), Prefetch($"state.Layer{n}Hidden", $"L{n}Padded", $"L{n}Hidden")));
                    _w.Line($"(start, end) = Share(L{n}Blocks, part, parts);");
                    if (_quantizing)
                        _w.Lines(Cell(n).SharedBatchStepCall(x));
                    else
                        _w.Lines($$"""
                            if (batch == 1)
                            {
                                {{Cell(n).SharedStepCall(x, "start", "end")}}
                            }
                            else
                            {
                                {{Cell(n).SharedBatchStepCall(x)}}
                            }
                            """);
                    if (n < _m.Layers.Count - 1)
                        _w.Line("barrier.SignalAndWait();");
                }
            string owner = _quantizing ? "Quantized" : _m.Name;
            _w.Lines($$"""
                }

                /// <summary>A step the pool's threads run together (one per state, created on its first shared step).</summary>
                internal sealed class SharedStepWork : global::FastRnn.IParallelWork
                {
                    private readonly global::FastRnn.ComputeBarrier _barrier = new();
                    private {{owner}}? _model;
                    private State? _state;
                    private int _parts;{{(_quantizing ? "\nprivate byte[] _scratch = [];\nprivate int _stride;" : "")}}

                    public void Set({{owner}} model, State state, int parts)
                    {
                        // written only when they change: the threads then keep reading these lines from their own caches
                        if (!ReferenceEquals(_model, model) || !ReferenceEquals(_state, state) || _parts != parts)
                            (_model, _state, _parts) = (model, state, parts);
                        _barrier.Reset(parts);{{(_quantizing ? "\n// each share quantizes its products' inputs in scratch of its own (allocated once for the state's batch), two\n// cache lines or more apart: shares writing one line would pass it between their cores at every product\nint stride = (state.QuantizedScratch.Length + 63) / 64 * 64 + 128;\nif (_scratch.Length < parts * stride)\n    _scratch = new byte[parts * stride];\nif (_stride != stride)\n    _stride = stride;" : "")}}
                    }

                    public void Run(int part)
                    {
                        try
                        {
                            _model!.StepShare(_state!, part, _parts, _barrier{{(_quantizing ? ", _scratch.AsSpan(part * _stride, _state!.QuantizedScratch.Length)" : "")}});
                        }
                        catch
                        {
                            _barrier.Break();
                            throw;
                        }
                    }
                }

                """);
        }
    }
}
