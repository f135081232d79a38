using FastRnn.Kernels;
using Xunit;

namespace FastRnn.Tests;

[RnnModel, TokenInput(20, 512), Lstm(512), Gru(64), Head(20, Activation.Softmax), Loss(LossKind.SoftmaxCrossEntropy)]
public partial class QuantizedPoolModel;

/// <summary>
/// Issue 13's quantized models (<c>Quantize</c>, the generated <c>Quantized</c> class), whole models against oracles:
/// <list type="bullet">
/// <item>bfloat16: a bfloat16 model is the float32 model with every weight matrix rounded to bfloat16, run by the
/// float32 code (its products are float32 sums of exactly those weights, in another order) — every cell kind,
/// normalization, zoneout, projection, token input, both heads, batch 1 and 3, both vector widths; and the comparison
/// is shown to discriminate (the unrounded model differs by far more than the tolerance);</item>
/// <item>int8: a scalar reference in double that quantizes as the issue specifies — weights per output row, each
/// product's input per row as it comes, integer sums — for LSTM, GRU and classic GRU layers and the head;</item>
/// <item>Forward is that many Steps; save and load keep every bit; bad files are refused; the float32 model is left
/// as it was.</item>
/// </list>
/// </summary>
public class QuantizedModelTests : TemporaryDirectoryTest
{
    /// <summary>Float32 sums of the same products in another order: within a few units of float32's rounding of the
    /// terms (the kernels' own tests bound one product by 2e-6 of its terms' magnitude), through 12 steps of cells.</summary>
    private const float SameWeightsTolerance = 2e-5f;

    public static TheoryData<string, bool, int> BFloat16Cases()
    {
        var data = new TheoryData<string, bool, int>();
        foreach (string model in new[] { "mixed", "tokens", "lastStep", "projection", "layerNorm", "batchNorm", "zoneout", "headless" })
            foreach (bool wide in new[] { true, false })
                foreach (int batch in new[] { 1, 3 })
                    data.Add(model, wide, batch);
        return data;
    }

    private static ISequenceModel Create(string name, ulong seed = 7) => name switch
    {
        "mixed" => new Mixed(4, 12, seed),
        "tokens" => new GruTokens(4, 12, seed),
        "lastStep" => new GruClassic37x3(4, 12, seed),
        "projection" => new LstmProjTokens(4, 12, seed),
        "layerNorm" => new LayerNormFixture(4, 12, seed),
        "batchNorm" => new BatchNormLast(4, 12, seed),
        "zoneout" => new ZoneoutFixture(4, 12, seed),
        "headless" => new HeadlessLstm(4, 12, seed),
        "recurrentBatchNorm" => new RecurrentBatchNormFixture(4, 12, seed),
        _ => throw new ArgumentException(name),
    };

    /// <summary>Biases, gains and running statistics away from their initial 0 and 1, so each takes part.</summary>
    private static void Perturb(ISequenceModel model, int seed)
    {
        var random = new Random(seed);
        foreach (var tensor in model.Tensors.Where(t => t.Storage != TensorStorage.InterleavedWeight && t.Role != ParameterRole.Embedding))
        {
            var values = new float[tensor.Count];
            tensor.Export(model.Parameters, values);
            for (int i = 0; i < values.Length; i++)
                values[i] += (float)(random.NextDouble() * 0.4 - 0.2);
            tensor.Import(values, model.Parameters);
        }
        foreach (var tensor in model.StatisticTensors)
        {
            var values = new float[tensor.Count];
            tensor.Export(model.Statistics, values);
            for (int i = 0; i < values.Length; i++)
                values[i] = tensor.Role == ParameterRole.RunningVariance ? 0.5f + (float)random.NextDouble() : (float)(random.NextDouble() * 0.4 - 0.2);
            tensor.Import(values, model.Statistics);
        }
    }

    /// <summary>A copy of <paramref name="model"/> with every weight matrix replaced by <paramref name="round"/> of it.</summary>
    private static ISequenceModel Twin(string name, ISequenceModel model, Func<float, float> round)
    {
        var twin = Create(name);
        model.Parameters.CopyTo(twin.Parameters);
        model.Statistics.CopyTo(twin.Statistics);
        foreach (var name2 in model.Options.Names)
            twin.Options[name2] = model.Options[name2];
        foreach (var tensor in twin.Tensors.Where(t => t.Storage == TensorStorage.InterleavedWeight))
        {
            var values = new float[tensor.Count];
            tensor.Export(twin.Parameters, values);
            for (int i = 0; i < values.Length; i++)
                values[i] = round(values[i]);
            tensor.Import(values, twin.Parameters);
        }
        return twin;
    }

