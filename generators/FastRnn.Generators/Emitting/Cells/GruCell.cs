namespace FastRnn.Generators;

internal static partial class Emitter
{
    private sealed partial class ModelEmitter
    {
        /// <summary>The GRU with the reset gate after its product (PyTorch's nn.GRU, gate order r, z, n):
        /// n = tanh(W_n·x + b_in + r⊙(U_n·h(t−1) + b_hn)), h(t) = (1 − z)⊙n + z⊙h(t−1); layer or recurrent batch
        /// normalization composes in through the gates' input and recurrent parts (<see cref="CellEmitter.X"/>, <see cref="CellEmitter.H"/>).</summary>
        private sealed class GruCell(ModelEmitter emitter, int layerIndex) : CellEmitter(emitter, layerIndex)
        {
            /// <inheritdoc/>
            public override string ForwardState => layer.Normalized
                ? $"recurrentNormalized, _l{n}Aux.AsSpan(now * {L}Padded, batch * {L}Padded),"
                : $"_l{n}Recurrent.AsSpan(0, batch * {L}Row), _l{n}Aux.AsSpan(now * {L}Padded, batch * {L}Padded),";

            /// <inheritdoc/>
            protected override string StepState => $"state.Layer{n}Recurrent, state.Layer{n}Aux";

            /// <inheritdoc/>
            public override void EmitStepLayer()
            {
                if (layer.Normalized)
                    EmitNormalizedStepLayer($"state.Layer{n}Recurrent", $"recurrentNormalized, state.Layer{n}Aux");
                else
                    base.EmitStepLayer();
            }

            /// <summary>b_hh + U·h(t−1) into the recurrent buffer for the blocks [blockStart, blockEnd).</summary>
            private string BiasAndRecurrentProduct => $$"""
                // blocks [blockStart, blockEnd) of units: the whole layer, or one thread's share of it
                int first = blockStart * {{L}}Gates * BlockWidth, width = (blockEnd - blockStart) * {{L}}Gates * BlockWidth;
                {{Kernels}}.BroadcastRows(p.Slice({{L}}RecurrentBias + first, width), recurrent.Slice(first), {{L}}Row, batch);
                {{RecurrentProduct(RecurrentInput, $"0, {L}Gates", "recurrent", $"blockStart * {L}Gates, blockEnd * {L}Gates")}}
                """;

            /// <inheritdoc/>
            public override void EmitAdvance()
            {
                _w.Lines($$"""
                    {{GruAdvanceDoc()}}{{RecurrentInputDoc}}{{ZoneDoc}}</summary>
                    {{NoInlining}}
                    private static void AdvanceLayer{{n}}<T>({{ReadOnlySpan}} p,{{WeightsParameter}} {{Span}} gates, {{ReadOnlySpan}} hPrev,{{RecurrentInputParameter}} {{Span}} h,
                        {{(layer.Normalized ? ReadOnlySpan : Span)}} recurrent, {{Span}} hiddenCandidate, {{ZoneParameters}}int batch{{DescendingParameter}}{{(layer.Normalized ? "" : QuantizedParameters + ", bool stream = false")}}) {{BlockConstraint}}
                    {
                        {{(layer.Normalized ? "" : BiasAndRecurrentProduct)}}
                        for (int r = 0; r < batch; r++)
                        {
                            for (int j = {{(layer.Normalized ? "0" : "blockStart")}}; j < {{(layer.Normalized ? $"{L}Blocks" : "blockEnd")}}; j++)
                            {
                                int at = r * {{L}}Row + j * {{L}}Gates * BlockWidth;
                                ref float a = ref At(gates, at);
                                ref float gh = ref At(recurrent, at);{{(layer.Normalized ? "\nref float xn = ref At(inputNormalized, at);\nint block = j * " + L + "Gates * BlockWidth; // block j's gates in a parameter row" : "")}}
                                int u = r * {{L}}Padded + j * BlockWidth;
                                T reset = T.Sigmoid({{X(0)}} + {{H(0)}});
                                T z = T.Sigmoid({{X(1)}} + {{H(1)}});
                                T ghn = {{H(2)}};
                                T candidate = T.Tanh(T.MultiplyAdd(reset, ghn, {{X(2)}}));
                                // (1 − z)⊙n + z⊙h = n + z⊙(h − n)
                                {{GruUpdate(layer, "z", "candidate", "At(hPrev, u)", "At(h, u)", "T.Load(in At(zoneHidden, u))", Semeniuta, streamable: !layer.Normalized)}}
                                T.Store(ref At(hiddenCandidate, u), ghn);
                                T.Store(ref a, reset);
                                T.Store(ref At(ref a, BlockWidth), z);
                                T.Store(ref At(ref a, 2 * BlockWidth), candidate);
                            }
                        }
                    }

                    """);
            }

