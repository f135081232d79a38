using System.Diagnostics;
using Xunit;

namespace FastRnn.Tests;

/// <summary>
/// Zero managed allocation after warm-up: 1,000 streaming steps (batch 1 and 3) and 10 training iterations, counted
/// with GC.GetAllocatedBytesForCurrentThread and GC.GetTotalAllocatedBytes(precise: true). The count runs in a child
/// process (tests/FastRnn.AllocationProbe): inside the test host, the host's own reporting threads allocate a few
/// hundred bytes in any window, which would blur the process-wide number. A window in which the JIT compiled anything
/// (tier-1 recompilation on the runtime's background thread) is not steady state; the probe measures again.
/// </summary>
public class AllocationTests
{
    [Theory]
    [InlineData("tokens", "256")]
    [InlineData("tokens", "512")]
    [InlineData("mixed", "256")]
    [InlineData("mixed", "512")]
    [InlineData("classic", "256")]
    [InlineData("dropout", "256")]
    [InlineData("dropout", "512")]
    [InlineData("zoneout", "256")]
    [InlineData("zoneout", "512")]
    [InlineData("penalties", "256")]
    [InlineData("penalties", "512")]
    [InlineData("layernorm", "256")]
    [InlineData("layernorm", "512")]
    [InlineData("batchnorm", "256")]
    [InlineData("batchnorm", "512")]
    [InlineData("bidirectional", "256")]
    [InlineData("bidirectional", "512")]
    [InlineData("projection", "256")]
    [InlineData("projection", "512")]
    [InlineData("bidinorm", "256")]
    [InlineData("bidinorm", "512")]
    public void StepsAndTrainingIterationsAllocateNothing(string model, string width) => Probe(model, width, "1");

    /// <summary>The model's input products and the optimizer's update on a <see cref="ComputePool"/>: its workers allocate
    /// nothing either (counted by GC.GetTotalAllocatedBytes(precise: true), which sees every thread).</summary>
    [Theory]
    [InlineData("tokens", "512", "2")]
    [InlineData("penalties", "256", "3")]
    [InlineData("dropout", "512", "8")]
    [InlineData("bidirectional", "512", "2")]
    public void TrainingWithAPoolAllocatesNothing(string model, string width, string threads) => Probe(model, width, threads);

    private static void Probe(string model, string width, string threads)
    {
        string probe = Path.Combine(AppContext.BaseDirectory, "FastRnn.AllocationProbe.dll");
        Assert.True(File.Exists(probe), $"{probe} is missing");
        var start = new ProcessStartInfo("dotnet", ["exec", probe, model, width, threads])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        string output = process.StandardOutput.ReadToEnd();
        string error = process.StandardError.ReadToEnd();
        Assert.True(process.WaitForExit(120_000), "the probe did not finish");
        Assert.True(process.ExitCode == 0, $"probe failed: {output} {error}");
        // " jit=N" means the runtime was still compiling in the last window (tier-1 work on a busy machine); the bytes
        // must be 0 all the same.
        string expected = $"thread=0 process=0 wide={width == "512"}";
        Assert.True(System.Text.RegularExpressions.Regex.IsMatch(output.Trim(), $"^{expected}( jit=[0-9]+)?$"),
            $"expected \"{expected}\", the probe printed \"{output.Trim()}\" {error}");
    }
}
