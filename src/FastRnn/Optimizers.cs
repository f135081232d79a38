using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

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
    private readonly double[] _constraintScratch;

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
        _constraintScratch = new double[model.Tensors.Select(Constraints.ScratchLength).DefaultIfEmpty(1).Max()];
    }

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
        ReadOnlySpan<float> g = Model.Gradients;
        ReadOnlySpan<float> w = Model.Parameters;
        float bound = Clipping.MaxValue > 0 ? Clipping.MaxValue : float.PositiveInfinity;
        bool finite = true;
        for (int r = 0; r < _rangeSquares.Length; r++)
        {
            _rangePenalty[r] = _rangeTensor[r] is { } tensor ? Model.PenaltyOf(tensor.Role) : default;
            var (start, end) = (_rangeStart[r], _rangeStart[r + 1]);
            _rangeSquares[r] = SumOfSquares(g[start..end], w[start..end], _rangePenalty[r], bound, ref finite);
        }
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
        for (int r = 0; r < _rangeScale.Length; r++)
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
                Constraints.Apply(Model.Parameters, tensor, constraint, _constraintScratch);
            }
        }
        EndStep();
        Steps++;
        return true;
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

/// <summary>Stochastic gradient descent as PyTorch's <c>torch.optim.SGD</c>: coupled weight decay
/// (<c>g += wd·p</c>), momentum <c>buf = μ·buf + (1 − dampening)·g</c> (the first step takes <c>buf = g</c>),
/// optional Nesterov (<c>g += μ·buf</c>), then <c>p −= lr·g</c>.</summary>
public sealed class Sgd : Optimizer
{
    private readonly float[] _momentum;

    public Sgd(IRnnModel model, float learningRate, float momentum = 0f, bool nesterov = false, float weightDecay = 0f, float dampening = 0f)
        : base(model)
    {
        CheckRate(learningRate, nameof(learningRate));
        CheckRate(momentum, nameof(momentum));
        CheckRate(weightDecay, nameof(weightDecay));
        if (nesterov && (momentum <= 0 || dampening != 0))
            throw new ArgumentException("Nesterov momentum needs a positive momentum and zero dampening (as in PyTorch).");
        LearningRate = learningRate;
        Momentum = momentum;
        Nesterov = nesterov;
        WeightDecay = weightDecay;
        Dampening = dampening;
        _momentum = new float[model.Parameters.Length];
    }

    public float Momentum { get; }
    public bool Nesterov { get; }

    internal override IEnumerable<(string Name, float[] Values)> StateArrays() => [("momentum", _momentum)];
    public float WeightDecay { get; set; }
    public float Dampening { get; }

    private protected override void Update<T>(int start, int end, GradientTransform transform)
    {
        Span<float> p = Model.Parameters;
        Span<float> g = Model.Gradients;
        ref float p0 = ref MemoryMarshal.GetReference(p);
        ref float g0 = ref MemoryMarshal.GetReference(g);
        ref float b0 = ref MemoryMarshal.GetArrayDataReference(_momentum);
        T lr = T.Create(LearningRate), wd = T.Create(WeightDecay), mu = T.Create(Momentum), keep = T.Create(1f - Dampening);
        T s = T.Create(transform.Scale), high = T.Create(transform.Bound), low = T.Create(-transform.Bound);
        bool first = Steps == 0, hasMomentum = Momentum != 0;
        for (int i = start; i < end; i += Block.Width)
        {
            T pv = T.Load(in Unsafe.Add(ref p0, i));
            T d = T.MultiplyAdd(wd, pv, Clipped(in Unsafe.Add(ref g0, i), pv, in transform, s, high, low));
            if (hasMomentum)
            {
                T buf = first ? d : T.MultiplyAdd(mu, T.Load(in Unsafe.Add(ref b0, i)), keep * d);
                T.Store(ref Unsafe.Add(ref b0, i), buf);
                d = Nesterov ? T.MultiplyAdd(mu, buf, d) : buf;
            }
            T.Store(ref Unsafe.Add(ref p0, i), pv - lr * d);
        }
    }
}

/// <summary>Adam as PyTorch's <c>torch.optim.Adam</c> (coupled weight decay: <c>g += wd·p</c>) or, with
/// <c>decoupled: true</c>, <c>torch.optim.AdamW</c> (<c>p *= 1 − lr·wd</c> before the step).
/// <c>m = β1·m + (1−β1)·g; v = β2·v + (1−β2)·g²; p −= (lr / (1−β1^t))·m / (√v / √(1−β2^t) + ε)</c>.</summary>
public sealed class Adam : Optimizer
{
    private readonly float[] _m;
    private readonly float[] _v;

