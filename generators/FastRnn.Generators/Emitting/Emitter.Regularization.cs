using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace FastRnn.Generators;

// The run-time options object and the mask-based techniques: what each declared technique adds to the model.
internal static partial class Emitter
{
    private sealed partial class ModelEmitter
    {
        /// <summary>A run-time option: its property name, attribute default and documentation; a rate in [0, 1) or a
        /// coefficient (finite, at least 0).</summary>
        private sealed record Option(string Name, double Default, string Doc, bool Coefficient = false);

        private IEnumerable<Option> Options()
        {
            if (_m.EmbeddingDropout is { } embedding)
                yield return new Option("EmbeddingDropout", embedding,
                    "Embedding dropout: the rate at which whole embedding rows (token types) are dropped for a training pass.");
            for (int n = 0; n < _m.Layers.Count; n++)
            {
                if (_m.Layers[n].InputDropout is { } dropout)
                    yield return new Option($"Layer{n}Dropout", dropout.Rate, $"{DropoutKind(dropout)} rate on layer {n}'s input.");
                if (_m.Layers[n].RecurrentDropout is { } recurrent)
                    yield return new Option($"Layer{n}RecurrentDropout", recurrent,
                        $"Recurrent dropout rate of layer {n}: h(t−1) masked where it enters the recurrent product, one mask per sequence.");
                if (_m.Layers[n].Zoneout is { } zoneout)
                    yield return new Option($"Layer{n}Zoneout", zoneout,
                        $"Zoneout rate of layer {n}'s h: the probability that a unit keeps h(t−1) at a step (the weight of h(t−1) at inference).");
                if (_m.Layers[n].CellZoneout is { } cellZoneout)
                    yield return new Option($"Layer{n}CellZoneout", cellZoneout,
                        $"Zoneout rate of layer {n}'s cell state c (the weight of c(t−1) at inference).");
                if (_m.Layers[n].CandidateDropout is { } candidate)
                    yield return new Option($"Layer{n}CandidateDropout", candidate,
                        $"Semeniuta recurrent dropout rate of layer {n}: the candidate is masked, one mask per sequence.");
                if (_m.Layers[n].WeightDrop is { } weightDrop)
                    yield return new Option($"Layer{n}WeightDrop", weightDrop,
                        $"Weight drop rate of layer {n}: elements of weight_hh dropped for a training pass (DropConnect).");
            }
            if (_m.HeadDropout is { } head)
                yield return new Option("HeadDropout", head.Rate, $"{DropoutKind(head)} rate on the head's input.");
            if (_m.ActivationRegularization is { } ar)
                yield return new Option("ActivationRegularization", ar,
                    "AR's α: the training loss adds α·mean(h̃²) over the top layer's output as the head reads it.", Coefficient: true);
            if (_m.TemporalActivationRegularization is { } tar)
                yield return new Option("TemporalActivationRegularization", tar,
                    "TAR's β: the training loss adds β·mean((h(t) − h(t−1))²) over the top layer's raw output.", Coefficient: true);
            foreach (var constraint in _m.Constraints)
            {
                if (constraint.HasMax)
                    yield return new Option(constraint.Name + "MaxNorm", constraint.Max, $"The {constraint.Name} group's largest norm (Keras max_value).", Coefficient: true);
                if (constraint.Kind == ConstraintKind.MinMaxNorm)
                {
                    yield return new Option(constraint.Name + "MinNorm", constraint.Min, $"The {constraint.Name} group's smallest norm (Keras min_value).", Coefficient: true);
                    yield return new Option(constraint.Name + "NormRate", constraint.Rate, $"How strictly the {constraint.Name} group's norm is enforced per update (Keras rate).", Coefficient: true);
                }
            }
            foreach (var penalty in _m.Penalties)
            {
                if (penalty.L1 is { } l1)
                    yield return new Option(penalty.Name + "L1", l1, $"L1 penalty on the {penalty.Name} group: the training loss adds L1·Σ|w|.", Coefficient: true);
                if (penalty.L2 is { } l2)
                    yield return new Option(penalty.Name + "L2", l2, $"L2 penalty on the {penalty.Name} group: the training loss adds L2·Σw².", Coefficient: true);
            }
        }

        private static string DropoutKind(DropoutSpec dropout) =>
            dropout.Locked ? "Locked dropout (one mask per sequence)" : "Dropout (a fresh mask at every step)";

        private static string Field(string name) => "_" + char.ToLowerInvariant(name[0]) + name.Substring(1);

