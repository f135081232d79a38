using Xunit;

namespace FastRnn.Tests;

/// <summary>Checkpoints: a resumed run continues bit for bit (weights, optimizer state, mask counter); a corrupted,
/// truncated or mismatched file is rejected with a clear message and changes nothing.</summary>
public class CheckpointTests : TemporaryDirectoryTest
{
    private const int Batch = 3, Steps = 6;

    private static Optimizer MakeOptimizer(string kind, IRnnModel model) => kind switch
    {
        "sgd" => new Sgd(model, 0.5f, momentum: 0.9f) { Clipping = { MaxGlobalNorm = 1f } },
        "adam" => new Adam(model, 1e-2f, weightDecay: 0.01f, decoupled: true),
        "rmsprop" => new RmsProp(model, 1e-3f, momentum: 0.5f, centered: true),
        _ => new Asgd(model, 0.2f, lambda: 0f, t0: 0),
    };

    private static void Iterate(DropoutLm model, Optimizer optimizer, int first, int count)
    {
        for (int i = first; i < first + count; i++)
        {
            var random = new Random(i);
            var tokens = Enumerable.Range(0, Batch * Steps).Select(_ => random.Next(20)).ToArray();
            var targets = Enumerable.Range(0, Batch * Steps).Select(_ => random.Next(20)).ToArray();
            model.Forward(tokens, Batch, Steps);
            model.Loss(targets);
            model.ZeroGrad();
            model.Backward();
            optimizer.Step();
        }
    }

    [Theory]
    [InlineData("sgd")]
    [InlineData("adam")]
    [InlineData("rmsprop")]
    [InlineData("asgd")]
    public void AResumedRunEqualsAnUninterruptedOne(string kind)
    {
        var straight = new DropoutLm(Batch, Steps, seed: 1);
        var straightOptimizer = MakeOptimizer(kind, straight);
        Iterate(straight, straightOptimizer, 0, 6);

        var first = new DropoutLm(Batch, Steps, seed: 1);
        var firstOptimizer = MakeOptimizer(kind, first);
        Iterate(first, firstOptimizer, 0, 3);
        string path = Path.Combine(Directory, "run.ckpt");
        Checkpoint.Save(path, first, firstOptimizer, new Dictionary<string, string> { ["epoch"] = "3", ["order"] = "42" });

        var resumed = new DropoutLm(Batch, Steps, seed: 99); // other weights and mask seed: the checkpoint must bring them
        var resumedOptimizer = MakeOptimizer(kind, resumed);
        var progress = Checkpoint.Load(path, resumed, resumedOptimizer);
        Assert.Equal("3", progress["epoch"]);
        Assert.Equal("42", progress["order"]);
        Assert.Equal(3, resumedOptimizer.Steps);
        Iterate(resumed, resumedOptimizer, 3, 3);

        Assert.Equal(straight.Parameters.ToArray(), resumed.Parameters.ToArray());
        Assert.Equal(straight.Options.Pass, resumed.Options.Pass);
        if (straightOptimizer is Asgd a)
            Assert.Equal(a.Average.ToArray(), ((Asgd)resumedOptimizer).Average.ToArray());
    }

    [Fact]
    public void BatchNormStatisticsTravelWithTheCheckpoint()
    {
        static void Train(BatchNormLm model, Optimizer optimizer, int first, int count)
        {
            for (int i = first; i < first + count; i++)
            {
                var random = new Random(i);
                model.Forward(Enumerable.Range(0, Batch * Steps).Select(_ => random.Next(20)).ToArray(), Batch, Steps);
                model.Loss(Enumerable.Range(0, Batch * Steps).Select(_ => random.Next(20)).ToArray());
                model.ZeroGrad();
                model.Backward();
                optimizer.Step();
            }
        }
        var straight = new BatchNormLm(Batch, Steps, seed: 1);
        var straightOptimizer = new Adam(straight, 1e-2f);
        Train(straight, straightOptimizer, 0, 6);
        Assert.NotEqual(0f, straight.Statistics[0]); // the running mean moved

        var first = new BatchNormLm(Batch, Steps, seed: 1);
        var firstOptimizer = new Adam(first, 1e-2f);
        Train(first, firstOptimizer, 0, 3);
        string path = Path.Combine(Directory, "bn.ckpt");
        Checkpoint.Save(path, first, firstOptimizer);
        var resumed = new BatchNormLm(Batch, Steps, seed: 5);
        var resumedOptimizer = new Adam(resumed, 1e-2f);
        Checkpoint.Load(path, resumed, resumedOptimizer);
        Assert.Equal(first.Statistics.ToArray(), resumed.Statistics.ToArray());
        Train(resumed, resumedOptimizer, 3, 3);
        Assert.Equal(straight.Parameters.ToArray(), resumed.Parameters.ToArray());
        Assert.Equal(straight.Statistics.ToArray(), resumed.Statistics.ToArray());

        // and through a plain safetensors file, under PyTorch's buffer names
        string weights = Path.Combine(Directory, "bn.safetensors");
        straight.SaveSafetensors(weights);
        Assert.Contains("rnn.bn_l0.running_var", Safetensors.Read(weights).Keys);
        var loaded = new BatchNormLm(Batch, Steps, seed: 9);
        loaded.LoadSafetensors(weights);
        Assert.Equal(straight.Statistics.ToArray(), loaded.Statistics.ToArray());
        Assert.Equal(straight.Parameters.ToArray(), loaded.Parameters.ToArray());
    }

