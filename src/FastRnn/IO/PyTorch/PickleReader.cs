using System.Buffers.Binary;
using System.Text;

namespace FastRnn;

/// <summary>A storage a tensor views: which zip entry holds it (<c>data/KEY</c>), its element type and element count.</summary>
internal sealed record PickledStorage(string Key, TorchDType DType, long Count);

/// <summary>A tensor as <c>torch._utils._rebuild_tensor_v2</c> would build it: a view of <paramref name="Storage"/> from
/// element <paramref name="Offset"/> with the given sizes and strides (in elements).</summary>
internal sealed record PickledTensor(PickledStorage Storage, long Offset, long[] Shape, long[] Stride);

/// <summary>A pickled dict or OrderedDict, its items in order.</summary>
internal sealed class PickledDict
{
    public List<KeyValuePair<object?, object?>> Items { get; } = [];
}

/// <summary>An allowed global a REDUCE may call.</summary>
internal sealed record PickledGlobal(string Module, string Name)
{
    public override string ToString() => Module + "." + Name;
}

/// <summary>
/// A restricted unpickler for the pickles <c>torch.save</c> writes of a state dict (as <c>torch.load(weights_only=True)</c>
/// restricts Python's): it interprets only the opcodes such a pickle uses, and of all globals accepts only
/// <c>collections.OrderedDict</c>, the typed storages and the tensor and parameter rebuilders, which it does not call
/// but records as <see cref="PickledTensor"/> descriptions. Anything else — another class, a function such as
/// <c>os.system</c>, an object built by NEWOBJ or INST — is refused with <see cref="InvalidDataException"/> before any of
/// it is acted on: nothing in the file is executed. Every length is checked against the bytes left, and the stack,
/// marks and memo are bounded, so a hostile pickle costs at most time and memory in proportion to its size.
/// </summary>
internal sealed class PickleReader
{
    private const int MaxDepth = 100_000;

    private static readonly HashSet<string> s_storages =
    [
        "FloatStorage", "HalfStorage", "BFloat16Storage", "DoubleStorage", "LongStorage", "IntStorage", "ShortStorage",
        "CharStorage", "ByteStorage", "BoolStorage",
    ];

    private readonly byte[] _bytes;
    private readonly string _source;
    private readonly List<object?> _stack = [];
    private readonly List<int> _marks = [];
    private readonly Dictionary<uint, object?> _memo = [];
    private readonly Func<object?, PickledStorage>? _persistent;
    private int _position;

    private PickleReader(byte[] bytes, string source, Func<object?, PickledStorage>? persistent)
    {
        _bytes = bytes;
        _source = source;
        _persistent = persistent;
    }

    /// <summary>The object the pickle describes: null, bool, long, double, string, byte[], <c>List&lt;object?&gt;</c>,
    /// <c>object?[]</c> (a tuple), <see cref="PickledDict"/>, <see cref="PickledTensor"/>, <see cref="PickledStorage"/>.</summary>
    public static object? Load(byte[] bytes, string source) =>
        new PickleReader(bytes, source, null).Run();

    /// <summary>As <see cref="Load(byte[], string)"/>, with BINPERSID's persistent ids resolved by <paramref name="persistent"/>.</summary>
    public static object? Load(byte[] bytes, string source, Func<object?, PickledStorage> persistent) =>
        new PickleReader(bytes, source, persistent).Run();