        private static string Float(double value) =>
            ((float)value).ToString("R", CultureInfo.InvariantCulture) + "f";

        private void EmitOptions()
        {
            var options = Options().ToList();
            string names = options.Count == 0
                ? "global::System.Array.Empty<string>()"
                : "new string[] { " + string.Join(", ", options.Select(o => $"\"{o.Name}\"")) + " }";
            string known = options.Count == 0 ? "none" : string.Join(", ", options.Select(o => o.Name));
            _w.Lines($$"""
                /// <summary>Run-time settings: mode, mask seed and counter, and the rate or coefficient of every declared
                /// technique, defaulting to the attribute values. Changing one never recompiles; a technique at 0 costs one
                /// branch per call. Invalid values throw and leave the option unchanged.</summary>
                public sealed class RunOptions : global::FastRnn.IRunOptions
                {
                    private static readonly string[] s_names = {{names}};

                """);
            using (_w.Indent())
            {
                foreach (var option in options)
                    _w.Line($"private float {Field(option.Name)} = {Float(option.Default)};");
                if (options.Count > 0)
                    _w.Line();
                _w.Lines("""
                    internal RunOptions(ulong seed) => Seed = seed;

                    /// <inheritdoc/>
                    public bool Training { get; set; } = true;

                    /// <inheritdoc/>
                    public ulong Seed { get; set; }

                    /// <inheritdoc/>
                    public ulong Pass { get; set; }

                    """);
                foreach (var option in options)
                {
                    string check = option.Coefficient ? "global::FastRnn.Kernels.ActivationPenalty.CheckCoefficient" : "global::FastRnn.Kernels.Masks.CheckRate";
                    _w.Lines($$"""
                        /// <summary>{{option.Doc}} Default {{Float(option.Default)}}; {{(option.Coefficient ? "finite, at least 0" : "in [0, 1)")}}.</summary>
                        public float {{option.Name}}
                        {
                            get => {{Field(option.Name)}};
                            set => {{Field(option.Name)}} = {{check}}(value, nameof({{option.Name}}));
                        }

                        """);
                }
                string getters = Lines([.. options.Select(o => $"\"{o.Name}\" => {o.Name},")]);
                string setters = Lines([.. options.Select(o => $"case \"{o.Name}\": {o.Name} = value; break;")]);
                _w.Lines($$"""
                    /// <inheritdoc/>
                    public global::System.Collections.Generic.IReadOnlyList<string> Names => s_names;

                    /// <inheritdoc/>
                    public float this[string name]
                    {
                        get => name switch
                        {
                            {{getters}}
                            _ => throw Unknown(name),
                        };
                        set
                        {
                            switch (name)
                            {
                                {{setters}}
                                default: throw Unknown(name);
                            }
                        }
                    }

                    private static global::System.ArgumentException Unknown(string name) =>
                        new($"{{_m.Name}} has no run-time option '{name}'; its options are: {{known}}.", nameof(name));
                    """);
            }
            _w.Line("}");
            _w.Line();
        }

        // ---- masks ------------------------------------------------------------------------------------------

        private static string Period(DropoutSpec dropout) => dropout.Locked ? "batch" : "int.MaxValue";

        private string InputWidth(int n) => ReadsModelInput(n) ? "InputSize" : OutputWidth(Below(n));

