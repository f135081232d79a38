namespace FastRnn.Generators;

internal static partial class Emitter
{
    private sealed partial class ModelEmitter
    {
        /// <summary>The layer- or recurrent-batch-normalized LSTM (Ba et al. 2016; Cooijmans et al. 2016): W·x, U·h and c̃ pass
        /// through normalizations with their own gains; the products are made by the caller (a normalization needs whole
        /// rows or batches before any gate can be activated).</summary>
        private sealed class NormalizedLstmCell(ModelEmitter emitter, int layerIndex) : CellEmitter(emitter, layerIndex)
        {
            /// <inheritdoc/>
            protected override bool ReadsHiddenOutsideProducts => false;

            /// <inheritdoc/>
            public override string ForwardState =>
                $"_l{n}Cell.AsSpan(now * {L}Padded, batch * {L}Padded), _l{n}Cell.AsSpan((now + batch) * {L}Padded, batch * {L}Padded),\nrecurrentNormalized, " +
                E.CellNormalizationArguments(n, $"_l{n}CellNormalized.AsSpan(now * {L}Padded, batch * {L}Padded)", $"_l{n}CellRstd.AsSpan(now, batch)", "_batchStatistics", "_normMean", $"_l{n}CellRstd.AsSpan(t * {L}Padded, {L}Padded)", "t");

            /// <inheritdoc/>
            protected override string StepState => throw new System.InvalidOperationException("A normalized cell has no batched plain step.");

            /// <inheritdoc/>
            public override void EmitStepLayer() => EmitNormalizedStepLayer($"state.Layer{n}RecurrentNormalized",
                $"state.Layer{n}Cell, state.Layer{n}Cell, recurrentNormalized, " + E.CellNormalizationArguments(n, $"state.Layer{n}CellNormalized", $"state.Layer{n}CellRstd", "false", $"state.Layer{n}Mean", $"state.Layer{n}CellRstd", "time").TrimEnd(','));

            /// <inheritdoc/>
            public override void EmitStepSingle() => EmitProductsSingle();