    private (DropoutLm Model, Adam Optimizer, string Path) Saved()
    {
        var model = new DropoutLm(Batch, Steps, seed: 1);
        var optimizer = new Adam(model);
        Iterate(model, optimizer, 0, 2);
        string path = Path.Combine(Directory, "run.ckpt");
        Checkpoint.Save(path, model, optimizer);
        return (model, optimizer, path);
    }

    private static void AssertRejectedAndUnchanged(string path, string expected)
    {
        var target = new DropoutLm(Batch, Steps, seed: 7);
        var optimizer = new Adam(target);
        var before = target.Parameters.ToArray();
        var error = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path, target, optimizer));
        Assert.Contains(expected, error.Message);
        Assert.Equal(before, target.Parameters.ToArray());
        Assert.Equal(0, optimizer.Steps);
        Assert.Equal(7UL, target.Options.Seed);
    }

    [Fact]
    public void ACorruptedFileIsRejected()
    {
        var (_, _, path) = Saved();
        var bytes = File.ReadAllBytes(path);
        bytes[^100] ^= 0x10; // one bit of one weight
        File.WriteAllBytes(path, bytes);
        AssertRejectedAndUnchanged(path, "corrupted");
    }

    [Fact]
    public void ATruncatedFileIsRejected()
    {
        var (_, _, path) = Saved();
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        AssertRejectedAndUnchanged(path, "not a readable safetensors file");
    }

    [Fact]
    public void BytesAppendedAfterTheDataAreRejected()
    {
        // the format requires the data to be exactly what the header indexes
        var (_, _, path) = Saved();
        File.WriteAllBytes(path, [.. File.ReadAllBytes(path), 0]);
        AssertRejectedAndUnchanged(path, "1 more bytes follow");
    }

    [Fact]
    public void AMismatchedModelOrOptimizerIsRejected()
    {
        var (_, _, path) = Saved();
        var other = new PlainLm(Batch, Steps);
        var error = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path, other, new Adam(other)));
        Assert.Contains("PlainLm", error.Message);
        var model = new DropoutLm(Batch, Steps, seed: 7);
        error = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path, model, new Sgd(model, 0.1f)));
        Assert.Contains("holds Adam state", error.Message);
        // weights alone (a plain safetensors file) are not a checkpoint
        string weights = Path.Combine(Directory, "weights.safetensors");
        model.SaveSafetensors(weights);
        AssertRejectedAndUnchanged(weights, "lacks 'format'");
    }

    /// <summary>A server reads a training run's checkpoint for its weights alone: into a model of another type that
    /// declares the same tensors (dropout is not a tensor), verified the same way, changing nothing when refused.</summary>
    [Fact]
    public void WeightsAloneLoadIntoAnotherDeclarationOfTheSameTensors()
    {
        var (model, _, path) = Saved();
        var served = new PlainLm(1, 1, seed: 5);
        var progress = Checkpoint.LoadWeights(path, served);
        Assert.Empty(progress);
        foreach (var (saved, loaded) in model.Tensors.Zip(served.Tensors))
        {
            var expected = new float[saved.Count];
            var actual = new float[loaded.Count];
            saved.Export(model.Parameters, expected);
            loaded.Export(served.Parameters, actual);
            Assert.Equal(expected, actual);
        }

        var bytes = File.ReadAllBytes(path);
        bytes[^100] ^= 0x10;
        string corrupted = Path.Combine(Directory, "corrupted.ckpt");
        File.WriteAllBytes(corrupted, bytes);
        var other = new PlainLm(1, 1, seed: 6);
        var before = other.Parameters.ToArray();
        Assert.Contains("corrupted", Assert.Throws<InvalidDataException>(() => Checkpoint.LoadWeights(corrupted, other)).Message);
        Assert.Equal(before, other.Parameters.ToArray());

        var stack = new LstmStack3(1, 1, seed: 2);
        before = stack.Parameters.ToArray();
        Assert.Contains("has shape", Assert.Throws<InvalidDataException>(() => Checkpoint.LoadWeights(path, stack)).Message);
        Assert.Equal(before, stack.Parameters.ToArray());
    }

    [Fact]
    public void SavingReplacesTheFileAtomically()
    {
        var (model, optimizer, path) = Saved();
        Iterate(model, optimizer, 2, 1);
        Checkpoint.Save(path, model, optimizer); // over the previous one
        Assert.Equal([path], System.IO.Directory.GetFiles(Directory)); // no temporary left behind
        var target = new DropoutLm(Batch, Steps, seed: 7);
        var targetOptimizer = new Adam(target);
        Checkpoint.Load(path, target, targetOptimizer);
        Assert.Equal(3, targetOptimizer.Steps);
        Assert.Equal(model.Parameters.ToArray(), target.Parameters.ToArray());
    }

    /// <summary>A process id no process has (Linux's pid_max is at most 2^22).</summary>
    private const int DeadProcess = 99_999_999;

    [Fact]
    public void ASaveKilledAtAnyPointNeverLeavesACheckpointThatLoadsWrong()
    {
        // The save that dies: the old checkpoint at the target, the new one written (in part or whole) to the
        // temporary file a killed process leaves (named as DurableFile names it, by a process that no longer runs).
        var (model, optimizer, path) = Saved();
        var oldBytes = File.ReadAllBytes(path);
        Iterate(model, optimizer, 2, 1);
        string newer = Path.Combine(Directory, "newer.ckpt");
        Checkpoint.Save(newer, model, optimizer);
        var newBytes = File.ReadAllBytes(newer);
        File.Delete(newer);
        string temporary = $"{path}.tmp-{DeadProcess}-{Guid.NewGuid():N}";
        for (int cut = 0; cut <= newBytes.Length; cut += cut < 64 ? 1 : 97)
        {
            File.WriteAllBytes(temporary, newBytes[..cut]);
            var target = new DropoutLm(Batch, Steps, seed: 7);
            var targetOptimizer = new Adam(target);
            Checkpoint.Load(path, target, targetOptimizer);           // the previous checkpoint, whole
            Assert.Equal(2, targetOptimizer.Steps);
            Assert.Equal(oldBytes, File.ReadAllBytes(path));
            // had the target itself been cut there (it never is: the rename is atomic), it would be refused
            if (cut < newBytes.Length)
            {
                string cutFile = Path.Combine(Directory, "cut.ckpt");
                File.WriteAllBytes(cutFile, newBytes[..cut]);
                Assert.Throws<InvalidDataException>(() => Checkpoint.Load(cutFile, new DropoutLm(Batch, Steps), new Adam(new DropoutLm(Batch, Steps))));
            }
        }
        // the next save removes the dead process's temporary file and writes the target whole
        Checkpoint.Save(path, model, optimizer);
        Assert.False(File.Exists(temporary));
        Assert.Equal(newBytes.Length, new FileInfo(path).Length);
        var resumed = new DropoutLm(Batch, Steps, seed: 7);
        var resumedOptimizer = new Adam(resumed);
        Checkpoint.Load(path, resumed, resumedOptimizer);
        Assert.Equal(3, resumedOptimizer.Steps);
        Assert.Equal(model.Parameters.ToArray(), resumed.Parameters.ToArray());
    }

    [Fact]
    public void StaleTemporaryFilesAreRemovedOnlyWhenTheirWriterIsGone()
    {
        var (model, optimizer, path) = Saved();
        string dead = $"{path}.tmp-{DeadProcess}-{Guid.NewGuid():N}";
        string ours = $"{path}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";       // a write of this process in progress
        string other = Path.Combine(Directory, $"other.ckpt.tmp-{DeadProcess}-{Guid.NewGuid():N}"); // another target's
        foreach (var file in new[] { dead, ours, other })
            File.WriteAllBytes(file, [1, 2, 3]);
        Checkpoint.Save(path, model, optimizer);
        Assert.False(File.Exists(dead));
        Assert.True(File.Exists(ours));
        Assert.True(File.Exists(other));
    }
}