        private void EmitMaskMethods()
        {
            const string Site = "global::FastRnn.Kernels.MaskSite";
            var begin = new List<string>();
            if (_m.EmbeddingDropout is not null)
                begin.Add($"_embeddingMask.Begin(training, _options.EmbeddingDropout, _options.Seed, pass, {Site}.EmbeddingRows, 0);");
            for (int n = 0; n < _m.Layers.Count; n++)
            {
                if (_m.Layers[n].InputDropout is not null)
                    begin.Add($"_l{n}InputMask.Begin(training, _options.Layer{n}Dropout, _options.Seed, pass, {Site}.LayerInput, {N(n)});");
                if (_m.Layers[n].RecurrentDropout is not null)
                    begin.Add($"_l{n}RecurrentMask.Begin(training, _options.Layer{n}RecurrentDropout, _options.Seed, pass, {Site}.Recurrent, {N(n)});");
                if (_m.Layers[n].Zoneout is not null)
                    begin.Add($"_l{n}ZoneoutMask.Begin(training, _options.Layer{n}Zoneout, _options.Seed, pass, {Site}.ZoneoutHidden, {N(n)});");
                if (_m.Layers[n].CellZoneout is not null)
                    begin.Add($"_l{n}CellZoneoutMask.Begin(training, _options.Layer{n}CellZoneout, _options.Seed, pass, {Site}.ZoneoutCell, {N(n)});");
                if (_m.Layers[n].CandidateDropout is not null)
                    begin.Add($"_l{n}CandidateSite.Begin(training, _options.Layer{n}CandidateDropout, _options.Seed, pass, {Site}.Candidate, {N(n)});");
                if (_m.Layers[n].WeightDrop is not null)
                    begin.Add(Lines(
                        $"_l{n}WeightMask.Begin(training, _options.Layer{n}WeightDrop, _options.Seed, pass, {Site}.WeightDrop, {N(n)});",
                        $"if (_l{n}WeightMask.Active) // one mask over weight_hh for the whole pass (AWD-LSTM's WeightDrop)",
                        $"    _l{n}WeightMask.ApplyInterleaved(_parameters.AsSpan(L{n}RecurrentWeights, L{n}RecurrentShape.Length), _l{n}DroppedWeights, L{n}RecurrentShape, L{n}Hidden);"));
            }
            if (_m.HeadDropout is not null)
                begin.Add($"_headMask.Begin(training, _options.HeadDropout, _options.Seed, pass, {Site}.HeadInput, 0);");
            _w.Lines($$"""
                /// <summary>Sets up the masks of a pass from the options: a training pass draws with the current counter and
                /// advances it.</summary>
                private void BeginMasks()
                {
                    bool training = _options.Training;
                    ulong pass = _options.Pass;
                    if (training)
                        _options.Pass = pass + 1;
                    {{Lines([.. begin])}}
                }

                """);

            var exports = new List<string>();
            if (_m.EmbeddingDropout is not null)
                exports.Add("if (_embeddingMask.Active) masks.Add(\"embedding.rows\", _embeddingMask.Export(1, Vocabulary, int.MaxValue));");
            for (int n = 0; n < _m.Layers.Count; n++)
            {
                if (_m.Layers[n].InputDropout is { } dropout)
                    exports.Add($"if (_l{n}InputMask.Active) masks.Add(\"layer{n}.input\", _l{n}InputMask.Export({InputWidth(n)}, rows, {Period(dropout)}));");
                if (_m.Layers[n].RecurrentDropout is not null)
                    exports.Add($"if (_l{n}RecurrentMask.Active) masks.Add(\"layer{n}.recurrent\", _l{n}RecurrentMask.Export(L{n}Hidden, batch, batch));");
                if (_m.Layers[n].Zoneout is not null)
                    exports.Add($"if (_l{n}ZoneoutMask.Random) masks.Add(\"layer{n}.zoneout\", _l{n}ZoneoutMask.Export(L{n}Hidden, rows));");
                if (_m.Layers[n].CellZoneout is not null)
                    exports.Add($"if (_l{n}CellZoneoutMask.Random) masks.Add(\"layer{n}.cellzoneout\", _l{n}CellZoneoutMask.Export(L{n}Hidden, rows));");
                if (_m.Layers[n].CandidateDropout is not null)
                    exports.Add($"if (_l{n}CandidateSite.Active) masks.Add(\"layer{n}.candidate\", _l{n}CandidateSite.Export(L{n}Hidden, batch, batch));");
                if (_m.Layers[n].WeightDrop is not null)
                    exports.Add($"if (_l{n}WeightMask.Active) masks.Add(\"layer{n}.weight_hh\", _l{n}WeightMask.ExportMatrix(L{n}Gates * L{n}Hidden, L{n}Hidden));");
            }
            if (_m.HeadDropout is { } head)
                exports.Add($"if (_headMask.Active) masks.Add(\"head.input\", _headMask.Export({OutputWidth(Top)}, {(EveryStep ? "rows" : "batch")}, {Period(head)}));");
            _w.Lines($$"""
                /// <summary>Debug: the dropout multipliers (0, or 1/(1 − rate) for a kept element) the last <see cref="Forward"/>
                /// used, by site: "embedding.rows" [Vocabulary], "layer{n}.input" [steps, batch, inputs of layer n],
                /// "layer{n}.recurrent" [batch, hidden of layer n] (one mask for every step), "head.input" [head rows, hidden];
                /// zoneout's κ (1 where a unit kept its previous value) as "layer{n}.zoneout" and "layer{n}.cellzoneout"
                /// [steps, batch, hidden]; weight drop's multipliers as "layer{n}.weight_hh" [gates·hidden, hidden] (PyTorch's layout);
                /// Semeniuta's candidate mask as "layer{n}.candidate" [batch, hidden]. Only sites that dropped appear. Allocates; for tests and tools.</summary>
                public global::System.Collections.Generic.Dictionary<string, float[]> ExportMasks()
                {
                    if (!_hasForward)
                        throw new global::System.InvalidOperationException("Call Forward before ExportMasks.");
                    var masks = new global::System.Collections.Generic.Dictionary<string, float[]>();
                    int batch = _batch, rows = _steps * _batch;
                    {{Lines([.. exports])}}
                    return masks;
                }

                """);

            for (int n = 0; n < _m.Layers.Count; n++)
            {
                if (_m.Layers[n].InputDropout is null)
                    continue;
                _w.Lines($$"""
                    /// <summary>What layer {{n}}'s input products read: the dropped copy when its mask is active.</summary>
                    private {{ReadOnlySpan}} Layer{{n}}Input(int batch, int rows) =>
                        _l{{n}}InputMask.Active ? _l{{n}}Dropped.AsSpan(0, rows * {{InputStride(n)}}) : {{RawInputSpan(n, "rows")}};

                    """);
            }
            if (_m.HeadDropout is not null)
            {
                string rows = EveryStep ? "steps * batch" : "batch";
                _w.Lines($$"""
                    /// <summary>What the head reads: the top layer's hidden states, or their dropped copy when its mask is active.</summary>
                    private {{ReadOnlySpan}} HeadInput(int batch, int steps) =>
                        _headMask.Active ? _headDropped.AsSpan(0, ({{rows}}) * {{OutputStride(Top)}}) : {{TopRows}};

                    """);
            }
        }

