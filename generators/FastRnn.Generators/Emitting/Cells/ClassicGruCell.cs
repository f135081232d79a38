namespace FastRnn.Generators;

internal static partial class Emitter
{
    private sealed partial class ModelEmitter
    {
        /// <summary>The classic GRU (Cho et al. 2014; reset before the product): n = tanh(W_n·x + b_in + U_n·(r⊙h(t−1)) + b_hn).
        /// PyTorch has no such cell; its names, shapes and gate order are nn.GRU's.</summary>
        private sealed class ClassicGruCell(ModelEmitter emitter, int layerIndex) : CellEmitter(emitter, layerIndex)
        {
            /// <inheritdoc/>
            public override string ForwardState => $"_l{n}Recurrent.AsSpan(0, batch * {L}Row), _l{n}Aux.AsSpan(now * {L}Padded, batch * {L}Padded),";

            /// <inheritdoc/>
            protected override string StepState => $"state.Layer{n}Recurrent, state.Layer{n}Aux";

            /// <summary>Always the batched path: the classic GRU needs every reset gate before its candidate's product.</summary>
            public override void EmitStepLayer()
            {
                _w.Line("// The classic GRU needs every reset gate before its candidate's product, so it always takes the batched path.");
                using (_w.Block(""))
                    _w.Lines(BatchedStep);
            }

            /// <inheritdoc/>
            public override bool SplitsByBlocks => false;

            /// <summary>The sequence's recurrence is split by blocks all the same: the shares meet at a second barrier
            /// per step, after their reset gates, before the candidate's product.</summary>
            public override bool SplitsRecurrenceByBlocks => true;

            /// <inheritdoc/>
            public override string AdvanceBlocks(bool split) => split ? ", blockStart, blockEnd, barrier" : $", 0, {L}Blocks, null";

            /// <inheritdoc/>
            protected override string? StepBlocks => $"0, {L}Blocks, null";

            /// <inheritdoc/>
            public override void EmitAdvance()
            {
                _w.Lines($$"""
                    /// <summary>One classic GRU step (reset before the product) of layer {{n}} for <paramref name="batch"/> rows,
                    /// once <paramref name="gates"/> holds a_x = b_ih + W_ih·x:
                    ///   r = σ(a_r + b_hr + U_r·h(t−1));  z = σ(a_z + b_hz + U_z·h(t−1))
                    ///   n = tanh(a_n + b_hn + U_n·(r⊙h(t−1)));  h(t) = (1 − z)⊙n + z⊙h(t−1)
                    /// The activated gates replace the pre-activations; <paramref name="resetHidden"/> keeps r⊙h(t−1).
                    /// Blocks [<paramref name="blockStart"/>, <paramref name="blockEnd"/>) only, one thread's share: the shares
                    /// meet at <paramref name="barrier"/> between their reset gates and the candidate's product, which reads
                    /// every unit's r⊙h(t−1).{{RecurrentInputDoc}}{{ZoneDoc}}</summary>
                    {{NoInlining}}
                    private static void AdvanceLayer{{n}}<T>({{ReadOnlySpan}} p,{{WeightsParameter}} {{Span}} gates, {{ReadOnlySpan}} hPrev,{{RecurrentInputParameter}} {{Span}} h,
                        {{Span}} recurrent, {{Span}} resetHidden, {{ZoneParameters}}int batch, bool descending,
                        int blockStart, int blockEnd, global::FastRnn.ComputeBarrier? barrier{{QuantizedParameters}}) {{BlockConstraint}}
                    {
                        // blocks [blockStart, blockEnd) of units: the whole layer, or one thread's share of it
                        int first = blockStart * {{L}}Gates * BlockWidth, width = (blockEnd - blockStart) * {{L}}Gates * BlockWidth;
                        {{Kernels}}.BroadcastRows(p.Slice({{L}}RecurrentBias + first, width), recurrent.Slice(first), {{L}}Row, batch);
                        {{RecurrentProduct(RecurrentInput, "0, 2", "recurrent", "blockStart * 2, blockEnd * 2")}}
                        for (int r = 0; r < batch; r++)
                        {
                            for (int j = blockStart; j < blockEnd; j++)
                            {
                                int at = r * {{L}}Row + j * {{L}}Gates * BlockWidth;
                                ref float a = ref At(gates, at);
                                ref float gh = ref At(recurrent, at);
                                int u = r * {{L}}Padded + j * BlockWidth;
                                T reset = T.Sigmoid(T.Load(in a) + T.Load(in gh));
                                T z = T.Sigmoid(T.Load(in At(ref a, BlockWidth)) + T.Load(in At(ref gh, BlockWidth)));
                                T.Store(ref At(resetHidden, u), reset * T.Load(in At({{RecurrentInput}}, u)));
                                T.Store(ref a, reset);
                                T.Store(ref At(ref a, BlockWidth), z);
                            }
                        }
                        // gh_n = b_hn + U_n·(r⊙h(t−1)): the candidate's product needs every unit's reset gate first, the
                        // other shares' too
                        barrier?.SignalAndWait();
                        {{RecurrentProduct("resetHidden", "2, 3", "recurrent", "blockStart, blockEnd")}}
                        for (int r = 0; r < batch; r++)
                        {
                            for (int j = blockStart; j < blockEnd; j++)
                            {
                                int at = r * {{L}}Row + j * {{L}}Gates * BlockWidth;
                                ref float a = ref At(gates, at);
                                int u = r * {{L}}Padded + j * BlockWidth;
                                T z = T.Load(in At(ref a, BlockWidth));
                                T candidate = T.Tanh(T.Load(in At(ref a, 2 * BlockWidth)) + T.Load(in At(recurrent, at + 2 * BlockWidth)));
                                {{GruUpdate(layer, "z", "candidate", "At(hPrev, u)", "At(h, u)", "T.Load(in At(zoneHidden, u))", Semeniuta)}}
                                T.Store(ref At(ref a, 2 * BlockWidth), candidate);
                            }
                        }
                    }

                    """);
            }

