using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace FastRnn.Generators;

// The run-time options object and the mask-based techniques: what each declared technique adds to the model.
internal static partial class Emitter
{
    private sealed partial class ModelEmitter
    {
        /// <summary>A run-time option: its property name, attribute default and documentation.</summary>
        private sealed record Option(string Name, double Default, string Doc);

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
            }
            if (_m.HeadDropout is { } head)
                yield return new Option("HeadDropout", head.Rate, $"{DropoutKind(head)} rate on the head's input.");
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
            using (Indent())
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
                    _w.Line($"/// <summary>{option.Doc} Default {Float(option.Default)}; in [0, 1).</summary>");
                    _w.Line($"public float {option.Name}");
                    _w.Line("{");
                    _w.Line($"    get => {Field(option.Name)};");
                    _w.Line($"    set => {Field(option.Name)} = global::FastRnn.Masks.CheckRate(value, nameof({option.Name}));");
                    _w.Line("}");
                    _w.Line();
                }
                _w.Line("/// <inheritdoc/>");
                _w.Line("public global::System.Collections.Generic.IReadOnlyList<string> Names => s_names;");
                _w.Line();
                _w.Line("/// <inheritdoc/>");
                _w.Line("public float this[string name]");
                _w.Line("{");
                _w.Line("    get => name switch");
                _w.Line("    {");
                foreach (var option in options)
                    _w.Line($"        \"{option.Name}\" => {option.Name},");
                _w.Line("        _ => throw Unknown(name),");
                _w.Line("    };");
                _w.Line("    set");
                _w.Line("    {");
                _w.Line("        switch (name)");
                _w.Line("        {");
                foreach (var option in options)
                    _w.Line($"            case \"{option.Name}\": {option.Name} = value; break;");
                _w.Line("            default: throw Unknown(name);");
                _w.Line("        }");
                _w.Line("    }");
                _w.Line("}");
                _w.Line();
                _w.Line("private static global::System.ArgumentException Unknown(string name) =>");
                _w.Line($"    new($\"{_m.Name} has no run-time option '{{name}}'; its options are: {known}.\", nameof(name));");
            }
            _w.Line("}");
            _w.Line();
        }

        // ---- masks ------------------------------------------------------------------------------------------

        private static string Period(DropoutSpec dropout) => dropout.Locked ? "batch" : "int.MaxValue";

        private static string InputWidth(int n) => n == 0 ? "InputSize" : $"L{n - 1}Hidden";

        private void EmitMaskFields()
        {
            if (!_m.HasMasks)
                return;
            _w.Line("// Dropout sites of the current pass (active only in training mode with a rate above 0), and the dropped");
            _w.Line("// copies of their inputs that the products read: masks are regenerated in backward, never stored.");
            if (_m.EmbeddingDropout is not null)
                _w.Line("private global::FastRnn.DropoutSite _embeddingMask;");
            for (int n = 0; n < _m.Layers.Count; n++)
            {
                if (_m.Layers[n].InputDropout is null)
                    continue;
                _w.Line($"private global::FastRnn.DropoutSite _l{n}InputMask;");
                _w.Line($"private readonly float[] _l{n}Dropped;");
            }
            for (int n = 0; n < _m.Layers.Count; n++)
            {
                if (_m.Layers[n].RecurrentDropout is null)
                    continue;
                _w.Line($"// Layer {n}'s h̃(t−1) = h(t−1)⊙m/(1 − p) per step, the recurrent product's input: [steps·batch, Padded].");
                _w.Line($"private global::FastRnn.DropoutSite _l{n}RecurrentMask;");
                _w.Line($"private readonly float[] _l{n}RecurrentDropped;");
            }
            if (_m.Layers.Any(l => l.RecurrentDropout is not null && l.Cell != CellKind.Lstm))
            {
                _w.Line("// ∂L/∂h̃(t−1) of a GRU step with recurrent dropout, before its mask: [batch, MaxPadded].");
                _w.Line("private readonly float[] _droppedHiddenGradient;");
            }
            if (_m.HeadDropout is not null)
            {
                _w.Line("private global::FastRnn.DropoutSite _headMask;");
                _w.Line("private readonly float[] _headDropped;");
            }
        }

        private void EmitMaskAllocation()
        {
            for (int n = 0; n < _m.Layers.Count; n++)
            {
                if (_m.Layers[n].InputDropout is not null)
                    _w.Line($"_l{n}Dropped = new float[rows * {InputStride(n)}];");
                if (_m.Layers[n].RecurrentDropout is not null)
                    _w.Line($"_l{n}RecurrentDropped = new float[rows * L{n}Padded];");
            }
            if (_m.Layers.Any(l => l.RecurrentDropout is not null && l.Cell != CellKind.Lstm))
                _w.Line("_droppedHiddenGradient = new float[batchCapacity * MaxPadded];");
            if (_m.HeadDropout is not null)
                _w.Line($"_headDropped = new float[{(EveryStep ? "rows" : "batchCapacity")} * L{Top}Padded];");
        }

        private void EmitMaskMethods()
        {
            const string Site = "global::FastRnn.MaskSite";
            _w.Line("/// <summary>Sets up the masks of a pass from the options: a training pass draws with the current counter and");
            _w.Line("/// advances it.</summary>");
            _w.Line("private void BeginMasks()");
            _w.Line("{");
            _w.Line("    bool training = _options.Training;");
            _w.Line("    ulong pass = _options.Pass;");
            _w.Line("    if (training)");
            _w.Line("        _options.Pass = pass + 1;");
            if (_m.EmbeddingDropout is not null)
                _w.Line($"    _embeddingMask.Begin(training, _options.EmbeddingDropout, _options.Seed, pass, {Site}.EmbeddingRows, 0);");
            for (int n = 0; n < _m.Layers.Count; n++)
            {
                if (_m.Layers[n].InputDropout is not null)
                    _w.Line($"    _l{n}InputMask.Begin(training, _options.Layer{n}Dropout, _options.Seed, pass, {Site}.LayerInput, {N(n)});");
                if (_m.Layers[n].RecurrentDropout is not null)
                    _w.Line($"    _l{n}RecurrentMask.Begin(training, _options.Layer{n}RecurrentDropout, _options.Seed, pass, {Site}.Recurrent, {N(n)});");
            }
            if (_m.HeadDropout is not null)
                _w.Line($"    _headMask.Begin(training, _options.HeadDropout, _options.Seed, pass, {Site}.HeadInput, 0);");
            _w.Line("}");
            _w.Line();

            _w.Lines("""
                /// <summary>Debug: the dropout multipliers (0, or 1/(1 − rate) for a kept element) the last <see cref="Forward"/>
                /// used, by site: "embedding.rows" [Vocabulary], "layer{n}.input" [steps, batch, inputs of layer n],
                /// "layer{n}.recurrent" [batch, hidden of layer n] (one mask for every step), "head.input" [head rows, hidden]. Only sites that dropped appear. Allocates; for tests and tools.</summary>
                public global::System.Collections.Generic.Dictionary<string, float[]> ExportMasks()
                {
                    if (!_hasForward)
                        throw new global::System.InvalidOperationException("Call Forward before ExportMasks.");
                    var masks = new global::System.Collections.Generic.Dictionary<string, float[]>();
                    int batch = _batch, rows = _steps * _batch;
                """);
            if (_m.EmbeddingDropout is not null)
                _w.Line("    if (_embeddingMask.Active) masks.Add(\"embedding.rows\", _embeddingMask.Export(1, Vocabulary, int.MaxValue));");
            for (int n = 0; n < _m.Layers.Count; n++)
            {
                if (_m.Layers[n].InputDropout is { } dropout)
                    _w.Line($"    if (_l{n}InputMask.Active) masks.Add(\"layer{n}.input\", _l{n}InputMask.Export({InputWidth(n)}, rows, {Period(dropout)}));");
                if (_m.Layers[n].RecurrentDropout is not null)
                    _w.Line($"    if (_l{n}RecurrentMask.Active) masks.Add(\"layer{n}.recurrent\", _l{n}RecurrentMask.Export(L{n}Hidden, batch, batch));");
            }
            if (_m.HeadDropout is { } head)
                _w.Line($"    if (_headMask.Active) masks.Add(\"head.input\", _headMask.Export(L{Top}Hidden, {(EveryStep ? "rows" : "batch")}, {Period(head)}));");
            _w.Line("    return masks;");
            _w.Line("}");
            _w.Line();

            for (int n = 0; n < _m.Layers.Count; n++)
            {
                if (_m.Layers[n].InputDropout is null)
                    continue;
                _w.Line($"/// <summary>What layer {n}'s input products read: the dropped copy when its mask is active.</summary>");
                _w.Line($"private {ReadOnlySpan} Layer{n}Input(int batch, int rows) =>");
                _w.Line($"    _l{n}InputMask.Active ? _l{n}Dropped.AsSpan(0, rows * {InputStride(n)}) : {RawInputSpan(n, "rows")};");
                _w.Line();
            }
            if (_m.HeadDropout is not null)
            {
                string rows = EveryStep ? "steps * batch" : "batch";
                string first = EveryStep ? "batch" : "steps * batch";
                _w.Line("/// <summary>What the head reads: the top layer's hidden states, or their dropped copy when its mask is active.</summary>");
                _w.Line($"private {ReadOnlySpan} HeadInput(int batch, int steps) =>");
                _w.Line($"    _headMask.Active ? _headDropped.AsSpan(0, ({rows}) * L{Top}Padded) : _l{Top}Hidden.AsSpan(({first}) * L{Top}Padded, ({rows}) * L{Top}Padded);");
                _w.Line();
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
            _w.Line($"// x̃ = x⊙m/(1 − p):  ∂x = ∂x̃⊙m/(1 − p), the mask regenerated");
            _w.Line($"if (_l{n}InputMask.Active)");
            _w.Line($"    _l{n}InputMask.Apply({dBelow}, {dBelow}, {stride}, {InputWidth(n)}, rows, {Period(dropout)});");
        }
    }
}