            /// <summary>The layer-normalized LSTM step (Ba et al. 2016): the gates from the two normalized products, then
            /// c(t) for every unit of a row before ĉ's statistics exist, then h(t) from ĉ.</summary>
            public override void EmitAdvance()
            {
                bool zh = layer.Zoneout is not null, zc = layer.CellZoneout is not null;
                string ig = layer.CandidateDropout is not null ? "i * (g * T.Load(in At(candidateMask, u)))" : "i * g";
                string cellStore = zc
                    ? Lines("T.Store(ref At(cellCandidate, u), cTilde);",
                        "// zoneout: c(t) = c̃ + κ_c⊙(c(t−1) − c̃)",
                        "T.Store(ref At(c, u), T.MultiplyAdd(T.Load(in At(zoneCell, u)), cPrevious - cTilde, cTilde));")
                    : "T.Store(ref At(c, u), cTilde);";
                string hiddenStore = zh
                    ? Lines("// zoneout: h(t) = h̃ + κ_h⊙(h(t−1) − h̃)",
                        "T.Store(ref At(h, u), T.MultiplyAdd(T.Load(in At(zoneHidden, u)), T.Load(in At(hPrev, u)) - hTilde, hTilde));")
                    : "T.Store(ref At(h, u), hTilde);";
                _w.Lines($$"""
                    /// <summary>One {{(layer.LayerNorm ? "layer-normalized" : "batch-normalized")}} LSTM step of layer {{n}} for <paramref name="batch"/> rows, once
                    /// <paramref name="inputNormalized"/> holds x̂ = normalize(W_ih·x) and <paramref name="recurrentNormalized"/>
                    /// ĥ = normalize(U·h(t−1)) (made by the caller):
                    ///   a = γ_x⊙x̂ + b_ih + γ_h⊙ĥ + b_hh;  i, f, o = σ(a_i, a_f, a_o);  g = tanh(a_g)
                    ///   c(t) = f⊙c(t−1) + i⊙g;  ĉ = normalize(c(t));  h(t) = o⊙tanh(γ_c⊙ĉ + β_c)
                    /// The activated gates go to <paramref name="gates"/>; ĉ and its rows' rstd stay for backward.
                    /// <paramref name="cPrev"/> and <paramref name="c"/> may be the same buffer.{{ZoneDoc}}</summary>
                    {{NoInlining}}
                    private static void AdvanceLayer{{n}}<T>({{ReadOnlySpan}} p,{{WeightsParameter}} {{Span}} gates, {{ReadOnlySpan}} hPrev, {{Span}} h,
                        {{ReadOnlySpan}} cPrev, {{Span}} c, {{ReadOnlySpan}} recurrentNormalized, {{E.CellNormalizationParameters(n)}}
                        {{ZoneParameters}}int batch) {{BlockConstraint}}
                    {
                        for (int r = 0; r < batch; r++)
                        {
                            for (int j = 0; j < {{L}}Blocks; j++)
                            {
                                int at = r * {{L}}Row + j * {{L}}Gates * BlockWidth;
                                int block = j * {{L}}Gates * BlockWidth; // block j's gates in a parameter row
                                int u = r * {{L}}Padded + j * BlockWidth;
                                ref float a = ref At(gates, at);
                                ref float xn = ref At(inputNormalized, at);
                                ref float gh = ref At(recurrentNormalized, at);
                                T i = T.Sigmoid({{X(0)}} + {{H(0)}});
                                T f = T.Sigmoid({{X(1)}} + {{H(1)}});
                                T g = T.Tanh({{X(2)}} + {{H(2)}});
                                T o = T.Sigmoid({{X(3)}} + {{H(3)}});
                                // c̃ = f⊙c(t−1) + i⊙g
                                T cPrevious = T.Load(in At(cPrev, u));
                                T cTilde = T.MultiplyAdd(f, cPrevious, {{ig}});
                                {{cellStore}}
                                T.Store(ref a, i);
                                T.Store(ref At(ref a, BlockWidth), f);
                                T.Store(ref At(ref a, 2 * BlockWidth), g);
                                T.Store(ref At(ref a, 3 * BlockWidth), o);
                            }
                        }
                        // ĉ = normalize(c̃) over each row's Hidden values (every unit's c̃ is known now)
                        {{E.NormalizeCell(n, zc ? "cellCandidate" : "c")}}
                        for (int r = 0; r < batch; r++)
                        {
                            for (int j = 0; j < {{L}}Blocks; j++)
                            {
                                int u = r * {{L}}Padded + j * BlockWidth;
                                T o = T.Load(in At(gates, r * {{L}}Row + j * {{L}}Gates * BlockWidth + 3 * BlockWidth));
                                // h̃ = o⊙tanh(γ_c⊙ĉ + β_c)
                                T hTilde = o * T.Tanh(T.MultiplyAdd(T.Load(in At(p, {{L}}CellGain + j * BlockWidth)), T.Load(in At(cellNormalized, u)),
                                    T.Load(in At(p, {{L}}CellBias + j * BlockWidth))));
                                {{hiddenStore}}
                            }
                        }
                    }

                    """);
            }