    /// <summary>The inputs of <paramref name="steps"/> steps of <paramref name="batch"/> rows, time-major.</summary>
    private static (float[] Dense, int[] Tokens) Inputs(ISequenceModel model, int batch, int steps, int seed)
    {
        var random = new Random(seed);
        var dense = Enumerable.Range(0, steps * batch * model.InputWidth).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();
        var tokens = Enumerable.Range(0, steps * batch).Select(_ => random.Next(Math.Max(1, model.Vocabulary))).ToArray();
        return (dense, tokens);
    }

    /// <summary>Steps a float32 model and a quantized one side by side from zero states; returns the largest difference
    /// of any output or hidden state (relative to 1 + |reference|).</summary>
    private static float LargestDifference(ISequenceModel reference, Action<float[], int[], IRnnState, float[]> step, Func<int, IRnnState> newState,
        int batch, int steps, int seed)
    {
        var (dense, tokens) = Inputs(reference, batch, steps, seed);
        var expectedState = reference.NewState(batch);
        var actualState = newState(batch);
        var expected = new float[batch * reference.OutputWidth];
        var actual = new float[batch * reference.OutputWidth];
        float largest = 0;
        for (int t = 0; t < steps; t++)
        {
            var x = dense.AsSpan(t * batch * reference.InputWidth, batch * reference.InputWidth).ToArray();
            var ids = tokens.AsSpan(t * batch, batch).ToArray();
            if (reference.TakesTokens) reference.StepTokens(ids, expectedState, expected);
            else reference.StepDense(x, expectedState, expected);
            step(x, ids, actualState, actual);
            for (int i = 0; i < expected.Length; i++)
                largest = Math.Max(largest, Math.Abs(actual[i] - expected[i]) / (1 + Math.Abs(expected[i])));
            for (int layer = 0; layer < reference.LayerCount; layer++)
                for (int r = 0; r < batch; r++)
                {
                    var e = expectedState.Hidden(layer, r);
                    var a = actualState.Hidden(layer, r);
                    for (int i = 0; i < e.Length; i++)
                        largest = Math.Max(largest, Math.Abs(a[i] - e[i]) / (1 + Math.Abs(e[i])));
                }
        }
        return largest;
    }

    private static Action<float[], int[], IRnnState, float[]> Stepper(IQuantizedModel quantized) => (x, ids, state, output) =>
    {
        if (quantized.TakesTokens) quantized.StepTokens(ids, state, output);
        else quantized.StepDense(x, state, output);
    };

    [Theory]
    [MemberData(nameof(BFloat16Cases))]
    public void ABFloat16ModelIsTheFloat32ModelWithItsMatricesRounded(string name, bool wide, int batch)
    {
        using var path = VectorPath.Override(wide);
        var model = Create(name);
        Perturb(model, 3);
        var quantized = model.Quantize(WeightPrecision.BFloat16);
        Assert.Equal(WeightPrecision.BFloat16, quantized.Precision);
        var rounded = Twin(name, model, v => BFloat16.ToSingle(BFloat16.FromSingle(v)));
        float difference = LargestDifference(rounded, Stepper(quantized), quantized.NewState, batch, 12, 11);
        Assert.True(difference <= SameWeightsTolerance, $"{name}: the bfloat16 model differs from the rounded float32 model by {difference:G3}");
        // The comparison discriminates: the unrounded model is far outside the tolerance.
        float rounding = LargestDifference(rounded, (x, ids, state, output) =>
        {
            if (model.TakesTokens) model.StepTokens(ids, state, output);
            else model.StepDense(x, state, output);
        }, model.NewState, batch, 12, 11);
        Assert.True(rounding > 10 * SameWeightsTolerance, $"{name}: rounding to bfloat16 changed the outputs by only {rounding:G3}");
    }

    public static TheoryData<string, bool, int> Int8Cases()
    {
        var data = new TheoryData<string, bool, int>();
        foreach (string model in new[] { "mixed", "tokens" })
            foreach (bool wide in new[] { true, false })
                foreach (int batch in new[] { 1, 3 })
                    data.Add(model, wide, batch);
        return data;
    }

