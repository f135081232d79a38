using System.Buffers.Binary;
using System.Text;
using Xunit;

namespace FastRnn.Tests;

public class SafetensorsTests : TemporaryDirectoryTest
{
    private string Save(LstmSmall model, string name = "w.safetensors")
    {
        string path = Path.Combine(Directory, name);
        model.SaveSafetensors(path);
        return path;
    }

    [Fact]
    public void RoundTripsEveryTensorExactly()
    {
        var a = new LstmSmall(2, 3, seed: 1);
        var b = new LstmSmall(2, 3, seed: 2);
        Assert.NotEqual(a.Parameters.ToArray(), b.Parameters.ToArray());
        b.LoadSafetensors(Save(a));
        Assert.Equal(a.Parameters.ToArray(), b.Parameters.ToArray());
        Assert.DoesNotContain(System.IO.Directory.GetFiles(Directory), f => f.Contains(".tmp"));
    }

    [Fact]
    public void AWriteThatFailsLeavesNoTemporaryFileAndTheTargetAsItWas()
    {
        // the rename fails: the target is a directory with a file in it
        string target = Path.Combine(Directory, "target.safetensors");
        System.IO.Directory.CreateDirectory(target);
        File.WriteAllText(Path.Combine(target, "keep.txt"), "kept");
        Assert.ThrowsAny<IOException>(() => Safetensors.Write(target, [("w", [2], new float[] { 1, 2 })]));
        Assert.DoesNotContain(System.IO.Directory.GetFiles(Directory), f => f.Contains(".tmp"));
        Assert.Equal("kept", File.ReadAllText(Path.Combine(target, "keep.txt")));
        // and two writers of one path never share a temporary file
        string path = Path.Combine(Directory, "shared.safetensors");
        Parallel.For(0, 8, i => Safetensors.Write(path, [("w", [1], new float[] { i })]));
        Assert.Single(Safetensors.Read(path));
        Assert.DoesNotContain(System.IO.Directory.GetFiles(Directory), f => f.Contains(".tmp"));
    }

    [Fact]
    public void HeaderUsesPyTorchNamesAndShapes()
    {
        var entries = Safetensors.Read(Save(new LstmSmall(1, 1)));
        Assert.Equal(new[] { 32, 5 }, entries["rnn.weight_ih_l0"].Shape);
        Assert.Equal(new[] { 32, 8 }, entries["rnn.weight_hh_l0"].Shape);
        Assert.Equal(new[] { 32 }, entries["rnn.bias_hh_l0"].Shape);
        Assert.Equal(new[] { 3, 8 }, entries["head.weight"].Shape);
        Assert.Equal(6, entries.Count);
    }

    private void AssertRejected(byte[] bytes, string expectedFragment)
    {
        string path = Path.Combine(Directory, "bad.safetensors");
        File.WriteAllBytes(path, bytes);
        var model = new LstmSmall(1, 1, seed: 4);
        var before = model.Parameters.ToArray();
        var error = Assert.Throws<InvalidDataException>(() => model.LoadSafetensors(path));
        Assert.Contains(expectedFragment, error.Message);
        Assert.Equal(before, model.Parameters.ToArray());
    }