            /// <summary>Backward through a layer-normalized LSTM layer (Ba et al. 2016), last step first. Each step runs in
            /// three parts, because a normalization couples every unit of a row: ∂ of h(t) into ∂(γ_c⊙ĉ + β_c) and ∂a_o for
            /// the whole row; back through ĉ = normalize(c̃); then the cell and the other gates, and back through
            /// ĥ = normalize(U·h(t−1)).</summary>
            public override void EmitBackwardSteps(BackwardHooks h)
            {
                bool zh = layer.Zoneout is not null, zc = layer.CellZoneout is not null;
                string total = $"T.Load(in At(dAbove, now * {L}Padded + u)) + T.Load(in At(dHidden, u))";
                string hiddenGradient = zh
                    ? Lines($"T dhTotal = {total};",
                        "// zoneout h(t) = h̃ + κ_h⊙(h(t−1) − h̃):  ∂h̃ = (1 − κ_h)⊙∂h(t);  ∂h(t−1) = κ_h⊙∂h(t) + Uᵀ·∂(U·h)",
                        "T keepHidden = T.Load(in At(zoneHidden, u));",
                        "T dh = dhTotal * (T.One - keepHidden);",
                        "T.Store(ref At(dHidden, u), keepHidden * dhTotal);")
                    : Lines("// ∂h(t): from above, and from step t + 1 through U",
                        $"T dh = {total};");
                string cellGradient = zc
                    ? Lines("// zoneout c(t) = c̃ + κ_c⊙(c(t−1) − c̃):  ∂c̃ = ∂c̃ through ĉ + (1 − κ_c)⊙∂c(t)",
                        "T dcTotal = T.Load(in At(dCell, u)), keepCell = T.Load(in At(zoneCell, u));",
                        "T dc = T.MultiplyAdd(dcTotal, T.One - keepCell, T.Load(in At(dNormalizedCell, u)));",
                        "// c̃ = f⊙c(t−1) + i⊙g:  ∂c(t−1) = ∂c̃⊙f + κ_c⊙∂c(t)",
                        "T.Store(ref At(dCell, u), T.MultiplyAdd(dc, f, keepCell * dcTotal));")
                    : Lines("// c(t) reaches the loss through ĉ and through c(t + 1):  ∂c = ∂c through ĉ + ∂c from step t + 1",
                        "T dc = T.Load(in At(dNormalizedCell, u)) + T.Load(in At(dCell, u));",
                        "// c(t) = f⊙c(t−1) + i⊙g:  ∂c(t−1) = ∂c⊙f",
                        "T.Store(ref At(dCell, u), dc * f);");
                _w.Lines($$"""
                    {{Span}} cells = _l{{n}}Cell.AsSpan(0, (rows + batch) * {{L}}Padded);
                    {{Span}} dCell = _cellCarry.AsSpan(0, batch * {{L}}Padded);
                    {{E.StartCarry(n, "dCell", "Cell")}}
                    {{Span}} dRecurrent = _l{{n}}RecurrentGradient.AsSpan(0, rows * {{L}}Row);
                    {{ReadOnlySpan}} cellNormalized = _l{{n}}CellNormalized.AsSpan(0, rows * {{L}}Padded);
                    // ∂ of ĉ's affine output, then (in place) of c̃ through the normalization: [batch, Padded]
                    {{Span}} dNormalizedCell = _auxGradient.AsSpan(0, batch * {{L}}Padded);
                    for (int t = steps - 1; t >= 0; t--)
                    {
                        int now = t * batch;{{E.ZoneStep(n, $"0, {L}Blocks")}}{{E.InjectFinalGradient(n, "0, " + L + "Padded", cell: true)}}
                        for (int r = 0; r < batch; r++)
                        {
                            for (int j = 0; j < {{L}}Blocks; j++)
                            {
                                int u = r * {{L}}Padded + j * BlockWidth;
                                int at = (now + r) * {{L}}Row + j * {{L}}Gates * BlockWidth;
                                T o = T.Load(in At(gates, at + 3 * BlockWidth));
                                T tanhY = T.Tanh(T.MultiplyAdd(T.Load(in At(p, {{L}}CellGain + j * BlockWidth)), T.Load(in At(cellNormalized, now * {{L}}Padded + u)),
                                    T.Load(in At(p, {{L}}CellBias + j * BlockWidth))));
                                {{hiddenGradient}}
                                // h̃ = o⊙tanh(y), y = γ_c⊙ĉ + β_c:  ∂y = ∂h̃⊙o⊙(1 − tanh²y);  o = σ(a_o):  ∂a_o = ∂h̃⊙tanh(y)⊙o(1 − o)
                                T.Store(ref At(dNormalizedCell, u), dh * o * (T.One - tanhY * tanhY));
                                T.Store(ref At(dGates, at + 3 * BlockWidth), dh * tanhY * o * (T.One - o));
                            }
                        }
                        // ĉ = normalize(c̃):  ∂c̃ through ĉ from ∂y, in place (∂γ_c and ∂β_c on the way)
                        {{E.NormalizationBackward(n, "dNormalizedCell", $"cellNormalized.Slice(now * {L}Padded, batch * {L}Padded)", "dNormalizedCell", $"{L}Padded", "1", "batch",
                            $"_l{n}CellRstd.AsSpan(now, batch)", $"_l{n}CellRstd.AsSpan(t * {L}Padded, {L}Padded)", $"{L}CellGain", $"{L}CellBias")}}
                        for (int r = 0; r < batch; r++)
                        {
                            for (int j = 0; j < {{L}}Blocks; j++)
                            {
                                int u = r * {{L}}Padded + j * BlockWidth;
                                int at = (now + r) * {{L}}Row + j * {{L}}Gates * BlockWidth;
                                ref float a = ref At(gates, at);
                                ref float da = ref At(dGates, at);
                                T i = T.Load(in a), f = T.Load(in At(ref a, BlockWidth)), g = T.Load(in At(ref a, 2 * BlockWidth));
                                T cPrev = T.Load(in At(cells, now * {{L}}Padded + u));
                                {{h.MaskLoad}}{{cellGradient}}
                                // i, f = σ(a):  ∂a = ∂gate⊙s(1 − s);  g = tanh(a_g):  ∂a_g = ∂g⊙(1 − g²)
                                T.Store(ref da, dc * {{h.CandidateKept}} * i * (T.One - i));
                                T.Store(ref At(ref da, BlockWidth), dc * cPrev * f * (T.One - f));
                                T.Store(ref At(ref da, 2 * BlockWidth), dc * i{{h.MaskFactor}} * (T.One - g * g));
                            }
                        }
                        // ĥ = normalize(U·h(t−1)), a = … + γ_h⊙ĥ + b_hh:  ∂(U·h(t−1)) from ∂a (∂γ_h and ∂b_hh on the way)
                        {{Span}} dProduct = dRecurrent.Slice(now * {{L}}Row, batch * {{L}}Row);
                        {{E.NormalizationBackward(n, $"dGates.Slice(now * {L}Row, batch * {L}Row)", $"_l{n}RecurrentNormalized.AsSpan(now * {L}Row, batch * {L}Row)", "dProduct",
                            $"{L}Row", $"{L}Gates", "batch", $"_l{n}RecurrentRstd.AsSpan(now, batch)", $"_l{n}RecurrentRstd.AsSpan(t * {L}Row, {L}Row)", $"{L}RecurrentGain", $"{L}RecurrentBias")}}
                        // U·h(t−1):  ∂h(t−1) = Uᵀ·∂(U·h(t−1)){{(zh ? " (added to κ_h⊙∂h(t), already there)" : "\ndHidden.Clear();")}}
                        {{Kernels}}.MultiplyAdd<T>(_pool, dProduct, {{L}}Row, batch, _l{{n}}RecurrentTransposed, {{L}}RecurrentShape.Transposed, 0, 1, dHidden, {{L}}Padded, Alternate(t));
                        {{h.MaskCarry}}
                    }
                    // ∂U += Σ_t ∂(U·h)(t)ᵀ·h(t−1)
                    {{Kernels}}.AccumulateOuter<T>(_pool, {{h.RecurrentInput}}, {{L}}Padded, rows, dRecurrent, {{L}}Row, {{h.RecurrentGradient}}, 0, {{L}}Gates, _outerScratch);
                    """);
            }
        }
    }
}