    [Theory]
    [MemberData(nameof(Int8Cases))]
    public void AnInt8ModelMatchesTheScalarInt8Reference(string name, bool wide, int batch)
    {
        using var path = VectorPath.Override(wide);
        var model = Create(name);
        Perturb(model, 5);
        var quantized = model.Quantize(WeightPrecision.Int8);
        var reference = new Int8Reference(model);
        var (dense, tokens) = Inputs(model, batch, 12, 13);
        var state = quantized.NewState(batch);
        var output = new float[batch * model.OutputWidth];
        var h = reference.NewState(batch);
        float largest = 0, change = 0;
        for (int t = 0; t < 12; t++)
        {
            if (model.TakesTokens) quantized.StepTokens(tokens.AsSpan(t * batch, batch), state, output);
            else quantized.StepDense(dense.AsSpan(t * batch * model.InputWidth, batch * model.InputWidth), state, output);
            for (int r = 0; r < batch; r++)
            {
                double[] x = model.TakesTokens
                    ? reference.Embedding(tokens[t * batch + r])
                    : dense.AsSpan((t * batch + r) * model.InputWidth, model.InputWidth).ToArray().Select(v => (double)v).ToArray();
                double[] expected = reference.Step(x, h[r]);
                for (int o = 0; o < expected.Length; o++)
                {
                    largest = Math.Max(largest, (float)(Math.Abs(output[r * model.OutputWidth + o] - expected[o]) / (1 + Math.Abs(expected[o]))));
                    change = Math.Max(change, (float)Math.Abs(expected[o]));
                }
                for (int layer = 0; layer < model.LayerCount; layer++)
                {
                    var actual = state.Hidden(layer, r);
                    for (int i = 0; i < actual.Length; i++)
                        largest = Math.Max(largest, (float)(Math.Abs(actual[i] - h[r][layer][i]) / (1 + Math.Abs(h[r][layer][i]))));
                }
            }
        }
        Assert.True(change > 0.01f, "the outputs stay near zero: the comparison would not discriminate");
        Assert.True(largest <= SameWeightsTolerance, $"{name}: the int8 model differs from the scalar int8 reference by {largest:G3}");
    }

    /// <summary>The int8 scheme spelled out in double for LSTM, GRU and classic GRU stacks with a linear or softmax head:
    /// q_w = round(w / s_w), s_w = max|w| / 127 per output row; for each product, q_x = round(x / s_x), s_x = max|x| / 127
    /// per input row; the product is s_x·s_w·Σ q_x·q_w, exactly; biases and everything else in double.</summary>
    private sealed class Int8Reference
    {
        private readonly ISequenceModel _model;
        private readonly Dictionary<string, (int[] Q, double[] Scale, int Rows, int Inputs)> _matrices = [];
        private readonly Dictionary<string, double[]> _vectors = [];

        public Int8Reference(ISequenceModel model)
        {
            _model = model;
            foreach (var tensor in model.Tensors)
            {
                var values = new float[tensor.Count];
                tensor.Export(model.Parameters, values);
                if (tensor.Storage != TensorStorage.InterleavedWeight)
                {
                    _vectors[tensor.Name] = values.Select(v => (double)v).ToArray();
                    continue;
                }
                int rows = tensor.Gates * tensor.Units, inputs = tensor.Inputs;
                var q = new int[rows * inputs];
                var scales = new double[rows];
                for (int row = 0; row < rows; row++)
                {
                    var (qs, scale) = Quantize(values.AsSpan(row * inputs, inputs).ToArray());
                    qs.CopyTo(q, row * inputs);
                    scales[row] = scale;
                }
                _matrices[tensor.Name] = (q, scales, rows, inputs);
            }
        }

        private static (int[] Values, float Scale) Quantize(float[] values)
        {
            float largest = values.Select(MathF.Abs).DefaultIfEmpty(0).Max();
            float scale = largest / 127f;
            return (values.Select(v => scale == 0 ? 0 : (int)Math.Clamp(Math.Round((double)(v / scale), MidpointRounding.ToEven), -127, 127)).ToArray(), scale);
        }

        /// <summary>W·x for the rows [first, first + count) of a matrix, as the int8 kernel computes it.</summary>
        private double[] Product(string name, double[] x, int first, int count)
        {
            var (q, scales, _, inputs) = _matrices[name];
            var (qx, sx) = Quantize(x.Select(v => (float)v).ToArray());
            var y = new double[count];
            for (int row = 0; row < count; row++)
            {
                long sum = 0;
                for (int k = 0; k < inputs; k++)
                    sum += (long)qx[k] * q[(first + row) * inputs + k];
                y[row] = (double)sx * scales[first + row] * sum;
            }
            return y;
        }

