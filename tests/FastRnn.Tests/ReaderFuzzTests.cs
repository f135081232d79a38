using System.Buffers.Binary;
using System.Diagnostics;
using System.IO.Compression;
using System.Text;
using FastRnn.Training;
using Xunit;
using Xunit.Abstractions;

namespace FastRnn.Tests;

/// <summary>
/// Every reader of untrusted files, fuzzed through the public API: seeded mutations of valid files (bit flips,
/// truncations, appended and overwritten bytes, numbers in headers edited — sizes that would allocate gigabytes,
/// offsets out of range or overlapping —, length fields edited, deep nesting, zip entries that lie about their size,
/// pickles and storages mutated inside a well-formed zip) are each either loaded (when still valid) or refused with
/// <see cref="InvalidDataException"/>, in bounded time and memory, and a refused load leaves the model (and optimizer)
/// as it was. <c>FASTRNN_FUZZ_COUNT</c> files per format (default 3,000, what CI runs; the README's full run uses 10,000).
/// </summary>
public class ReaderFuzzTests(ITestOutputHelper output) : TemporaryDirectoryTest
{
    private static int Count => int.TryParse(Environment.GetEnvironmentVariable("FASTRNN_FUZZ_COUNT"), out int n) && n > 0 ? n : 3000;

    /// <summary>At most this much managed memory per load: the valid files are at most 40 KB, so a reader that sizes
    /// an allocation by a claim in the file instead of by the bytes it holds trips it.</summary>
    private const long MemoryBound = 64L << 20;

    private static readonly TimeSpan s_timeBound = TimeSpan.FromSeconds(10);

    /// <summary>One format: its valid files, the load of a file into fresh state, and a snapshot of that state.</summary>
    private sealed record Format(string Name, byte[][] Bases, Func<string, StateProbe> Prepare, Func<Random, byte[], byte[]>[] Special);

    [Theory]
    [InlineData("safetensors")]
    [InlineData("checkpoint")]
    [InlineData("backup")]
    [InlineData("onnx")]
    [InlineData("pytorch")]
    public void MutatedFilesLoadOrAreRefusedCleanly(string name)
    {
        var format = FormatOf(name);
        var random = new Random(20261130 + name.Length);
        string path = Path.Combine(Directory, "fuzzed." + name);
        var generic = new Func<Random, byte[], byte[]>[] { FlipBits, Truncate, Append, Overwrite, EditNumber };
        int loaded = 0, refused = 0, unchangedBytes = 0;
        var reasons = new Dictionary<string, int>();
        var byMutation = new SortedDictionary<string, (int Loaded, int Refused)>(StringComparer.Ordinal);
        var mutators = generic.Concat(format.Special).ToArray();
        for (int i = 0; i < Count; i++)
        {
            var original = format.Bases[i % format.Bases.Length];
            var mutate = mutators[random.Next(mutators.Length)];
            byte[] bytes = mutate(random, original);
            if (bytes.AsSpan().SequenceEqual(original))
                unchangedBytes++;
            File.WriteAllBytes(path, bytes);
            var probe = format.Prepare(path);       // fresh state for this load
            byte[] before = Run(probe, out var after, out var error, out var elapsed, out long allocated);
            Assert.True(elapsed < s_timeBound, $"{name} #{i} ({mutate.Method.Name}): the load took {elapsed}.");
            Assert.True(allocated < MemoryBound, $"{name} #{i} ({mutate.Method.Name}): the load allocated {allocated:N0} bytes.");
            switch (error)
            {
                case null:
                    loaded++;
                    byMutation[mutate.Method.Name] = (byMutation.GetValueOrDefault(mutate.Method.Name).Loaded + 1, byMutation.GetValueOrDefault(mutate.Method.Name).Refused);
                    break;
                case InvalidDataException refusal:
                    refused++;
                    byMutation[mutate.Method.Name] = (byMutation.GetValueOrDefault(mutate.Method.Name).Loaded, byMutation.GetValueOrDefault(mutate.Method.Name).Refused + 1);
                    Assert.True(before.AsSpan().SequenceEqual(after), $"{name} #{i} ({mutate.Method.Name}): refused ({refusal.Message}) but the state changed.");
                    string reason = Reason(refusal.Message);
                    reasons[reason] = reasons.GetValueOrDefault(reason) + 1;
                    break;
                default:
                    Assert.Fail($"{name} #{i} ({mutate.Method.Name}) escaped as {error.GetType().Name}: {error}");
                    break;
            }
        }
        output.WriteLine($"{name}: {Count} mutated files ({unchangedBytes} mutations left the bytes as they were): {loaded} loaded, {refused} refused with InvalidDataException, 0 other outcomes.");
        output.WriteLine("  loaded/refused by mutation: " + string.Join(", ", byMutation.Select(m => $"{m.Key} {m.Value.Loaded}/{m.Value.Refused}")));
        foreach (var (reason, count) in reasons.OrderByDescending(r => r.Value).Take(12))
            output.WriteLine($"  {count,6}  {reason}");
        Assert.True(refused > Count / 2, $"only {refused} of {Count} mutated {name} files were refused: the mutations do not reach the reader.");
    }

