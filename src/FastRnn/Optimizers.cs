using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace FastRnn;

/// <summary>An optimizer updates a model's parameter arena from its gradient arena in one fused, vectorized pass,
/// keeping its state in arenas of the same layout (allocated once, at construction).</summary>
public abstract class Optimizer
{
    private protected readonly IRnnModel Model;
    private protected readonly bool Wide = VectorPath.Use512;

    protected Optimizer(IRnnModel model)
    {
        Model = model;
        if (model.Parameters.Length % Block.Width != 0)
            throw new ArgumentException($"A parameter arena must be a whole number of {Block.Width}-float blocks; it has {model.Parameters.Length} floats.");
    }

    /// <summary>Updates done so far.</summary>
    public long Steps { get; private protected set; }

    public float LearningRate { get; set; }

    /// <summary>Applies one update from the current gradients.</summary>
    public abstract void Step();

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
    public float WeightDecay { get; set; }
    public float Dampening { get; }

    public override void Step()
    {
        if (Wide) Update<Block512>(); else Update<Block256>();
        Steps++;
    }

    private void Update<T>() where T : struct, IBlock<T>
    {
        Span<float> p = Model.Parameters;
        Span<float> g = Model.Gradients;
        ref float p0 = ref MemoryMarshal.GetReference(p);
        ref float g0 = ref MemoryMarshal.GetReference(g);
        ref float b0 = ref MemoryMarshal.GetArrayDataReference(_momentum);
        T lr = T.Create(LearningRate), wd = T.Create(WeightDecay), mu = T.Create(Momentum), keep = T.Create(1f - Dampening);
        bool first = Steps == 0, hasMomentum = Momentum != 0;
        for (int i = 0; i < p.Length; i += Block.Width)
        {
            T pv = T.Load(in Unsafe.Add(ref p0, i));
            T d = T.MultiplyAdd(wd, pv, T.Load(in Unsafe.Add(ref g0, i)));
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

    public float Beta1 { get; }
    public float Beta2 { get; }
    public float Epsilon { get; }
    public float WeightDecay { get; set; }
    public bool Decoupled { get; }

    public override void Step()
    {
        Steps++;
        if (Wide) Update<Block512>(); else Update<Block256>();
    }

    private void Update<T>() where T : struct, IBlock<T>
    {
        Span<float> p = Model.Parameters;
        Span<float> g = Model.Gradients;
        ref float p0 = ref MemoryMarshal.GetReference(p);
        ref float g0 = ref MemoryMarshal.GetReference(g);
        ref float m0 = ref MemoryMarshal.GetArrayDataReference(_m);
        ref float v0 = ref MemoryMarshal.GetArrayDataReference(_v);
        double correction1 = 1 - Math.Pow(Beta1, Steps);
        double correction2 = 1 - Math.Pow(Beta2, Steps);
        T stepSize = T.Create((float)(LearningRate / correction1));
        T inverseRootCorrection2 = T.Create((float)(1 / Math.Sqrt(correction2)));
        T b1 = T.Create(Beta1), b2 = T.Create(Beta2), c1 = T.Create(1 - Beta1), c2 = T.Create(1 - Beta2), eps = T.Create(Epsilon);
        T coupled = T.Create(Decoupled ? 0f : WeightDecay);
        T shrink = T.Create(Decoupled ? 1f - LearningRate * WeightDecay : 1f);
        for (int i = 0; i < p.Length; i += Block.Width)
        {
            T pv = T.Load(in Unsafe.Add(ref p0, i));
            T gv = T.MultiplyAdd(coupled, pv, T.Load(in Unsafe.Add(ref g0, i)));
            T m = T.MultiplyAdd(b1, T.Load(in Unsafe.Add(ref m0, i)), c1 * gv);
            T v = T.MultiplyAdd(b2, T.Load(in Unsafe.Add(ref v0, i)), c2 * gv * gv);
            T.Store(ref Unsafe.Add(ref m0, i), m);
            T.Store(ref Unsafe.Add(ref v0, i), v);
            T denominator = T.MultiplyAdd(T.Sqrt(v), inverseRootCorrection2, eps);
            T.Store(ref Unsafe.Add(ref p0, i), pv * shrink - stepSize * m / denominator);
        }
    }
}
