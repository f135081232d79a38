namespace FastRnn.Kernels;

/// <summary>The row loop of <see cref="LossKernels"/>: an activation or a loss over rows [start, end), on the calling
/// thread or split by rows across a <see cref="ComputePool"/>. A loss's rows each sum their own terms; on the pool each
/// part stores its rows' sums and the caller adds them in row order, exactly the order of one thread.</summary>
internal static unsafe class HeadRows
{
    /// <summary>What is done to each row.</summary>
    public enum Kind { Identity, Sigmoid, Softmax, SquaredError, SquaredErrorOfSigmoid, BinaryCrossEntropy, SoftmaxCrossEntropy }

    /// <summary>Runs <paramref name="kind"/> over every row and returns the sum of the rows' loss terms (0 for an
    /// activation).</summary>
    public static double Run(ComputePool? pool, Kind kind, ReadOnlySpan<float> logits, ReadOnlySpan<float> outputs,
        int stride, int rows, int width, ReadOnlySpan<float> targets, ReadOnlySpan<int> classes, Span<float> dLogits,
        float scale = 0f, ReadOnlySpan<float> weights = default, RealRows real = default)
    {
        int parts = InterleavedKernels.PartsFor(pool, rows, (long)rows * width);
        fixed (float* pz = logits, py = outputs, pt = targets, pd = dLogits, pw = weights)
        fixed (int* pc = classes, pl = real.Lengths)
        {
            var work = Work.ForThisThread;
            work.Set(kind, pz, py, stride, width, pt, pc, pd, scale, rows, Math.Max(parts, 1), pw, weights.Length, pl, real.Lengths.Length);
            if (parts <= 1)
                return work.Rows(0, rows, null);
            double[] sums = work.RowSums(rows);
            pool!.For(parts, work);
            double sum = 0;
            for (int r = 0; r < rows; r++)
                sum += sums[r];
            return sum;
        }
    }

    /// <summary>One dispatch's arguments (pinned for the call) and its split: part i takes rows
    /// [i·rows/parts, (i+1)·rows/parts). One instance per calling thread, reused.</summary>
    private sealed class Work : IParallelWork
    {
        [ThreadStatic]
#pragma warning disable IDE1006 // a thread-static field is t_camelCase (the naming rules cannot tell it from a static one)
        private static Work? t_work;
#pragma warning restore IDE1006

        private Kind _kind;
        private float* _z, _y, _t, _d, _weights;
        private int* _classes, _lengths;
        private int _batch;
        private int _stride, _width, _rows, _parts, _weightCount;
        private float _scale;
        private double[] _sums = [];

        public static Work ForThisThread => t_work ??= new Work();

        public void Set(Kind kind, float* z, float* y, int stride, int width, float* t, int* classes, float* d, float scale, int rows, int parts,
            float* weights, int weightCount, int* lengths, int batch)
        {
            _lengths = lengths;
            _batch = batch;
            _weights = weights;
            _weightCount = weightCount;
            _kind = kind;
            _z = z;
            _y = y;
            _t = t;
            _classes = classes;
            _d = d;
            (_stride, _width, _scale, _rows, _parts) = (stride, width, scale, rows, parts);
        }

        /// <summary>The per-row sums of a split run (grown once to the largest row count seen).</summary>
        public double[] RowSums(int rows)
        {
            if (_sums.Length < rows)
                _sums = new double[rows];
            return _sums;
        }

        public void Run(int index)
        {
            int start = (int)((long)_rows * index / _parts), end = (int)((long)_rows * (index + 1) / _parts);
            Rows(start, end, _sums);
        }

        /// <summary>Rows [start, end): writes each row's loss into <paramref name="sums"/> when given, and returns their
        /// sum in row order.</summary>
        public double Rows(int start, int end, double[]? sums)
        {
            double total = 0;
            for (int r = start; r < end; r++)
            {
                var z = new ReadOnlySpan<float>(_z + (long)r * _stride, _z is null ? 0 : _width);
                var y = new Span<float>(_y + (long)r * _stride, _width);
                double row = 0;
                // a padded step counts in no loss and gets no gradient
                if (_kind >= Kind.SquaredError && !Real.IsReal(r))
                {
                    Gradient(r).Clear();
                    if (sums is not null)
                        sums[r] = 0;
                    continue;
                }
                switch (_kind)
                {
                    case Kind.Identity:
                        z.CopyTo(y);
                        break;
                    case Kind.Sigmoid:
                        System.Numerics.Tensors.TensorPrimitives.Sigmoid(z, y);
                        break;
                    case Kind.Softmax:
                        LossKernels.SoftmaxRow(z, y);
                        break;
                    case Kind.SquaredError:
                    case Kind.SquaredErrorOfSigmoid:
                        row = LossKernels.SquaredErrorRow(y, Targets(r), Gradient(r), _scale, _kind == Kind.SquaredErrorOfSigmoid);
                        break;
                    case Kind.BinaryCrossEntropy:
                        row = LossKernels.BinaryCrossEntropyRow(z, y, Targets(r), Gradient(r), _scale, Weights);
                        break;
                    case Kind.SoftmaxCrossEntropy:
                        row = LossKernels.SoftmaxCrossEntropyRow(z, y, _classes[r], Gradient(r), _scale, Weights);
                        break;
                }
                if (sums is not null)
                    sums[r] = row;
                total += row;
            }
            return total;
        }

        private ReadOnlySpan<float> Targets(int row) => new(_t + (long)row * _width, _width);

        /// <summary>Which rows are real steps (every row without lengths).</summary>
        private RealRows Real => new(new ReadOnlySpan<int>(_lengths, _batch));

        /// <summary>The loss's class or positive weights (empty: none).</summary>
        private ReadOnlySpan<float> Weights => new(_weights, _weightCount);

        private Span<float> Gradient(int row) => new(_d + (long)row * _stride, _width);
    }
}
