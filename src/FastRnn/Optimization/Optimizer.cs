using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using FastRnn.Kernels;

namespace FastRnn;

/// <summary>An optimizer updates a model's parameter arena from its gradient arena in one fused, vectorized pass,
/// keeping its state in arenas of the same layout (allocated once, at construction).</summary>
public abstract class Optimizer
{
    private protected readonly IRnnModel Model;
    private protected readonly bool Wide = VectorPath.Use512;
    // The arena as ranges that clipping scales separately: one per named tensor (every tensor starts on a block), or the
    // whole arena for a model without tensors. Gaps between tensors hold zero padding; they join the range before them.
    private readonly int[] _rangeStart;
    private readonly double[] _rangeSquares;
    private readonly float[] _rangeScale;
    private readonly (float L1, float L2)[] _rangePenalty;
    // The tensor that starts each range (null for leading padding): its role selects its penalty and constraint.
    private readonly ParameterTensor?[] _rangeTensor;
    // Per range: whether its gradient was finite, and the scratch of its constraint (one each, so ranges can be updated
    // on different threads at once).
    private readonly bool[] _rangeFinite;
    private readonly double[][] _constraintScratch;
    private readonly ScanWork _scan;
    private readonly UpdateWork _update;

    protected Optimizer(IRnnModel model)
    {
        Model = model;
        if (model.Parameters.Length % Block.Width != 0)
            throw new ArgumentException($"A parameter arena must be a whole number of {Block.Width}-float blocks; it has {model.Parameters.Length} floats.");
        var starts = model.Tensors.Select(t => t.Offset).Where(o => o > 0).Prepend(0).Distinct().Order().ToList();
        if (starts.Any(o => o % Block.Width != 0))
            throw new ArgumentException("Every tensor of the model must start on a block boundary of the arena.");
        starts.Add(model.Parameters.Length);
        _rangeStart = [.. starts];
        _rangeSquares = new double[starts.Count - 1];
        _rangeScale = new float[starts.Count - 1];
        _rangePenalty = new (float, float)[starts.Count - 1];
        _rangeTensor = new ParameterTensor?[starts.Count - 1];
        for (int r = 0; r < _rangeTensor.Length; r++)
            _rangeTensor[r] = model.Tensors.FirstOrDefault(t => t.Offset == _rangeStart[r]);
        _rangeFinite = new bool[starts.Count - 1];
        _constraintScratch = [.. _rangeTensor.Select(t => new double[t is null ? 0 : Constraints.ScratchLength(t)])];
        _scan = new ScanWork(this);
        _update = new UpdateWork(this);
    }

    /// <summary>Threads that share each update (null, the default: the calling thread alone). The arena's ranges — one
    /// per tensor — are scanned and updated in parallel, each range by one thread in the order one thread would, and the
    /// global norm is summed over the ranges in their order: the weights and the optimizer state are bit-identical at
    /// any thread count.</summary>
    public ComputePool? Pool { get; set; }

    /// <summary>Updates done so far (skipped steps not counted).</summary>
    public long Steps { get; private protected set; }

    public float LearningRate { get; set; }

    /// <summary>Clipping and the non-finite policy, applied inside every <see cref="Step"/>.</summary>
    public GradientClipping Clipping { get; } = new();

    /// <summary>The global gradient norm the last step saw (after value and per-tensor clipping, before global
    /// clipping: what PyTorch's <c>clip_grad_norm_</c> returns). Non-finite when that step was refused.</summary>
    public float LastGradientNorm { get; private set; }

    /// <summary>Steps skipped under <see cref="NonFiniteGradientPolicy.SkipStep"/>.</summary>
    public long SkippedSteps { get; private set; }

    /// <summary>Applies one update from the current gradients, clipped as <see cref="Clipping"/> says. Returns false
    /// when a non-finite gradient made it skip the step (see <see cref="GradientClipping.NonFinite"/>).</summary>
    public bool Step()
    {
        // One read pass over the gradients: each range's sum of squares (after value clipping) and a non-finite check.
        // The L1/L2 penalties' gradient (l1·sign(w) + 2·l2·w) is part of the gradient: clipping sees it too.
        float bound = Clipping.MaxValue > 0 ? Clipping.MaxValue : float.PositiveInfinity;
        for (int r = 0; r < _rangeSquares.Length; r++)
            _rangePenalty[r] = _rangeTensor[r] is { } tensor ? Model.PenaltyOf(tensor.Role) : default;
        _scan.Bound = bound;
        ForEachRange(_scan);
        bool finite = true;
        for (int r = 0; r < _rangeFinite.Length; r++)
            finite &= _rangeFinite[r];
        double total = 0;
        for (int r = 0; r < _rangeSquares.Length; r++)
        {
            double norm = Math.Sqrt(_rangeSquares[r]);
            float scale = Clipping.MaxTensorNorm > 0 && norm > Clipping.MaxTensorNorm ? (float)(Clipping.MaxTensorNorm / (norm + 1e-6)) : 1f;
            _rangeScale[r] = scale;
            total += _rangeSquares[r] * scale * scale;
        }
        total = Math.Sqrt(total);
        LastGradientNorm = finite ? (float)total : float.NaN;
        if (!finite)
        {
            if (Clipping.NonFinite == NonFiniteGradientPolicy.Throw)
                throw new NonFiniteGradientException($"The gradient holds NaN or infinity (step {Steps + 1}); no weight or optimizer state was changed.");
            SkippedSteps++;
            return false;
        }
        if (Clipping.MaxGlobalNorm > 0 && total > Clipping.MaxGlobalNorm)
        {
            float global = (float)(Clipping.MaxGlobalNorm / (total + 1e-6));
            for (int r = 0; r < _rangeScale.Length; r++)
                _rangeScale[r] *= global;
        }
        _update.Bound = bound;
        BeginStep();
        ForEachRange(_update);
        EndStep();
        Steps++;
        return true;
    }