            /// <summary>The summary of a reset-after GRU's AdvanceLayer, up to its recurrent-dropout and zoneout notes.</summary>
            private string GruAdvanceDoc() => layer.Normalized
                ? Lines($"/// <summary>One {(layer.LayerNorm ? "layer-normalized" : "batch-normalized")} GRU step of layer {n} for <paramref name=\"batch\"/> rows, once",
                    "/// <paramref name=\"inputNormalized\"/> holds x̂ = normalize(W_ih·x):",
                    "///   a = γ_x⊙x̂ + b_ih;  gh = γ_h⊙ĥ + b_hh, ĥ = normalize(U·h(t−1))",
                    "///   r = σ(a_r + gh_r);  z = σ(a_z + gh_z);  n = tanh(a_n + r⊙gh_n);  h(t) = (1 − z)⊙n + z⊙h(t−1)",
                    "/// (<paramref name=\"recurrent\"/> holds ĥ, made by the caller). The activated gates (r, z, n) go to",
                    "/// <paramref name=\"gates\"/>, gh_n to <paramref name=\"hiddenCandidate\"/>.")
                : Lines($"/// <summary>One GRU step of layer {n} for <paramref name=\"batch\"/> rows, once <paramref name=\"gates\"/> holds",
                    "/// a_x = b_ih + W_ih·x:",
                    "///   gh = b_hh + U·h(t−1);  r = σ(a_r + gh_r);  z = σ(a_z + gh_z);  n = tanh(a_n + r⊙gh_n)",
                    "///   h(t) = (1 − z)⊙n + z⊙h(t−1)",
                    "/// The activated gates (r, z, n) replace the pre-activations; <paramref name=\"hiddenCandidate\"/> keeps gh_n.");

            /// <summary>The batch-1 step, fused (a normalized layer: its products, fused).</summary>
            public override void EmitStepSingle()
            {
                if (layer.Normalized)
                {
                    EmitProductsSingle();
                    return;
                }
                _w.Lines($$"""
                    /// <summary>Layer {{n}}, one row: for each block of 16 units, a_r, a_z (input and recurrent parts together), the
                    /// candidate's input part and its recurrent part accumulate in registers in one pass over the weights.</summary>
                    {{NoInlining}}
                    private static void StepLayer{{n}}Single<T>({{ReadOnlySpan}} p, {{ReadOnlySpan}} x, {{ReadOnlySpan}} hPrev, {{Span}} h{{StepZoneParameters}},
                        bool descending, int blockStart, int blockEnd) {{BlockConstraint}}
                    {
                        {{StepZoneSetup}}
                        ref float inputWeights = ref At(p, {{L}}InputWeights);
                        ref float recurrentWeights = ref At(p, {{L}}RecurrentWeights);
                        ref float x0 = ref At(x, 0);
                        ref float h0 = ref At(hPrev, 0);
                        for (int b = blockStart; b < blockEnd; b++)
                        {
                            // every other step last block first: the weights read last are still in the caches (the same bits)
                            int j = descending ? blockStart + blockEnd - 1 - b : b;
                            int bias = j * {{L}}Gates * BlockWidth;
                            T ar = T.Load(in At(p, {{L}}InputBias + bias)) + T.Load(in At(p, {{L}}RecurrentBias + bias));
                            T az = T.Load(in At(p, {{L}}InputBias + bias + BlockWidth)) + T.Load(in At(p, {{L}}RecurrentBias + bias + BlockWidth));
                            T anx = T.Load(in At(p, {{L}}InputBias + bias + 2 * BlockWidth));
                            T anh = T.Load(in At(p, {{L}}RecurrentBias + bias + 2 * BlockWidth));
                            ref float w = ref At(ref inputWeights, j * {{L}}Inputs * {{L}}Gates * BlockWidth);
                            {{Accumulate(L, "Inputs", "x", ["ar", "az", "anx"])}}
                            w = ref At(ref recurrentWeights, j * {{L}}Hidden * {{L}}Gates * BlockWidth);
                            {{Accumulate(L, "Hidden", "h", ["ar", "az", "anh"])}}
                            // n = tanh(a_nx + σ(a_r)⊙a_nh);  h(t) = n + σ(a_z)⊙(h(t−1) − n)
                            T candidate = T.Tanh(T.MultiplyAdd(T.Sigmoid(ar), anh, anx));
                            {{GruUpdate(layer, "T.Sigmoid(az)", "candidate", "At(hPrev, j * BlockWidth)", "At(h, j * BlockWidth)", "keepHidden")}}
                        }
                    }

                    """);
            }