    public Adam(IRnnModel model, float learningRate = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f, float epsilon = 1e-8f,
        float weightDecay = 0f, bool decoupled = false)
        : base(model)
    {
        CheckRate(learningRate, nameof(learningRate));
        CheckRate(epsilon, nameof(epsilon));
        CheckRate(weightDecay, nameof(weightDecay));
        if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1))
            throw new ArgumentOutOfRangeException(nameof(beta1), $"Adam's betas must lie in [0, 1); got {beta1} and {beta2}.");
        LearningRate = learningRate;
        Beta1 = beta1;
        Beta2 = beta2;
        Epsilon = epsilon;
        WeightDecay = weightDecay;
        Decoupled = decoupled;
        _m = new float[model.Parameters.Length];
        _v = new float[model.Parameters.Length];
    }

    internal override IEnumerable<(string Name, float[] Values)> StateArrays() => [("m", _m), ("v", _v)];

    public float Beta1 { get; }
    public float Beta2 { get; }
    public float Epsilon { get; }
    public float WeightDecay { get; set; }
    public bool Decoupled { get; }

    private protected override void Update<T>(int start, int end, GradientTransform transform)
    {
        Span<float> p = Model.Parameters;
        Span<float> g = Model.Gradients;
        ref float p0 = ref MemoryMarshal.GetReference(p);
        ref float g0 = ref MemoryMarshal.GetReference(g);
        ref float m0 = ref MemoryMarshal.GetArrayDataReference(_m);
        ref float v0 = ref MemoryMarshal.GetArrayDataReference(_v);
        long step = Steps + 1; // this update's number (Step counts it once every range is done)
        double correction1 = 1 - Math.Pow(Beta1, step);
        double correction2 = 1 - Math.Pow(Beta2, step);
        T stepSize = T.Create((float)(LearningRate / correction1));
        T inverseRootCorrection2 = T.Create((float)(1 / Math.Sqrt(correction2)));
        T b1 = T.Create(Beta1), b2 = T.Create(Beta2), c1 = T.Create(1 - Beta1), c2 = T.Create(1 - Beta2), eps = T.Create(Epsilon);
        T coupled = T.Create(Decoupled ? 0f : WeightDecay);
        T shrink = T.Create(Decoupled ? 1f - LearningRate * WeightDecay : 1f);
        T s = T.Create(transform.Scale), high = T.Create(transform.Bound), low = T.Create(-transform.Bound);
        for (int i = start; i < end; i += Block.Width)
        {
            T pv = T.Load(in Unsafe.Add(ref p0, i));
            T gv = T.MultiplyAdd(coupled, pv, Clipped(in Unsafe.Add(ref g0, i), pv, in transform, s, high, low));
            T m = T.MultiplyAdd(b1, T.Load(in Unsafe.Add(ref m0, i)), c1 * gv);
            T v = T.MultiplyAdd(b2, T.Load(in Unsafe.Add(ref v0, i)), c2 * gv * gv);
            T.Store(ref Unsafe.Add(ref m0, i), m);
            T.Store(ref Unsafe.Add(ref v0, i), v);
            T denominator = T.MultiplyAdd(T.Sqrt(v), inverseRootCorrection2, eps);
            T.Store(ref Unsafe.Add(ref p0, i), pv * shrink - stepSize * m / denominator);
        }
    }
}

/// <summary>RMSprop as PyTorch's <c>torch.optim.RMSprop</c>: coupled weight decay (<c>g += wd·p</c>),
/// <c>s = α·s + (1 − α)·g²</c>; centered: <c>ḡ = α·ḡ + (1 − α)·g</c>, <c>d = √(s − ḡ²) + ε</c>, else <c>d = √s + ε</c>;
/// with momentum <c>b = μ·b + g/d; p −= lr·b</c>, else <c>p −= lr·g/d</c>.</summary>
public sealed class RmsProp : Optimizer
{
    private readonly float[] _square;
    private readonly float[]? _mean;
    private readonly float[]? _momentum;