    /// <summary>Runs <paramref name="work"/> for every range: on <see cref="Pool"/>, or in order on this thread.</summary>
    private void ForEachRange(IParallelWork work)
    {
        if (Pool is { Threads: > 1 } pool)
            pool.For(_rangeScale.Length, work);
        else
            for (int r = 0; r < _rangeScale.Length; r++)
                work.Run(r);
    }

    /// <summary>Range r's sum of squares (after value clipping and with its penalty's gradient) and finiteness.</summary>
    private void ScanRange(int r, float bound)
    {
        var (start, end) = (_rangeStart[r], _rangeStart[r + 1]);
        bool finite = true;
        _rangeSquares[r] = SumOfSquares(Model.Gradients[start..end], Model.Parameters[start..end], _rangePenalty[r], bound, ref finite);
        _rangeFinite[r] = finite;
    }

    /// <summary>Range r's update, clipped and penalized, and its tensor's constraint.</summary>
    private void UpdateRange(int r, float bound)
    {
        var transform = new GradientTransform(_rangeScale[r], bound, _rangePenalty[r]);
        var tensor = _rangeTensor[r];
        var constraint = tensor is null ? default : Model.ConstraintOf(tensor.Role);
        if (constraint.Kind == ConstraintKind.None || tensor is null)
            Update(_rangeStart[r], _rangeStart[r + 1], transform);
        else if (tensor.Storage == TensorStorage.InterleavedWeight && Constraints.IsBlockLocal(tensor, constraint))
        {
            // Constrain each block of 16 units right after updating it, while it is still in cache: the block holds
            // every incoming weight of its units. The range's tail (padding after the tensor) is only updated.
            int length = Constraints.BlockLength(tensor);
            for (int b = 0; b < tensor.Shape.Blocks; b++)
            {
                Update(tensor.Offset + b * length, tensor.Offset + (b + 1) * length, transform);
                Constraints.ApplyBlock(Model.Parameters, tensor, constraint, b);
            }
            if (tensor.Offset + tensor.StorageLength < _rangeStart[r + 1])
                Update(tensor.Offset + tensor.StorageLength, _rangeStart[r + 1], transform);
        }
        else
        {
            Update(_rangeStart[r], _rangeStart[r + 1], transform);
            Constraints.Apply(Model.Parameters, tensor, constraint, _constraintScratch[r]);
        }
    }

    /// <summary>The gradient scan of one range, as pool work (allocated once).</summary>
    private sealed class ScanWork(Optimizer optimizer) : IParallelWork
    {
        public float Bound;

        public void Run(int index) => optimizer.ScanRange(index, Bound);
    }

    /// <summary>The update of one range, as pool work (allocated once).</summary>
    private sealed class UpdateWork(Optimizer optimizer) : IParallelWork
    {
        public float Bound;

        public void Run(int index) => optimizer.UpdateRange(index, Bound);
    }

    /// <summary>What an update does to the gradient of one range: add the penalty's gradient, clamp, scale.</summary>
    private protected readonly record struct GradientTransform(float Scale, float Bound, (float L1, float L2) Penalty)
    {
        public bool Penalized => Penalty.L1 != 0f || Penalty.L2 != 0f;
    }

    /// <summary>Updates arena elements [start, end) from the gradient <c>clamp(g + l1·sign(w) + 2·l2·w, ±bound)·scale</c>;
    /// <see cref="Steps"/> still counts the updates before this one.</summary>
    private protected abstract void Update<T>(int start, int end, GradientTransform transform) where T : struct, IBlock<T>;

    // ---- state for checkpoints ----

    /// <summary>The optimizer's state arrays, in the arena's layout, by name (a checkpoint saves and restores them).</summary>
    internal virtual IEnumerable<(string Name, float[] Values)> StateArrays() => [];

