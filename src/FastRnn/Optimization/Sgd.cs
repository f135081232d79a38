using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using FastRnn.Kernels;

namespace FastRnn;

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
