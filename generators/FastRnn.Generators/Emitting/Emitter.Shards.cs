using System.Linq;

namespace FastRnn.Generators;

// Inference split by rows of the batch: each of the pool's threads runs whole rows through every layer and the head in
// buffers of its own (a shard: a model of its rows that reads the parent's arenas), with no barrier per step.
internal static partial class Emitter
{
    private sealed partial class ModelEmitter
    {
        /// <summary>Whether an inference Forward runs on shards: the model has a head (whose outputs are all a shard hands
        /// back; a headless model's output is its top layer's states) and the row split pays for it.</summary>
        private bool SplitsInference => _m.HasHead && RowSplitPays;

        /// <summary>The largest recurrent matrix that the row split still wins with, in floats (4 MiB): every shard reads
        /// every layer's whole matrix at every step, where a thread of the unit split reads its share of the columns.
        /// Measured here (two threads, batch 8–32): LSTM(256) and LSTM(512) 3–15% faster by rows, LSTM(1024) (16 MiB)
        /// 12–26% slower.</summary>
        private const int RowSplitWeightLimit = 1 << 20;

        /// <summary>Whether the row split pays for this model: some layer's recurrence cannot split by units (normalized
        /// cells, a projection: without rows it runs on one thread), or every layer's recurrent matrix is within
        /// <see cref="RowSplitWeightLimit"/>.</summary>
        private bool RowSplitPays => Enumerable.Range(0, _m.Layers.Count).Any(n => !SplitsRecurrence(n))
            || _m.Layers.All(l => Gates(l.Cell) * l.Hidden * l.StateSize <= RowSplitWeightLimit);

        /// <summary>Forward's call of the layers and the head: on shards when <c>ShardParts</c> says so, else here.</summary>
        private string ForwardCall
        {
            get
            {
                const string Here = """
                    if (_wide) ForwardCore<global::FastRnn.Kernels.Block512>(batch, steps);
                    else ForwardCore<global::FastRnn.Kernels.Block256>(batch, steps);
                    """;
                // split by rows, else here: "else if (_wide) …"
                return !SplitsInference ? Here : Lines(
                    "int shards = ShardParts(batch);",
                    "_sharded = shards > 1;",
                    "if (_sharded)",
                    "    ForwardByRows(shards, batch, steps, state);",
                    "else " + Here);
            }
        }

        /// <summary>What a backward (or a loss that reads the layers' states) calls first.</summary>
        private string UnshardCall => SplitsInference ? "Unshard(); // a Forward split by rows left the layers' buffers in its shards" : "";

