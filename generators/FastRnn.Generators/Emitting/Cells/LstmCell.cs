namespace FastRnn.Generators;

internal static partial class Emitter
{
    private sealed partial class ModelEmitter
    {
        /// <summary>The LSTM cell (PyTorch gate order i, f, g, o): c(t) = f⊙c(t−1) + i⊙g, h(t) = o⊙tanh(c(t)).</summary>
        private sealed class LstmCell(ModelEmitter emitter, int layerIndex) : CellEmitter(emitter, layerIndex)
        {
            /// <inheritdoc/>
            protected override bool ReadsHiddenOutsideProducts => false;

            /// <summary>An LSTM reads h(t−1) only in U·h(t−1): under recurrent dropout it is handed h̃(t−1) in its place.</summary>
            protected override bool MaskedRecurrentInput => false;

            /// <inheritdoc/>
            public override string ForwardPrevious(string hPrev) => layer.RecurrentDropout is null ? hPrev : "hRecurrent";

            /// <inheritdoc/>
            public override string ForwardState =>
                $"_l{n}Cell.AsSpan(now * {L}Padded, batch * {L}Padded), _l{n}Cell.AsSpan((now + batch) * {L}Padded, batch * {L}Padded),";

            /// <inheritdoc/>
            protected override string StepState => $"state.Layer{n}Cell, state.Layer{n}Cell";

            /// <inheritdoc/>
            protected override string StepSingleState => $", state.Layer{n}Cell";

            /// <inheritdoc/>
            public override void EmitAdvance()
            {
                _w.Lines($$"""
                    /// <summary>One LSTM step of layer {{n}} for <paramref name="batch"/> rows, once <paramref name="gates"/> holds
                    /// a_x = b_ih + W_ih·x:
                    ///   a = a_x + b_hh + U·h(t−1);  i, f, o = σ(a_i, a_f, a_o);  g = tanh(a_g)
                    ///   c(t) = f⊙c(t−1) + i⊙g;  h(t) = o⊙tanh(c(t))
                    /// The activated gates replace the pre-activations (backward reads them). <paramref name="cPrev"/> and
                    /// <paramref name="c"/> may be the same buffer.{{ZoneDoc}}</summary>
                    {{NoInlining}}
                    private static void AdvanceLayer{{n}}<T>({{ReadOnlySpan}} p,{{WeightsParameter}} {{Span}} gates, {{ReadOnlySpan}} hPrev, {{Span}} h,
                        {{ReadOnlySpan}} cPrev, {{Span}} c, {{ZoneParameters}}int batch, bool descending, int blockStart, int blockEnd{{QuantizedParameters}}, bool stream = false) {{BlockConstraint}}
                    {
                        // blocks [blockStart, blockEnd) of units: the whole layer, or one thread's share of it
                        int first = blockStart * {{L}}Gates * BlockWidth, width = (blockEnd - blockStart) * {{L}}Gates * BlockWidth;
                        {{Kernels}}.AddRows<T>(p.Slice({{L}}RecurrentBias + first, width), gates.Slice(first), {{L}}Row, batch);
                        {{RecurrentProduct("hPrev", $"0, {L}Gates", "gates", $"blockStart * {L}Gates, blockEnd * {L}Gates")}}
                        for (int r = 0; r < batch; r++)
                        {
                            for (int j = blockStart; j < blockEnd; j++)
                            {
                                ref float a = ref At(gates, r * {{L}}Row + j * {{L}}Gates * BlockWidth);
                                int u = r * {{L}}Padded + j * BlockWidth;
                                T i = T.Sigmoid(T.Load(in a));
                                T f = T.Sigmoid(T.Load(in At(ref a, BlockWidth)));
                                T g = T.Tanh(T.Load(in At(ref a, 2 * BlockWidth)));
                                T o = T.Sigmoid(T.Load(in At(ref a, 3 * BlockWidth)));
                                {{LstmUpdate(layer, "f", Semeniuta ? "i * (g * T.Load(in At(candidateMask, u)))" : "i * g", "o", "At(cPrev, u)", "At(c, u)", "At(hPrev, u)", "At(h, u)", "T.Load(in At(zoneHidden, u))", "T.Load(in At(zoneCell, u))", "At(cellCandidate, u)", streamable: true)}}
                                T.Store(ref a, i);
                                T.Store(ref At(ref a, BlockWidth), f);
                                T.Store(ref At(ref a, 2 * BlockWidth), g);
                                T.Store(ref At(ref a, 3 * BlockWidth), o);
                            }
                        }
                    }

                    """);
            }

