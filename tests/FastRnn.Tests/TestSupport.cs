using Xunit;

namespace FastRnn.Tests;

internal static class Close
{
    /// <summary>The error metric of the PyTorch comparisons, per element: |a − b| / (|b| + 1e-3·max|b|) ≤ 1e-4.</summary>
    public const double Tolerance = 1e-4;

    public static double WorstError(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, out int worstIndex)
    {
        Xunit.Assert.Equal(expected.Length, actual.Length);
        double max = 0;
        foreach (float v in expected) max = Math.Max(max, Math.Abs(v));
        double floor = 1e-3 * max, worst = 0;
        worstIndex = -1;
        for (int i = 0; i < expected.Length; i++)
        {
            double error = Math.Abs((double)actual[i] - expected[i]) / (Math.Abs(expected[i]) + floor + double.Epsilon);
            if (double.IsNaN(error) || error > worst)
            {
                worst = double.IsNaN(error) ? double.PositiveInfinity : error;
                worstIndex = i;
            }
        }
        return worst;
    }

    /// <summary>The largest error any comparison on this thread has seen since <see cref="ResetWorst"/>.</summary>
    [ThreadStatic] public static double WorstSeen;
    [ThreadStatic] public static string? WorstWhat;

    public static void ResetWorst()
    {
        WorstSeen = 0;
        WorstWhat = null;
    }

    public static void Assert(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string what, double tolerance = Tolerance)
    {
        double worst = WorstError(expected, actual, out int index);
        if (worst > WorstSeen)
        {
            WorstSeen = worst;
            WorstWhat = what;
        }
        if (worst > tolerance)
            throw new Xunit.Sdk.XunitException(
                $"{what}: element {index} is {actual[index]:R}, expected {expected[index]:R} (error {worst:E2} > {tolerance:E0}).");
    }
}

internal static class FixtureFiles
{
    public static string Directory => Path.Combine(AppContext.BaseDirectory, "Fixtures");

    public static string PathOf(string name) => Path.Combine(Directory, name);

    /// <summary>The shared data folder beside the repository, or null where it is absent.</summary>
    public static string? SharedData
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                string candidate = Path.Combine(dir.FullName, "shared", "data");
                if (System.IO.Directory.Exists(candidate))
                    return candidate;
            }
            return null;
        }
    }
}

internal static class RepositoryFiles
{
    /// <summary>The repository's root (the folder that holds FastRnn.sln), found from the test binaries upwards.</summary>
    public static string Root
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "FastRnn.sln")))
                    return dir.FullName;
            throw new DirectoryNotFoundException($"No FastRnn.sln above {AppContext.BaseDirectory}.");
        }
    }
}

/// <summary>A test class with its own temporary directory, deleted after each test.</summary>
public abstract class TemporaryDirectoryTest : IDisposable
{
    protected string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("fastrnn-test-").FullName;

    public void Dispose()
    {
        System.IO.Directory.Delete(Directory, recursive: true);
        GC.SuppressFinalize(this);
    }
}

internal static class Twins
{
    /// <summary>Runs the same forward pass, loss and backward on two models with the same weights; their losses and
    /// every gradient must be bit-identical.</summary>
    public static void AssertSameTraining(ISequenceModel model, ISequenceModel twin, Action<ISequenceModel> forward, Func<ISequenceModel, float> loss)
    {
        forward(model);
        forward(twin);
        Xunit.Assert.Equal(loss(twin), loss(model));
        model.ZeroGrad();
        twin.ZeroGrad();
        model.Backward();
        twin.Backward();
        Xunit.Assert.Equal(twin.Gradients.ToArray(), model.Gradients.ToArray());
    }
}

/// <summary>A bare parameter arena for optimizer tests: parameters, gradients, optional tensors and penalties.</summary>
internal sealed class ArenaModel(float[] parameters, params ParameterTensor[] tensors) : IRnnModel
{
    public float[] P = parameters;
    public float[] G = new float[parameters.Length];
    public Span<float> Parameters => P;
    public Span<float> Gradients => G;
    public IReadOnlyList<ParameterTensor> Tensors => tensors;
    public void ZeroGrad() => Array.Clear(G);
    public Dictionary<ParameterRole, (float, float)> Penalties { get; } = [];
    public (float L1, float L2) PenaltyOf(ParameterRole role) => Penalties.GetValueOrDefault(role);
}

/// <summary>Time-major batches of right-padded rows ([steps·batch] rows of <c>width</c> values; row i is step i / batch of
/// sequence i % batch).</summary>
internal static class Sequences
{
    /// <summary>Sequence <paramref name="row"/>'s first <paramref name="steps"/> steps alone, as a batch of one.</summary>
    public static T[] Row<T>(T[] x, int batch, int width, int row, int steps) =>
        Enumerable.Range(0, steps).SelectMany(t => x.AsSpan((t * batch + row) * width, width).ToArray()).ToArray();

    /// <summary>A copy of <paramref name="x"/> whose padded steps (at or after each sequence's length) hold <paramref name="value"/>.</summary>
    public static T[] Pad<T>(T[] x, int[] lengths, int batch, int width, T value)
    {
        var padded = (T[])x.Clone();
        for (int i = 0; i < x.Length / width; i++)
            if (i / batch >= lengths[i % batch])
                Array.Fill(padded, value, i * width, width);
        return padded;
    }
}
