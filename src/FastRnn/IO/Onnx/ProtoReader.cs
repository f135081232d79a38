using System.Buffers.Binary;
using System.Text;

namespace FastRnn.IO.Onnx;

/// <summary>
/// Reads one Protocol Buffers message in the wire format, field by field, without a schema: each field's number and
/// its value (a varint, a fixed 32- or 64-bit value, or a length-delimited span that may hold a string, bytes, packed
/// numbers or a nested message). A file is untrusted input: every length is checked against what is left, and any
/// malformation is an <see cref="InvalidDataException"/>.
/// </summary>
internal readonly ref struct ProtoReader(ReadOnlySpan<byte> message)
{
    private readonly ReadOnlySpan<byte> _message = message;

    /// <summary>One field: its number, its wire type, and its value (a number, or the span of a length-delimited one).</summary>
    public readonly ref struct Field(int number, int wireType, ulong number64, ReadOnlySpan<byte> span)
    {
        public int Number { get; } = number;
        public int WireType { get; } = wireType;
        public ulong Value { get; } = number64;
        public ReadOnlySpan<byte> Span { get; } = span;

        public long Int64 => unchecked((long)Value);

        public string Text => Encoding.UTF8.GetString(Span);

        public float Float => BitConverter.Int32BitsToSingle(unchecked((int)Value));
    }

    public Enumerator GetEnumerator() => new(_message);

    public ref struct Enumerator(ReadOnlySpan<byte> message)
    {
        private ReadOnlySpan<byte> _rest = message;

        public Field Current { get; private set; }

        public bool MoveNext()
        {
            if (_rest.IsEmpty)
                return false;
            ulong key = ReadVarint(ref _rest);
            int number = (int)Math.Min(key >> 3, int.MaxValue), wireType = (int)(key & 7);
            if (number == 0)
                throw new InvalidDataException("A protobuf field has number 0.");
            switch (wireType)
            {
                case 0:
                    Current = new Field(number, wireType, ReadVarint(ref _rest), default);
                    return true;
                case 1:
                    Current = new Field(number, wireType, BinaryPrimitives.ReadUInt64LittleEndian(Take(ref _rest, 8)), default);
                    return true;
                case 5:
                    Current = new Field(number, wireType, BinaryPrimitives.ReadUInt32LittleEndian(Take(ref _rest, 4)), default);
                    return true;
                case 2:
                    ulong length = ReadVarint(ref _rest);
                    if (length > (ulong)_rest.Length)
                        throw new InvalidDataException($"A protobuf field of {length} bytes runs past its message ({_rest.Length} bytes left).");
                    Current = new Field(number, wireType, length, Take(ref _rest, (int)length));
                    return true;
                default:
                    throw new InvalidDataException($"Protobuf wire type {wireType} (field {number}) is not supported.");
            }
        }
    }

    /// <summary>The values of a packed repeated varint field (or one unpacked value).</summary>
    public static List<long> Int64s(Field field)
    {
        if (field.WireType == 0)
            return [field.Int64];
        var values = new List<long>();
        var rest = field.Span;
        while (!rest.IsEmpty)
            values.Add(unchecked((long)ReadVarint(ref rest)));
        return values;
    }

    /// <summary>The values of a packed repeated float field (or one unpacked value).</summary>
    public static List<float> Floats(Field field)
    {
        if (field.WireType == 5)
            return [field.Float];
        if (field.Span.Length % 4 != 0)
            throw new InvalidDataException($"A packed float field holds {field.Span.Length} bytes, not a multiple of 4.");
        var values = new List<float>(field.Span.Length / 4);
        for (int i = 0; i < field.Span.Length; i += 4)
            values.Add(BinaryPrimitives.ReadSingleLittleEndian(field.Span[i..]));
        return values;
    }

    private static ReadOnlySpan<byte> Take(scoped ref ReadOnlySpan<byte> rest, int count)
    {
        if (count > rest.Length)
            throw new InvalidDataException($"A protobuf message ends {count - rest.Length} bytes early.");
        var taken = rest[..count];
        rest = rest[count..];
        return taken;
    }

    private static ulong ReadVarint(ref ReadOnlySpan<byte> rest)
    {
        ulong value = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            if (rest.IsEmpty)
                throw new InvalidDataException("A protobuf varint runs past the end of its message.");
            byte b = rest[0];
            rest = rest[1..];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
                return value;
        }
        throw new InvalidDataException("A protobuf varint is longer than 10 bytes.");
    }
}
