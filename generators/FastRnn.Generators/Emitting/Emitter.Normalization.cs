using System.Linq;

namespace FastRnn.Generators;

// The normalizations' shared pieces: batch normalization between layers (a declared layer's output normalized over
// batch × time before the next layer or the head reads it), and the calls that layer norm and recurrent batch norm
// make inside the normalized cells; running statistics live in a statistics arena beside the parameters.
internal static partial class Emitter
{
    private sealed partial class ModelEmitter
    {
        private bool OutputNorm(int n) => _m.Layers[n].OutputBatchNorm;

        /// <summary>The rows of layer n's output that the next layer or the head reads, from <paramref name="firstRow"/>:
        /// both directions joined (a bidirectional layer), the batch-normalized copy, or the hidden states (whose slot 0 is
        /// the initial state).</summary>
        private string LayerOutput(int n, string firstRow, string rows) =>
            Reverse(n) ? $"_l{n}Joined.AsSpan({Factor(firstRow)} * L{n}JoinedPadded, {rows} * L{n}JoinedPadded)"
            : OutputNorm(n) ? $"_l{n}Output.AsSpan({Factor(firstRow)} * L{n}Padded, {rows} * L{n}Padded)"
            : $"{StateBuffer(n)}.AsSpan(({firstRow} + batch) * L{n}Padded, {rows} * L{n}Padded)";

        /// <summary>An expression as a factor of a product: in parentheses unless it is a name or a number.</summary>
        private static string Factor(string expression) =>
            expression.All(c => char.IsLetterOrDigit(c) || c == '_') ? expression : $"({expression})";

        /// <summary>PyTorch's initial running statistics: mean 0, variance 1.</summary>
        private void EmitStatisticsInitialization()
        {
            for (int n = 0; n < _m.Layers.Count; n++)
            {
                if (!OutputNorm(n))
                    continue;
                _w.Line($"_statistics.AsSpan(L{n}RunningVariance, L{n}Padded).Fill(1f); // PyTorch's initial running variance");
            }
            for (int n = 0; n < _m.Layers.Count; n++)
            {
                var layer = _m.Layers[n];
                if (!layer.RecurrentBatchNorm)
                    continue;
                foreach (var (site, _) in StepStatisticSites(layer, 0))
                    _w.Line($"_statistics.AsSpan(L{n}{site}RunningVariance, L{n}MaxSteps * {(site == "Cell" ? $"L{n}Padded" : $"L{n}Row")}).Fill(1f);");
            }
        }

