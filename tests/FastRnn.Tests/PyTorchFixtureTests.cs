using FastRnn.Kernels;
using Xunit;

namespace FastRnn.Tests;

/// <summary>Every model case made by tools/make_fixtures.py (PyTorch, float64 reference), on both vector widths:
/// outputs, final states, loss and every parameter gradient, from PyTorch's weights loaded through safetensors.</summary>
public class PyTorchFixtureTests(Xunit.Abstractions.ITestOutputHelper output)
{
    public static TheoryData<string, bool> Cases()
    {
        var data = new TheoryData<string, bool>();
        foreach (var path in Directory.GetFiles(FixtureFiles.Directory, "*_b*_t*.safetensors").OrderBy(p => p, StringComparer.Ordinal))
            foreach (bool wide in new[] { false, true })
                data.Add(Path.GetFileName(path), wide);
        return data;
    }

    [Fact]
    public void EveryModelShapeHasFixtures()
    {
        // The covering set: LSTM and both GRU variants, 1–3 layers, hidden 8/37/64/256, batch 1/3/16, sequence 1/5/50.
        var names = Cases().Select(c => (string)c[0]).Distinct().ToList();
        Assert.True(names.Count >= 20, $"only {names.Count} fixture files");
        foreach (string batch in new[] { "_b1_", "_b3_", "_b16_" })
            Assert.Contains(names, n => n.Contains(batch));
        foreach (string steps in new[] { "_t1.", "_t5.", "_t50." })
            Assert.Contains(names, n => n.Contains(steps));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesPyTorch(string file, bool wide)
    {
        Close.ResetWorst();
        var entries = Safetensors.Read(FixtureFiles.PathOf(file), out var meta);
        string name = meta["model"];
        int batch = int.Parse(meta["batch"]), steps = int.Parse(meta["steps"]);
        // A case whose float32 computation is ill-conditioned (layer normalization) carries what PyTorch's own float32
        // run achieves against the float64 reference; FastRnn must come as close, within rounding-order noise (2×).
        double tolerance = entries.TryGetValue("float32.worst", out var floor)
            ? Math.Max(Close.Tolerance, 2 * floor.Data[0])
            : Close.Tolerance;

        ISequenceModel model;
        using (VectorPath.Override(wide))
            model = TestModels.Create(name, batch, steps, seed: 12345);
        Assert.Equal(wide, ((dynamic)model).UsesVector512);

        // Weights through the safetensors loader (a file holding just the model's tensors).
        string weights = Path.Combine(Path.GetTempPath(), $"fastrnn-{Guid.NewGuid():N}.safetensors");
        try
        {
            Safetensors.Write(weights, model.Tensors.Concat(model.StatisticTensors).Select(t => (t.Name, entries[t.Name].Shape, entries[t.Name].Data)));
            model.LoadSafetensors(weights);
        }
        finally { File.Delete(weights); }

        var state = InitialState(entries, model, batch)();
        var layers = LayerGroups(entries, model);
        var initial = Snapshot(model, state, layers, batch);

        // Dropout cases: the script drew FastRnn's masks for this seed and counter; the model must draw the same.
        bool masked = entries.TryGetValue("mask.seed", out var maskSeed);
        if (masked)
        {
            model.Options.Seed = (ulong)maskSeed!.Data[0];
            model.Options.Pass = (ulong)entries["mask.pass"].Data[0];
        }
        var input = entries["input"].Data;
        // Per-row lengths: PyTorch's packed sequences (pack_padded_sequence).
        int[]? lengths = entries.TryGetValue("lengths", out var lengthEntry) ? lengthEntry.Data.Select(v => (int)v).ToArray() : null;
        if (lengths is not null && model.TakesTokens)
            model.ForwardTokens(input.Select(v => (int)v).ToArray(), batch, steps, lengths, state);
        else if (lengths is not null)
            model.ForwardDense(input, batch, steps, lengths, state);
        else if (model.TakesTokens)
            model.ForwardTokens(input.Select(v => (int)v).ToArray(), batch, steps, state);
        else
            model.ForwardDense(input, batch, steps, state);
        var masks = model.ExportMasks();
        var expectedSites = entries.Keys.Where(k => k.StartsWith("mask.", StringComparison.Ordinal) && k is not "mask.seed" and not "mask.pass")
            .Select(k => k["mask.".Length..]).Order().ToArray();
        Assert.Equal(expectedSites, masks.Keys.Order().ToArray());
        foreach (var site in expectedSites)
            Assert.True(entries["mask." + site].Data.AsSpan().SequenceEqual(masks[site]), $"{file}: the {site} mask differs from the script's");

        var outputs = new float[entries["output"].Data.Length];
        Assert.Equal(outputs.Length, model.CopyOutputs(outputs));
        if (lengths is not null && model.EveryStep)
        {
            // a padded step's output is not defined: the fixture holds 0 there
            for (int row = 0; row < steps * batch; row++)
                if (row / batch >= lengths[row % batch])
                    outputs.AsSpan(row * model.OutputWidth, model.OutputWidth).Clear();
        }
        Close.Assert(entries["output"].Data, outputs, $"{file}: outputs", tolerance);

        foreach (var (group, k, layer) in layers)
        {
            int h = model.HiddenSizeOf(layer);
            var final = new float[batch * h];
            for (int r = 0; r < batch; r++)
                state.Hidden(layer, r).CopyTo(final.AsSpan(r * h, h));
            Close.Assert(entries[$"final.h.{group}"].Data.AsSpan(k * batch * h, batch * h), final, $"{file}: final h of layer {layer}", tolerance);
            if (entries.TryGetValue($"final.c.{group}", out var c))
            {
                int cw = state.Cell(layer, 0).Length; // a projected LSTM's c keeps all its units
                var cells = new float[batch * cw];
                for (int r = 0; r < batch; r++)
                    state.Cell(layer, r).CopyTo(cells.AsSpan(r * cw, cw));
                Close.Assert(c.Data.AsSpan(k * batch * cw, batch * cw), cells, $"{file}: final c of layer {layer}", tolerance);
            }
        }

        var target = entries["target"].Data;
        float loss = model.ClassTargets
            ? model.LossClasses(target.Select(v => (int)v).ToArray())
            : model.LossDense(target);
        Close.Assert(entries["loss"].Data, new[] { loss }, $"{file}: loss", tolerance);

        model.ZeroGrad();
        model.Backward();
        foreach (var tensor in model.Tensors)
        {
            var gradient = new float[tensor.Count];
            tensor.Export(model.Gradients, gradient);
            Close.Assert(entries["grad." + tensor.Name].Data, gradient, $"{file}: gradient of {tensor.Name}", tolerance);
        }
        // Padding stays exactly zero in the gradient arena.
        AssertPaddingZero(model, model.Gradients);
        // Batch normalization: the running statistics after this training pass are PyTorch's.
        foreach (var tensor in model.StatisticTensors)
        {
            var values = new float[tensor.Count];
            tensor.Export(model.Statistics, values);
            Close.Assert(entries["after." + tensor.Name].Data, values, $"{file}: {tensor.Name} after the pass", tolerance);
        }
        // The expected output at inference: PyTorch's eval mode (running statistics) where the fixture has one, else the
        // training pass's (the same function without batch statistics or masks).
        bool inference = entries.TryGetValue("eval.output", out var evalOutput);
        if (inference)
        {
            // the sequence forward in inference mode from the same initial states
            var evalState = model.NewState(batch);
            Restore(evalState, initial, layers, batch, model);
            model.Options.Training = false;
            if (model.TakesTokens)
                model.ForwardTokens(input.Select(v => (int)v).ToArray(), batch, steps, evalState);
            else
                model.ForwardDense(input, batch, steps, evalState);
            model.CopyOutputs(outputs);
            Close.Assert(evalOutput!.Data, outputs, $"{file}: outputs at inference", tolerance);
        }

        // The streaming step from the same initial state reproduces PyTorch's outputs step by step (inference: a
        // case with dropout has no unmasked reference to compare with).
        if (!model.CanStep)
        {
            // a bidirectional model cannot stream: the untyped Step says so
            Assert.Throws<NotSupportedException>(() => model.StepDense(new float[batch * model.InputWidth], model.NewState(batch), new float[batch * model.OutputWidth]));
            output.WriteLine($"worst error {Close.WorstSeen:E2} ({Close.WorstWhat})");
            return;
        }
        if ((masked && !inference) || lengths is not null)
        {
            output.WriteLine($"worst error {Close.WorstSeen:E2} ({Close.WorstWhat})");
            return;
        }
        var expectedSteps = inference ? evalOutput!.Data : entries["output"].Data;
        var stepState = model.NewState(batch);
        Restore(stepState, initial, layers, batch, model);
        var stepOut = new float[batch * model.OutputWidth];
        int outputWidth = model.OutputWidth;
        for (int t = 0; t < steps; t++)
        {
            if (model.TakesTokens)
                model.StepTokens(input.AsSpan(t * batch, batch).ToArray().Select(v => (int)v).ToArray(), stepState, stepOut);
            else
                model.StepDense(input.AsSpan(t * batch * model.InputWidth, batch * model.InputWidth), stepState, stepOut);
            if (model.EveryStep)
                Close.Assert(expectedSteps.AsSpan(t * batch * outputWidth, batch * outputWidth), stepOut, $"{file}: Step output at t={t}", tolerance);
        }
        if (!model.EveryStep)
            Close.Assert(expectedSteps, stepOut, $"{file}: Step output at the last step", tolerance);
        output.WriteLine($"worst error {Close.WorstSeen:E2} ({Close.WorstWhat})");
    }

    internal static void AssertPaddingZero(IRnnModel model, Span<float> arena)
    {
        var used = new bool[arena.Length];
        foreach (var tensor in model.Tensors)
            for (int i = 0; i < tensor.Count; i++)
                used[tensor.ArenaIndexOf(i)] = true;
        for (int i = 0; i < arena.Length; i++)
            if (!used[i] && arena[i] != 0)
                throw new Xunit.Sdk.XunitException($"Padding element {i} of the arena is {arena[i]}, not 0.");
    }

    /// <summary>Makes states holding the fixture's initial states (<c>state.h.{group}</c>, <c>state.c.{group}</c>).</summary>
    internal static Func<IRnnState> InitialState(Dictionary<string, SafetensorsEntry> entries, ISequenceModel model, int batch)
    {
        var layers = LayerGroups(entries, model);
        return () =>
        {
            var state = model.NewState(batch);
            foreach (var (group, k, layer) in layers)
                for (int r = 0; r < batch; r++)
                {
                    int h = model.HiddenSizeOf(layer);
                    entries[$"state.h.{group}"].Data.AsSpan((k * batch + r) * h, h).CopyTo(state.Hidden(layer, r));
                    if (entries.TryGetValue($"state.c.{group}", out var c))
                    {
                        int cw = state.Cell(layer, r).Length;
                        c.Data.AsSpan((k * batch + r) * cw, cw).CopyTo(state.Cell(layer, r));
                    }
                }
            return state;
        };
    }

    /// <summary>True when <paramref name="layer"/> has a cell state (an LSTM).</summary>
    internal static bool HasCell(IRnnState state, int layer)
    {
        try
        {
            _ = state.Cell(layer, 0);
            return true;
        }
        catch (ArgumentOutOfRangeException)
        {
            return false;
        }
    }

    /// <summary>(fixture group, layer within the group, model layer) for every layer.</summary>
    private static List<(int Group, int K, int Layer)> LayerGroups(Dictionary<string, SafetensorsEntry> entries, ISequenceModel model)
    {
        var result = new List<(int, int, int)>();
        int layer = 0;
        for (int g = 0; entries.ContainsKey($"state.h.{g}"); g++)
            for (int k = 0; k < entries[$"state.h.{g}"].Shape[0]; k++)
                result.Add((g, k, layer++));
        Assert.Equal(model.LayerCount, layer);
        return result;
    }

    private static List<(float[] H, float[]? C)> Snapshot(ISequenceModel model, IRnnState state, List<(int, int, int Layer)> layers, int batch)
    {
        var list = new List<(float[], float[]?)>();
        foreach (var (_, _, layer) in layers)
        {
            int h = model.HiddenSizeOf(layer);
            var hs = new float[batch * h];
            float[]? cs = null;
            for (int r = 0; r < batch; r++)
                state.Hidden(layer, r).CopyTo(hs.AsSpan(r * h, h));
            if (HasCell(state, layer))
            {
                int cw = state.Cell(layer, 0).Length;
                cs = new float[batch * cw];
                for (int r = 0; r < batch; r++)
                    state.Cell(layer, r).CopyTo(cs.AsSpan(r * cw, cw));
            }
            list.Add((hs, cs));
        }
        return list;
    }

    private static void Restore(IRnnState state, List<(float[] H, float[]? C)> snapshot, List<(int, int, int Layer)> layers, int batch, ISequenceModel model)
    {
        for (int i = 0; i < layers.Count; i++)
        {
            int layer = layers[i].Layer, h = model.HiddenSizeOf(layer);
            for (int r = 0; r < batch; r++)
            {
                snapshot[i].H.AsSpan(r * h, h).CopyTo(state.Hidden(layer, r));
                if (snapshot[i].C is { } c)
                    c.AsSpan(r * (c.Length / batch), c.Length / batch).CopyTo(state.Cell(layer, r));
            }
        }
    }
}