    private static byte[] Build(string json, int dataBytes)
    {
        var header = Encoding.UTF8.GetBytes(json);
        var bytes = new byte[8 + header.Length + dataBytes];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, header.Length);
        header.CopyTo(bytes, 8);
        return bytes;
    }

    [Fact]
    public void TruncatedFileIsRejected()
    {
        var bytes = File.ReadAllBytes(Save(new LstmSmall(1, 1)));
        AssertRejected(bytes[..(bytes.Length - 10)], "truncated");
        AssertRejected(bytes[..5], "shorter than the 8-byte header length");
    }

    [Fact]
    public void MissingExtraAndMisshapenTensorsAreNamed()
    {
        var source = new LstmSmall(1, 1, seed: 5);
        var all = source.Tensors.Select(t => { var v = new float[t.Count]; t.Export(source.Parameters, v); return (t.Name, t.PyTorchShape, v); }).ToList();

        string missing = Path.Combine(Directory, "missing.safetensors");
        Safetensors.Write(missing, all.Where(t => t.Name != "rnn.bias_hh_l0"));
        AssertRejected(File.ReadAllBytes(missing), "lacks tensor 'rnn.bias_hh_l0'");

        string extra = Path.Combine(Directory, "extra.safetensors");
        Safetensors.Write(extra, all.Append(("rnn.weight_ih_l1", new[] { 1 }, new float[1])));
        AssertRejected(File.ReadAllBytes(extra), "rnn.weight_ih_l1");

        string shape = Path.Combine(Directory, "shape.safetensors");
        Safetensors.Write(shape, all.Select(t => t.Name == "head.weight" ? (t.Name, new[] { 8, 3 }, t.v) : t));
        AssertRejected(File.ReadAllBytes(shape), "Tensor 'head.weight'");
    }

    [Fact]
    public void TheTensorsMustTileTheDataExactly()
    {
        // as the reference implementation requires: no bytes appended, no gap, no overlap
        const string two = "{{\"a\":{{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[{0},{1}]}},\"b\":{{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[{2},{3}]}}}}";
        string path = Path.Combine(Directory, "tiled.safetensors");
        File.WriteAllBytes(path, Build(string.Format(two, 0, 8, 8, 12), 12));
        Assert.Equal(2, Safetensors.Read(path).Count);
        File.WriteAllBytes(path, Build(string.Format(two, 4, 12, 0, 4), 12));
        Assert.Equal(2, Safetensors.Read(path).Count);
        AssertRejected(Build(string.Format(two, 0, 8, 8, 12), 13), "1 more bytes follow");
        AssertRejected(Build(string.Format(two, 0, 8, 12, 16), 16), "4 unused bytes before tensor 'b'");
        AssertRejected(Build(string.Format(two, 0, 8, 4, 8), 8), "tensor 'b' overlaps");
        var appended = File.ReadAllBytes(Save(new LstmSmall(1, 1))).Append((byte)0).ToArray();
        AssertRejected(appended, "more bytes follow");
    }

    [Fact]
    public void WrongDtypeAndBadHeaderAreRejected()
    {
        AssertRejected(Build("{\"head.bias\":{\"dtype\":\"U16\",\"shape\":[3],\"data_offsets\":[0,6]}}", 6), "dtype U16");
        AssertRejected(Build("{\"head.bias\":{\"dtype\":\"I8\",\"shape\":[3],\"data_offsets\":[0,3]}}", 3), "a quantized model's file");
        AssertRejected(Build("{not json", 0), "not valid JSON");
        AssertRejected(Build("{\"head.bias\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8), "needs 12 bytes");
        // values of the wrong JSON kind or size, which escaped as FormatException or InvalidOperationException before
        AssertRejected(Build("{\"head.bias\":{\"dtype\":\"F32\",\"shape\":[\"3\"],\"data_offsets\":[0,12]}}", 12), "wrong kind");
        AssertRejected(Build("{\"head.bias\":{\"dtype\":3,\"shape\":[3],\"data_offsets\":[0,12]}}", 12), "wrong kind");
        AssertRejected(Build("{\"head.bias\":{\"dtype\":\"F32\",\"shape\":[3.5],\"data_offsets\":[0,12]}}", 12), "wrong kind");
        AssertRejected(Build("{\"head.bias\":{\"dtype\":\"F32\",\"shape\":[2147483647,2147483647,2147483647],\"data_offsets\":[0,12]}}", 12), "wrong kind");
        AssertRejected(Build("{\"head.bias\":{\"dtype\":\"F32\",\"shape\":[-3],\"data_offsets\":[0,12]}}", 12), "negative dimension");
        AssertRejected(Build("{\"__metadata__\":{\"a\":1}}", 0), "wrong kind");
    }
}

public class ModelApiTests
{
    [Fact]
    public void WrongShapesThrowNamingExpectedAndActual()
    {
        var model = new LstmSmall(batchCapacity: 2, sequenceCapacity: 3);
        var error = Assert.Throws<ArgumentException>(() => model.Forward(new float[7], batch: 2, steps: 3));
        Assert.Contains("expects 30 input values (3 steps × 2 rows × 5 features); got 7", error.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => model.Forward(new float[40], batch: 2, steps: 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => model.Forward(new float[45], batch: 3, steps: 3));
        var state = model.CreateState(1);
        var stepError = Assert.Throws<ArgumentException>(() => model.Step(new float[4], state, new float[3]));
        Assert.Contains("expects 5 input values for 1 row(s); got 4", stepError.Message);
        Assert.Throws<ArgumentException>(() => model.Step(new float[5], state, new float[2]));
    }

    [Fact]
    public void AFailedForwardLeavesNothingForBackward()
    {
        var model = new LstmStack3(batchCapacity: 1, sequenceCapacity: 2);
        model.Forward([1, 2], batch: 1, steps: 2);
        model.Loss([3, 4]);
        Assert.Throws<ArgumentOutOfRangeException>(() => model.Forward([1, 99], batch: 1, steps: 2));
        Assert.Throws<InvalidOperationException>(() => model.Backward());
        Assert.Throws<InvalidOperationException>(() => model.Loss([3, 4]));
    }

    [Fact]
    public void TruncatedBackpropCarriesTheStateAcrossSegments()
    {
        // Two segments of 3 steps with the state carried give the outputs of one sequence of 6 (to rounding: the
        // kernels tile 6 and 12 rows differently, so the last bit may differ; a lost state would differ in the first).
        var random = new Random(3);
        var inputs = Enumerable.Range(0, 6 * 2 * 5).Select(_ => (float)random.NextDouble() - 0.5f).ToArray();
        var whole = new LstmSmall(2, 6, seed: 8);
        whole.Forward(inputs, 2, 6);
        var split = new LstmSmall(2, 6, seed: 8);
        var state = split.CreateState(2);
        split.Forward(inputs.AsSpan(0, 30), 2, 3, state);
        split.Forward(inputs.AsSpan(30, 30), 2, 3, state);
        for (int t = 0; t < 3; t++)
            for (int r = 0; r < 2; r++)
                Close.Assert(whole.Output(t + 3, r), split.Output(t, r), $"step {t + 3}, row {r}", tolerance: 1e-6);
    }
}