        private string Name(int layer, string kind) => _model.Tensors.Single(t => t.Layer == layer && t.Role == (kind switch
        {
            "weight_ih" => ParameterRole.InputKernel,
            "weight_hh" => ParameterRole.RecurrentKernel,
            "bias_ih" => ParameterRole.InputBias,
            _ => ParameterRole.RecurrentBias,
        })).Name;

        public double[][][] NewState(int batch) => Enumerable.Range(0, batch)
            .Select(_ => Enumerable.Range(0, _model.LayerCount).Select(l => new double[2 * _model.HiddenSizeOf(l)]).ToArray()).ToArray();

        public double[] Embedding(int token) => _vectors["embedding.weight"].Skip(token * _model.Tensors.Single(t => t.Name == "embedding.weight").Inputs)
            .Take(_model.Tensors.Single(t => t.Name == "embedding.weight").Inputs).ToArray();

        /// <summary>One step of one row; <paramref name="state"/> holds each layer's [h, c] (c unused by a GRU) and is
        /// advanced; returns the head's outputs.</summary>
        public double[] Step(double[] x, double[][] state)
        {
            for (int l = 0; l < _model.LayerCount; l++)
            {
                int H = _model.HiddenSizeOf(l);
                var h = state[l].Take(H).ToArray();
                var c = state[l].Skip(H).ToArray();
                var bx = _vectors[Name(l, "bias_ih")];
                var bh = _vectors[Name(l, "bias_hh")];
                var wx = _matrices[Name(l, "weight_ih")];
                var ax = Product(Name(l, "weight_ih"), x, 0, wx.Rows);
                double[] next;
                if (wx.Rows == 4 * H)
                {
                    var ah = Product(Name(l, "weight_hh"), h, 0, 4 * H);
                    next = new double[2 * H];
                    for (int j = 0; j < H; j++)
                    {
                        double Gate(int g) => ax[g * H + j] + bx[g * H + j] + ah[g * H + j] + bh[g * H + j];
                        double i = Sigmoid(Gate(0)), f = Sigmoid(Gate(1)), g = Math.Tanh(Gate(2)), o = Sigmoid(Gate(3));
                        next[H + j] = f * c[j] + i * g;
                        next[j] = o * Math.Tanh(next[H + j]);
                    }
                }
                else
                {
                    bool classic = IsClassic(l);
                    var arz = Product(Name(l, "weight_hh"), h, 0, 2 * H);
                    var reset = Enumerable.Range(0, H).Select(j => Sigmoid(ax[j] + bx[j] + arz[j] + bh[j])).ToArray();
                    var update = Enumerable.Range(0, H).Select(j => Sigmoid(ax[H + j] + bx[H + j] + arz[H + j] + bh[H + j])).ToArray();
                    var an = classic
                        ? Product(Name(l, "weight_hh"), h.Select((v, j) => reset[j] * v).ToArray(), 2 * H, H)
                        : Product(Name(l, "weight_hh"), h, 2 * H, H);
                    next = new double[2 * H];
                    for (int j = 0; j < H; j++)
                    {
                        double n = classic
                            ? Math.Tanh(ax[2 * H + j] + bx[2 * H + j] + an[j] + bh[2 * H + j])
                            : Math.Tanh(ax[2 * H + j] + bx[2 * H + j] + reset[j] * (an[j] + bh[2 * H + j]));
                        next[j] = (1 - update[j]) * n + update[j] * h[j];
                    }
                }
                state[l] = next;
                x = next.Take(H).ToArray();
            }
            var head = _matrices["head.weight"];
            var z = Product("head.weight", x, 0, head.Rows).Select((v, o) => v + _vectors["head.bias"][o]).ToArray();
            if (!_model.ClassTargets)
                return z;
            double max = z.Max();
            var e = z.Select(v => Math.Exp(v - max)).ToArray();
            return e.Select(v => v / e.Sum()).ToArray();
        }

        private bool IsClassic(int layer) => _model.Architecture!.Layers[layer].Variant == GruVariant.ResetBefore;

        private static double Sigmoid(double v) => 1 / (1 + Math.Exp(-v));
    }

