using System.Linq;

namespace FastRnn.Generators;

// Batch normalization between layers: a declared layer's output is normalized over batch × time before the next
// layer (or the head) reads it; its running statistics live in a statistics arena beside the parameters.
internal static partial class Emitter
{
    private sealed partial class ModelEmitter
    {
        private bool OutputNorm(int n) => _m.Layers[n].OutputBatchNorm;

        /// <summary>The rows of layer n's output that the next layer or the head reads, from <paramref name="firstRow"/>:
        /// the batch-normalized copy, or the hidden states (whose slot 0 is the initial state).</summary>
        private string LayerOutput(int n, string firstRow, string rows) => OutputNorm(n)
            ? $"_l{n}Output.AsSpan({firstRow} * L{n}Padded, {rows} * L{n}Padded)"
            : $"_l{n}Hidden.AsSpan(({firstRow} + batch) * L{n}Padded, {rows} * L{n}Padded)";

        private void EmitOutputNormalizationFields()
        {
            for (int n = 0; n < _m.Layers.Count; n++)
            {
                if (!OutputNorm(n))
                    continue;
                _w.Line($"// Layer {n}'s output batch-normalized over batch × time [steps·batch, Padded], the pass's per-unit mean and");
                _w.Line("// rstd (the batch's in training, the running ones at inference) and which of the two the pass used.");
                _w.Line($"private readonly float[] _l{n}Output;");
                _w.Line($"private readonly float[] _l{n}BatchMean = new float[L{n}Padded];");
                _w.Line($"private readonly float[] _l{n}BatchRstd = new float[L{n}Padded];");
                _w.Line($"private bool _l{n}BatchStatistics;");
            }
            if (_m.HasOutputBatchNorm)
            {
                _w.Line("// Running means and variances of the batch normalizations (not trained by gradient; checkpoints carry them).");
                _w.Line("private readonly float[] _statistics = new float[StatisticCount];");
            }
        }

        private void EmitOutputNormalizationAllocation()
        {
            for (int n = 0; n < _m.Layers.Count; n++)
            {
                if (!OutputNorm(n))
                    continue;
                _w.Line($"_l{n}Output = new float[rows * L{n}Padded];");
                _w.Line($"_statistics.AsSpan(L{n}RunningVariance, L{n}Padded).Fill(1f); // PyTorch's initial running variance");
            }
        }

        private void EmitStatisticsApi()
        {
            if (!_m.HasOutputBatchNorm)
                return;
            _w.Lines("""
                /// <inheritdoc/>
                public global::System.Span<float> Statistics => _statistics;

                /// <inheritdoc/>
                public global::System.Collections.Generic.IReadOnlyList<global::FastRnn.ParameterTensor> StatisticTensors => s_statisticTensors;

                """);
        }

        /// <summary>Forward, after layer n: y = γ⊙(h − μ)⊙rstd + β over all steps × rows.</summary>
        private void EmitOutputNormalization(int n)
        {
            if (!OutputNorm(n))
                return;
            string L = $"L{n}";
            _w.Lines($$"""
                /// <summary>Batch normalization of layer {{n}}'s output over its steps × rows: the batch's statistics in training
                /// (the running ones move towards them), the running ones at inference.</summary>
                private void NormalizeLayer{{n}}Output<T>(int batch, int steps) {{BlockConstraint}}
                {
                    int rows = steps * batch;
                    {{ReadOnlySpan}} p = _parameters;
                    {{ReadOnlySpan}} hidden = _l{{n}}Hidden.AsSpan(batch * {{L}}Padded, rows * {{L}}Padded);
                    {{Span}} runningMean = _statistics.AsSpan({{L}}RunningMean, {{L}}Padded), runningVariance = _statistics.AsSpan({{L}}RunningVariance, {{L}}Padded);
                    _l{{n}}BatchStatistics = _options.Training;
                    if (_options.Training)
                    {
                        global::FastRnn.BatchNorm.Statistics<T>(hidden, {{L}}Padded, rows, {{L}}Padded, _l{{n}}BatchMean, _l{{n}}BatchRstd);
                        global::FastRnn.BatchNorm.UpdateRunning(_l{{n}}BatchMean, _l{{n}}BatchRstd, rows, runningMean, runningVariance);
                    }
                    else
                    {
                        runningMean.CopyTo(_l{{n}}BatchMean);
                        global::FastRnn.BatchNorm.RunningRstd(runningVariance, _l{{n}}BatchRstd);
                    }
                    global::FastRnn.BatchNorm.Apply<T>(hidden, {{L}}Padded, rows, {{L}}Padded, _l{{n}}BatchMean, _l{{n}}BatchRstd,
                        p.Slice({{L}}OutputGain, {{L}}Padded), p.Slice({{L}}OutputBias, {{L}}Padded), _l{{n}}Output, {{L}}Padded);
                }

                """);
        }

        /// <summary>Backward, once ∂y of layer n's normalized output is in <paramref name="gradient"/> (all steps × rows):
        /// ∂h in place, ∂γ and ∂β into the gradient arena.</summary>
        private string OutputNormalizationBackward(int n, string gradient)
        {
            string L = $"L{n}";
            return Lines(0,
                $"// y = γ⊙(h − μ)⊙rstd + β over batch × time:  ∂h from ∂y, in place (∂γ and ∂β on the way)",
                $"global::FastRnn.BatchNorm.Backward<T>({gradient}, {L}Padded, _l{n}Hidden.AsSpan(batch * {L}Padded, steps * batch * {L}Padded), {L}Padded, steps * batch, {L}Padded,",
                $"    _l{n}BatchMean, _l{n}BatchRstd, p.Slice({L}OutputGain, {L}Padded), _l{n}BatchStatistics, {gradient}, {L}Padded,",
                $"    grad.Slice({L}OutputGain, {L}Padded), grad.Slice({L}OutputBias, {L}Padded));");
        }

        /// <summary>Streaming step, after layer n: its output normalized with the running statistics.</summary>
        private string OutputNormalizationStep(int n)
        {
            string L = $"L{n}";
            return Lines(0,
                "// batch normalization with the running statistics",
                $"global::FastRnn.BatchNorm.Infer<T>(state.Layer{n}Hidden, {L}Padded, batch, {L}Padded, _statistics.AsSpan({L}RunningMean, {L}Padded),",
                $"    _statistics.AsSpan({L}RunningVariance, {L}Padded), p.Slice({L}OutputGain, {L}Padded), p.Slice({L}OutputBias, {L}Padded), state.Layer{n}Output, {L}Padded);",
                $"x = state.Layer{n}Output;");
        }
    }
}
