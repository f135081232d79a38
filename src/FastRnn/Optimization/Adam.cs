using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using FastRnn.Kernels;

namespace FastRnn;

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
