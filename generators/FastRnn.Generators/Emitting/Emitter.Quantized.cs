using System.Collections.Generic;
using System.Linq;

namespace FastRnn.Generators;

internal static partial class Emitter
{
    private sealed partial class ModelEmitter
    {
        /// <summary>True while the <c>Quantized</c> class is written: the step's products then read its reduced-precision
        /// matrices (<c>_l{n}Input</c>, <c>_l{n}Recurrent</c>, <c>_l{n}Projection</c>, <c>_head</c>) instead of the
        /// float32 arena, and everything else — the cells' updates, normalizations, zoneout's expectation, the head's
        /// activation — is the float32 model's own code.</summary>
        private bool _quantizing;

        /// <summary>Every weight matrix of the model, by the field the quantized model keeps it in and the constant of
        /// its offset in the arena.</summary>
        private IEnumerable<(string Field, string Offset)> QuantizedMatrices()
        {
            for (int n = 0; n < _m.Layers.Count; n++)
            {
                yield return ($"_l{n}Input", $"L{n}InputWeights");
                yield return ($"_l{n}Recurrent", $"L{n}RecurrentWeights");
                if (Projects(n))
                    yield return ($"_l{n}Projection", $"L{n}ProjectionWeights");
            }
            if (_m.HasHead)
                yield return ("_head", "HeadWeights");
        }

        /// <summary>Bytes a row of input takes quantized to int8, for the widest matrix input: its scale and its inputs
        /// rounded up to whole quads (what <c>Int8Kernels.ScratchLength</c> counts).</summary>
        private int QuantizedScratchRow()
        {
            int widest = _m.Layers[Top].StateSize; // the head's input (a streaming model has no bidirectional layer)
            foreach (var layer in _m.Layers)
                widest = System.Math.Max(widest, System.Math.Max(layer.Inputs, System.Math.Max(layer.StateSize, layer.Hidden)));
            return 4 + (widest + 3) / 4 * 4;
        }