    private object? Run()
    {
        while (true)
        {
            byte opcode = Byte();
            switch (opcode)
            {
                case 0x80: Byte(); break;                                     // PROTO n
                case 0x95: Skip(8); break;                                    // FRAME (a length hint)
                case (byte)'.':                                               // STOP
                    if (_stack.Count != 1 || _marks.Count != 0)
                        throw Bad("it stops with an unbalanced stack");
                    return _stack[0];
                case (byte)'(': Mark(); break;                                // MARK
                case (byte)'}': Push(new PickledDict()); break;               // EMPTY_DICT
                case (byte)']': Push(new List<object?>()); break;             // EMPTY_LIST
                case (byte)')': Push(Array.Empty<object?>()); break;          // EMPTY_TUPLE
                case (byte)'t': Push(PopToMark().ToArray()); break;           // TUPLE
                case 0x85: Push(new[] { Pop() }); break;                      // TUPLE1
                case 0x86: { var b = Pop(); var a = Pop(); Push(new[] { a, b }); break; }            // TUPLE2
                case 0x87: { var c = Pop(); var b = Pop(); var a = Pop(); Push(new[] { a, b, c }); break; } // TUPLE3
                case (byte)'l': Push(PopToMark()); break;                     // LIST
                case (byte)'d': Push(DictOf(PopToMark())); break;             // DICT
                case (byte)'a': { var item = Pop(); ListAt(_stack.Count - 1).Add(item); break; }     // APPEND
                case (byte)'e': { var items = PopToMark(); ListAt(_stack.Count - 1).AddRange(items); break; } // APPENDS
                case (byte)'s': { var value = Pop(); var key = Pop(); DictAt(_stack.Count - 1).Items.Add(new(key, value)); break; } // SETITEM
                case (byte)'u': { var items = PopToMark(); DictAt(_stack.Count - 1).Items.AddRange(DictOf(items).Items); break; } // SETITEMS
                case (byte)'N': Push(null); break;                            // NONE
                case 0x88: Push(true); break;                                 // NEWTRUE
                case 0x89: Push(false); break;                                // NEWFALSE
                case (byte)'J': Push((long)BinaryPrimitives.ReadInt32LittleEndian(Take(4))); break; // BININT
                case (byte)'K': Push((long)Byte()); break;                    // BININT1
                case (byte)'M': Push((long)BinaryPrimitives.ReadUInt16LittleEndian(Take(2))); break; // BININT2
                case 0x8a: Push(Long(Byte())); break;                         // LONG1
                case (byte)'G': Push(BinaryPrimitives.ReadDoubleBigEndian(Take(8))); break;         // BINFLOAT
                case (byte)'X': Push(Text(Take(Length32()))); break;          // BINUNICODE
                case 0x8c: Push(Text(Take(Byte()))); break;                   // SHORT_BINUNICODE
                case 0x8d: Push(Text(Take(Length64()))); break;               // BINUNICODE8
                case (byte)'T': Push(Encoding.Latin1.GetString(Take(Length32()))); break; // BINSTRING (Python 2 str)
                case (byte)'U': Push(Encoding.Latin1.GetString(Take(Byte()))); break;     // SHORT_BINSTRING
                case (byte)'B': Push(Take(Length32()).ToArray()); break;      // BINBYTES
                case (byte)'C': Push(Take(Byte()).ToArray()); break;          // SHORT_BINBYTES
                case (byte)'c': Push(Global(Line(), Line())); break;          // GLOBAL module\nname\n
                case 0x93:                                                    // STACK_GLOBAL
                {
                    var name = Pop() as string ?? throw Bad("STACK_GLOBAL's name is not a string");
                    var module = Pop() as string ?? throw Bad("STACK_GLOBAL's module is not a string");
                    Push(Global(module, name));
                    break;
                }
                case (byte)'R': { var args = Pop(); var callable = Pop(); Push(Reduce(callable, args)); break; } // REDUCE
                case (byte)'b': { var state = Pop(); Build(Peek(), state); break; }                 // BUILD
                case (byte)'Q':                                               // BINPERSID
                {
                    var id = Pop();
                    Push(_persistent is null ? throw Bad("it refers to external storage outside a torch.save archive") : _persistent(id));
                    break;
                }
                case (byte)'q': Memo(Byte()); break;                          // BINPUT
                case (byte)'r': Memo(BinaryPrimitives.ReadUInt32LittleEndian(Take(4))); break;      // LONG_BINPUT
                case 0x94: Memo((uint)_memo.Count); break;                    // MEMOIZE
                case (byte)'h': Push(Recall(Byte())); break;                  // BINGET
                case (byte)'j': Push(Recall(BinaryPrimitives.ReadUInt32LittleEndian(Take(4)))); break; // LONG_BINGET
                case (byte)'0': Pop(); break;                                 // POP
                case (byte)'1': PopToMark(); break;                           // POP_MARK
                case (byte)'2': Push(Peek()); break;                          // DUP
                default:
                    throw Bad($"it uses pickle opcode 0x{opcode:x2} at byte {_position - 1}, which a state dict does not need " +
                              "(objects of other classes are refused; nothing of the file was run)");
            }
        }
    }

    private PickledGlobal Global(string module, string name)
    {
        bool allowed = (module, name) switch
        {
            ("collections", "OrderedDict") => true,
            ("torch._utils", "_rebuild_tensor_v2" or "_rebuild_parameter") => true,
            ("torch", _) => s_storages.Contains(name),
            _ => false,
        };
        return allowed
            ? new PickledGlobal(module, name)
            : throw Bad($"it refers to the global '{module}.{name}', which a state dict does not hold; FastRnn accepts only " +
                        "tensors, storages, OrderedDict and plain values and ran nothing of the file (a pickle that calls " +
                        "arbitrary code is how a malicious checkpoint attacks torch.load without weights_only)");
    }

    private object? Reduce(object? callable, object? args)
    {
        if (callable is not PickledGlobal global || args is not object?[] arguments)
            throw Bad("REDUCE applies something other than an allowed global to a tuple");
        switch (global.Name)
        {
            case "OrderedDict" when arguments.Length == 0:
                return new PickledDict();
            case "_rebuild_tensor_v2" when arguments.Length is 6 or 7:
            {
                var storage = arguments[0] as PickledStorage ?? throw Bad("a tensor's storage is not a storage reference");
                long offset = arguments[1] is long o ? o : throw Bad("a tensor's storage offset is not an integer");
                long[] shape = Integers(arguments[2], "size");
                long[] stride = Integers(arguments[3], "stride");
                if (shape.Length != stride.Length)
                    throw Bad($"a tensor has {shape.Length} sizes but {stride.Length} strides");
                return new PickledTensor(storage, offset, shape, stride);
            }
            case "_rebuild_parameter" when arguments.Length == 3:
                return arguments[0] as PickledTensor ?? throw Bad("a parameter wraps something other than a tensor");
            default:
                throw Bad($"it calls {global} with {arguments.Length} argument(s), which is not how a state dict uses it");
        }
    }