            /// <summary>The batch-1 step, fused: one pass over the layer's weights computes every gate of a block of 16
            /// units in registers and updates the cell right there.</summary>
            public override void EmitStepSingle()
            {
                _w.Lines($$"""
                    /// <summary>Layer {{n}}, one row: for each block of 16 units, a_i, a_f, a_g, a_o accumulate in registers over
                    /// x and h(t−1) in one pass over the gate-interleaved weights, then c and h are updated in place.</summary>
                    {{NoInlining}}
                    private static void StepLayer{{n}}Single<T>({{ReadOnlySpan}} p, {{ReadOnlySpan}} x, {{ReadOnlySpan}} hPrev, {{Span}} h, {{Span}} c{{StepZoneParameters}},
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
                            // a = b_ih + b_hh + W_ih·x + W_hh·h(t−1), gate by gate for units 16j … 16j + 15
                            T ai = T.Load(in At(p, {{L}}InputBias + bias)) + T.Load(in At(p, {{L}}RecurrentBias + bias));
                            T af = T.Load(in At(p, {{L}}InputBias + bias + BlockWidth)) + T.Load(in At(p, {{L}}RecurrentBias + bias + BlockWidth));
                            T ag = T.Load(in At(p, {{L}}InputBias + bias + 2 * BlockWidth)) + T.Load(in At(p, {{L}}RecurrentBias + bias + 2 * BlockWidth));
                            T ao = T.Load(in At(p, {{L}}InputBias + bias + 3 * BlockWidth)) + T.Load(in At(p, {{L}}RecurrentBias + bias + 3 * BlockWidth));
                            // The weights of block j are contiguous: [input][gate][16]; walk them with one pointer.
                            ref float w = ref At(ref inputWeights, j * {{L}}Inputs * {{L}}Gates * BlockWidth);
                            {{Accumulate(L, "Inputs", "x", ["ai", "af", "ag", "ao"])}}
                            w = ref At(ref recurrentWeights, j * {{E.StateWidth(n)}} * {{L}}Gates * BlockWidth);
                            {{Accumulate(L, E.Projects(n) ? "Projection" : "Hidden", "h", ["ai", "af", "ag", "ao"])}}
                            // c(t) = σ(a_f)⊙c(t−1) + σ(a_i)⊙tanh(a_g);  h(t) = σ(a_o)⊙tanh(c(t))
                            ref float cj = ref At(c, j * BlockWidth);
                            {{LstmUpdate(layer, "T.Sigmoid(af)", "T.Sigmoid(ai) * T.Tanh(ag)", "T.Sigmoid(ao)", "cj", "cj", "At(hPrev, j * BlockWidth)", "At(h, j * BlockWidth)", "keepHidden", "keepCell", null)}}
                        }
                    }

                    """);
            }

            /// <inheritdoc/>
            /// <remarks>The steps run in <c>BackRecurLayer{n}</c>, on one thread or several.</remarks>
            public override void EmitBackwardSteps(BackwardHooks h)
            {
                _w.Lines($$"""
                    {{E.StartCarry(n, $"_cellCarry.AsSpan(0, batch * {L}Padded)", "Cell")}}
                    {{RunBackwardShares}}
                    // ∂U += Σ_t ∂a(t)ᵀ·h(t−1);  ∂b_hh += Σ_t ∂a(t)
                    {{Kernels}}.AccumulateOuter<T>(_pool, {{h.RecurrentInput}}, {{L}}Padded, rows, dGates, {{L}}Row, {{h.RecurrentGradient}}, 0, {{L}}Gates, _outerScratch,
                        grad.Slice({{L}}RecurrentBias, {{L}}Row));
                    """);
            }

