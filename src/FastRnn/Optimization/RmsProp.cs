using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using FastRnn.Kernels;

namespace FastRnn;

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