    public RmsProp(IRnnModel model, float learningRate = 1e-2f, float alpha = 0.99f, float epsilon = 1e-8f, float weightDecay = 0f,
        float momentum = 0f, bool centered = false)
        : base(model)
    {
        CheckRate(learningRate, nameof(learningRate));
        CheckRate(epsilon, nameof(epsilon));
        CheckRate(weightDecay, nameof(weightDecay));
        CheckRate(momentum, nameof(momentum));
        if (!(alpha >= 0 && alpha <= 1))
            throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "RMSprop's alpha must lie in [0, 1].");
        LearningRate = learningRate;
        Alpha = alpha;
        Epsilon = epsilon;
        WeightDecay = weightDecay;
        Momentum = momentum;
        Centered = centered;
        _square = new float[model.Parameters.Length];
        _mean = centered ? new float[model.Parameters.Length] : null;
        _momentum = momentum > 0 ? new float[model.Parameters.Length] : null;
    }

    public float Alpha { get; }
    public float Epsilon { get; }
    public float WeightDecay { get; set; }
    public float Momentum { get; }
    public bool Centered { get; }

    internal override IEnumerable<(string Name, float[] Values)> StateArrays()
    {
        yield return ("square_average", _square);
        if (_mean is not null)
            yield return ("gradient_average", _mean);
        if (_momentum is not null)
            yield return ("momentum", _momentum);
    }

    private protected override void Update<T>(int start, int end, GradientTransform transform)
    {
        Span<float> p = Model.Parameters;
        ref float p0 = ref MemoryMarshal.GetReference(p);
        ref float g0 = ref MemoryMarshal.GetReference(Model.Gradients);
        ref float s0 = ref MemoryMarshal.GetArrayDataReference(_square);
        T lr = T.Create(LearningRate), wd = T.Create(WeightDecay), a = T.Create(Alpha), c = T.Create(1f - Alpha), eps = T.Create(Epsilon);
        T mu = T.Create(Momentum);
        T scale = T.Create(transform.Scale), high = T.Create(transform.Bound), low = T.Create(-transform.Bound);
        for (int i = start; i < end; i += Block.Width)
        {
            T pv = T.Load(in Unsafe.Add(ref p0, i));
            T gv = T.MultiplyAdd(wd, pv, Clipped(in Unsafe.Add(ref g0, i), pv, in transform, scale, high, low));
            T s = T.MultiplyAdd(a, T.Load(in Unsafe.Add(ref s0, i)), c * gv * gv);
            T.Store(ref Unsafe.Add(ref s0, i), s);
            T d;
            if (_mean is not null)
            {
                ref float m = ref _mean[i];
                T mean = T.MultiplyAdd(a, T.Load(in m), c * gv);
                T.Store(ref m, mean);
                d = T.Sqrt(s - mean * mean) + eps;
            }
            else
                d = T.Sqrt(s) + eps;
            if (_momentum is not null)
            {
                ref float b = ref _momentum[i];
                T buffer = T.MultiplyAdd(mu, T.Load(in b), gv / d);
                T.Store(ref b, buffer);
                T.Store(ref Unsafe.Add(ref p0, i), pv - lr * buffer);
            }
            else
                T.Store(ref Unsafe.Add(ref p0, i), pv - lr * gv / d);
        }
    }
}

/// <summary>Averaged SGD as PyTorch's <c>torch.optim.ASGD</c>: <c>p ← p·(1 − λ·η) − η·(g + wd·p)</c>, then the average
/// <c>ax ← ax + μ·(p − ax)</c> (<c>ax = p</c> while μ = 1), with <c>η = lr/(1 + λ·lr·t)^α</c> and <c>μ = 1/max(1, t − t0)</c>
/// updated after step t. AWD-LSTM's NT-ASGD switches to it with <c>t0 = 0, λ = 0</c> (see <see cref="NonMonotoneTrigger"/>)
/// and evaluates with the averaged weights (<see cref="UseAverage"/>).</summary>
public sealed class Asgd : Optimizer
{
    private readonly float[] _average;
    private readonly float[] _swap;
    private float _eta;
    private float _mu = 1f;

    public Asgd(IRnnModel model, float learningRate = 1e-2f, float lambda = 1e-4f, float alpha = 0.75f, double t0 = 1e6, float weightDecay = 0f)
        : base(model)
    {
        CheckRate(learningRate, nameof(learningRate));
        CheckRate(lambda, nameof(lambda));
        CheckRate(alpha, nameof(alpha));
        CheckRate(weightDecay, nameof(weightDecay));
        LearningRate = learningRate;
        Lambda = lambda;
        Alpha = alpha;
        T0 = t0;
        WeightDecay = weightDecay;
        _eta = learningRate;
        _average = new float[model.Parameters.Length];
        _swap = new float[model.Parameters.Length];
    }