            /// <summary>Backward through one step of block j of row r: ∂a(t) of its gates (into dGates), ∂gh(t) (into
            /// dRecurrent) and the part of ∂h(t−1) that does not pass through U.</summary>
            private string BlockBackward(BackwardHooks h) => $$"""
                int u = r * {{L}}Padded + j * BlockWidth;
                int at = (now + r) * {{L}}Row + j * {{L}}Gates * BlockWidth;
                ref float a = ref At(gates, at);
                T reset = T.Load(in a), z = T.Load(in At(ref a, BlockWidth)), candidate = T.Load(in At(ref a, 2 * BlockWidth));
                T hPrev = T.Load(in At(hidden, now * {{L}}Padded + u));
                T ghn = T.Load(in At(hiddenCandidate, now * {{L}}Padded + u));
                {{h.MaskLoad}}{{E.GruHiddenGradient(n)}}
                // h(t) = n + z⊙(h(t−1) − n):  ∂n = ∂h⊙(1 − z);  ∂z = ∂h⊙(h(t−1) − n);  ∂h(t−1) = ∂h⊙z + …
                T dCandidate = dh * (T.One - z){{h.MaskFactor}};
                T dz = dh * (hPrev - {{h.CandidateUsed}});
                {{(_m.Layers[n].Zoneout is null ? "T.Store(ref At(dHidden, u), dh * z);" : "T.Store(ref At(dHidden, u), T.MultiplyAdd(dh, z, keepHidden * dhTotal));")}}
                // n = tanh(a_n + r⊙gh_n):  ∂a_n = ∂n⊙(1 − n²);  ∂r = ∂a_n⊙gh_n;  ∂gh_n = ∂a_n⊙r
                T dan = dCandidate * (T.One - candidate * candidate);
                T dar = dan * ghn * reset * (T.One - reset);
                T daz = dz * z * (T.One - z);
                ref float dx = ref At(dGates, at);
                T.Store(ref dx, dar);
                T.Store(ref At(ref dx, BlockWidth), daz);
                T.Store(ref At(ref dx, 2 * BlockWidth), dan);
                ref float dhh = ref At(dRecurrent, at);
                T.Store(ref dhh, dar);
                T.Store(ref At(ref dhh, BlockWidth), daz);
                T.Store(ref At(ref dhh, 2 * BlockWidth), dan * reset);
                """;

            /// <inheritdoc/>
            public override void EmitBackwardSteps(BackwardHooks h)
            {
                if (E.SplitsBackwardRecurrence(n))
                {
                    _w.Lines($$"""
                        {{Span}} dRecurrent = _l{{n}}RecurrentGradient.AsSpan(0, rows * {{L}}Row);
                        {{RunBackwardShares}}
                        // ∂U += Σ_t ∂gh(t)ᵀ·h(t−1);  ∂b_hh += Σ_t ∂gh(t)
                        {{Kernels}}.AccumulateOuter<T>(_pool, {{h.RecurrentInput}}, {{L}}Padded, rows, dRecurrent, {{L}}Row, {{h.RecurrentGradient}}, 0, {{L}}Gates, _outerScratch,
                            grad.Slice({{L}}RecurrentBias, {{L}}Row));
                        """);
                    return;
                }
                _w.Lines($$"""
                    {{Span}} hiddenCandidate = _l{{n}}Aux.AsSpan(0, rows * {{L}}Padded);
                    {{Span}} dRecurrent = _l{{n}}RecurrentGradient.AsSpan(0, rows * {{L}}Row);
                    for (int t = steps - 1; t >= 0; t--)
                    {
                        int now = t * batch;{{E.ZoneStep(n, $"0, {L}Blocks")}}{{E.InjectFinalGradient(n, "0, " + L + "Padded", cell: true)}}
                        for (int r = 0; r < batch; r++)
                        {
                            for (int j = 0; j < {{L}}Blocks; j++)
                            {
                                {{BlockBackward(h)}}
                            }
                        }
                        {{(layer.Normalized ? GruRecurrentNormBackward() : "")}}// gh = b_hh + U·h(t−1):  ∂h(t−1) += Uᵀ·∂gh{{h.ClearTilde}}
                        {{Kernels}}.MultiplyAdd<T>(_pool, dRecurrent.Slice(now * {{L}}Row, batch * {{L}}Row), {{L}}Row, batch,
                            _l{{n}}RecurrentTransposed, {{L}}RecurrentShape.Transposed, 0, 1, {{h.ProductTarget}}, {{L}}Padded, Alternate(t));
                        {{h.MaskCarry}}
                    }
                    {{(layer.Normalized ? "// ∂U += Σ_t ∂(U·h)(t)ᵀ·h(t−1)  (∂b_hh and ∂γ_h were gathered step by step)" : "// ∂U += Σ_t ∂gh(t)ᵀ·h(t−1);  ∂b_hh += Σ_t ∂gh(t)")}}
                    {{Kernels}}.AccumulateOuter<T>(_pool, {{h.RecurrentInput}}, {{L}}Padded, rows, dRecurrent, {{L}}Row, {{h.RecurrentGradient}}, 0, {{L}}Gates, _outerScratch{{(layer.Normalized ? "" : $",\n    grad.Slice({L}RecurrentBias, {L}Row)")}});
                    """);
            }