            /// <summary>Backward through one step of block j of row r: ∂a(t) of its four gates and the carries ∂c, from
            /// the gates and cells the forward saved.</summary>
            private string BlockBackward(BackwardHooks h) => $$"""
                int u = r * {{L}}Padded + j * BlockWidth;
                int at = (now + r) * {{L}}Row + j * {{L}}Gates * BlockWidth;
                ref float a = ref At(gates, at);
                ref float da = ref At(dGates, at);
                T i = T.Load(in a), f = T.Load(in At(ref a, BlockWidth));
                T g = T.Load(in At(ref a, 2 * BlockWidth)), o = T.Load(in At(ref a, 3 * BlockWidth));
                {{h.MaskLoad}}{{E.LstmBackwardState(n)}}
                // i, f, o = σ(a):  ∂a = ∂gate⊙s(1 − s);  g = tanh(a_g):  ∂a_g = ∂g⊙(1 − g²)
                T.Store(ref da, dc * {{h.CandidateKept}} * i * (T.One - i));
                T.Store(ref At(ref da, BlockWidth), dc * cPrev * f * (T.One - f));
                T.Store(ref At(ref da, 2 * BlockWidth), dc * i{{h.MaskFactor}} * (T.One - g * g));
                T.Store(ref At(ref da, 3 * BlockWidth), dh * tanhC * o * (T.One - o));
                """;

            /// <inheritdoc/>
            public override void EmitBackwardRecurrence()
            {
                bool zoneHidden = layer.Zoneout is not null;
                EmitBackRecurLayer("A share computes ∂a(t) of its units, waits at <paramref name=\"barrier\"/> until every share has, then\n/// computes its units of ∂h(t−1) = Uᵀ·∂a(t).",
                    Lines($"{Span} gates = _l{n}Gates.AsSpan(0, rows * {L}Row);",
                        $"{Span} dGates = _l{n}GateGradient.AsSpan(0, rows * {L}Row);",
                        $"{Span} dAbove = _l{n}HiddenGradient.AsSpan(0, rows * {L}Padded);",
                        $"{Span} dHidden = {Carry("_hiddenCarry")};",
                        $"{Span} cells = _l{n}Cell.AsSpan(0, (rows + batch) * {L}Padded);",
                        layer.CellZoneout is null ? null! : $"{ReadOnlySpan} cellCandidates = _l{n}CellCandidate.AsSpan(0, rows * {L}Padded); // c̃(t) before zoneout",
                        $"{Span} dCell = {Carry("_cellCarry")};"),
                    BlockBackward(BackwardHooks()),
                    Lines(zoneHidden ? "// a = … + U·h(t−1):  ∂h(t−1) = Uᵀ·∂a, this share's units (added to κ_h⊙∂h(t), already there)"
                            : "// a = … + U·h(t−1):  ∂h(t−1) = Uᵀ·∂a, this share's units",
                        zoneHidden ? null! : ClearShare("dHidden"),
                        E.Projects(n) // one thread: the whole product (its columns are the projection's, not the units')
                            ? $"{Kernels}.MultiplyAdd<T>(dGates.Slice(now * {L}Row, batch * {L}Row), {L}Row, batch, _l{n}RecurrentTransposed, {L}RecurrentShape.Transposed, 0, 1, dHidden, {L}Padded, Alternate(t));"
                            : SharedProduct("dGates", "dHidden"),
                        layer.RecurrentDropout is null ? null! : "// h̃ = h⊙m/(1 − p):  ∂h(t−1) = ∂h̃⊙m/(1 − p)",
                        layer.RecurrentDropout is null ? null! : MaskShare("dHidden")));
            }
        }
    }
}