    public float Lambda { get; }
    public float Alpha { get; }
    public double T0 { get; }
    public float WeightDecay { get; set; }

    internal override IEnumerable<(string Name, float[] Values)> StateArrays() => [("average", _average)];

    internal override void WriteScalars(IDictionary<string, string> scalars)
    {
        base.WriteScalars(scalars);
        scalars["eta"] = _eta.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
        scalars["mu"] = _mu.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
    }

    internal override void ReadScalars(IReadOnlyDictionary<string, string> scalars)
    {
        base.ReadScalars(scalars);
        _eta = float.Parse(scalars["eta"], System.Globalization.CultureInfo.InvariantCulture);
        _mu = float.Parse(scalars["mu"], System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>The averaged weights (<c>ax</c>), in the arena's layout.</summary>
    public ReadOnlySpan<float> Average => _average;

    private protected override void EndStep()
    {
        // PyTorch updates η and μ after the step, with the step's number
        long step = Steps + 1;
        _eta = (float)(LearningRate / Math.Pow(1 + Lambda * LearningRate * step, Alpha));
        _mu = (float)(1 / Math.Max(1, step - T0));
    }

    private protected override void Update<T>(int start, int end, GradientTransform transform)
    {
        ref float p0 = ref MemoryMarshal.GetReference(Model.Parameters);
        ref float g0 = ref MemoryMarshal.GetReference(Model.Gradients);
        ref float a0 = ref MemoryMarshal.GetArrayDataReference(_average);
        T eta = T.Create(_eta), decay = T.Create(1f - Lambda * _eta), wd = T.Create(WeightDecay), mu = T.Create(_mu);
        bool copy = _mu == 1f;
        T scale = T.Create(transform.Scale), high = T.Create(transform.Bound), low = T.Create(-transform.Bound);
        for (int i = start; i < end; i += Block.Width)
        {
            T pv = T.Load(in Unsafe.Add(ref p0, i));
            T gv = T.MultiplyAdd(wd, pv, Clipped(in Unsafe.Add(ref g0, i), pv, in transform, scale, high, low));
            T updated = pv * decay - eta * gv;
            T.Store(ref Unsafe.Add(ref p0, i), updated);
            T average = copy ? updated : T.MultiplyAdd(updated - T.Load(in Unsafe.Add(ref a0, i)), mu, T.Load(in Unsafe.Add(ref a0, i)));
            T.Store(ref Unsafe.Add(ref a0, i), average);
        }
    }

    /// <summary>Puts the averaged weights into the model until the returned scope is disposed (AWD-LSTM evaluates
    /// this way); the current weights are kept aside in a preallocated buffer, so nothing is allocated.</summary>
    public AverageScope UseAverage()
    {
        Model.Parameters.CopyTo(_swap);
        _average.CopyTo(Model.Parameters);
        return new AverageScope(this);
    }

    public readonly struct AverageScope : IDisposable
    {
        private readonly Asgd _owner;
        internal AverageScope(Asgd owner) => _owner = owner;
        public void Dispose() => _owner._swap.CopyTo(_owner.Model.Parameters);
    }
}

/// <summary>AWD-LSTM's non-monotone trigger for NT-ASGD: after each evaluation, switch from SGD to averaged SGD when
/// more than <c>n</c> losses have been logged and the new one is worse than the best of all but the last <c>n</c>
/// (<c>len(logs) &gt; n and loss &gt; min(logs[:-n])</c>); the loss is logged after the check.</summary>
public sealed class NonMonotoneTrigger(int nonMonotone = 5)
{
    private readonly List<double> _logs = [];

    public int NonMonotone { get; } = nonMonotone >= 1 ? nonMonotone : throw new ArgumentOutOfRangeException(nameof(nonMonotone), nonMonotone, "n must be at least 1.");

    /// <summary>True once the trigger has fired.</summary>
    public bool Triggered { get; private set; }

    /// <summary>Logs a validation loss; returns true on the evaluation that fires the switch (once).</summary>
    public bool Observe(double validationLoss)
    {
        bool fire = false;
        if (!Triggered && _logs.Count > NonMonotone)
        {
            double best = double.PositiveInfinity;
            for (int i = 0; i < _logs.Count - NonMonotone; i++)
                best = Math.Min(best, _logs[i]);
            fire = validationLoss > best;
        }
        _logs.Add(validationLoss);
        Triggered |= fire;
        return fire;
    }
}