    private long[] Integers(object? value, string what)
    {
        if (value is not object?[] items)
            throw Bad($"a tensor's {what} is not a tuple");
        var result = new long[items.Length];
        for (int i = 0; i < items.Length; i++)
            result[i] = items[i] is long v && v >= 0 ? v : throw Bad($"a tensor's {what} holds something other than a non-negative integer");
        return result;
    }

    /// <summary>BUILD sets state on the object below: a state dict's <c>_metadata</c> attribute (kept out of the
    /// result: it holds module versions, not tensors) or a tensor's (none in a state dict).</summary>
    private void Build(object? target, object? state)
    {
        if (target is not PickledDict and not PickledTensor)
            throw Bad("BUILD sets state on something other than a dict or a tensor");
        _ = state;
    }

    private PickledDict DictOf(List<object?> items)
    {
        if (items.Count % 2 != 0)
            throw Bad("a dict has a key without a value");
        var dict = new PickledDict();
        for (int i = 0; i < items.Count; i += 2)
            dict.Items.Add(new(items[i], items[i + 1]));
        return dict;
    }

    private List<object?> ListAt(int index) =>
        index >= 0 && _stack[index] is List<object?> list ? list : throw Bad("APPEND targets something other than a list");

    private PickledDict DictAt(int index) =>
        index >= 0 && _stack[index] is PickledDict dict ? dict : throw Bad("SETITEM targets something other than a dict");

    private void Push(object? value)
    {
        if (_stack.Count >= MaxDepth)
            throw Bad($"its stack grows past {MaxDepth} entries");
        _stack.Add(value);
    }

    private object? Pop()
    {
        int floor = _marks.Count > 0 ? _marks[^1] : 0;
        if (_stack.Count <= floor)
            throw Bad("it pops from an empty stack");
        var value = _stack[^1];
        _stack.RemoveAt(_stack.Count - 1);
        return value;
    }

    private object? Peek() => _stack.Count > 0 ? _stack[^1] : throw Bad("it reads an empty stack");

    private void Mark()
    {
        if (_marks.Count >= MaxDepth)
            throw Bad($"it nests more than {MaxDepth} marks");
        _marks.Add(_stack.Count);
    }

    private List<object?> PopToMark()
    {
        if (_marks.Count == 0)
            throw Bad("it closes a mark it never opened");
        int mark = _marks[^1];
        _marks.RemoveAt(_marks.Count - 1);
        var items = _stack.GetRange(mark, _stack.Count - mark);
        _stack.RemoveRange(mark, _stack.Count - mark);
        return items;
    }

    private void Memo(uint key) => _memo[key] = Peek();

    private object? Recall(uint key) => _memo.TryGetValue(key, out var value) ? value : throw Bad($"it recalls memo {key}, never stored");

    private long Long(int length)
    {
        if (length > 8)
            throw Bad($"it holds a {length}-byte integer");
        var bytes = Take(length);
        long value = 0;
        for (int i = length - 1; i >= 0; i--)
            value = (value << 8) | bytes[i];
        if (length is > 0 and < 8 && (bytes[length - 1] & 0x80) != 0)
            value -= 1L << (8 * length);                  // two's complement sign
        return value;
    }

    private byte Byte() => _position < _bytes.Length ? _bytes[_position++] : throw Bad("it ends before its STOP opcode (truncated?)");

    private ReadOnlySpan<byte> Take(long count)
    {
        if (count < 0 || count > _bytes.Length - _position)
            throw Bad($"a field of {count} bytes runs past the end of the pickle");
        var span = _bytes.AsSpan(_position, (int)count);
        _position += (int)count;
        return span;
    }

    private void Skip(int count) => Take(count);

    private long Length32() => BinaryPrimitives.ReadUInt32LittleEndian(Take(4));

    private long Length64()
    {
        ulong length = BinaryPrimitives.ReadUInt64LittleEndian(Take(8));
        return length > int.MaxValue ? -1 : (long)length;
    }

    private string Line()
    {
        int end = Array.IndexOf(_bytes, (byte)'\n', _position);
        if (end < 0 || end - _position > 256)
            throw Bad("a GLOBAL's name does not end within 256 bytes");
        string text = Encoding.ASCII.GetString(_bytes, _position, end - _position);
        _position = end + 1;
        return text;
    }

    private string Text(ReadOnlySpan<byte> utf8)
    {
        try
        {
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(utf8);
        }
        catch (DecoderFallbackException)
        {
            throw Bad("a string is not valid UTF-8");
        }
    }

    private InvalidDataException Bad(string problem) => new($"PyTorch file '{_source}' is invalid: {problem}.");
}