        // ---- zoneout ------------------------------------------------------------------------------------------

        /// <summary>A fragment of whole lines (null entries left out), written without indentation: a template puts it
        /// at the indentation of the line it stands on (<see cref="CodeTemplate"/>).</summary>
        private static string Lines(params string[] lines) =>
            string.Join("\n", lines.Where(l => l is not null));

        /// <summary>A fragment written from a template, its values indented where they stand (<see cref="CodeTemplate"/>).</summary>
        private static string Code(CodeTemplate template) => template.ToString();

        /// <summary>An LSTM's state update for one block: c̃ = f⊙c(t−1) + i⊙g, h̃ = o⊙tanh(c̃), then zoneout where declared.
        /// Without zoneout it is the plain update. <paramref name="candidate"/> (may be null) receives c̃ for backward.</summary>
        private static string LstmUpdate(LayerSpec layer, string f, string ig, string o, string cPrev, string c,
            string hPrev, string h, string keepHidden, string keepCell, string? candidate, bool streamable = false)
        {
            if (!layer.HasZoneout)
                return Lines(
                    $"T cNew = T.MultiplyAdd({f}, T.Load(in {cPrev}), {ig});",
                    $"T.Store(ref {c}, cNew);",
                    HiddenStore(h, $"{o} * T.Tanh(cNew)", streamable));
            bool zh = layer.Zoneout is not null, zc = layer.CellZoneout is not null;
            return Lines(
                $"T cPrevious = T.Load(in {cPrev});",
                $"T cTilde = T.MultiplyAdd({f}, cPrevious, {ig});",
                $"T hTilde = {o} * T.Tanh(cTilde);",
                zc && candidate is not null ? $"T.Store(ref {candidate}, cTilde);" : null!,
                zc ? "// zoneout: c(t) = c̃ + κ_c⊙(c(t−1) − c̃)" : null!,
                zc ? $"T.Store(ref {c}, T.MultiplyAdd({keepCell}, cPrevious - cTilde, cTilde));" : $"T.Store(ref {c}, cTilde);",
                zh ? "// zoneout: h(t) = h̃ + κ_h⊙(h(t−1) − h̃)" : null!,
                HiddenStore(h, zh ? $"T.MultiplyAdd({keepHidden}, T.Load(in {hPrev}) - hTilde, hTilde)" : "hTilde", streamable));
        }

        /// <summary>The store of h(t) into <paramref name="h"/>. In a kernel that a shared recurrence calls
        /// (<paramref name="streamable"/>: it takes <c>stream</c>), h(t) is what the other shares read next, so when the
        /// pool streams shared writes it goes past this core's cache (<c>StoreNonTemporal</c>; the same values).</summary>
        private static string HiddenStore(string h, string value, bool streamable) => !streamable
            ? $"T.Store(ref {h}, {value});"
            : Lines($"T hNew = {value};",
                "// h(t), read next by the other shares: past this core's cache when the pool streams shared writes",
                $"if (stream) T.StoreNonTemporal(ref {h}, hNew);",
                $"else T.Store(ref {h}, hNew);");