        private void EmitStatisticsApi()
        {
            if (_m.Layers.Any(l => l.RecurrentBatchNorm))
                _w.Lines("""
                    /// <summary>The row of per-step statistics (running means or variances) at time index <paramref name="time"/>:
                    /// one row of <paramref name="width"/> floats per step from <paramref name="offset"/>, the last row for every
                    /// step from <paramref name="maxSteps"/> on.</summary>
                    private global::System.Span<float> StepStatistic(int offset, int width, int time, int maxSteps) =>
                        _statistics.AsSpan(offset + global::System.Math.Min(time, maxSteps - 1) * width, width);

                    """);
            if (!_m.HasStatistics)
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
                {{NoInlining}}
                private void NormalizeLayer{{n}}Output<T>(int batch, int steps) {{BlockConstraint}}
                {
                    int rows = steps * batch;
                    {{ReadOnlySpan}} p = _parameters;
                    {{ReadOnlySpan}} hidden = _l{{n}}Hidden.AsSpan(batch * {{L}}Padded, rows * {{L}}Padded);
                    global::FastRnn.Kernels.BatchNorm.Forward<T>(hidden, _l{{n}}Output, {{L}}Padded, rows, {{L}}Padded, _batchStatistics, _l{{n}}BatchMean, _l{{n}}BatchRstd,
                        _statistics.AsSpan({{L}}RunningMean, {{L}}Padded), _statistics.AsSpan({{L}}RunningVariance, {{L}}Padded),
                        p.Slice({{L}}OutputGain, {{L}}Padded), p.Slice({{L}}OutputBias, {{L}}Padded), {{RealSteps}});
                }

                """);
        }

        /// <summary>Backward, once ∂y of layer n's normalized output is in <paramref name="gradient"/> (all steps × rows):
        /// ∂h in place, ∂γ and ∂β into the gradient arena.</summary>
        private static string OutputNormalizationBackward(int n, string gradient)
        {
            string L = $"L{n}";
            return Lines($"// y = γ⊙(h − μ)⊙rstd + β over batch × time:  ∂h from ∂y, in place (∂γ and ∂β on the way)",
                $"global::FastRnn.Kernels.BatchNorm.Backward<T>({gradient}, {L}Padded, _l{n}Hidden.AsSpan(batch * {L}Padded, steps * batch * {L}Padded), {L}Padded, steps * batch, {L}Padded,",
                $"    _l{n}BatchMean, _l{n}BatchRstd, p.Slice({L}OutputGain, {L}Padded), _batchStatistics, {gradient}, {L}Padded,",
                $"    grad.Slice({L}OutputGain, {L}Padded), grad.Slice({L}OutputBias, {L}Padded), _normScratch, {RealSteps});");
        }

        /// <summary>The rows of batch × time that are real steps: all, or those within each row's length.</summary>
        private const string RealSteps = "new global::FastRnn.Kernels.RealRows(_useLengths ? _lengths.AsSpan(0, batch) : default)";

        /// <summary>Streaming step, after layer n: its output normalized with the running statistics.</summary>
        private static string OutputNormalizationStep(int n)
        {
            string L = $"L{n}";
            return Lines("// batch normalization with the running statistics",
                $"global::FastRnn.Kernels.BatchNorm.Infer<T>(state.Layer{n}Hidden, {L}Padded, batch, {L}Padded, _statistics.AsSpan({L}RunningMean, {L}Padded),",
                $"    _statistics.AsSpan({L}RunningVariance, {L}Padded), p.Slice({L}OutputGain, {L}Padded), p.Slice({L}OutputBias, {L}Padded), state.Layer{n}OutputRstd, state.Layer{n}Output, {L}Padded);",
                $"x = state.Layer{n}Output;");
        }

        // ---- normalized cells: layer norm (over a row's gates) or recurrent batch norm (over the batch, per step) ----

        /// <summary>The prefix of a normalized cell's tensors: ln_ (layer norm) or bn_ (recurrent batch norm).</summary>
        private static string NormPrefix(LayerSpec layer) => layer.LayerNorm ? "ln" : "bn";

        /// <summary>The sites of a recurrent batch normalization's per-step statistics and their row widths for a layer
        /// padded to <paramref name="padded"/> units.</summary>
        private static (string Site, int Width)[] StepStatisticSites(LayerSpec layer, int padded) => layer.Cell == CellKind.Lstm
            ? [("Input", Gates(layer.Cell) * padded), ("Recurrent", Gates(layer.Cell) * padded), ("Cell", padded)]
            : [("Input", Gates(layer.Cell) * padded), ("Recurrent", Gates(layer.Cell) * padded)];

        /// <summary>The running mean and variance rows of a site at time index <paramref name="time"/> (the last row
        /// for every step from T_max on).</summary>
        private static string StepRunning(int n, string site, string time)
        {
            string width = site == "Cell" ? $"L{n}Padded" : $"L{n}Row";
            return $"StepStatistic(L{n}{site}RunningMean, {width}, {time}, L{n}MaxSteps), StepStatistic(L{n}{site}RunningVariance, {width}, {time}, L{n}MaxSteps)";
        }

        /// <summary>Normalizes <paramref name="span"/>'s <paramref name="rows"/> product rows (W·x or U·h, Row wide) in
        /// place: layer norm over each row (its rstd into <paramref name="layerRstd"/>), or recurrent batch norm over the
        /// rows of one time step (rstd into <paramref name="batchRstd"/>, statistics of <paramref name="site"/> at
        /// <paramref name="time"/>).</summary>
        private string NormalizeProducts(int n, string site, string span, string rows, string layerRstd, string batchRstd,
            string time, string training, string mean)
        {
            string L = $"L{n}";
            return _m.Layers[n].LayerNorm
                ? $"global::FastRnn.Kernels.LayerNorm.Normalize<T>({span}, {span}, {L}Row, {rows}, {L}Gates, {L}Hidden, {layerRstd});"
                : $"global::FastRnn.Kernels.BatchNorm.NormalizeStep<T>({span}, {span}, {L}Row, {rows}, {L}Row, {training}, {mean}, {batchRstd}, {StepRunning(n, site, time)});";
        }

        /// <summary>The parameters of an LSTM's cell normalization in AdvanceLayer, and (below) their values at a call.</summary>
        private string CellNormalizationParameters(int n) => _m.Layers[n].LayerNorm
            ? $"{Span} cellNormalized, {Span} cellRstd,"
            : $"{Span} cellNormalized, bool training, {Span} mean, {Span} cellRstd, {Span} cellRunningMean, {Span} cellRunningVariance,";

        private string CellNormalizationArguments(int n, string normalized, string layerRstd, string training, string mean, string batchRstd, string time) =>
            _m.Layers[n].LayerNorm
                ? $"{normalized}, {layerRstd},"
                : $"{normalized}, {training}, {mean}, {batchRstd}, {StepRunning(n, "Cell", time)},";

        private string NormalizeCell(int n, string source) => _m.Layers[n].LayerNorm
            ? $"global::FastRnn.Kernels.LayerNorm.Normalize<T>({source}, cellNormalized, L{n}Padded, batch, 1, L{n}Hidden, cellRstd);"
            : $"global::FastRnn.Kernels.BatchNorm.NormalizeStep<T>({source}, cellNormalized, L{n}Padded, batch, L{n}Padded, training, mean, cellRstd, cellRunningMean, cellRunningVariance);";

        /// <summary>Backward through a normalization and its affine part, y = γ⊙x̂ + β with x̂ from the forward:
        /// ∂x into <paramref name="dx"/> (may be <paramref name="dy"/>), ∂γ and ∂β into the gradient arena. Layer norm
        /// couples a row's values, recurrent batch norm the rows of one step (rstd at <paramref name="time"/>).</summary>
        private string NormalizationBackward(int n, string dy, string normalized, string dx, string width, string gates, string rows,
            string layerRstd, string batchRstd, string gain, string bias)
        {
            string L = $"L{n}";
            return _m.Layers[n].LayerNorm
                ? $"global::FastRnn.Kernels.LayerNorm.Backward<T>({dy}, p.Slice({gain}, {width}), {normalized}, {layerRstd}, {dx}, {width}, {rows}, {gates}, {L}Hidden, grad.Slice({gain}, {width}), grad.Slice({bias}, {width}));"
                : $"global::FastRnn.Kernels.BatchNorm.BackwardNormalized<T>({dy}, {width}, {normalized}, {width}, {rows}, {width}, {batchRstd}, p.Slice({gain}, {width}), _batchStatistics, {dx}, {width}, grad.Slice({gain}, {width}), grad.Slice({bias}, {width}), _normScratch);";
        }

        /// <summary>Forward, once inputNormalized holds W_ih·x for every step: x̂, by rows (layer norm) or by step over the
        /// batch (recurrent batch norm).</summary>
        private string NormalizeInputSequence(int n)
        {
            string L = $"L{n}";
            if (_m.Layers[n].LayerNorm)
                return NormalizeProducts(n, "Input", "inputNormalized", "rows", $"_l{n}InputRstd.AsSpan(0, rows)", "", "", "", "");
            return string.Join("\n",
                "// each step's rows over the batch (Cooijmans et al.): the batch's statistics in training, the running ones at inference",
                "for (int t = 0; t < steps; t++)",
                "{",
                $"    {Span} products = inputNormalized.Slice(t * batch * {L}Row, batch * {L}Row);",
                "    " + NormalizeProducts(n, "Input", "products", "batch", "", $"_l{n}InputRstd.AsSpan(t * {L}Row, {L}Row)", "t", "_batchStatistics", "_normMean"),
                "}");
        }

        /// <summary>Backward, once ∂a is in <paramref name="dInput"/> for every step: back through x̂ and its gain, in place.</summary>
        private string InputNormalizationBackward(int n, string dInput)
        {
            string L = $"L{n}";
            if (_m.Layers[n].LayerNorm)
                return NormalizationBackward(n, dInput, $"_l{n}InputNormalized.AsSpan(0, rows * {L}Row)", dInput, $"{L}Row", $"{L}Gates", "rows",
                    $"_l{n}InputRstd.AsSpan(0, rows)", "", $"{L}InputGain", $"{L}InputBias");
            return string.Join("\n",
                "for (int t = 0; t < steps; t++)",
                "{",
                $"    {Span} dStep = {dInput}.Slice(t * batch * {L}Row, batch * {L}Row);",
                "    " + NormalizationBackward(n, "dStep", $"_l{n}InputNormalized.AsSpan(t * batch * {L}Row, batch * {L}Row)", "dStep", $"{L}Row", $"{L}Gates", "batch",
                    "", $"_l{n}InputRstd.AsSpan(t * {L}Row, {L}Row)", $"{L}InputGain", $"{L}InputBias"),
                "}");
        }
    }
}