    private static byte[] Run(StateProbe probe, out byte[] after, out Exception? error, out TimeSpan elapsed, out long allocated)
    {
        byte[] before = probe.State();
        var clock = Stopwatch.StartNew();
        long start = GC.GetAllocatedBytesForCurrentThread();
        error = null;
        try
        {
            probe.Load();
        }
        catch (Exception e)
        {
            error = e;
        }
        allocated = GC.GetAllocatedBytesForCurrentThread() - start;
        elapsed = clock.Elapsed;
        after = probe.State();
        return before;
    }

    /// <summary>Holds the fresh state one load goes into and serializes it (parameters, statistics, run options,
    /// optimizer state) for the before/after comparison.</summary>
    internal sealed class StateProbe(Func<byte[]> state, Action<string> load, string path)
    {
        public byte[] State() => state();

        public void Load() => load(path);
    }

    private static byte[] ModelState(IRnnModel model, ISequenceModel? sequence = null)
    {
        var bytes = new List<byte>();
        foreach (float v in model.Parameters)
            bytes.AddRange(BitConverter.GetBytes(v));
        foreach (float v in model.Statistics)
            bytes.AddRange(BitConverter.GetBytes(v));
        if (sequence is not null)
        {
            bytes.AddRange(BitConverter.GetBytes(sequence.Options.Pass));
            bytes.AddRange(BitConverter.GetBytes(sequence.Options.Seed));
            bytes.AddRange(BitConverter.GetBytes(sequence.Options.Training));
            foreach (var name in sequence.Options.Names)
                bytes.AddRange(BitConverter.GetBytes(sequence.Options[name]));
        }
        return [.. bytes];
    }

    private Format FormatOf(string name) => name switch
    {
        "safetensors" => new Format(name, [SafetensorsBase(1), SafetensorsBase(2)], path =>
        {
            var model = new LstmSmall(2, 3, seed: 9);
            return new StateProbe(() => ModelState(model), p => model.LoadSafetensors(p), path);
        }, [HeaderLength, DeepJson]),
        "checkpoint" => new Format(name, [CheckpointBase()], path =>
        {
            var model = new LstmSmall(2, 3, seed: 9);
            var optimizer = new Adam(model, 1e-3f);
            string probe = Path.Combine(Directory, "probe.ckpt");
            // the optimizer's state is compared through a checkpoint written from it
            return new StateProbe(() =>
            {
                Checkpoint.Save(probe, model, optimizer);
                return ModelState(model, model).Concat(File.ReadAllBytes(probe)).ToArray();
            }, p => Checkpoint.Load(p, model, optimizer), path);
        }, [HeaderLength, DeepJson]),
        "backup" => new Format(name, [BackupBase()], path =>
        {
            var (model, trainer) = BackupRun();
            return new StateProbe(() => ModelState(model, model), p => trainer.Fit(Tokens(400), Tokens(120, 3), epochs: 2, backup: p), path);
        }, [HeaderLength, DeepJson]),
        "onnx" => new Format(name, [File.ReadAllBytes(FixtureFiles.PathOf("OnnxTorchLstm.onnx")), OnnxBase()], path =>
        {
            var model = new OnnxTorchLstm(2, 3, 1);
            return new StateProbe(() => ModelState(model), p => model.LoadOnnx(p), path);
        }, [HugeVarint, DeepMessage]),
        "pytorch" => new Format(name, new[] { "PtLstm_F32.pt", "PtLstm_Checkpoint.pt", "PtLstm_Shared.pt", "PtLstm_BF16.pt" }.Select(f => File.ReadAllBytes(FixtureFiles.PathOf(f))).ToArray(), path =>
        {
            var model = new OnnxTorchLstm(2, 3, 1);
            return new StateProbe(() => ModelState(model), p => model.LoadPyTorch(p), path);
        }, [ZipSizeLie, MutatePickle, MutatePickle, DeepPickle, TruncateStorage]),
        _ => throw new ArgumentException(name),
    };