        /// <summary>A GRU's h(t) = n + z⊙(h(t−1) − n) for one block, then zoneout where declared. With
        /// <paramref name="masked"/> (Semeniuta's dropout in training), n is first multiplied by the candidate mask.</summary>
        private static string GruUpdate(LayerSpec layer, string z, string candidate, string hPrev, string h, string keepHidden,
            bool masked = false, bool streamable = false)
        {
            if (masked)
                return Lines(
                    "// Semeniuta: ñ = n⊙m/(1 − p), the mask fixed over the sequence",
                    $"T nKept = {candidate} * T.Load(in At(candidateMask, u));",
                    GruUpdate(layer, z, "nKept", hPrev, h, keepHidden, streamable: streamable));
            if (layer.Zoneout is null)
                return HiddenStore(h, $"T.MultiplyAdd({z}, T.Load(in {hPrev}) - {candidate}, {candidate})", streamable);
            return Lines(
                $"T hPrevious = T.Load(in {hPrev});",
                $"T hTilde = T.MultiplyAdd({z}, hPrevious - {candidate}, {candidate});",
                "// zoneout: h(t) = h̃ + κ⊙(h(t−1) − h̃)",
                HiddenStore(h, $"T.MultiplyAdd({keepHidden}, hPrevious - hTilde, hTilde)", streamable));
        }

        /// <summary>The candidate-mask argument of AdvanceLayer n (Semeniuta's dropout), in the sequence forward.</summary>
        private string CandidateArgument(int n) =>
            _m.Layers[n].CandidateDropout is null ? "" : $"_l{n}CandidateMask.AsSpan(0, batch * L{n}Padded), ";

        /// <summary>Forward and backward, at the start of layer n: the sequence's candidate mask (regenerated in backward).</summary>
        private string CandidateMaskFill(int n) =>
            _m.Layers[n].CandidateDropout is null ? "" :
                $"// Semeniuta: one candidate mask for the whole sequence, regenerated from its key (all 1 when not dropping)\n_l{n}CandidateSite.FillRows(_l{n}CandidateMask, L{n}Padded, L{n}Hidden, batch);";

        /// <summary>The zoneout arguments of AdvanceLayer n in the sequence forward, for the step whose first row is now
        /// and the units of <paramref name="blocks"/> (<c>"start, end"</c>).</summary>
        private string ZoneArguments(int n, string blocks) =>
            (_m.Layers[n].Zoneout is not null ? $"Layer{n}ZoneHidden(batch, now, {blocks}), " : "") +
            (_m.Layers[n].CellZoneout is not null ? $"Layer{n}ZoneCell(batch, now, {blocks}), _l{n}CellCandidate.AsSpan(now * L{n}Padded, batch * L{n}Padded), " : "");

        // ---- activation penalties (AR, TAR) -------------------------------------------------------------------

        private void EmitActivationPenalties()
        {
            if (!_m.HasActivationPenalty)
                return;
            string top = _m.HeadDropout is null ? LayerOutput(Top, "0", "rows") : "HeadInput(batch, steps)";
            _w.Lines($$"""
                // AR and TAR coefficients of the last Loss (0 outside training mode), for Backward.
                private float _activationCoefficient;
                private float _temporalCoefficient;

                /// <summary>AWD-LSTM's AR and TAR on the last Forward's top-layer output, added to the training loss (only in
                /// training mode); Backward adds their gradients.</summary>
                private float ActivationPenalties(int batch, int steps)
                {
                    int rows = steps * batch;
                    _activationCoefficient = {{(_m.ActivationRegularization is null ? "0f" : "_options.Training ? _options.ActivationRegularization : 0f")}};
                    _temporalCoefficient = {{(_m.TemporalActivationRegularization is null ? "0f" : "_options.Training ? _options.TemporalActivationRegularization : 0f")}};{{(SplitsInference ? "\nif (_activationCoefficient > 0f || _temporalCoefficient > 0f)\n    " + UnshardCall : "")}}
                    // under per-row lengths only the real steps count (and the pairs of consecutive real steps)
                    var real = {{RealSteps}};
                    int differences = global::FastRnn.Kernels.ActivationPenalty.DifferenceCount(rows, batch, real);
                    double penalty = 0;
                    if (_activationCoefficient > 0f) // α·mean(h̃²) over the real rows of [steps·batch, Hidden]
                        penalty += _activationCoefficient * global::FastRnn.Kernels.ActivationPenalty.SumOfSquares({{top}}, {{OutputStride(Top)}}, {{OutputWidth(Top)}}, rows, real) / ((double)real.Count(rows) * {{OutputWidth(Top)}});
                    if (_temporalCoefficient > 0f && differences > 0) // β·mean((h(t) − h(t−1))²) over real steps 1 … T − 1
                        penalty += _temporalCoefficient * global::FastRnn.Kernels.ActivationPenalty.SumOfSquaredDifferences(
                            {{RawTopOutput("rows")}}, {{OutputStride(Top)}}, {{OutputWidth(Top)}}, rows, batch, real) / ((double)differences * {{OutputWidth(Top)}});
                    return (float)penalty;
                }

                """);
        }

