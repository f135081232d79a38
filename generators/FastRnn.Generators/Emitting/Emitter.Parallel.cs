using System.Linq;

namespace FastRnn.Generators;

internal static partial class Emitter
{
    private sealed partial class ModelEmitter
    {
        /// <summary>Whether layer n's sequence recurrence can be split by blocks of units across the model's pool: its
        /// cell updates each block from that block's gates alone, and no per-step mask or zoneout draw is shared by
        /// the whole row.</summary>
        private bool SplitsRecurrence(int n)
        {
            var layer = _m.Layers[n];
            return Cell(n).SplitsByBlocks && layer.RecurrentDropout is null && layer.Zoneout is null && layer.CellZoneout is null
                && layer.CandidateDropout is null;
        }

        /// <summary>Whether layer n's backward steps are split too: so far the LSTM's.</summary>
        private bool SplitsBackwardRecurrence(int n) => SplitsRecurrence(n) && _m.Layers[n].Cell == CellKind.Lstm;

        private bool SplitsAnyRecurrence => Enumerable.Range(0, _m.Layers.Count).Any(SplitsRecurrence);

        /// <summary>The recurrence on the pool: how many threads share a layer, the work they run together and the
        /// switch that sends each thread to its share of the layer.</summary>
        private void EmitRecurrenceOnThePool()
        {
            if (!SplitsAnyRecurrence)
                return;
            _w.Lines($$"""
                // ---- The recurrence on the pool: each step's unit blocks across the threads, a barrier per step ----

                /// <summary>Blocks of units per share of a recurrence: a multiple of every product's column tile at this
                /// width (4 columns at 512 bits, 2 at 256; an LSTM block has 4, a GRU block 3), so each share's columns are
                /// computed exactly as on one thread.</summary>
                private int RecurrenceGroup => _wide ? 4 : 2;

                /// <summary>Threads that share a recurrence over <paramref name="blocks"/> blocks of units.</summary>
                private int RecurrenceParts(int blocks) => _pool is null ? 1 : global::System.Math.Min(_pool.Concurrency, blocks / RecurrenceGroup);

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

                /// <summary>Blocks [start, end) of share <paramref name="part"/>: whole groups, the last share also the blocks after the last group.</summary>
                private (int Start, int End) Share(int blocks, int part, int parts)
                {
                    int groups = blocks / RecurrenceGroup;
                    int start = groups * part / parts * RecurrenceGroup;
                    int end = part == parts - 1 ? blocks : groups * (part + 1) / parts * RecurrenceGroup;
                    return (start, end);
                }

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
    }
}