    [Theory]
    [InlineData(WeightPrecision.BFloat16, true)]
    [InlineData(WeightPrecision.Int8, true)]
    [InlineData(WeightPrecision.BFloat16, false)]
    [InlineData(WeightPrecision.Int8, false)]
    public void AStateOnAPoolStepsTheSameBitsAtAnyThreadCount(WeightPrecision precision, bool wide)
    {
        using var path = VectorPath.Override(wide);
        // large enough for the step to be split: a share per 512 KiB of int8 or 384 KiB of bfloat16 matrices (4 and 11 shares)
        var model = new QuantizedPoolModel(4, 12, 3);
        Perturb(model, 6);
        var quantized = model.Quantize(precision);
        Assert.True(quantized.MatrixBytes >= 2 << 20, $"{quantized.MatrixBytes} bytes: too few for the pool to split the step");
        foreach (int batch in new[] { 1, 3 })
        {
            var (_, tokens) = Inputs(model, batch, 10, 8);
            float[] Run(int threads)
            {
                using var pool = threads > 1 ? new ComputePool(threads) : null;
                var state = quantized.CreateState(batch);
                state.Pool = pool;
                var outputs = new float[10 * batch * QuantizedPoolModel.OutputSize];
                quantized.Forward(tokens, 10, state, outputs);
                return outputs.Concat(state.Hidden(1, batch - 1).ToArray()).Concat(state.Cell(0, 0).ToArray()).ToArray();
            }
            var serial = Run(1);
            foreach (int threads in new[] { 2, 3, 8 })
                Assert.Equal(serial, Run(threads));
        }
    }

    /// <summary>CI reruns the int8 tests with <c>DOTNET_EnableAVXVNNI=0</c>: the int8 products must then take the AVX2 path.</summary>
    [Fact]
    public void TheInt8PathFollowsTheRuntimeSwitch()
    {
        if (Environment.GetEnvironmentVariable("DOTNET_EnableAVXVNNI") == "0")
            Assert.False(Int8Kernels.HasVnni, "AVX-VNNI is switched off, yet the int8 products would use it");
        else
            Assert.Equal(System.Runtime.Intrinsics.X86.AvxVnni.IsSupported, Int8Kernels.HasVnni);
    }

    [Fact]
    public void ForwardIsThatManySteps()
    {
        var model = new Mixed(4, 12, 3);
        Perturb(model, 1);
        var quantized = model.Quantize(WeightPrecision.Int8);
        var (dense, _) = Inputs(model, 3, 9, 2);
        var stepped = quantized.CreateState(3);
        var expected = new float[9 * 3 * Mixed.OutputSize];
        for (int t = 0; t < 9; t++)
            quantized.Step(dense.AsSpan(t * 3 * Mixed.InputSize, 3 * Mixed.InputSize), stepped, expected.AsSpan(t * 3 * Mixed.OutputSize, 3 * Mixed.OutputSize));
        var state = quantized.CreateState(3);
        var actual = new float[expected.Length];
        quantized.Forward(dense, 9, state, actual);
        Assert.Equal(expected, actual);
        Assert.Equal(stepped.Hidden(2, 1).ToArray(), state.Hidden(2, 1).ToArray());
        var error = Assert.Throws<ArgumentException>(() => quantized.Forward(dense, 8, state, actual));
        Assert.Contains("expects 144 input values", error.Message);
    }