        private void EmitInferenceByRows()
        {
            if (!SplitsInference)
                return;
            string siteCopies = Lines([.. Buffers.Where(b => b.Owner == BufferOwner.Model && b.InShard == BufferInShard.Parents && b.Allocation is null)
                .Select(b => $"shard.{b.Name} = {b.Name};")]);
            string statistics = _m.HasStatistics ? "shard._batchStatistics = _batchStatistics;" : "";
            string outputs = EveryStep
                ? """
                    for (int t = 0; t < steps; t++)
                    {
                        shard._logits.AsSpan(t * rows * HeadPadded, rows * HeadPadded).CopyTo(_logits.AsSpan((t * batch + first) * HeadPadded));
                        shard._outputs.AsSpan(t * rows * HeadPadded, rows * HeadPadded).CopyTo(_outputs.AsSpan((t * batch + first) * HeadPadded));
                    }
                    """
                : """
                    shard._logits.AsSpan(0, rows * HeadPadded).CopyTo(_logits.AsSpan(first * HeadPadded));
                    shard._outputs.AsSpan(0, rows * HeadPadded).CopyTo(_outputs.AsSpan(first * HeadPadded));
                    """;
            _w.Lines($$"""
                // ---- Inference split by rows: each of the pool's threads runs whole rows through every layer ----

                private {{_m.Name}}[]? _shards;
                private ShardWork? _shardWork;
                // Whether the last Forward ran on shards: its outputs are here, its layers' states in the shards.
                private bool _sharded;

                /// <summary>True (the default): an inference <see cref="Forward"/> (Options.Training false) on a pool of
                /// several threads gives each thread whole rows of the batch, groups of 4, to run through every layer and the
                /// head in buffers of its own (shards, allocated by the first such call on a pool of this many threads: the
                /// forward's buffers for their rows), from and to their rows of a state if one is given, with no barrier per
                /// step: the same bits as on one thread, each row computed by the same kind of register tile as there. False:
                /// such a Forward splits each product and each step by units, as a training Forward does. A backward after
                /// a Forward split by rows (or a training-mode loss with activation penalties) first runs that Forward again
                /// on this model's own buffers, with the parameters as they are then: change none in between.</summary>
                public bool SplitsInferenceByRows { get; set; } = true;

                /// <summary>Shards an inference Forward of <paramref name="batch"/> rows runs on (1: not split): one group
                /// of 4 rows each at least.</summary>
                private int ShardParts(int batch) =>
                    !SplitsInferenceByRows || _options.Training || _pool is null ? 1 : global::System.Math.Min(_pool.Concurrency, batch / 4);

                {{RowShareMethod}}
                /// <summary>The forward over <paramref name="parts"/> shards at once, each on its own thread.</summary>
                private void ForwardByRows(int parts, int batch, int steps, State? state)
                {
                    int threads = _pool!.Concurrency;
                    if (_shards is null || _shards.Length < threads || _shards[0].BatchCapacity < ShardRows(threads))
                        CreateShards(threads);
                    _shardWork!.Set(parts, batch, steps, state);
                    try
                    {
                        _pool!.Together(parts, _shardWork);
                    }
                    finally
                    {
                        _shardWork.Set(0, 0, 0, null); // no reference to the caller's state after the call
                    }
                }

                /// <summary>The most rows any batch up to the capacity gives a share at <paramref name="threads"/> threads: its
                /// groups of 4, and the last share's rows after the last group.</summary>
                private int ShardRows(int threads) => global::System.Math.Min(BatchCapacity, (BatchCapacity / 4 + threads - 1) / threads * 4 + 3);

                /// <summary>A shard per thread with room for <see cref="ShardRows"/>, and at least as many and as large as the
                /// shards before (a model moved between pools allocates only until it has seen the largest of them).</summary>
                private void CreateShards(int threads)
                {
                    int count = global::System.Math.Max(threads, _shards?.Length ?? 0);
                    int rows = global::System.Math.Max(ShardRows(threads), _shards?[0].BatchCapacity ?? 0);
                    var shards = new {{_m.Name}}[count];
                    for (int i = 0; i < count; i++)
                        shards[i] = new {{_m.Name}}(rows, SequenceCapacity, 0, this);
                    _shards = shards;
                    _shardWork ??= new ShardWork(this);
                }

                /// <summary>Share <paramref name="part"/> of a forward split by rows: its rows' inputs (and initial states)
                /// into its shard, every layer and the head there, their logits and outputs back here (and their final states
                /// into <paramref name="state"/>).</summary>
                private void ForwardShard(int part, int parts, int batch, int steps, State? state)
                {
                    var (first, end) = RowShare(batch, part, parts);
                    int rows = end - first;
                    var shard = _shards![part];
                    // the pass as this Forward began it: its mask sites, its normalization, its lengths
                    {{siteCopies}}
                    {{statistics}}
                    shard._useLengths = _useLengths;
                    if (_useLengths)
                        _lengths.AsSpan(first, rows).CopyTo(shard._lengths);
                    // x: its rows of every step   [steps, rows, InputSize] from [steps, batch, InputSize]
                    for (int t = 0; t < steps; t++)
                        _input.AsSpan((t * batch + first) * InputSize, rows * InputSize).CopyTo(shard._input.AsSpan(t * rows * InputSize));
                    shard.LoadInitialState(rows, state, first);
                    if (_wide) shard.ForwardCore<global::FastRnn.Kernels.Block512>(rows, steps);
                    else shard.ForwardCore<global::FastRnn.Kernels.Block256>(rows, steps);
                    if (state is not null)
                        shard.StoreFinalState(rows, steps, state, first);
                    // its logits and outputs, back among the batch's rows
                    {{outputs}}
                }

                /// <summary>After a Forward split by rows, runs it again on this model's own buffers (the same bits: its
                /// initial states are still in slot 0, loaded before the shards ran), so that every buffer a backward reads
                /// holds it.</summary>
                private void Unshard()
                {
                    if (!_sharded)
                        return;
                    _sharded = false;
                    if (_wide) ForwardCore<global::FastRnn.Kernels.Block512>(_batch, _steps);
                    else ForwardCore<global::FastRnn.Kernels.Block256>(_batch, _steps);
                }

                /// <summary>A forward split by rows: each thread of the pool its share.</summary>
                private sealed class ShardWork({{_m.Name}} model) : global::FastRnn.IParallelWork
                {
                    private int _parts, _batch, _steps;
                    private State? _state;

                    public void Set(int parts, int batch, int steps, State? state) => (_parts, _batch, _steps, _state) = (parts, batch, steps, state);

                    public void Run(int part) => model.ForwardShard(part, _parts, _batch, _steps, _state);
                }

                """);
        }
    }
}