    private byte[] SafetensorsBase(int seed)
    {
        string path = Path.Combine(Directory, $"base{seed}.safetensors");
        new LstmSmall(2, 3, seed: (ulong)seed).SaveSafetensors(path);
        return File.ReadAllBytes(path);
    }

    private byte[] CheckpointBase()
    {
        var model = new LstmSmall(2, 3, seed: 1);
        var optimizer = new Adam(model, 1e-3f);
        string path = Path.Combine(Directory, "base.ckpt");
        Checkpoint.Save(path, model, optimizer, new Dictionary<string, string> { ["epoch"] = "3" });
        return File.ReadAllBytes(path);
    }

    private static TokenStream Tokens(int count, int offset = 0) =>
        new(Enumerable.Range(0, count).Select(i => (i * 7 + i / 3 + offset) % 10).ToArray(), 4);

    private static (TinyLm Model, LanguageModelTrainer Trainer) BackupRun()
    {
        var model = new TinyLm(4, 10, seed: 1);
        return (model, new LanguageModelTrainer(model, new Adam(model, 2e-2f), 10));
    }

    /// <summary>The backup of a finished two-epoch run: a valid one resumes to nothing more to do.</summary>
    private byte[] BackupBase()
    {
        string path = Path.Combine(Directory, "base.backup");
        var (_, trainer) = BackupRun();
        trainer.Fit(Tokens(400), Tokens(120, 3), epochs: 2, backup: path);
        return File.ReadAllBytes(path);
    }

    private static byte[] OnnxBase()
    {
        var model = new OnnxTorchLstm(2, 3, 5);
        return model.ToOnnx();
    }

    // ---- generic mutations ----

    private static byte[] FlipBits(Random random, byte[] bytes)
    {
        var copy = (byte[])bytes.Clone();
        for (int n = random.Next(1, 9); n > 0; n--)
            copy[random.Next(copy.Length)] ^= (byte)(1 << random.Next(8));
        return copy;
    }

    private static byte[] Truncate(Random random, byte[] bytes) => bytes[..random.Next(bytes.Length)];

    private static byte[] Append(Random random, byte[] bytes)
    {
        var tail = new byte[random.Next(1, 65)];
        random.NextBytes(tail);
        return [.. bytes, .. tail];
    }

    private static byte[] Overwrite(Random random, byte[] bytes)
    {
        var copy = (byte[])bytes.Clone();
        int length = random.Next(1, 17), start = random.Next(copy.Length);
        random.NextBytes(copy.AsSpan(start, Math.Min(length, copy.Length - start)));
        return copy;
    }

    private static readonly string[] s_numbers = ["0", "1", "-1", "3", "4294967296", "1000000000", "99999999999999999999", "2147483647", "9223372036854775807", "-9223372036854775808", "1e9", "0.5"];

    /// <summary>A run of ASCII digits (a shape, an offset, a header value) replaced by another number.</summary>
    private static byte[] EditNumber(Random random, byte[] bytes)
    {
        var runs = new List<(int Start, int Length)>();
        for (int i = 0; i < bytes.Length && runs.Count < 4096; i++)
            if (char.IsAsciiDigit((char)bytes[i]) && (i == 0 || !char.IsAsciiDigit((char)bytes[i - 1])))
            {
                int end = i;
                while (end < bytes.Length && char.IsAsciiDigit((char)bytes[end]))
                    end++;
                runs.Add((i, end - i));
            }
        if (runs.Count == 0)
            return FlipBits(random, bytes);
        var (start, length) = runs[random.Next(runs.Count)];
        string original = Encoding.ASCII.GetString(bytes, start, length);
        string replacement = random.Next(3) == 0 && long.TryParse(original, out long value)
            ? (value + random.Next(-9, 10)).ToString(System.Globalization.CultureInfo.InvariantCulture)
            : s_numbers[random.Next(s_numbers.Length)];
        var result = bytes[..start].Concat(Encoding.ASCII.GetBytes(replacement)).Concat(bytes[(start + length)..]).ToArray();
        // keep a safetensors header length consistent, so the edit reaches the JSON rather than the length check
        if (bytes.Length >= 8 && BinaryPrimitives.ReadInt64LittleEndian(bytes) is > 0 and var header && 8 + header <= bytes.Length && start < 8 + header && start >= 8)
            BinaryPrimitives.WriteInt64LittleEndian(result, header + replacement.Length - length);
        return result;
    }

