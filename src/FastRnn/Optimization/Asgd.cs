using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using FastRnn.Kernels;

namespace FastRnn;

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

    // PyTorch sets η from the learning rate at the first step (its state starts there): a rate set between construction
    // and the first step counts, as when NT-ASGD switches and the next epoch's schedule sets the rate.
    private protected override void BeginStep()
    {
        if (Steps == 0)
            _eta = LearningRate;
    }

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