            /// <summary>A layer-normalized GRU's step, once ∂gh is in dRecurrent: back through gh = γ_h⊙ĥ + b_hh and
            /// ĥ = normalize(U·h(t−1)), in place.</summary>
            private string GruRecurrentNormBackward()
            {
                string slice = $"dRecurrent.Slice(now * {L}Row, batch * {L}Row)";
                return Lines("// gh = γ_h⊙ĥ + b_hh, ĥ = normalize(U·h(t−1)):  ∂(U·h(t−1)) from ∂gh, in place (∂γ_h and ∂b_hh on the way)",
                    E.NormalizationBackward(n, slice, $"_l{n}RecurrentNormalized.AsSpan(now * {L}Row, batch * {L}Row)", slice, $"{L}Row", $"{L}Gates", "batch",
                        $"_l{n}RecurrentRstd.AsSpan(now, batch)", $"_l{n}RecurrentRstd.AsSpan(t * {L}Row, {L}Row)", $"{L}RecurrentGain", $"{L}RecurrentBias"),
                    "");
            }

            /// <inheritdoc/>
            public override void EmitBackwardRecurrence()
            {
                if (!E.SplitsBackwardRecurrence(n))
                    return;
                // Under recurrent dropout the products send ∂h̃(t−1) into dTilde, added to ∂h(t−1) through the mask.
                string product = !GathersMaskedGradient
                    ? Lines("// gh = b_hh + U·h(t−1):  ∂h(t−1) += Uᵀ·∂gh, this share's units", SharedProduct("dRecurrent", "dHidden"))
                    : Lines("// gh = b_hh + U·h̃(t−1):  ∂h̃(t−1) = Uᵀ·∂gh, this share's units",
                        ClearShare("dTilde"),
                        SharedProduct("dRecurrent", "dTilde"),
                        "// h̃ = h⊙m/(1 − p):  ∂h(t−1) += ∂h̃⊙m/(1 − p)",
                        MaskShare("dTilde"),
                        "for (int r = 0; r < batch; r++)",
                        "{",
                        $"    {Span} dh = dHidden.Slice(r * {L}Padded + blockStart * BlockWidth, width);",
                        $"    global::System.Numerics.Tensors.TensorPrimitives.Add(dh, dTilde.Slice(r * {L}Padded + blockStart * BlockWidth, width), dh);",
                        "}");
                EmitBackRecurLayer("A share computes ∂gh(t) of its units, waits at <paramref name=\"barrier\"/> until every share has, then adds\n/// Uᵀ·∂gh(t) to its units of ∂h(t−1).",
                    Lines($"{Span} gates = _l{n}Gates.AsSpan(0, rows * {L}Row);",
                        $"{Span} dGates = _l{n}GateGradient.AsSpan(0, rows * {L}Row);",
                        $"{Span} dAbove = _l{n}HiddenGradient.AsSpan(0, rows * {L}Padded);",
                        $"{Span} hidden = _l{n}Hidden.AsSpan(0, (rows + batch) * {L}Padded);",
                        $"{Span} dHidden = _hiddenCarry.AsSpan(0, batch * {L}Padded);",
                        GathersMaskedGradient ? $"{Span} dTilde = _droppedHiddenGradient.AsSpan(0, batch * {L}Padded);" : null!,
                        $"{Span} hiddenCandidate = _l{n}Aux.AsSpan(0, rows * {L}Padded);",
                        $"{Span} dRecurrent = _l{n}RecurrentGradient.AsSpan(0, rows * {L}Row);"),
                    BlockBackward(BackwardHooks()),
                    product);
            }
        }
    }
}