        // ---- L1/L2 penalties ----------------------------------------------------------------------------------

        private void EmitPenaltyOf()
        {
            if (_m.Penalties.Count == 0)
                return;
            string Coefficients(PenaltySpec p) =>
                $"({(p.L1 is null ? "0f" : $"_options.{p.Name}L1")}, {(p.L2 is null ? "0f" : $"_options.{p.Name}L2")})";
            string cases = Lines([.. _m.Penalties.SelectMany(penalty => Roles(penalty.Group)
                .Select(role => $"global::FastRnn.ParameterRole.{role} => {Coefficients(penalty)},"))]);
            _w.Lines($$"""
                /// <inheritdoc/>
                (float L1, float L2) global::FastRnn.IRnnModel.PenaltyOf(global::FastRnn.ParameterRole role) => role switch
                {
                    {{cases}}
                    _ => default,
                };

                """);
        }

        private void EmitConstraintOf()
        {
            if (_m.Constraints.Count == 0)
                return;
            var cases = new List<string>();
            foreach (var c in _m.Constraints)
            {
                string max = c.HasMax ? $"_options.{c.Name}MaxNorm" : "1f";
                string min = c.Kind == ConstraintKind.MinMaxNorm ? $"_options.{c.Name}MinNorm" : "0f";
                string rate = c.Kind == ConstraintKind.MinMaxNorm ? $"_options.{c.Name}NormRate" : "1f";
                foreach (var role in Roles(c.Group))
                    cases.Add($"global::FastRnn.ParameterRole.{role} => new(global::FastRnn.ConstraintKind.{c.Kind}, {N(c.Axis)}, {min}, {max}, {rate}),");
            }
            _w.Lines($$"""
                /// <inheritdoc/>
                global::FastRnn.WeightConstraint global::FastRnn.IRnnModel.ConstraintOf(global::FastRnn.ParameterRole role) => role switch
                {
                    {{Lines([.. cases])}}
                    _ => default,
                };

                """);
        }

        /// <summary>The parameter roles (FastRnn.ParameterRole) a group's penalty or constraint applies to (a projection's
        /// weight_hr counts as a recurrent kernel).</summary>
        private string[] Roles(ParameterGroup group) => group switch
        {
            ParameterGroup.Bias => ["InputBias", "RecurrentBias"],
            ParameterGroup.RecurrentKernel when _m.Layers.Any(l => l.Projection > 0) => ["RecurrentKernel", "ProjectionKernel"],
            _ => [group.ToString()],
        };

        // ---- weight drop ---------------------------------------------------------------------------------------

        /// <summary>The recurrent weights layer n's products read in a training pass: weight_hh, or its dropped copy.</summary>
        private string RecurrentWeights(int n) => _m.Layers[n].WeightDrop is null
            ? $"p.Slice(L{n}RecurrentWeights, L{n}RecurrentShape.Length)"
            : $"(_l{n}WeightMask.Active ? _l{n}DroppedWeights : p.Slice(L{n}RecurrentWeights, L{n}RecurrentShape.Length))";

        /// <summary>Backward, before the recurrent weight gradient: where it accumulates (a scratch under weight drop).</summary>
        private string WeightGradientSetup(int n)
        {
            if (_m.Layers[n].WeightDrop is null)
                return "";
            string L = $"L{n}";
            return Lines(
                $"// W̃ = W⊙M/(1 − p):  ∂W = ∂W̃⊙M/(1 − p), so this pass's ∂W̃ gathers apart from the gradients already there",
                $"{Span} dRecurrentWeights = _l{n}WeightMask.Active ? _l{n}DroppedWeightGradient : grad.Slice({L}RecurrentWeights, {L}RecurrentShape.Length);",
                $"if (_l{n}WeightMask.Active)",
                $"    dRecurrentWeights.Clear();");
        }