    // ---- safetensors / checkpoint / backup ----

    private static byte[] HeaderLength(Random random, byte[] bytes)
    {
        var copy = (byte[])bytes.Clone();
        long[] values = [0, 1, -1, long.MaxValue, int.MaxValue, bytes.Length, bytes.Length - 8, BinaryPrimitives.ReadInt64LittleEndian(bytes) + random.Next(-16, 17)];
        BinaryPrimitives.WriteInt64LittleEndian(copy, values[random.Next(values.Length)]);
        return copy;
    }

    private static byte[] DeepJson(Random random, byte[] bytes)
    {
        int depth = random.Next(10, 100_000);
        string json = random.Next(2) == 0 ? new string('[', depth) + new string(']', depth) : string.Concat(Enumerable.Repeat("{\"a\":", depth)) + "1" + new string('}', depth);
        var header = Encoding.UTF8.GetBytes(json);
        var result = new byte[8 + header.Length];
        BinaryPrimitives.WriteInt64LittleEndian(result, header.Length);
        header.CopyTo(result, 8);
        return result;
    }

    // ---- ONNX (protobuf) ----

    private static byte[] HugeVarint(Random random, byte[] bytes)
    {
        // a length or number that claims up to 2^63: inserted where a field's value begins
        int at = random.Next(bytes.Length);
        byte[] varint = random.Next(2) == 0 ? [0xFF, 0xFF, 0xFF, 0xFF, 0x0F] : [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01];
        return [.. bytes[..at], .. varint, .. bytes[at..]];
    }

    private static byte[] DeepMessage(Random random, byte[] bytes)
    {
        // graph (field 7) inside graph inside graph…: each a length-delimited field holding the next
        int depth = random.Next(10, 2000);
        var message = new List<byte>(bytes[..Math.Min(bytes.Length, 64)]);
        for (int i = 0; i < depth; i++)
        {
            var inner = new List<byte> { 0x3A };
            for (uint n = (uint)message.Count; ; n >>= 7)
            {
                inner.Add((byte)(n < 0x80 ? n : (n & 0x7F) | 0x80));
                if (n < 0x80)
                    break;
            }
            inner.AddRange(message);
            message = inner;
        }
        return [.. message];
    }

    // ---- PyTorch (zip + pickle) ----

    private static List<(string Name, byte[] Data)> Entries(byte[] zip)
    {
        using var archive = new ZipArchive(new MemoryStream(zip), ZipArchiveMode.Read);
        return archive.Entries.Select(e =>
        {
            using var stream = e.Open();
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            return (e.FullName, copy.ToArray());
        }).ToList();
    }

    private static byte[] Zip(IEnumerable<(string Name, byte[] Data)> entries)
    {
        using var memory = new MemoryStream();
        using (var archive = new ZipArchive(memory, ZipArchiveMode.Create, leaveOpen: true))
            foreach (var (name, data) in entries)
            {
                using var stream = archive.CreateEntry(name, CompressionLevel.NoCompression).Open();
                stream.Write(data);
            }
        return memory.ToArray();
    }

    /// <summary>A pickle mutated inside a well-formed zip (its CRC right), so the mutation reaches the unpickler.</summary>
    private static byte[] MutatePickle(Random random, byte[] zip)
    {
        var entries = Entries(zip);
        int index = entries.FindIndex(e => e.Name.EndsWith("data.pkl", StringComparison.Ordinal));
        var pickle = entries[index].Data;
        var mutated = random.Next(5) switch
        {
            0 => FlipBits(random, pickle),
            1 => Truncate(random, pickle),
            2 => Overwrite(random, pickle),
            3 => EditNumber(random, pickle),
            _ => SwapByte(random, pickle),
        };
        entries[index] = (entries[index].Name, mutated);
        return Zip(entries);
    }

