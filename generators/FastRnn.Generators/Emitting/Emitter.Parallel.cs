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

        /// <summary>Whether layer n's backward steps can be split by rows of the batch instead of by units: each thread
        /// runs every unit of its rows through every step, so no step waits for another thread and no ∂a(t) crosses
        /// between cores. Rows meet nowhere in a plain LSTM's backward steps (the weight gradients, which sum over rows,
        /// are formed after them, by columns). Not under recurrent dropout, zoneout or a candidate mask (their per-row
        /// masks and buffers are written for whole steps; the GRUs' per-step scratch too), and only where every thread
        /// reading the whole recurrent matrix at every step pays (<see cref="RecurrenceRowSplitWeightLimit"/>). The forward
        /// steps keep the split by units: measured faster (LSTM(256), batch 32 × 64, two threads: 0.55–0.59 of one thread
        /// by units against 0.61–0.68 by rows).</summary>
        private bool SplitsBackwardByRows(int n)
        {
            var layer = _m.Layers[n];
            return SplitsBackwardRecurrence(n) && layer.Cell == CellKind.Lstm && !layer.Normalized && layer.RecurrentDropout is null
                && !layer.HasZoneout && layer.CandidateDropout is null && Gates(layer.Cell) * layer.Hidden * layer.StateSize <= RecurrenceRowSplitWeightLimit;
        }

        /// <summary>The largest recurrent matrix whose backward steps a pass splits by rows, in floats (2 MiB). Measured here
        /// (two threads, a training iteration with its forward steps by rows too, one thread / by rows / by units
        /// alternating): LSTM(256) by rows 0.61–0.64 of one thread at batch 16–32 against 0.65–0.70 by units;
        /// LSTM(512) level at batch 32 (0.55–0.61 both) and 5–9% slower by rows at batch 8.</summary>
        private const int RecurrenceRowSplitWeightLimit = 1 << 19;

        private bool SplitsAnyBackwardByRows => Enumerable.Range(0, _m.Layers.Count).Any(SplitsBackwardByRows);

        /// <summary>How <c>BackwardLayer{n}</c> runs layer n's steps (a layer whose backward steps the pool can share): by
        /// rows across the pool's threads where the layer can and the batch has two groups of 4 rows, else by blocks of
        /// units, else on this thread.</summary>
        private string BackwardSharesCall(int n) => !SplitsBackwardByRows(n)
            ? Code($$"""
                // the steps: by blocks of units across the pool's threads when they can share them, else here
                int parts = RecurrenceParts(L{{n}}Blocks);
                if (parts > 1)
                    RunRecurrence({{n}}, parts, batch, steps, backward: true);
                else
                    BackRecurLayer{{n}}<T>(batch, steps, 0, L{{n}}Blocks, null);
                """)
            : Code($$"""
                // the steps: by rows of the batch across the pool's threads (no step waits for another thread), or by blocks
                // of units when the batch has fewer than two groups of 4 rows, else here
                int parts = RecurrenceRowParts(batch);
                if (parts > 1)
                    RunRecurrence({{n}}, parts, batch, steps, backward: true, byRows: true);
                else if ((parts = RecurrenceParts(L{{n}}Blocks)) > 1)
                    RunRecurrence({{n}}, parts, batch, steps, backward: true);
                else
                    BackRecurLayer{{n}}<T>(batch, steps, 0, batch, 0, L{{n}}Blocks, null);
                """);

        /// <summary>The generated <c>RowShare</c>: a thread's rows of the batch, for shards and for backward steps split by rows.</summary>
        private const string RowShareMethod = """
            /// <summary>Rows [first, end) of share <paramref name="part"/> of <paramref name="parts"/>: whole groups of 4
            /// from the batch's start, the last share taking the rows after the last group, so that every row is computed
            /// by the same kind of register tile as on one thread (4 rows, or the tail's).</summary>
            private static (int First, int End) RowShare(int batch, int part, int parts) =>
                (batch / 4 * part / parts * 4, part == parts - 1 ? batch : batch / 4 * (part + 1) / parts * 4);

            """;

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

                {{(SplitsAnyBackwardByRows ? RowPartsMethods : "")}}/// <summary>Runs layer <paramref name="layer"/>'s recurrence (forward or backward) on <paramref name="parts"/> threads at once{{(SplitsAnyBackwardByRows ? ",\n/// each a share of the unit blocks or, <paramref name=\"byRows\"/> (backward), of the batch's rows" : "")}}.</summary>
                private void RunRecurrence(int layer, int parts, int batch, int steps, bool backward = false{{(SplitsAnyBackwardByRows ? ", bool byRows = false" : "")}})
                {
                    _recurrence!.Set(layer, parts, batch, steps, backward{{(SplitsAnyBackwardByRows ? ", byRows" : "")}});
                    _pool!.Together(parts, _recurrence);
                }

                /// <summary>Share <paramref name="part"/> of <paramref name="parts"/> of layer <paramref name="layer"/>'s recurrence.</summary>
                private void RecurrencePart(int layer, int part, int parts, int batch, int steps, bool backward, {{(SplitsAnyBackwardByRows ? "bool byRows, " : "")}}global::FastRnn.ComputeBarrier barrier)
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
                    if (SplitsBackwardByRows(n))
                        _w.Lines($$"""
                            case {{n}} when byRows:
                            {
                                // the backward steps of every unit of this share's rows, no barrier: rows do not meet in them
                                var (first, end) = RowShare(batch, part, parts);
                                if (_wide) BackRecurLayer{{n}}<global::FastRnn.Kernels.Block512>(batch, steps, first, end, 0, L{{n}}Blocks, null);
                                else BackRecurLayer{{n}}<global::FastRnn.Kernels.Block256>(batch, steps, first, end, 0, L{{n}}Blocks, null);
                                break;
                            }
                            """);
                    // a backward that can split by rows takes the rows too: here all of them
                    string rows = SplitsBackwardByRows(n) ? "0, batch, " : "";
                    _w.Lines($$"""
                        case {{n}}:
                        {
                            var (start, end) = Share(L{{n}}Blocks, part, parts);
                            {{(SplitsBackwardRecurrence(n) ? $"if (backward && _wide) BackRecurLayer{n}<global::FastRnn.Kernels.Block512>(batch, steps, {rows}start, end, barrier);\nelse if (backward) BackRecurLayer{n}<global::FastRnn.Kernels.Block256>(batch, steps, {rows}start, end, barrier);\nelse " : "")}}if (_wide) RecurLayer{{n}}<global::FastRnn.Kernels.Block512>(batch, steps, start, end, barrier);
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
                    private bool _backward{{(SplitsAnyBackwardByRows ? ", _byRows" : "")}};

                    public void Set(int layer, int parts, int batch, int steps, bool backward{{(SplitsAnyBackwardByRows ? ", bool byRows" : "")}})
                    {
                        (_layer, _parts, _batch, _steps, _backward{{(SplitsAnyBackwardByRows ? ", _byRows" : "")}}) = (layer, parts, batch, steps, backward{{(SplitsAnyBackwardByRows ? ", byRows" : "")}});
                        _barrier.Reset(parts);
                    }

                    public void Run(int part)
                    {
                        try
                        {
                            model.RecurrencePart(_layer, part, _parts, _batch, _steps, _backward, {{(SplitsAnyBackwardByRows ? "_byRows, " : "")}}_barrier);
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

        /// <summary>The switch and the share count of backward steps split by rows (and <c>RowShare</c>, unless the shards
        /// brought it).</summary>
        private string RowPartsMethods => """
            /// <summary>Whether the backward steps of a plain LSTM layer on the pool are split by rows of the batch (the
            /// default): each thread runs every unit of its rows (whole groups of 4, so each row is computed by the same kind
            /// of register tile as on one thread: the same bits), and no step waits for another thread. False: by blocks
            /// of units, two barriers per step. The forward steps are split by units either way.</summary>
            public bool SplitsBackwardByRows { get; set; } = true;

            /// <summary>Threads backward steps of <paramref name="batch"/> rows are split across by rows (1: not by rows):
            /// a group of 4 rows each at least.</summary>
            private int RecurrenceRowParts(int batch) =>
                !SplitsBackwardByRows || _pool is null ? 1 : global::System.Math.Min(_pool.Concurrency, batch / 4);

            """ + "\n" + (SplitsInference ? "" : RowShareMethod + "\n");

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