        /// <summary>Backward, after the recurrent weight gradient: under weight drop, ∂W += ∂W̃⊙M/(1 − p).</summary>
        private string WeightGradientFinish(int n)
        {
            if (_m.Layers[n].WeightDrop is null)
                return "";
            string L = $"L{n}";
            return Lines(
                $"if (_l{n}WeightMask.Active)",
                "{",
                $"    _l{n}WeightMask.ApplyInterleaved(dRecurrentWeights, dRecurrentWeights, {L}RecurrentShape, {L}Hidden);",
                $"    {Span} dW = grad.Slice({L}RecurrentWeights, {L}RecurrentShape.Length);",
                "    global::System.Numerics.Tensors.TensorPrimitives.Add(dW, dRecurrentWeights, dW);",
                "}");
        }

        /// <summary>Backward, at the top of step t: κ of the step for the units of <paramref name="blocks"/>, regenerated.</summary>
        private string ZoneStep(int n, string blocks) =>
            (_m.Layers[n].Zoneout is not null ? $"\n{ReadOnlySpan} zoneHidden = Layer{n}ZoneHidden(batch, now, {blocks});" : "") +
            (_m.Layers[n].CellZoneout is not null ? $"\n{ReadOnlySpan} zoneCell = Layer{n}ZoneCell(batch, now, {blocks});" : "");

        /// <summary>Backward, a GRU block: ∂h of the step's output, split by zoneout into ∂h̃ and the part that reaches
        /// h(t−1) directly (stored by the caller).</summary>
        private string GruHiddenGradient(int n)
        {
            string L = $"L{n}";
            string total = $"T.Load(in At(dAbove, now * {L}Padded + u)) + T.Load(in At(dHidden, u))";
            if (_m.Layers[n].Zoneout is null)
                return $"T dh = {total};";
            return Lines(
                $"T dhTotal = {total};",
                "// zoneout h(t) = h̃ + κ⊙(h(t−1) − h̃):  ∂h̃ = (1 − κ)⊙∂h(t);  ∂h(t−1) = κ⊙∂h(t) + …",
                "T keepHidden = T.Load(in At(zoneHidden, u));",
                "T dh = dhTotal * (T.One - keepHidden);");
        }

        /// <summary>Backward, an LSTM block: from ∂h(t) and ∂c(t) to ∂h̃, ∂c̃ (dh, dc) and the carries, through zoneout
        /// where declared. Without zoneout it is the plain LSTM step.</summary>
        private string LstmBackwardState(int n)
        {
            string L = $"L{n}";
            var layer = _m.Layers[n];
            bool zh = layer.Zoneout is not null, zc = layer.CellZoneout is not null;
            string total = $"T.Load(in At(dAbove, now * {L}Padded + u)) + T.Load(in At(dHidden, u))";
            if (!zh && !zc)
                return Lines(
                    $"T cPrev = T.Load(in At(cells, now * {L}Padded + u));",
                    $"T tanhC = T.Tanh(T.Load(in At(cells, (now + batch) * {L}Padded + u)));",
                    "// ∂h(t): from above, and from step t + 1 through U",
                    $"T dh = {total};",
                    "// h(t) = o⊙tanh(c(t)):  ∂c(t) = ∂h⊙o⊙(1 − tanh²c) + ∂c from step t + 1",
                    "T dc = T.MultiplyAdd(dh * o, T.One - tanhC * tanhC, T.Load(in At(dCell, u)));",
                    "// c(t) = f⊙c(t−1) + i⊙g:  ∂c(t−1) = ∂c⊙f",
                    "T.Store(ref At(dCell, u), dc * f);");
            return Lines(
                $"T cPrev = T.Load(in At(cells, now * {L}Padded + u));",
                zc ? $"T tanhC = T.Tanh(T.Load(in At(cellCandidates, now * {L}Padded + u))); // tanh(c̃(t))"
                   : $"T tanhC = T.Tanh(T.Load(in At(cells, (now + batch) * {L}Padded + u)));",
                zh ? $"T dhTotal = {total};" : $"T dh = {total};",
                zh ? "// zoneout h(t) = h̃ + κ_h⊙(h(t−1) − h̃):  ∂h̃ = (1 − κ_h)⊙∂h(t);  ∂h(t−1) = κ_h⊙∂h(t) + Uᵀ·∂a" : null!,
                zh ? "T keepHidden = T.Load(in At(zoneHidden, u));" : null!,
                zh ? "T dh = dhTotal * (T.One - keepHidden);" : null!,
                zh ? "T.Store(ref At(dHidden, u), keepHidden * dhTotal);" : null!,
                zc ? "// zoneout c(t) = c̃ + κ_c⊙(c(t−1) − c̃), h̃ = o⊙tanh(c̃):  ∂c̃ = ∂h̃⊙o⊙(1 − tanh²c̃) + (1 − κ_c)⊙∂c(t)"
                   : "// h̃ = o⊙tanh(c(t)):  ∂c(t) = ∂h̃⊙o⊙(1 − tanh²c) + ∂c from step t + 1",
                zc ? "T dcTotal = T.Load(in At(dCell, u)), keepCell = T.Load(in At(zoneCell, u));" : null!,
                zc ? "T dc = T.MultiplyAdd(dh * o, T.One - tanhC * tanhC, dcTotal * (T.One - keepCell));"
                   : "T dc = T.MultiplyAdd(dh * o, T.One - tanhC * tanhC, T.Load(in At(dCell, u)));",
                zc ? "// c̃ = f⊙c(t−1) + i⊙g:  ∂c(t−1) = ∂c̃⊙f + κ_c⊙∂c(t)" : "// c(t) = f⊙c(t−1) + i⊙g:  ∂c(t−1) = ∂c⊙f",
                zc ? "T.Store(ref At(dCell, u), T.MultiplyAdd(dc, f, keepCell * dcTotal));" : "T.Store(ref At(dCell, u), dc * f);");
        }