    /// <summary>The optimizer's scalar state as invariant text (steps, learning rate, skipped steps, and its own).</summary>
    internal virtual void WriteScalars(IDictionary<string, string> scalars)
    {
        scalars["steps"] = Steps.ToString(System.Globalization.CultureInfo.InvariantCulture);
        scalars["learning_rate"] = LearningRate.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
        scalars["skipped_steps"] = SkippedSteps.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Restores what <see cref="WriteScalars"/> wrote (the caller has validated that every key is present).</summary>
    internal virtual void ReadScalars(IReadOnlyDictionary<string, string> scalars)
    {
        Steps = long.Parse(scalars["steps"], System.Globalization.CultureInfo.InvariantCulture);
        LearningRate = float.Parse(scalars["learning_rate"], System.Globalization.CultureInfo.InvariantCulture);
        SkippedSteps = long.Parse(scalars["skipped_steps"], System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Called once a step is certain to update (its gradient is finite), before any range is.</summary>
    private protected virtual void BeginStep()
    {
    }

    /// <summary>Called once every range of a step is updated, before <see cref="Steps"/> counts it.</summary>
    private protected virtual void EndStep()
    {
    }

    private void Update(int start, int end, GradientTransform transform)
    {
        if (Wide) Update<Block512>(start, end, transform); else Update<Block256>(start, end, transform);
    }

    /// <summary>The gradient block at <paramref name="g"/> as the update uses it (see <see cref="Update"/>), for the
    /// weights <paramref name="w"/>. The penalty terms are skipped per range, not per element, when they are 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private protected static T Clipped<T>(in float g, T w, in GradientTransform transform, T scale, T bound, T negativeBound)
        where T : struct, IBlock<T>
    {
        T gv = T.Load(in g);
        if (transform.Penalized)
            gv = T.MultiplyAdd(T.Create(2f * transform.Penalty.L2), w, T.MultiplyAdd(T.Create(transform.Penalty.L1), T.Sign(w), gv));
        return T.Min(T.Max(gv, negativeBound), bound) * scale;
    }

    /// <summary>Σ clamp(v, ±bound)² in double (no overflow, little rounding), and whether every v is finite: x − x is 0
    /// for a finite x and NaN for NaN or ±∞, so a running sum of those stays 0 only if every element is finite.</summary>
    private static double SumOfSquares(ReadOnlySpan<float> values, ReadOnlySpan<float> weights, (float L1, float L2) penalty,
        float bound, ref bool finite)
    {
        ref float v0 = ref MemoryMarshal.GetReference(values);
        ref float w0 = ref MemoryMarshal.GetReference(weights);
        bool penalized = penalty.L1 != 0f || penalty.L2 != 0f;
        var l1 = System.Runtime.Intrinsics.Vector256.Create(penalty.L1);
        var twoL2 = System.Runtime.Intrinsics.Vector256.Create(2f * penalty.L2);
        var high = System.Runtime.Intrinsics.Vector256.Create(bound);
        var low = -high;
        var probe = System.Runtime.Intrinsics.Vector256<float>.Zero;
        var sum0 = System.Runtime.Intrinsics.Vector256<double>.Zero;
        var sum1 = System.Runtime.Intrinsics.Vector256<double>.Zero;
        int i = 0;
        for (; i <= values.Length - 8; i += 8)
        {
            var v = System.Runtime.Intrinsics.Vector256.LoadUnsafe(ref v0, (nuint)i);
            probe += v - v;
            if (penalized)
            {
                var w = System.Runtime.Intrinsics.Vector256.LoadUnsafe(ref w0, (nuint)i);
                v = System.Runtime.Intrinsics.Vector256.FusedMultiplyAdd(twoL2, w, System.Runtime.Intrinsics.Vector256.FusedMultiplyAdd(l1, Block256.Sign(w), v));
            }
            var c = System.Runtime.Intrinsics.Vector256.Min(System.Runtime.Intrinsics.Vector256.Max(v, low), high);
            var (lo, hi) = System.Runtime.Intrinsics.Vector256.Widen(c);
            sum0 = System.Runtime.Intrinsics.Vector256.FusedMultiplyAdd(lo, lo, sum0);
            sum1 = System.Runtime.Intrinsics.Vector256.FusedMultiplyAdd(hi, hi, sum1);
        }
        double sum = System.Runtime.Intrinsics.Vector256.Sum(sum0 + sum1);
        float tail = System.Runtime.Intrinsics.Vector256.Sum(probe);
        for (; i < values.Length; i++)
        {
            float v = Unsafe.Add(ref v0, i);
            tail += v - v;
            if (penalized)
            {
                float w = Unsafe.Add(ref w0, i);
                v = MathF.FusedMultiplyAdd(2f * penalty.L2, w, MathF.FusedMultiplyAdd(penalty.L1, MathF.Sign(w), v));
            }
            double c = Math.Clamp(v, -bound, bound);
            sum += c * c;
        }
        finite &= tail == 0;
        return sum;
    }

    private protected static void CheckRate(float value, string name)
    {
        if (!float.IsFinite(value) || value < 0)
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be finite and non-negative.");
    }
}