    [Theory]
    [InlineData(WeightPrecision.BFloat16)]
    [InlineData(WeightPrecision.Int8)]
    public void SavingAndLoadingKeepsEveryBit(WeightPrecision precision)
    {
        var model = new RecurrentBatchNormFixture(4, 12, 5);
        Perturb(model, 2);
        var quantized = model.Quantize(precision);
        string path = Path.Combine(Directory, "model.safetensors");
        quantized.SaveSafetensors(path);
        var entries = Safetensors.Read(path, out var metadata);
        Assert.Equal(precision == WeightPrecision.Int8 ? "int8" : "bfloat16", metadata[QuantizedWeights.PrecisionKey]);
        foreach (var tensor in model.Tensors.Where(t => t.Storage == TensorStorage.InterleavedWeight))
            Assert.Equal(precision == WeightPrecision.Int8 ? "I8" : "BF16", entries[tensor.Name].DType);
        Assert.Equal(precision == WeightPrecision.Int8, entries.ContainsKey("head.weight.scale"));
        string float32 = Path.Combine(Directory, "float32.safetensors");
        model.SaveSafetensors(float32);
        Assert.True(new FileInfo(path).Length < new FileInfo(float32).Length, "the quantized file is smaller than the float32 model's");

        var loaded = RecurrentBatchNormFixture.Quantized.LoadSafetensors(path);
        Assert.Equal(precision, loaded.Precision);
        Assert.Equal(quantized.MatrixBytes, loaded.MatrixBytes);
        var (dense, _) = Inputs(model, 2, 6, 4);
        var expected = new float[6 * 2 * RecurrentBatchNormFixture.OutputSize];
        var actual = new float[expected.Length];
        quantized.Forward(dense, 6, quantized.CreateState(2), expected);
        loaded.Forward(dense, 6, loaded.CreateState(2), actual);
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void AFileWithABadScaleDtypeOrValueIsRefused()
    {
        var model = new Mixed(4, 12, 5);
        string good = Path.Combine(Directory, "int8.safetensors");
        model.Quantize(WeightPrecision.Int8).SaveSafetensors(good);
        var entries = Safetensors.Read(good, out var metadata);

        string Edited(string file, Func<SafetensorsEntry, (string DType, float[] Data)?> edit, Dictionary<string, string>? newMetadata = null)
        {
            string path = Path.Combine(Directory, file);
            Safetensors.Write(path, entries.Values.Select(e => edit(e) is { } changed ? (e.Name, changed.DType, e.Shape, changed.Data) : (e.Name, e.DType, e.Shape, e.Data)),
                newMetadata ?? metadata);
            return path;
        }

        void Refused(string path, string expected)
        {
            var error = Assert.Throws<InvalidDataException>(() => Mixed.Quantized.LoadSafetensors(path));
            Assert.Contains(expected, error.Message);
        }

        float[] With(float[] data, int at, float value)
        {
            var copy = (float[])data.Clone();
            copy[at] = value;
            return copy;
        }

        Refused(Edited("negative.safetensors", e => e.Name == "head.weight.scale" ? ("F32", With(e.Data, 1, -0.5f)) : null), "head.weight': the scale of row 1 is -0.5");
        Refused(Edited("nan.safetensors", e => e.Name == "rnn.0.weight_hh_l0.scale" ? ("F32", With(e.Data, 0, float.NaN)) : null), "rnn.0.weight_hh_l0': the scale of row 0 is NaN");
        Refused(Edited("f32.safetensors", e => e.Name == "rnn.1.weight_ih_l0" ? ("F32", e.Data) : null), "tensor 'rnn.1.weight_ih_l0' is F32; an int8 file stores it as I8");
        Refused(Edited("minus128.safetensors", e => e.Name == "head.weight" ? ("I8", With(e.Data, 2, -128)) : null), "weight (0, 2) is -128");
        Refused(Edited("bias.safetensors", e => e.Name == "head.bias" ? ("BF16", e.Data.Select(v => BFloat16.ToSingle(BFloat16.FromSingle(v))).ToArray()) : null),
            "tensor 'head.bias' is BF16");
        Refused(Edited("unmarked.safetensors", _ => null, []), "does not say its precision");
        Refused(Edited("float16.safetensors", _ => null, new Dictionary<string, string> { [QuantizedWeights.PrecisionKey] = "float16" }), "precision 'float16'");
        string float32 = Path.Combine(Directory, "float32.safetensors");
        model.SaveSafetensors(float32);
        Refused(float32, "does not say its precision");
        // and the float32 model does not take an int8 file for its own
        var floatError = Assert.Throws<InvalidDataException>(() => new Mixed(4, 12).LoadSafetensors(good));
        Assert.Contains("quantized model's file", floatError.Message);
    }

    [Fact]
    public void TheFloat32ModelStaysUsableAndQuantizesAgainAfterMoreTraining()
    {
        var model = new Mixed(4, 12, 9);
        var before = model.Parameters.ToArray();
        var first = model.Quantize(WeightPrecision.BFloat16);
        Assert.Equal(before, model.Parameters.ToArray());
        var (dense, _) = Inputs(model, 1, 1, 1);
        var firstOutput = new float[Mixed.OutputSize];
        first.Step(dense, first.CreateState(), firstOutput);
        // train a step: the quantized copy keeps the weights it was made from; a new one takes the new weights
        model.Forward(dense.Concat(dense).Concat(dense).ToArray(), 3, 1);
        model.Loss(new float[3 * Mixed.OutputSize]);
        model.Backward();
        new Adam(model, 0.1f).Step();
        var again = new float[Mixed.OutputSize];
        first.Step(dense, first.CreateState(), again);
        Assert.Equal(firstOutput, again);
        var second = model.Quantize(WeightPrecision.BFloat16);
        second.Step(dense, second.CreateState(), again);
        Assert.NotEqual(firstOutput, again);
    }
}