        /// <summary>Per zoneout site, the κ of one step: drawn in training, the rate at inference, none at rate 0.</summary>
        private void EmitZoneoutMethods()
        {
            for (int n = 0; n < _m.Layers.Count; n++)
            {
                foreach (var (declared, name, field, what) in new[]
                {
                    (_m.Layers[n].Zoneout is not null, "ZoneHidden", $"_l{n}Zoneout", "h"),
                    (_m.Layers[n].CellZoneout is not null, "ZoneCell", $"_l{n}CellZoneout", "c"),
                })
                {
                    if (!declared)
                        continue;
                    string mask = field + "Mask";
                    _w.Lines($$"""
                        /// <summary>κ of layer {{n}}'s {{what}} at the step whose first row is <paramref name="now"/>, for the units of the blocks
                        /// [<paramref name="blockStart"/>, <paramref name="blockEnd"/>) (the layer, or one thread's share): 1 where a unit keeps its
                        /// previous value (training), the rate (inference), or nothing to keep at rate 0. Backward calls it again
                        /// for the same step and gets the same draws.</summary>
                        private {{ReadOnlySpan}} Layer{{n}}{{name}}(int batch, int now, int blockStart, int blockEnd)
                        {
                            if (!{{mask}}.Active)
                                return _noZoneout.AsSpan(0, batch * L{{n}}Padded);
                            {{mask}}.Fill({{field}}, L{{n}}Padded, L{{n}}Hidden, batch, now, blockStart * BlockWidth, blockEnd * BlockWidth);
                            return {{field}}.AsSpan(0, batch * L{{n}}Padded);
                        }

                        """);
                }
            }
        }

        /// <summary>Forward, before layer n's input product: fills the dropped copy of its input.</summary>
        private void EmitInputDropout(int n)
        {
            if (_m.Layers[n].InputDropout is not { } dropout)
                return;
            _w.Lines($$"""
                if (_l{{n}}InputMask.Active)
                {
                    // x̃ = x⊙m/(1 − p), m ~ Bernoulli(1 − p){{(dropout.Locked ? ", one mask for every step of the sequence" : ", drawn afresh for every step")}}
                    _l{{n}}InputMask.Apply({{RawInputSpan(n, "rows")}}, _l{{n}}Dropped, {{InputStride(n)}}, {{InputWidth(n)}}, rows, {{Period(dropout)}});
                }
                """);
        }

        /// <summary>Backward, once ∂x̃ of layer n's input is in <paramref name="dBelow"/>: ∂x = ∂x̃⊙m/(1 − p).</summary>
        private void EmitInputDropoutBackward(int n, string dBelow, string stride)
        {
            if (_m.Layers[n].InputDropout is not { } dropout)
                return;
            _w.Lines($$"""
                // x̃ = x⊙m/(1 − p):  ∂x = ∂x̃⊙m/(1 − p), the mask regenerated
                if (_l{{n}}InputMask.Active)
                    _l{{n}}InputMask.Apply({{dBelow}}, {{dBelow}}, {{stride}}, {{InputWidth(n)}}, rows, {{Period(dropout)}});
                """);
        }
    }
}