        /// <summary><c>Quantize</c> on the model and the nested <c>Quantized</c> class: a serving copy whose matrices are
        /// bfloat16 or int8, with <c>Step</c> and <c>Forward</c> over the float32 model's <c>State</c>.</summary>
        private void EmitQuantized()
        {
            _w.Lines($$"""

                /// <summary>Bytes of int8 scratch per row a quantized step takes (the widest matrix input's).</summary>
                private const int QuantizedScratchRow = {{N(QuantizedScratchRow())}};

                /// <summary>A serving copy of this model with every weight matrix in <paramref name="precision"/> (bfloat16 or
                /// int8); biases, normalizations, the embedding, states and all arithmetic outside the products stay float32.
                /// This model is only read and stays usable: train it further and quantize again. The copy takes this
                /// model's zoneout rates (its inference uses them as expectations).</summary>
                public Quantized Quantize(global::FastRnn.WeightPrecision precision) =>
                    new(global::FastRnn.QuantizedWeights.Quantize(this, precision, _options));

                /// <summary>
                /// This model with its weight matrices in bfloat16 or int8 (<see cref="Quantize"/>), for inference: <see cref="Step"/>
                /// at any batch and <see cref="Forward"/> over a sequence, on the same <see cref="State"/> as the float32 model,
                /// allocating nothing. Its products are the reduced-precision kernels; every other line is the float32 model's.
                /// Saved and loaded as safetensors without any float32 matrix (<see cref="SaveSafetensors"/>,
                /// <see cref="LoadSafetensors"/>). Immutable: any number of states may step over it at once.
                /// </summary>
                public sealed class Quantized : global::FastRnn.IQuantizedModel
                {
                    private readonly global::FastRnn.QuantizedWeights _weights;
                    // The float32 tensors at the model's offsets (the matrices' regions are zero and never read).
                    private readonly float[] _parameters;
                """);
            using (_w.Indent())
            {
                if (_m.HasStatistics)
                    _w.Line("private readonly float[] _statistics;");
                _w.Lines("""
                    private readonly RunOptions _options;
                    private readonly bool _wide;
                    """);
                if (SplitsStep)
                    _w.Lines("""
                        // Most threads a state's pool gives one step: a share of the blocks for each 384 KiB of bfloat16 or 512 KiB
                        // of int8 matrices, at most one per block of the widest layer. A smaller share costs about what it saves
                        // (perf/README §10: each share reads lines the other threads just wrote; int8 LSTM(256), 0.5 MiB, 6.0 µs on
                        // one thread and 6.3–7.0 µs on two; bfloat16 GRU(256), 0.75 MiB, 7.0–7.4 → 6.3–6.5 µs).
                        private readonly int _shares;
                        """);
                foreach (var (field, offset) in QuantizedMatrices())
                    _w.Line($"private readonly global::FastRnn.Kernels.QuantizedMatrix {field};");
                _w.Line();
                using (_w.Block("internal Quantized(global::FastRnn.QuantizedWeights weights)"))
                {
                    _w.Lines("""
                        _weights = weights;
                        _parameters = weights.Parameters;
                        _options = new RunOptions(0) { Training = false };
                        foreach (var (name, rate) in weights.Options)
                        {
                            if (!global::System.Linq.Enumerable.Contains(_options.Names, name))
                                throw new global::System.IO.InvalidDataException($"The quantized weights carry option '{name}', which this model does not declare.");
                            try { _options[name] = rate; }
                            catch (global::System.ArgumentException e) { throw new global::System.IO.InvalidDataException($"The quantized weights' option '{name}' is invalid: {e.Message}", e); }
                        }
                        _wide = global::FastRnn.Kernels.VectorPath.Use512;
                        """);
                    if (_m.HasStatistics)
                        _w.Line("_statistics = weights.Statistics;");
                    if (SplitsStep)
                        _w.Line("_shares = (int)global::System.Math.Clamp(weights.MatrixBytes / (weights.Precision == global::FastRnn.WeightPrecision.BFloat16 ? 384 * 1024 : 512 * 1024), 1, SharedStepBlocks);");
                    foreach (var (field, offset) in QuantizedMatrices())
                        _w.Line($"{field} = weights.Matrix({offset});");
                }
                _w.Lines($$"""

                    /// <summary>The matrices' precision.</summary>
                    public global::FastRnn.WeightPrecision Precision => _weights.Precision;

                    /// <summary>Bytes of the weight matrices as served (the packed weights, and int8's per-row scales and sums):
                    /// what a batch-1 step reads besides the float32 biases.</summary>
                    public long MatrixBytes => _weights.MatrixBytes;

                    /// <summary>The run-time rates inference reads (zoneout's, as expectations), from the model at
                    /// <see cref="Quantize"/> or from the file.</summary>
                    public RunOptions Options => _options;

                    /// <summary>Writes the quantized weights as safetensors (atomically): each matrix under its PyTorch name and shape
                    /// as BF16, or as I8 with a float32 <c>{name}.scale</c> per output row; every other tensor and statistic as F32;
                    /// the precision and the run-time rates in the metadata. No float32 matrix is written.</summary>
                    public void SaveSafetensors(string path) => _weights.Save(path, s_tensors, {{(_m.HasStatistics ? "s_statisticTensors" : "[]")}});

                    /// <summary>Reads a file <see cref="SaveSafetensors"/> wrote for this declaration. A name, dtype or shape that is
                    /// not this model's, an int8 value outside [−127, 127] or a scale that is negative or not finite throws
                    /// <see cref="global::System.IO.InvalidDataException"/> naming it.</summary>
                    public static Quantized LoadSafetensors(string path) =>
                        new(global::FastRnn.QuantizedWeights.Load(path, s_tensors, {{(_m.HasStatistics ? "s_statisticTensors" : "[]")}}, ParameterCount, {{(_m.HasStatistics ? "StatisticCount" : "0")}}));

                    """);
                if (_m.Layers.Any(l => l.RecurrentBatchNorm))
                    _w.Lines("""
                        /// <summary>The row of per-step running statistics at time index <paramref name="time"/>.</summary>
                        private global::System.Span<float> StepStatistic(int offset, int width, int time, int maxSteps) =>
                            _statistics.AsSpan(offset + global::System.Math.Min(time, maxSteps - 1) * width, width);

                        """);
                string Q = "global::FastRnn.IQuantizedModel";
                _w.Lines($$"""
                    int {{Q}}.InputWidth => {{(Tokens ? "1" : "InputSize")}};
                    int {{Q}}.OutputWidth => OutputSize;
                    bool {{Q}}.TakesTokens => {{(Tokens ? "true" : "false")}};
                    global::FastRnn.IRnnState {{Q}}.NewState(int batch) => CreateState(batch);
                    void {{Q}}.StepDense({{ReadOnlySpan}} input, global::FastRnn.IRnnState state, {{Span}} output) => {{(Tokens ? "throw WrongInput(\"dense\")" : "Step(input, AsState(state)!, output)")}};
                    void {{Q}}.StepTokens(global::System.ReadOnlySpan<int> input, global::FastRnn.IRnnState state, {{Span}} output) => {{(Tokens ? "Step(input, AsState(state)!, output)" : "throw WrongInput(\"token\")")}};

                    """);
                EmitQuantizedForward();
                _quantizing = true;
                EmitStep();
                EmitSharedStep();
                _quantizing = false;
            }
            _w.Line("}");
        }

