using Xunit;

namespace FastRnn.Tests;

// OnnxTorchLstm with an input width the files do not have: every shape check must refuse it.
[RnnModel, DenseInput(4), Lstm(12, Layers = 2), Head(3), Loss(LossKind.MeanSquaredError)]
public partial class PyTorchNarrowLstm;

/// <summary>
/// Weights in from PyTorch: <c>torch.save</c> files and safetensors written by Debian's torch (tools/make_fixtures.py
/// pytorch) load with exactly the float32 values PyTorch's own <c>.float()</c> gives for each storage dtype, whatever
/// the file's prefix, nesting, module names or storage sharing; strict and non-strict loads report as
/// <c>load_state_dict</c> does; the legacy format and a pickle that would run a command are refused, and nothing of the
/// file runs; every refusal leaves the model's weights as they were.
/// </summary>
public class PyTorchLoadTests : TemporaryDirectoryTest
{
    private static readonly Dictionary<string, SafetensorsEntry> s_reference = Safetensors.Read(FixtureFiles.PathOf("PtReference.safetensors"));

    private static string Fixture(string name) => FixtureFiles.PathOf(name);

    /// <summary>Every tensor of the model equals the reference's "<paramref name="tag"/>." tensor bit for bit.</summary>
    private static void AssertHolds(IRnnModel model, string tag)
    {
        foreach (var tensor in model.Tensors)
        {
            var values = new float[tensor.Count];
            tensor.Export(model.Parameters, values);
            var expected = s_reference[tag + "." + tensor.Name];
            Assert.Equal(expected.Shape, tensor.PyTorchShape);
            for (int i = 0; i < values.Length; i++)
                Assert.True(BitConverter.SingleToInt32Bits(expected.Data[i]) == BitConverter.SingleToInt32Bits(values[i]),
                    $"{tag}.{tensor.Name}[{i}]: PyTorch {expected.Data[i]:R}, loaded {values[i]:R}");
        }
    }

    [Theory]
    [InlineData("F32")]
    [InlineData("F16")]
    [InlineData("BF16")]
    [InlineData("F64")]
    public void EachStorageDTypeLoadsAsPyTorchConvertsIt(string tag)
    {
        var model = new OnnxTorchLstm(2, 3, 1);
        var report = model.LoadPyTorch(Fixture($"PtLstm_{tag}.pt"));
        Assert.Equal("", report.Prefix);
        Assert.Empty(report.Missing);
        Assert.Empty(report.Unexpected);
        AssertHolds(model, tag);
    }

    [Theory]
    [InlineData("F16")]
    [InlineData("BF16")]
    [InlineData("F64")]
    public void SafetensorsInEachDTypeLoadAsPyTorchConvertsThem(string tag)
    {
        Assert.All(Safetensors.Read(Fixture($"StLstm_{tag}.safetensors")).Values, e => Assert.Equal(tag, e.DType));
        var model = new OnnxTorchLstm(2, 3, 1);
        model.LoadSafetensors(Fixture($"StLstm_{tag}.safetensors"));
        AssertHolds(model, tag);
    }

    [Fact]
    public void TokenModelLoadsFromHalfPrecision()
    {
        var model = new OnnxTorchTokens(2, 3, 1);
        model.LoadPyTorch(Fixture("PtTokens_F16.pt"));
        AssertHolds(model, "Tokens");
    }

    [Fact]
    public void DataParallelPrefixIsRecognizedWithoutConfiguration()
    {
        var model = new OnnxTorchLstm(2, 3, 1);
        var report = model.LoadPyTorch(Fixture("PtLstm_DataParallel.pt"));
        Assert.Equal("module.", report.Prefix);
        AssertHolds(model, "F32");
    }

    [Fact]
    public void ANestedTrainingCheckpointLoadsItsModelStateDict()
    {
        // {"epoch", "model_state_dict", "optimizer_state_dict" (Adam's exp_avg… as tensors), "loss", "note"}
        var model = new OnnxTorchLstm(2, 3, 1);
        var report = model.LoadPyTorch(Fixture("PtLstm_Checkpoint.pt"));
        Assert.Equal("model_state_dict.", report.Prefix);
        Assert.Empty(report.Unexpected);
        AssertHolds(model, "Checkpoint");
    }

    [Fact]
    public void TensorsSharingOneStorageAtOffsetsAndStridesLoad()
    {
        // every tensor views one storage at its own offset; head.weight is a transposed view (strides (1, 12))
        var model = new OnnxTorchLstm(2, 3, 1);
        model.LoadPyTorch(Fixture("PtLstm_Shared.pt"));
        AssertHolds(model, "Shared");
        AssertHolds(model, "F32");
    }

    [Fact]
    public void AUsersOwnModuleNamesLoadThroughANameMap()
    {
        var model = new OnnxTorchLstm(2, 3, 1);
        var before = model.Parameters.ToArray();
        var error = Assert.Throws<InvalidDataException>(() => model.LoadPyTorch(Fixture("PtLstm_Renamed.pt")));
        Assert.Contains("has tensor(s) the model does not: fc.bias, fc.weight, lstm.bias_hh_l0", error.Message);
        Assert.Equal(before, model.Parameters.ToArray());

        var map = new Dictionary<string, string> { ["lstm"] = "rnn", ["fc"] = "head" };
        model.LoadPyTorch(Fixture("PtLstm_Renamed.pt"), new WeightLoadOptions { NameMap = map });
        AssertHolds(model, "F32");
    }