    /// <summary>One byte replaced by a pickle opcode (MARK, TUPLE, REDUCE, BUILD, BINGET, STOP, GLOBAL…).</summary>
    private static byte[] SwapByte(Random random, byte[] pickle)
    {
        byte[] opcodes = "(tRbhq.c}]e)Qus0120".Select(c => (byte)c).Concat(new byte[] { 0x85, 0x86, 0x87, 0x88, 0x8a, 0x93, 0x94, 0x95 }).ToArray();
        var copy = (byte[])pickle.Clone();
        copy[random.Next(copy.Length)] = opcodes[random.Next(opcodes.Length)];
        return copy;
    }

    private static byte[] DeepPickle(Random random, byte[] zip)
    {
        var entries = Entries(zip);
        int index = entries.FindIndex(e => e.Name.EndsWith("data.pkl", StringComparison.Ordinal));
        int depth = random.Next(10, 200_000);
        var pickle = new List<byte> { 0x80, 2 };
        switch (random.Next(3))
        {
            case 0:     // lists in lists: ] ] ] … a a a .
                pickle.AddRange(Enumerable.Repeat((byte)']', depth));
                pickle.AddRange(Enumerable.Repeat((byte)'a', depth - 1));
                break;
            case 1:     // marks never closed
                pickle.AddRange(Enumerable.Repeat((byte)'(', depth));
                break;
            default:    // a dict holding itself through the memo: } q0 K1 h0 s …
                pickle.AddRange(new byte[] { (byte)'}', (byte)'q', 0, (byte)'X', 1, 0, 0, 0, (byte)'k', (byte)'h', 0, (byte)'s' });
                break;
        }
        pickle.Add((byte)'.');
        entries[index] = (entries[index].Name, [.. pickle]);
        return Zip(entries);
    }

    /// <summary>A storage entry cut short or grown: it no longer holds what the pickle says.</summary>
    private static byte[] TruncateStorage(Random random, byte[] zip)
    {
        var entries = Entries(zip);
        var storages = entries.Select((e, i) => (e, i)).Where(x => x.e.Name.Contains("/data/", StringComparison.Ordinal)).ToList();
        var (entry, index) = storages[random.Next(storages.Count)];
        entries[index] = (entry.Name, random.Next(2) == 0 ? entry.Data[..random.Next(entry.Data.Length)] : [.. entry.Data, .. new byte[random.Next(1, 16)]]);
        return Zip(entries);
    }

    /// <summary>A local or central-directory header whose sizes lie: set to 0, 1, the real value ± a little, or up to 4 GB.</summary>
    private static byte[] ZipSizeLie(Random random, byte[] zip)
    {
        var copy = (byte[])zip.Clone();
        var headers = new List<(int At, int[] Fields)>();
        for (int i = 0; i + 4 <= copy.Length; i++)
        {
            uint signature = BinaryPrimitives.ReadUInt32LittleEndian(copy.AsSpan(i));
            if (signature == 0x04034b50 && i + 30 <= copy.Length)
                headers.Add((i, [18, 22]));          // local header: compressed, uncompressed size
            else if (signature == 0x02014b50 && i + 46 <= copy.Length)
                headers.Add((i, [20, 24, 42]));      // central directory: sizes, local header offset
        }
        var (at, fields) = headers[random.Next(headers.Count)];
        int field = at + fields[random.Next(fields.Length)];
        uint old = BinaryPrimitives.ReadUInt32LittleEndian(copy.AsSpan(field));
        uint[] values = [0, 1, old + 1, old - 1, old * 2, 0x7FFFFFFF, 0xFFFFFFFF, (uint)copy.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(copy.AsSpan(field), values[random.Next(values.Length)]);
        return copy;
    }

    /// <summary>The start of a message, up to its first varying detail (a path, a number), to count refusals by kind.</summary>
    private static string Reason(string message)
    {
        int quote = message.IndexOf("': ", StringComparison.Ordinal);
        string text = quote >= 0 ? message[(quote + 3)..] : message;
        var words = text.Split(' ').Take(6).Select(w => w.Any(char.IsAsciiDigit) || w.Contains('\'') ? "…" : w);
        return string.Join(' ', words);
    }
}