        /// <summary>The quantized model's <c>Forward</c>: the streaming step over a sequence, from the state's current
        /// states, every step's outputs or the last step's.</summary>
        private void EmitQuantizedForward()
        {
            string inputType = Tokens ? "global::System.ReadOnlySpan<int>" : ReadOnlySpan;
            string perStep = Tokens ? "batch" : "batch * InputSize";
            string outputs = EveryStep ? "steps * batch * OutputSize" : "batch * OutputSize";
            _w.Lines($$"""
                /// <summary>Runs <paramref name="steps"/> steps of every row of <paramref name="state"/> from its current states
                /// (<see cref="State.Reset"/> for new sequences), as that many <see cref="Step"/>s: <paramref name="inputs"/> holds
                /// {{(Tokens ? "[steps, state.Batch] token ids" : "[steps, state.Batch, InputSize] floats")}}, time-major, and
                /// <paramref name="outputs"/> receives {{(EveryStep ? "every step's outputs, [steps, state.Batch, OutputSize]" : "the last step's outputs, [state.Batch, OutputSize]")}}.
                /// Allocates nothing.</summary>
                public void Forward({{inputType}} inputs, int steps, State state, {{Span}} outputs)
                {
                    global::System.ArgumentNullException.ThrowIfNull(state);
                    int batch = state.Batch;
                    if (steps < 1)
                        throw new global::System.ArgumentOutOfRangeException(nameof(steps), steps, "Forward runs at least 1 step.");
                    if (inputs.Length != steps * {{perStep}})
                        throw new global::System.ArgumentException($"Forward expects {steps * {{perStep}}} input values for {steps} step(s) of {batch} row(s); got {inputs.Length}.", nameof(inputs));
                    if (outputs.Length != {{outputs}})
                        throw new global::System.ArgumentException($"Forward writes {{{outputs}}} outputs; the span has {outputs.Length}.", nameof(outputs));
                    for (int t = 0; t < steps; t++)
                        Step(inputs.Slice(t * {{perStep}}, {{perStep}}), state, {{(EveryStep ? "outputs.Slice(t * batch * OutputSize, batch * OutputSize)" : "outputs")}});
                }

                """);
        }
    }
}