            /// <summary>None: the classic GRU needs every reset gate before its candidate's product, so its batch-1 step
            /// takes the batched path.</summary>
            public override void EmitStepSingle()
            {
            }

            /// <inheritdoc/>
            public override void EmitBackwardSteps(BackwardHooks h)
            {
                _w.Lines($$"""
                    {{Span}} resetHidden = _l{{n}}Aux.AsSpan(0, rows * {{L}}Padded);
                    {{Span}} dResetHidden = _auxGradient.AsSpan(0, batch * {{L}}Padded);
                    for (int t = steps - 1; t >= 0; t--)
                    {
                        int now = t * batch;{{E.ZoneStep(n, $"0, {L}Blocks")}}{{E.InjectFinalGradient(n, "0, " + L + "Padded", cell: true)}}
                        for (int r = 0; r < batch; r++)
                        {
                            for (int j = 0; j < {{L}}Blocks; j++)
                            {
                                int u = r * {{L}}Padded + j * BlockWidth;
                                int at = (now + r) * {{L}}Row + j * {{L}}Gates * BlockWidth;
                                ref float a = ref At(gates, at);
                                T z = T.Load(in At(ref a, BlockWidth)), candidate = T.Load(in At(ref a, 2 * BlockWidth));
                                T hPrev = T.Load(in At(hidden, now * {{L}}Padded + u));
                                {{h.MaskLoad}}{{E.GruHiddenGradient(n)}}
                                // h(t) = n + z⊙(h(t−1) − n):  ∂n = ∂h⊙(1 − z);  ∂z = ∂h⊙(h(t−1) − n);  ∂h(t−1) = ∂h⊙z + …
                                T dan = dh * (T.One - z){{h.MaskFactor}} * (T.One - candidate * candidate);
                                T daz = dh * (hPrev - {{h.CandidateUsed}}) * z * (T.One - z);
                                {{(_m.Layers[n].Zoneout is null ? "T.Store(ref At(dHidden, u), dh * z);" : "T.Store(ref At(dHidden, u), T.MultiplyAdd(dh, z, keepHidden * dhTotal));")}}
                                ref float da = ref At(dGates, at);
                                T.Store(ref At(ref da, BlockWidth), daz);
                                T.Store(ref At(ref da, 2 * BlockWidth), dan);
                            }
                        }
                        // n = tanh(a_n + b_hn + U_n·(r⊙h(t−1))):  ∂(r⊙h(t−1)) = U_nᵀ·∂a_n
                        {{Span}} dStep = dGates.Slice(now * {{L}}Row, batch * {{L}}Row);
                        dResetHidden.Clear();{{h.ClearTilde}}
                        {{Kernels}}.MultiplyAdd<T>(_pool, dStep, {{L}}Row, batch, _l{{n}}CandidateTransposed, {{L}}RecurrentShape.Transposed, 0, 1, dResetHidden, {{L}}Padded, Alternate(t));
                        for (int r = 0; r < batch; r++)
                        {
                            for (int j = 0; j < {{L}}Blocks; j++)
                            {
                                int u = r * {{L}}Padded + j * BlockWidth;
                                int at = (now + r) * {{L}}Row + j * {{L}}Gates * BlockWidth;
                                T reset = T.Load(in At(gates, at));
                                T dProduct = T.Load(in At(dResetHidden, u));
                                // ∂r = ∂(r⊙h)⊙h(t−1);  ∂h(t−1) += ∂(r⊙h)⊙r;  r = σ(a_r):  ∂a_r = ∂r⊙r(1 − r)
                                T dReset = dProduct * T.Load(in At({{h.RecurrentInput}}, now * {{L}}Padded + u));
                                T.Store(ref At(dGates, at), dReset * reset * (T.One - reset));
                                T.Store(ref At({{h.ProductTarget}}, u), T.MultiplyAdd(dProduct, reset, T.Load(in At({{h.ProductTarget}}, u))));
                            }
                        }
                        // r, z = σ(… + U_r,z·h(t−1)):  ∂h(t−1) += U_r,zᵀ·∂a_r,z
                        {{Kernels}}.MultiplyAdd<T>(_pool, dStep, {{L}}Row, batch, _l{{n}}RecurrentTransposed, {{L}}RecurrentShape.Transposed, 0, 1, {{h.ProductTarget}}, {{L}}Padded, Alternate(t));
                        {{h.MaskCarry}}
                    }
                    // ∂U_r,z += Σ_t ∂a_r,zᵀ·h(t−1);  ∂U_n += Σ_t ∂a_nᵀ·(r⊙h(t−1));  ∂b_hh += Σ_t ∂a
                    {{Kernels}}.AccumulateOuter<T>(_pool, {{h.RecurrentInput}}, {{L}}Padded, rows, dGates, {{L}}Row, {{h.RecurrentGradient}}, 0, 2, _outerScratch,
                        grad.Slice({{L}}RecurrentBias, {{L}}Row));
                    {{Kernels}}.AccumulateOuter<T>(_pool, resetHidden, {{L}}Padded, rows, dGates, {{L}}Row, {{h.RecurrentGradient}}, 2, 3, _outerScratch,
                        grad.Slice({{L}}RecurrentBias, {{L}}Row));
                    """);
            }
        }
    }
}