    [Fact]
    public void StrictRefusesWhatNonStrictReports()
    {
        // the two-layer file into a one-layer model: layer 1's tensors are unexpected
        var oneLayer = new OnnxTorchLstmOneLayer(2, 3, 1);
        var before = oneLayer.Parameters.ToArray();
        var error = Assert.Throws<InvalidDataException>(() => oneLayer.LoadPyTorch(Fixture("PtLstm_F32.pt")));
        Assert.Contains("rnn.weight_ih_l1", error.Message);
        Assert.Equal(before, oneLayer.Parameters.ToArray());
        var report = oneLayer.LoadPyTorch(Fixture("PtLstm_F32.pt"), new WeightLoadOptions { Strict = false });
        Assert.Equal(["rnn.bias_hh_l1", "rnn.bias_ih_l1", "rnn.weight_hh_l1", "rnn.weight_ih_l1"], report.Unexpected);
        Assert.Empty(report.Missing);
        AssertHolds(oneLayer, "F32");

        // a file without the head: missing, and the head keeps its values
        string path = Path.Combine(Directory, "rnn-only.safetensors");
        Safetensors.Write(path, s_reference.Values.Where(e => e.Name.StartsWith("F32.rnn.", StringComparison.Ordinal))
            .Select(e => (e.Name["F32.".Length..], e.Shape, e.Data)));
        var model = new OnnxTorchLstm(2, 3, 1);
        var head = model.Tensors.Single(t => t.Name == "head.weight");
        var headBefore = new float[head.Count];
        head.Export(model.Parameters, headBefore);
        error = Assert.Throws<InvalidDataException>(() => model.LoadSafetensors(path));
        Assert.Contains("lacks tensor 'head.weight' of shape (3, 12) and 1 more", error.Message);
        report = model.LoadSafetensors(path, new WeightLoadOptions { Strict = false });
        Assert.Equal(["head.weight", "head.bias"], report.Missing);
        var headAfter = new float[head.Count];
        head.Export(model.Parameters, headAfter);
        Assert.Equal(headBefore, headAfter);
    }

    [Fact]
    public void AShapeThatDiffersIsRefusedEvenNonStrict()
    {
        var model = new PyTorchNarrowLstm(2, 3, 1);
        var before = model.Parameters.ToArray();
        foreach (bool strict in new[] { true, false })
        {
            var error = Assert.Throws<InvalidDataException>(() => model.LoadPyTorch(Fixture("PtLstm_F32.pt"), new WeightLoadOptions { Strict = strict }));
            Assert.Contains("Tensor 'rnn.weight_ih_l0'", error.Message);
            Assert.Contains("has shape (48, 5); the model expects (48, 4)", error.Message);
            Assert.Equal(before, model.Parameters.ToArray());
        }
    }

    [Fact]
    public void TwoModelsInOneFileNeedAChosenPrefix()
    {
        string path = Path.Combine(Directory, "two.safetensors");
        var f32 = s_reference.Values.Where(e => e.Name.StartsWith("F32.", StringComparison.Ordinal)).ToList();
        var f16 = s_reference.Values.Where(e => e.Name.StartsWith("F16.", StringComparison.Ordinal)).ToList();
        Safetensors.Write(path, f32.Select(e => ("model." + e.Name[4..], e.Shape, e.Data)).Concat(f16.Select(e => ("ema." + e.Name[4..], e.Shape, e.Data))));
        var model = new OnnxTorchLstm(2, 3, 1);
        var error = Assert.Throws<InvalidDataException>(() => model.LoadSafetensors(path));
        Assert.Contains("under 2 prefixes ('ema.', 'model.')", error.Message);
        model.LoadSafetensors(path, new WeightLoadOptions { Prefix = "ema." });
        AssertHolds(model, "F16");
        model.LoadSafetensors(path, new WeightLoadOptions { Prefix = "model." });
        AssertHolds(model, "F32");
    }

    [Fact]
    public void TheLegacyFormatIsRefusedWithHowToResave()
    {
        var model = new OnnxTorchLstm(2, 3, 1);
        var before = model.Parameters.ToArray();
        var error = Assert.Throws<InvalidDataException>(() => model.LoadPyTorch(Fixture("PtLstm_Legacy.pt")));
        Assert.Contains("legacy torch.save format", error.Message);
        Assert.Contains("torch.save(torch.load(path), path)", error.Message);
        Assert.Equal(before, model.Parameters.ToArray());
    }

    [Fact]
    public void APickleThatWouldRunACommandIsRefusedAndRunsNothing()
    {
        // PtMalicious.pt: torch.save({"rnn.weight_ih_l0": obj}) where obj.__reduce__ is (os.system, ("touch /tmp/fastrnn-pickle-ran",))
        const string marker = "/tmp/fastrnn-pickle-ran";
        File.Delete(marker);
        var model = new OnnxTorchLstm(2, 3, 1);
        var before = model.Parameters.ToArray();
        var error = Assert.Throws<InvalidDataException>(() => model.LoadPyTorch(Fixture("PtMalicious.pt")));
        Assert.Contains("the global 'posix.system'", error.Message);
        Assert.False(File.Exists(marker));
        Assert.Equal(before, model.Parameters.ToArray());
    }

    [Fact]
    public void AFileThatIsNotAPyTorchArchiveIsRefused()
    {
        var model = new OnnxTorchLstm(2, 3, 1);
        var error = Assert.Throws<InvalidDataException>(() => model.LoadPyTorch(Fixture("StLstm_F16.safetensors")));
        Assert.Contains("not a torch.save zip archive", error.Message);
        Assert.Throws<FileNotFoundException>(() => model.LoadPyTorch(Path.Combine(Directory, "absent.pt")));
    }
}
