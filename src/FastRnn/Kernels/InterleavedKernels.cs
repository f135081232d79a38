using System.ComponentModel;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace FastRnn.Kernels;

/// <summary>
/// Matrix kernels on the gate-interleaved layout, for many rows at once (a batch, or a whole sequence of batches):
/// the forward product, the backward product with the transpose, and the weight-gradient outer product. Each is
/// register-blocked: a tile of rows or inputs shares every weight or gradient vector it loads. A gate range
/// restricts a kernel to some gates of every block (the classic GRU applies its candidate gate to r⊙h, not h).
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class InterleavedKernels
{
    private const int W = Block.Width;

    // Rows per partial sum in the reductions over batch × time (see AccumulateOuter).
    private const int SumChunk = 16;

    // Rows per slab of the weight-gradient product, and columns it packs at once at 512 bits (see AccumulateOuter).
    private const int RowSlab = 128;
    private const int OuterColumns = 3;

    /// <summary><c>y[r, (b,g)] += Σ_k x[r, k] · w[b, k, g]</c> for gates in [gateStart, gateEnd).</summary>
    /// <remarks>The columns (block, gate) are taken in tiles that share every broadcast input: four columns by four
    /// rows (16 accumulators) at 512 bits, two columns by two rows (8 registers of 256 bits) otherwise, so each weight
    /// vector loaded serves several rows and each broadcast several columns. Inputs are summed in chunks of
    /// <see cref="InputChunk"/> into fresh accumulators before they are added to y, which keeps float32 rounding
    /// close to that of a pairwise sum.
    /// <para>With <paramref name="descending"/> the columns are visited last to first. The result is the same bit for
    /// bit; a recurrence that alternates the direction every step re-reads first the weights it read last, which are
    /// still in the cache when the matrix is about the cache's size.</para></remarks>
    public static void MultiplyAdd<T>(
        ReadOnlySpan<float> x, int xStride, int rows,
        ReadOnlySpan<float> w, InterleavedShape shape, int gateStart, int gateEnd,
        Span<float> y, int yStride, bool descending = false)
        where T : struct, IBlock<T>
    {
        CheckProduct(x, xStride, rows, w, shape, gateStart, gateEnd, y, yStride);
        MultiplyAddColumns<T>(x, xStride, rows, w, shape, gateStart, gateEnd, y, yStride, 0, shape.Blocks * (gateEnd - gateStart), descending);
    }

    /// <summary><see cref="MultiplyAdd{T}(ReadOnlySpan{float}, int, int, ReadOnlySpan{float}, InterleavedShape, int, int, Span{float}, int, bool)"/>
    /// with the output columns (block, gate) split across <paramref name="pool"/>'s threads. The columns are cut on
    /// multiples of the register tile, so every column is computed by the same tile, in the same order, as on one
    /// thread: the result is bit-identical at any thread count. Without a pool (or with one thread, or too few columns
    /// to share) it is the serial product, walking its columns in the order <paramref name="descending"/> says (as the
    /// serial overload; the order never changes a result). The operands stay pinned for the call.</summary>
    public static unsafe void MultiplyAdd<T>(ComputePool? pool,
        ReadOnlySpan<float> x, int xStride, int rows,
        ReadOnlySpan<float> w, InterleavedShape shape, int gateStart, int gateEnd,
        Span<float> y, int yStride, bool descending = false)
        where T : struct, IBlock<T>
    {
        CheckProduct(x, xStride, rows, w, shape, gateStart, gateEnd, y, yStride);
        Product<T>(pool, x, xStride, rows, w, shape, gateStart, gateEnd, default, y, yStride, descending);
    }

    /// <summary><c>y[r, c] = bias[c] + Σ_k x[r, k] · w[k, c]</c> for every column c = (block, gate) of the row, on
    /// <paramref name="pool"/>'s threads as <see cref="MultiplyAdd{T}(ComputePool?, ReadOnlySpan{float}, int, int, ReadOnlySpan{float}, InterleavedShape, int, int, Span{float}, int, bool)"/>
    /// splits them. The same bits as <see cref="BroadcastRows(ReadOnlySpan{float}, Span{float}, int, int)"/>
    /// of the bias followed by that product over every gate, without the pass that stores the bias into every row and
    /// reads it back: the first chunk of inputs adds its sums to the bias instead of to y (y is only written).</summary>
    public static void Affine<T>(ComputePool? pool,
        ReadOnlySpan<float> x, int xStride, int rows,
        ReadOnlySpan<float> w, InterleavedShape shape, ReadOnlySpan<float> bias,
        Span<float> y, int yStride)
        where T : struct, IBlock<T>
    {
        CheckProduct(x, xStride, rows, w, shape, 0, shape.Gates, y, yStride);
        if (bias.Length != shape.RowLength)
            throw new ArgumentException($"The bias needs {shape.RowLength} floats (a row of {shape}); it has {bias.Length}.", nameof(bias));
        if (shape.Inputs == 0)
        {
            BroadcastRows(bias, y, yStride, rows);
            return;
        }
        Product<T>(pool, x, xStride, rows, w, shape, 0, shape.Gates, bias, y, yStride, false);
    }

    /// <summary><c>y[r, c] = Σ_k x[r, k] · w[k, c]</c> for every column c = (block, gate) of the row, overwriting y:
    /// the same bits as clearing y and calling <see cref="MultiplyAdd{T}(ComputePool?, ReadOnlySpan{float}, int, int, ReadOnlySpan{float}, InterleavedShape, int, int, Span{float}, int, bool)"/>
    /// over every gate, without the pass that clears y (the first chunk of inputs stores its sums). Split on
    /// <paramref name="pool"/> as that product splits, or, given <paramref name="rowsPerStep"/> (the rows are a sequence's
    /// steps of that many rows each, a multiple of 4 with two groups of 4 or more), by the rows of every step: share p
    /// takes the same whole groups of 4 rows of each step, on the pool's thread p (<see cref="ComputePool.Together"/>),
    /// so it reads and writes only the rows a recurrence split by rows gave that thread's core. Every row is in a tile
    /// of 4 rows either way: the same bits at any thread count.</summary>
    public static void Multiply<T>(ComputePool? pool,
        ReadOnlySpan<float> x, int xStride, int rows,
        ReadOnlySpan<float> w, InterleavedShape shape,
        Span<float> y, int yStride, int rowsPerStep = 0)
        where T : struct, IBlock<T>
    {
        CheckProduct(x, xStride, rows, w, shape, 0, shape.Gates, y, yStride);
        if (rowsPerStep < 0 || (rowsPerStep > 0 && rows % rowsPerStep != 0))
            throw new ArgumentOutOfRangeException(nameof(rowsPerStep), rowsPerStep, $"The {rows} rows are not whole steps of {rowsPerStep} rows.");
        if (shape.Inputs == 0)
        {
            BroadcastRows(Zeros(shape.RowLength), y, yStride, rows);
            return;
        }
        Product<T>(pool, x, xStride, rows, w, shape, 0, shape.Gates, Zeros(shape.RowLength), y, yStride, false, rowsPerStep);
    }

    // A row of zeros as long as the longest asked for: the "bias" of Multiply, whose first chunk stores 0 + Σ (exactly Σ).
    // Grown on first use of a longer row, never written.
    private static float[] s_zeros = new float[256];

    private static ReadOnlySpan<float> Zeros(int length)
    {
        var zeros = Volatile.Read(ref s_zeros);
        if (zeros.Length < length)
        {
            zeros = new float[Math.Max(length, 2 * zeros.Length)];
            Volatile.Write(ref s_zeros, zeros);
        }
        return zeros.AsSpan(0, length);
    }

    /// <summary>The product on the pool (see the parallel <c>MultiplyAdd</c>), added to y or, with a bias, to the bias
    /// and stored in y; with <paramref name="rowsPerStep"/>, by the rows of every step where they split in groups of 4
    /// (see <see cref="Multiply{T}"/>).</summary>
    private static unsafe void Product<T>(ComputePool? pool,
        ReadOnlySpan<float> x, int xStride, int rows,
        ReadOnlySpan<float> w, InterleavedShape shape, int gateStart, int gateEnd, ReadOnlySpan<float> bias,
        Span<float> y, int yStride, bool descending, int rowsPerStep = 0)
        where T : struct, IBlock<T>
    {
        int columns = shape.Blocks * (gateEnd - gateStart);
        if (pool is not null && rowsPerStep % 4 == 0 && Math.Min(pool.Concurrency, rowsPerStep / 4) is var shares && shares > 1)
        {
            fixed (float* px = x, pw = w, pb = bias, py = y)
            {
                var work = ProductWork<T>.ForThisThread;
                work.Set(new Pinned(px, x.Length), xStride, rows, new Pinned(pw, w.Length), shape, gateStart, gateEnd,
                    new Pinned(pb, bias.Length), new Pinned(py, y.Length), yStride, columns, 0, 0, shares, rowsPerStep: rowsPerStep);
                pool.Together(shares, work);
            }
            return;
        }
        int tile = Tile<T>();
        int tiles = columns / tile;
        int parts = pool is null ? 1 : Math.Min(pool.Threads, tiles);
        int slabs = (rows + RowSlabOfTiles - 1) / RowSlabOfTiles;
        if (pool is not null && parts < pool.Threads && Math.Min(pool.Concurrency, slabs) > Math.Max(parts, 1))
        {
            // Too few column tiles for the threads (a head of a few classes): split the rows instead, on whole slabs,
            // which the serial product also walks one by one, so every row is computed by the same tile.
            MultiplyAddRowSlabs<T>(pool, x, xStride, rows, w, shape, gateStart, gateEnd, bias, y, yStride, Math.Min(pool.Concurrency, slabs));
            return;
        }
        if (parts <= 1)
        {
            MultiplyAddColumns<T>(x, xStride, rows, w, shape, gateStart, gateEnd, y, yStride, 0, columns, descending, bias);
            return;
        }
        fixed (float* px = x, pw = w, pb = bias, py = y)
        {
            var work = ProductWork<T>.ForThisThread;
            work.Set(new Pinned(px, x.Length), xStride, rows, new Pinned(pw, w.Length), shape, gateStart, gateEnd,
                new Pinned(pb, bias.Length), new Pinned(py, y.Length), yStride, columns, tile, tiles, parts);
            pool!.For(parts, work);
        }
    }

    private static unsafe void MultiplyAddRowSlabs<T>(ComputePool pool,
        ReadOnlySpan<float> x, int xStride, int rows,
        ReadOnlySpan<float> w, InterleavedShape shape, int gateStart, int gateEnd, ReadOnlySpan<float> bias,
        Span<float> y, int yStride, int parts)
        where T : struct, IBlock<T>
    {
        fixed (float* px = x, pw = w, pb = bias, py = y)
        {
            var work = ProductWork<T>.ForThisThread;
            work.Set(new Pinned(px, x.Length), xStride, rows, new Pinned(pw, w.Length), shape, gateStart, gateEnd,
                new Pinned(pb, bias.Length), new Pinned(py, y.Length), yStride, shape.Blocks * (gateEnd - gateStart), 0, 0, parts, bySlabs: true);
            pool.For(parts, work);
        }
    }

    /// <summary>The product for the output columns [<paramref name="columnStart"/>, <paramref name="columnEnd"/>) only
    /// (columns numbered block by block, the gates of the range within each): a part of a product split by blocks of
    /// units. Bit-identical to the same columns of the whole product for any range: a column the whole product computes
    /// in a register tile is computed with the tile's arithmetic here too, in a tile or alone.</summary>
    public static void MultiplyAdd<T>(
        ReadOnlySpan<float> x, int xStride, int rows,
        ReadOnlySpan<float> w, InterleavedShape shape, int gateStart, int gateEnd,
        Span<float> y, int yStride, int columnStart, int columnEnd, bool descending)
        where T : struct, IBlock<T>
    {
        CheckProduct(x, xStride, rows, w, shape, gateStart, gateEnd, y, yStride);
        int columns = shape.Blocks * (gateEnd - gateStart);
        if ((uint)columnStart > (uint)columnEnd || columnEnd > columns)
            throw new ArgumentOutOfRangeException(nameof(columnStart), $"Columns [{columnStart}, {columnEnd}) are outside the product's {columns}.");
        MultiplyAddColumns<T>(x, xStride, rows, w, shape, gateStart, gateEnd, y, yStride, columnStart, columnEnd, descending);
    }

    /// <summary>Columns per register tile of the products at this width (a split of the output columns on its multiples
    /// keeps every part in whole tiles; any split keeps every column's arithmetic).</summary>
    public static int ColumnTile<T>() where T : struct, IBlock<T> => Tile<T>();

    /// <summary>Columns per register tile of <see cref="MultiplyAdd{T}(ReadOnlySpan{float}, int, int, ReadOnlySpan{float}, InterleavedShape, int, int, Span{float}, int, bool)"/>.</summary>
    private static int Tile<T>() where T : struct, IBlock<T> => typeof(T) == typeof(Block512) ? 4 : 2;

    private static void CheckProduct(ReadOnlySpan<float> x, int xStride, int rows, ReadOnlySpan<float> w, InterleavedShape shape,
        int gateStart, int gateEnd, ReadOnlySpan<float> y, int yStride)
    {
        CheckOperand(x, xStride, rows, shape.Inputs, "x");
        CheckOperand(y, yStride, rows, shape.RowLength, "y");
        CheckWeights(w, shape);
        if ((uint)gateStart > (uint)gateEnd || gateEnd > shape.Gates)
            throw new ArgumentOutOfRangeException(nameof(gateStart), $"Gate range [{gateStart}, {gateEnd}) is outside the matrix's {shape.Gates} gates.");
    }

    /// <summary>The product for output columns [<paramref name="columnStart"/>, <paramref name="columnEnd"/>): tiles
    /// from <paramref name="columnStart"/>, the columns left beside them that the whole product has in tiles with the
    /// tiles' arithmetic (<see cref="TileColumn{T}"/>), and the whole product's last columns that fill no tile one by
    /// one (<see cref="Column{T}"/>). A column's result depends only on which of these two it is (each output is its
    /// own chain), not on the tile it shares or the range. With a <paramref name="bias"/> (a row), the first chunk of
    /// inputs adds its sums to it rather than to y.</summary>
    private static void MultiplyAddColumns<T>(
        ReadOnlySpan<float> x, int xStride, int rows,
        ReadOnlySpan<float> w, InterleavedShape shape, int gateStart, int gateEnd,
        Span<float> y, int yStride, int columnStart, int columnEnd, bool descending = false, ReadOnlySpan<float> bias = default)
        where T : struct, IBlock<T>
    {
        int k = shape.Inputs, gates = shape.Gates, kStride = gates * W, perBlock = gateEnd - gateStart;
        int tile = Tile<T>();
        // columns [columnStart, tiled) are in the whole product's tiles; [tiled, columnEnd) are its last, single columns
        int tiled = Math.Clamp(shape.Blocks * perBlock / tile * tile, columnStart, columnEnd);
        int tiles = (tiled - columnStart) / tile, tilesEnd = columnStart + tiles * tile;
        ref float x0 = ref MemoryMarshal.GetReference(x);
        ref float w0 = ref MemoryMarshal.GetReference(w);
        ref float y0 = ref MemoryMarshal.GetReference(y);
        // what the first chunk of inputs adds its sums to: y itself, or the bias (the same row for every row)
        bool biased = !bias.IsEmpty;
        ref float s0 = ref biased ? ref MemoryMarshal.GetReference(bias) : ref y0;
        int sStride = biased ? 0 : yStride;
        Span<int> weightAt = stackalloc int[4];
        Span<int> outputAt = stackalloc int[4];
        // Rows a slab at a time (a multiple of every tile's height, so each row falls in the same kind of tile as in
        // one pass): the slab's inputs stay in the cache while every column tile reads them, instead of all the rows
        // streaming through once per tile.
        for (int r0 = 0; r0 < rows; r0 += RowSlabOfTiles)
        {
            int slabRows = Math.Min(RowSlabOfTiles, rows - r0);
            ref float xs = ref Unsafe.Add(ref x0, r0 * xStride);
            ref float ys = ref Unsafe.Add(ref y0, r0 * yStride);
            ref float ss = ref Unsafe.Add(ref s0, r0 * sStride);
            // Every column is computed the same way whatever the order, so the order is free: descending lets a caller
            // that runs the same product step after step alternate directions, and the weights it read last, still in
            // the cache, are the first it reads next.
            for (int n = 0; n < tiles; n++)
            {
                int c = columnStart + (descending ? tiles - 1 - n : n) * tile;
                for (int i = 0; i < tile; i++)
                {
                    int b = (c + i) / perBlock, g = gateStart + (c + i) % perBlock;
                    weightAt[i] = (b * k * gates + g) * W;
                    outputAt[i] = (b * gates + g) * W;
                }
                TileColumns<T>(ref xs, xStride, slabRows, k, kStride, ref w0, weightAt, ref ys, yStride, ref ss, sStride, outputAt);
            }
            for (int c = tilesEnd; c < tiled; c++)
            {
                int b = c / perBlock, g = gateStart + c % perBlock;
                TileColumn<T>(ref xs, xStride, slabRows, k, kStride, ref Unsafe.Add(ref w0, (b * k * gates + g) * W),
                    ref Unsafe.Add(ref ys, (b * gates + g) * W), yStride, ref Unsafe.Add(ref ss, (b * gates + g) * W), sStride);
            }
            for (int c = tiled; c < columnEnd; c++)
            {
                int b = c / perBlock, g = gateStart + c % perBlock;
                Column<T>(ref xs, xStride, slabRows, k, kStride, ref Unsafe.Add(ref w0, (b * k * gates + g) * W),
                    ref Unsafe.Add(ref ys, (b * gates + g) * W), yStride, ref Unsafe.Add(ref ss, (b * gates + g) * W), sStride);
            }
        }
    }

    /// <summary>One tile of columns (4 at 512 bits, 2 at 256) over every row: four rows at a time, then two, then one,
    /// so the weights are read once per group of rows and each group keeps at least eight independent sums.</summary>
    /// <remarks>Every tile adds its first chunk of inputs to the rows at <paramref name="s0"/> (<paramref name="sStride"/>
    /// apart) and its later chunks to y: the source is y itself for a product added to y, a bias row (stride 0) for
    /// <see cref="Affine{T}"/>.</remarks>
    private static void TileColumns<T>(ref float x0, int xStride, int rows, int k, int kStride,
        ref float w0, ReadOnlySpan<int> weightAt, ref float y0, int yStride, ref float s0, int sStride, ReadOnlySpan<int> outputAt)
        where T : struct, IBlock<T>
    {
        bool wide = typeof(T) == typeof(Block512);
        int r = wide
            ? Tile4x4<T>(ref x0, xStride, rows, k, kStride, ref w0, weightAt, ref y0, yStride, ref s0, sStride, outputAt)
            : Avx512F.VL.IsSupported
                ? Tile2x4<T>(ref x0, xStride, rows, k, kStride, ref w0, weightAt, ref y0, yStride, ref s0, sStride, outputAt)
                : Tile2x2<T>(ref x0, xStride, rows, k, kStride, ref w0, weightAt, ref y0, yStride, ref s0, sStride, outputAt);
        for (; r + 2 <= rows; r += 2)
        {
            ref float xr = ref Unsafe.Add(ref x0, r * xStride);
            ref float yr = ref Unsafe.Add(ref y0, r * yStride);
            ref float sr = ref Unsafe.Add(ref s0, r * sStride);
            if (wide) Tile4x2<T>(ref xr, xStride, k, kStride, ref w0, weightAt, ref yr, yStride, ref sr, sStride, outputAt);
            else Tile2x2<T>(ref xr, xStride, 2, k, kStride, ref w0, weightAt, ref yr, yStride, ref sr, sStride, outputAt);
        }
        if (r < rows)
        {
            ref float xr = ref Unsafe.Add(ref x0, r * xStride);
            ref float yr = ref Unsafe.Add(ref y0, r * yStride);
            ref float sr = ref Unsafe.Add(ref s0, r * sStride);
            if (wide) Tile4x1<T>(ref xr, k, kStride, ref w0, weightAt, ref yr, ref sr, outputAt);
            else Tile2x1<T>(ref xr, k, kStride, ref w0, weightAt, ref yr, ref sr, outputAt);
        }
    }

    // Inputs summed into fresh accumulators before they reach y (see MultiplyAdd).
    private const int InputChunk = 32;

    // Rows per slab of the tiled products (MultiplyAddColumns hands each tile one slab): the tile's weights for one chunk
    // of inputs (4 columns × 32 inputs × 64 B = 8 KB), the slab's inputs for that chunk and its outputs (64 rows × 4
    // columns × 64 B = 16 KB) stay in L1 while every row group of the slab uses them; the chunk's weights are read from
    // L2 once per slab instead of once per row group, and the slab's inputs stay cached across the column tiles.
    private const int RowSlabOfTiles = 64;

    /// <summary>Four columns × four rows (16 accumulators of the 32 registers AVX-512 has); returns the first row it
    /// did not cover. The rows (at most a slab) go chunk of inputs by chunk, each row group adding its chunk's sums to
    /// y — per output the same sums in the same order as chunk by chunk within each row group.</summary>
    private static int Tile4x4<T>(ref float x0, int xStride, int rows, int k, int kStride,
        ref float w0, ReadOnlySpan<int> weightAt, ref float y0, int yStride, ref float s0, int sStride, ReadOnlySpan<int> outputAt)
        where T : struct, IBlock<T>
    {
        ref float c0 = ref Unsafe.Add(ref w0, weightAt[0]);
        nint d1 = weightAt[1] - weightAt[0], d2 = weightAt[2] - weightAt[0], d3 = weightAt[3] - weightAt[0];
        int o0 = outputAt[0], o1 = outputAt[1], o2 = outputAt[2], o3 = outputAt[3];
        int full = rows & ~3;
        for (int i0 = 0; i0 < k; i0 += InputChunk)
        {
            int n = Math.Min(k - i0, InputChunk);
            ref float wChunk = ref Unsafe.Add(ref c0, (nint)i0 * kStride);
            for (int r = 0; r < full; r += 4)
            {
                ref float xa = ref Unsafe.Add(ref x0, r * xStride + i0);
                ref float xb = ref Unsafe.Add(ref xa, xStride);
                ref float xc = ref Unsafe.Add(ref xb, xStride);
                ref float xd = ref Unsafe.Add(ref xc, xStride);
                ref float w = ref wChunk;
                T a00 = T.Zero, a01 = T.Zero, a02 = T.Zero, a03 = T.Zero;
                T a10 = T.Zero, a11 = T.Zero, a12 = T.Zero, a13 = T.Zero;
                T a20 = T.Zero, a21 = T.Zero, a22 = T.Zero, a23 = T.Zero;
                T a30 = T.Zero, a31 = T.Zero, a32 = T.Zero, a33 = T.Zero;
                for (nint i = 0; i < n; i++)
                {
                    T v0 = T.Load(in w), v1 = T.Load(in Unsafe.Add(ref w, d1));
                    T v2 = T.Load(in Unsafe.Add(ref w, d2)), v3 = T.Load(in Unsafe.Add(ref w, d3));
                    T x_0 = T.Create(Unsafe.Add(ref xa, i));
                    a00 = T.MultiplyAdd(x_0, v0, a00); a01 = T.MultiplyAdd(x_0, v1, a01);
                    a02 = T.MultiplyAdd(x_0, v2, a02); a03 = T.MultiplyAdd(x_0, v3, a03);
                    T x_1 = T.Create(Unsafe.Add(ref xb, i));
                    a10 = T.MultiplyAdd(x_1, v0, a10); a11 = T.MultiplyAdd(x_1, v1, a11);
                    a12 = T.MultiplyAdd(x_1, v2, a12); a13 = T.MultiplyAdd(x_1, v3, a13);
                    T x_2 = T.Create(Unsafe.Add(ref xc, i));
                    a20 = T.MultiplyAdd(x_2, v0, a20); a21 = T.MultiplyAdd(x_2, v1, a21);
                    a22 = T.MultiplyAdd(x_2, v2, a22); a23 = T.MultiplyAdd(x_2, v3, a23);
                    T x_3 = T.Create(Unsafe.Add(ref xd, i));
                    a30 = T.MultiplyAdd(x_3, v0, a30); a31 = T.MultiplyAdd(x_3, v1, a31);
                    a32 = T.MultiplyAdd(x_3, v2, a32); a33 = T.MultiplyAdd(x_3, v3, a33);
                    w = ref Unsafe.Add(ref w, kStride);
                }
                ref float yr = ref Unsafe.Add(ref y0, r * yStride);
                ref float sr = ref i0 == 0 ? ref Unsafe.Add(ref s0, r * sStride) : ref yr;
                int ss = i0 == 0 ? sStride : yStride;
                AddTo(ref yr, ref sr, o0, a00); AddTo(ref yr, ref sr, o1, a01); AddTo(ref yr, ref sr, o2, a02); AddTo(ref yr, ref sr, o3, a03);
                ref float y1 = ref Unsafe.Add(ref yr, yStride);
                ref float s1 = ref Unsafe.Add(ref sr, ss);
                AddTo(ref y1, ref s1, o0, a10); AddTo(ref y1, ref s1, o1, a11); AddTo(ref y1, ref s1, o2, a12); AddTo(ref y1, ref s1, o3, a13);
                ref float y2 = ref Unsafe.Add(ref yr, 2 * yStride);
                ref float s2 = ref Unsafe.Add(ref sr, 2 * ss);
                AddTo(ref y2, ref s2, o0, a20); AddTo(ref y2, ref s2, o1, a21); AddTo(ref y2, ref s2, o2, a22); AddTo(ref y2, ref s2, o3, a23);
                ref float y3 = ref Unsafe.Add(ref yr, 3 * yStride);
                ref float s3 = ref Unsafe.Add(ref sr, 3 * ss);
                AddTo(ref y3, ref s3, o0, a30); AddTo(ref y3, ref s3, o1, a31); AddTo(ref y3, ref s3, o2, a32); AddTo(ref y3, ref s3, o3, a33);
            }
        }
        return full;
    }

    /// <summary>Two columns × four rows: 16 registers of 256 bits, for machines with AVX-512's 32 vector registers
    /// (the 256-bit path there); returns the first row it did not cover. Chunks as in
    /// <see cref="Tile4x4{T}"/>.</summary>
    private static int Tile2x4<T>(ref float x0, int xStride, int rows, int k, int kStride,
        ref float w0, ReadOnlySpan<int> weightAt, ref float y0, int yStride, ref float s0, int sStride, ReadOnlySpan<int> outputAt)
        where T : struct, IBlock<T>
    {
        ref float c0 = ref Unsafe.Add(ref w0, weightAt[0]);
        nint d1 = weightAt[1] - weightAt[0];
        int o0 = outputAt[0], o1 = outputAt[1];
        int full = rows & ~3;
        for (int i0 = 0; i0 < k; i0 += InputChunk)
        {
            int n = Math.Min(k - i0, InputChunk);
            ref float wChunk = ref Unsafe.Add(ref c0, (nint)i0 * kStride);
            for (int r = 0; r < full; r += 4)
            {
                ref float xa = ref Unsafe.Add(ref x0, r * xStride + i0);
                ref float xb = ref Unsafe.Add(ref xa, xStride);
                ref float xc = ref Unsafe.Add(ref xb, xStride);
                ref float xd = ref Unsafe.Add(ref xc, xStride);
                ref float w = ref wChunk;
                T a00 = T.Zero, a01 = T.Zero, a10 = T.Zero, a11 = T.Zero;
                T a20 = T.Zero, a21 = T.Zero, a30 = T.Zero, a31 = T.Zero;
                for (nint i = 0; i < n; i++)
                {
                    T v0 = T.Load(in w), v1 = T.Load(in Unsafe.Add(ref w, d1));
                    T x_0 = T.Create(Unsafe.Add(ref xa, i));
                    a00 = T.MultiplyAdd(x_0, v0, a00); a01 = T.MultiplyAdd(x_0, v1, a01);
                    T x_1 = T.Create(Unsafe.Add(ref xb, i));
                    a10 = T.MultiplyAdd(x_1, v0, a10); a11 = T.MultiplyAdd(x_1, v1, a11);
                    T x_2 = T.Create(Unsafe.Add(ref xc, i));
                    a20 = T.MultiplyAdd(x_2, v0, a20); a21 = T.MultiplyAdd(x_2, v1, a21);
                    T x_3 = T.Create(Unsafe.Add(ref xd, i));
                    a30 = T.MultiplyAdd(x_3, v0, a30); a31 = T.MultiplyAdd(x_3, v1, a31);
                    w = ref Unsafe.Add(ref w, kStride);
                }
                ref float yr = ref Unsafe.Add(ref y0, r * yStride);
                ref float sr = ref i0 == 0 ? ref Unsafe.Add(ref s0, r * sStride) : ref yr;
                int ss = i0 == 0 ? sStride : yStride;
                AddTo(ref yr, ref sr, o0, a00); AddTo(ref yr, ref sr, o1, a01);
                ref float y1 = ref Unsafe.Add(ref yr, yStride);
                ref float s1 = ref Unsafe.Add(ref sr, ss);
                AddTo(ref y1, ref s1, o0, a10); AddTo(ref y1, ref s1, o1, a11);
                ref float y2 = ref Unsafe.Add(ref yr, 2 * yStride);
                ref float s2 = ref Unsafe.Add(ref sr, 2 * ss);
                AddTo(ref y2, ref s2, o0, a20); AddTo(ref y2, ref s2, o1, a21);
                ref float y3 = ref Unsafe.Add(ref yr, 3 * yStride);
                ref float s3 = ref Unsafe.Add(ref sr, 3 * ss);
                AddTo(ref y3, ref s3, o0, a30); AddTo(ref y3, ref s3, o1, a31);
            }
        }
        return full;
    }

    /// <summary>Two columns × two rows (8 registers of 256 bits, leaving room for the weights and broadcasts within
    /// AVX2's 16); returns the first row it did not cover. Chunks as in <see cref="Tile4x4{T}"/>.</summary>
    private static int Tile2x2<T>(ref float x0, int xStride, int rows, int k, int kStride,
        ref float w0, ReadOnlySpan<int> weightAt, ref float y0, int yStride, ref float s0, int sStride, ReadOnlySpan<int> outputAt)
        where T : struct, IBlock<T>
    {
        ref float c0 = ref Unsafe.Add(ref w0, weightAt[0]);
        nint d1 = weightAt[1] - weightAt[0];
        int o0 = outputAt[0], o1 = outputAt[1];
        int full = rows & ~1;
        for (int i0 = 0; i0 < k; i0 += InputChunk)
        {
            int n = Math.Min(k - i0, InputChunk);
            ref float wChunk = ref Unsafe.Add(ref c0, (nint)i0 * kStride);
            for (int r = 0; r < full; r += 2)
            {
                ref float xa = ref Unsafe.Add(ref x0, r * xStride + i0);
                ref float xb = ref Unsafe.Add(ref xa, xStride);
                ref float w = ref wChunk;
                T a00 = T.Zero, a01 = T.Zero, a10 = T.Zero, a11 = T.Zero;
                for (nint i = 0; i < n; i++)
                {
                    T v0 = T.Load(in w), v1 = T.Load(in Unsafe.Add(ref w, d1));
                    T x_0 = T.Create(Unsafe.Add(ref xa, i));
                    T x_1 = T.Create(Unsafe.Add(ref xb, i));
                    a00 = T.MultiplyAdd(x_0, v0, a00); a01 = T.MultiplyAdd(x_0, v1, a01);
                    a10 = T.MultiplyAdd(x_1, v0, a10); a11 = T.MultiplyAdd(x_1, v1, a11);
                    w = ref Unsafe.Add(ref w, kStride);
                }
                ref float yr = ref Unsafe.Add(ref y0, r * yStride);
                ref float sr = ref i0 == 0 ? ref Unsafe.Add(ref s0, r * sStride) : ref yr;
                ref float y1 = ref Unsafe.Add(ref yr, yStride);
                ref float s1 = ref Unsafe.Add(ref sr, i0 == 0 ? sStride : yStride);
                AddTo(ref yr, ref sr, o0, a00); AddTo(ref yr, ref sr, o1, a01);
                AddTo(ref y1, ref s1, o0, a10); AddTo(ref y1, ref s1, o1, a11);
            }
        }
        return full;
    }

    /// <summary>Four columns × two rows (8 accumulators): a batch of 2 or 3, or the rows a 4-row tile left. One
    /// pointer walks the first column's weights; the others sit at fixed distances from it.</summary>
    private static void Tile4x2<T>(ref float xr, int xStride, int k, int kStride,
        ref float w0, ReadOnlySpan<int> weightAt, ref float yr, int yStride, ref float sr, int sStride, ReadOnlySpan<int> outputAt)
        where T : struct, IBlock<T>
    {
        ref float c0 = ref Unsafe.Add(ref w0, weightAt[0]);
        nint d1 = weightAt[1] - weightAt[0], d2 = weightAt[2] - weightAt[0], d3 = weightAt[3] - weightAt[0];
        int o0 = outputAt[0], o1 = outputAt[1], o2 = outputAt[2], o3 = outputAt[3];
        ref float y1 = ref Unsafe.Add(ref yr, yStride);
        for (int i0 = 0; i0 < k; i0 += InputChunk)
        {
            int n = Math.Min(k - i0, InputChunk);
            ref float w = ref Unsafe.Add(ref c0, (nint)i0 * kStride);
            ref float x_0 = ref Unsafe.Add(ref xr, i0);
            ref float x_1 = ref Unsafe.Add(ref x_0, xStride);
            T a00 = T.Zero, a01 = T.Zero, a02 = T.Zero, a03 = T.Zero;
            T a10 = T.Zero, a11 = T.Zero, a12 = T.Zero, a13 = T.Zero;
            for (nint i = 0; i < n; i++)
            {
                T v0 = T.Load(in w), v1 = T.Load(in Unsafe.Add(ref w, d1));
                T v2 = T.Load(in Unsafe.Add(ref w, d2)), v3 = T.Load(in Unsafe.Add(ref w, d3));
                T xa = T.Create(Unsafe.Add(ref x_0, i));
                a00 = T.MultiplyAdd(xa, v0, a00); a01 = T.MultiplyAdd(xa, v1, a01);
                a02 = T.MultiplyAdd(xa, v2, a02); a03 = T.MultiplyAdd(xa, v3, a03);
                T xb = T.Create(Unsafe.Add(ref x_1, i));
                a10 = T.MultiplyAdd(xb, v0, a10); a11 = T.MultiplyAdd(xb, v1, a11);
                a12 = T.MultiplyAdd(xb, v2, a12); a13 = T.MultiplyAdd(xb, v3, a13);
                w = ref Unsafe.Add(ref w, kStride);
            }
            ref float from = ref i0 == 0 ? ref sr : ref yr;
            ref float from1 = ref Unsafe.Add(ref from, i0 == 0 ? sStride : yStride);
            AddTo(ref yr, ref from, o0, a00); AddTo(ref yr, ref from, o1, a01); AddTo(ref yr, ref from, o2, a02); AddTo(ref yr, ref from, o3, a03);
            AddTo(ref y1, ref from1, o0, a10); AddTo(ref y1, ref from1, o1, a11); AddTo(ref y1, ref from1, o2, a12); AddTo(ref y1, ref from1, o3, a13);
        }
    }

    /// <summary>Four columns × one row: a batch of 1 (the recurrence of a single sequence) or the row a larger tile
    /// left. Even and odd inputs go to separate sums, so eight FMA chains hide the latency a single row would
    /// otherwise expose; each 32-input chunk adds their sum to y. One pointer walks the weights, as in
    /// <see cref="Tile4x2{T}"/>.</summary>
    private static void Tile4x1<T>(ref float xr, int k, int kStride,
        ref float w0, ReadOnlySpan<int> weightAt, ref float yr, ref float sr, ReadOnlySpan<int> outputAt)
        where T : struct, IBlock<T>
    {
        ref float c0 = ref Unsafe.Add(ref w0, weightAt[0]);
        nint d1 = weightAt[1] - weightAt[0], d2 = weightAt[2] - weightAt[0], d3 = weightAt[3] - weightAt[0];
        int o0 = outputAt[0], o1 = outputAt[1], o2 = outputAt[2], o3 = outputAt[3];
        for (int i0 = 0; i0 < k; i0 += InputChunk)
        {
            int n = Math.Min(k - i0, InputChunk);
            ref float w = ref Unsafe.Add(ref c0, (nint)i0 * kStride);
            ref float xi = ref Unsafe.Add(ref xr, i0);
            T e0 = T.Zero, e1 = T.Zero, e2 = T.Zero, e3 = T.Zero;
            T d0 = T.Zero, f1 = T.Zero, f2 = T.Zero, f3 = T.Zero;
            nint i = 0;
            for (; i + 2 <= n; i += 2)
            {
                T xe = T.Create(Unsafe.Add(ref xi, i));
                e0 = T.MultiplyAdd(in w, xe, e0); e1 = T.MultiplyAdd(in Unsafe.Add(ref w, d1), xe, e1);
                e2 = T.MultiplyAdd(in Unsafe.Add(ref w, d2), xe, e2); e3 = T.MultiplyAdd(in Unsafe.Add(ref w, d3), xe, e3);
                w = ref Unsafe.Add(ref w, kStride);
                T xo = T.Create(Unsafe.Add(ref xi, i + 1));
                d0 = T.MultiplyAdd(in w, xo, d0); f1 = T.MultiplyAdd(in Unsafe.Add(ref w, d1), xo, f1);
                f2 = T.MultiplyAdd(in Unsafe.Add(ref w, d2), xo, f2); f3 = T.MultiplyAdd(in Unsafe.Add(ref w, d3), xo, f3);
                w = ref Unsafe.Add(ref w, kStride);
            }
            if (i < n)
            {
                T xe = T.Create(Unsafe.Add(ref xi, i));
                e0 = T.MultiplyAdd(in w, xe, e0); e1 = T.MultiplyAdd(in Unsafe.Add(ref w, d1), xe, e1);
                e2 = T.MultiplyAdd(in Unsafe.Add(ref w, d2), xe, e2); e3 = T.MultiplyAdd(in Unsafe.Add(ref w, d3), xe, e3);
            }
            ref float from = ref i0 == 0 ? ref sr : ref yr;
            AddTo(ref yr, ref from, o0, e0 + d0); AddTo(ref yr, ref from, o1, e1 + f1); AddTo(ref yr, ref from, o2, e2 + f2); AddTo(ref yr, ref from, o3, e3 + f3);
        }
    }

    /// <summary>Two columns × one row at 256 bits: <see cref="Tile4x1{T}"/>'s even/odd split over two columns (eight
    /// 256-bit chains).</summary>
    private static void Tile2x1<T>(ref float xr, int k, int kStride,
        ref float w0, ReadOnlySpan<int> weightAt, ref float yr, ref float sr, ReadOnlySpan<int> outputAt)
        where T : struct, IBlock<T>
    {
        ref float c0 = ref Unsafe.Add(ref w0, weightAt[0]);
        nint d1 = weightAt[1] - weightAt[0];
        int o0 = outputAt[0], o1 = outputAt[1];
        for (int i0 = 0; i0 < k; i0 += InputChunk)
        {
            int n = Math.Min(k - i0, InputChunk);
            ref float w = ref Unsafe.Add(ref c0, (nint)i0 * kStride);
            ref float xi = ref Unsafe.Add(ref xr, i0);
            T e0 = T.Zero, e1 = T.Zero, d0 = T.Zero, f1 = T.Zero;
            nint i = 0;
            for (; i + 2 <= n; i += 2)
            {
                T xe = T.Create(Unsafe.Add(ref xi, i));
                e0 = T.MultiplyAdd(in w, xe, e0); e1 = T.MultiplyAdd(in Unsafe.Add(ref w, d1), xe, e1);
                w = ref Unsafe.Add(ref w, kStride);
                T xo = T.Create(Unsafe.Add(ref xi, i + 1));
                d0 = T.MultiplyAdd(in w, xo, d0); f1 = T.MultiplyAdd(in Unsafe.Add(ref w, d1), xo, f1);
                w = ref Unsafe.Add(ref w, kStride);
            }
            if (i < n)
            {
                T xe = T.Create(Unsafe.Add(ref xi, i));
                e0 = T.MultiplyAdd(in w, xe, e0); e1 = T.MultiplyAdd(in Unsafe.Add(ref w, d1), xe, e1);
            }
            ref float from = ref i0 == 0 ? ref sr : ref yr;
            AddTo(ref yr, ref from, o0, e0 + d0); AddTo(ref yr, ref from, o1, e1 + f1);
        }
    }

    /// <summary><c>y[offset..] = from[offset..] + value</c>: from is y itself, or the bias for a first chunk.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddTo<T>(ref float y, ref float from, int offset, T value) where T : struct, IBlock<T> =>
        T.Store(ref Unsafe.Add(ref y, offset), T.Load(in Unsafe.Add(ref from, offset)) + value);

    /// <summary><c>y[offset..] += value</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddTo<T>(ref float y, int offset, T value) where T : struct, IBlock<T> => AddTo(ref y, ref y, offset, value);

    /// <summary>One column over every row with the register tiles' arithmetic, for a column of the whole product's tiles
    /// that a range leaves outside its own tiles (a share of a recurrence that starts or ends inside a tile): each
    /// output's chunk of inputs in one chain, as in the tiles of 4 and 2 rows, and a last odd row's in two (even and odd
    /// inputs), as in <see cref="Tile4x1{T}"/> and <see cref="Tile2x1{T}"/>; four rows at a time share each weight.</summary>
    private static void TileColumn<T>(ref float x0, int xStride, int rows, int k, int kStride, ref float wColumn, ref float y0, int yStride,
        ref float s0, int sStride)
        where T : struct, IBlock<T>
    {
        int paired = rows & ~1;
        for (int i0 = 0; i0 < k; i0 += InputChunk)
        {
            int n = Math.Min(k - i0, InputChunk);
            ref float wChunk = ref Unsafe.Add(ref wColumn, (nint)i0 * kStride);
            bool first = i0 == 0;
            int r = 0;
            for (; r + 4 <= paired; r += 4)
            {
                ref float xa = ref Unsafe.Add(ref x0, r * xStride + i0);
                ref float xb = ref Unsafe.Add(ref xa, xStride);
                ref float xc = ref Unsafe.Add(ref xb, xStride);
                ref float xd = ref Unsafe.Add(ref xc, xStride);
                ref float w = ref wChunk;
                T a0 = T.Zero, a1 = T.Zero, a2 = T.Zero, a3 = T.Zero;
                for (nint i = 0; i < n; i++)
                {
                    T v = T.Load(in w);
                    a0 = T.MultiplyAdd(T.Create(Unsafe.Add(ref xa, i)), v, a0);
                    a1 = T.MultiplyAdd(T.Create(Unsafe.Add(ref xb, i)), v, a1);
                    a2 = T.MultiplyAdd(T.Create(Unsafe.Add(ref xc, i)), v, a2);
                    a3 = T.MultiplyAdd(T.Create(Unsafe.Add(ref xd, i)), v, a3);
                    w = ref Unsafe.Add(ref w, kStride);
                }
                AddToRow(ref y0, yStride, ref s0, sStride, first, r, a0);
                AddToRow(ref y0, yStride, ref s0, sStride, first, r + 1, a1);
                AddToRow(ref y0, yStride, ref s0, sStride, first, r + 2, a2);
                AddToRow(ref y0, yStride, ref s0, sStride, first, r + 3, a3);
            }
            for (; r < paired; r += 2)
            {
                ref float xa = ref Unsafe.Add(ref x0, r * xStride + i0);
                ref float xb = ref Unsafe.Add(ref xa, xStride);
                ref float w = ref wChunk;
                T a0 = T.Zero, a1 = T.Zero;
                for (nint i = 0; i < n; i++)
                {
                    T v = T.Load(in w);
                    a0 = T.MultiplyAdd(T.Create(Unsafe.Add(ref xa, i)), v, a0);
                    a1 = T.MultiplyAdd(T.Create(Unsafe.Add(ref xb, i)), v, a1);
                    w = ref Unsafe.Add(ref w, kStride);
                }
                AddToRow(ref y0, yStride, ref s0, sStride, first, r, a0);
                AddToRow(ref y0, yStride, ref s0, sStride, first, r + 1, a1);
            }
            if (r < rows)
            {
                // the last odd row: even and odd inputs in separate chains, as the one-row tiles sum them
                ref float xi = ref Unsafe.Add(ref x0, r * xStride + i0);
                ref float w = ref wChunk;
                T e = T.Zero, d = T.Zero;
                nint i = 0;
                for (; i + 2 <= n; i += 2)
                {
                    e = T.MultiplyAdd(in w, T.Create(Unsafe.Add(ref xi, i)), e);
                    w = ref Unsafe.Add(ref w, kStride);
                    d = T.MultiplyAdd(in w, T.Create(Unsafe.Add(ref xi, i + 1)), d);
                    w = ref Unsafe.Add(ref w, kStride);
                }
                if (i < n)
                    e = T.MultiplyAdd(in w, T.Create(Unsafe.Add(ref xi, i)), e);
                AddToRow(ref y0, yStride, ref s0, sStride, first, r, e + d);
            }
        }
    }

    /// <summary>Row <paramref name="r"/> of a single column: <c>y = from + sum</c>, from being the bias row (or y) for a
    /// first chunk of inputs and y after it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddToRow<T>(ref float y0, int yStride, ref float s0, int sStride, bool first, int r, T sum) where T : struct, IBlock<T>
    {
        ref float yr = ref Unsafe.Add(ref y0, r * yStride);
        AddTo(ref yr, ref first ? ref Unsafe.Add(ref s0, r * sStride) : ref yr, 0, sum);
    }

    /// <summary>One column for each of <paramref name="rows"/> rows: four partial sums over interleaved inputs hide
    /// the FMA latency of a single row and lose less precision than one long chain.</summary>
    private static void Column<T>(ref float x0, int xStride, int rows, int k, int kStride, ref float wColumn, ref float y0, int yStride,
        ref float s0, int sStride)
        where T : struct, IBlock<T>
    {
        for (int r = 0; r < rows; r++)
        {
            ref float xr = ref Unsafe.Add(ref x0, r * xStride);
            ref float yr = ref Unsafe.Add(ref y0, r * yStride);
            ref float sr = ref Unsafe.Add(ref s0, r * sStride);
            T a0 = T.Zero, a1 = T.Zero, a2 = T.Zero, a3 = T.Zero;
            int i = 0;
            for (; i + 4 <= k; i += 4)
            {
                ref float wi = ref Unsafe.Add(ref wColumn, i * kStride);
                a0 = T.MultiplyAdd(T.Create(Unsafe.Add(ref xr, i)), T.Load(in wi), a0);
                a1 = T.MultiplyAdd(T.Create(Unsafe.Add(ref xr, i + 1)), T.Load(in Unsafe.Add(ref wi, kStride)), a1);
                a2 = T.MultiplyAdd(T.Create(Unsafe.Add(ref xr, i + 2)), T.Load(in Unsafe.Add(ref wi, 2 * kStride)), a2);
                a3 = T.MultiplyAdd(T.Create(Unsafe.Add(ref xr, i + 3)), T.Load(in Unsafe.Add(ref wi, 3 * kStride)), a3);
            }
            for (; i < k; i++)
                a0 = T.MultiplyAdd(T.Create(Unsafe.Add(ref xr, i)), T.Load(in Unsafe.Add(ref wColumn, i * kStride)), a0);
            T.Store(ref yr, T.Load(in sr) + ((a0 + a1) + (a2 + a3)));
        }
    }

    /// <summary>Floats of scratch <see cref="AccumulateOuter{T}(ReadOnlySpan{float}, int, int, ReadOnlySpan{float}, int, Span{float}, InterleavedShape, int, int, Span{float}, Span{float})"/> needs for a matrix of <paramref name="shape"/>.</summary>
    public static int OuterScratchLength(InterleavedShape shape) => RowSlab * (shape.Inputs + OuterColumns * W);

    /// <summary><c>dw[b, k, g] += Σ_r x[r, k] · dy[r, (b,g)]</c> for gates in [gateStart, gateEnd): the weight
    /// gradient, summed over every row (batch × time) in one call.</summary>
    /// <remarks>Rows are taken a slab at a time. Within a slab, x is transposed and each column of dy copied into
    /// <paramref name="scratch"/> (of <see cref="OuterScratchLength"/> floats) so the inner loop reads both
    /// contiguously: read in place, 128 rows of dy 4 KB apart land in the same few L1 sets and evict each other.
    /// Rows are summed in chunks of <see cref="SumChunk"/> into fresh accumulators, which keeps a long sum over
    /// batch × time accurate where a gradient element is a small difference of large contributions.
    /// With <paramref name="biasGradient"/> (a row of <c>shape.RowLength</c>), the bias's gradient is summed as well,
    /// <c>Σ_r dy[r, (b,g)]</c> added to its columns of the gates in range, as each column of dy is copied: the same bits as
    /// <see cref="AccumulateRows{T}(ReadOnlySpan{float}, int, int, int, Span{float})"/> (the same chunks, in the same
    /// order), without that second pass over dy.</remarks>
    public static void AccumulateOuter<T>(
        ReadOnlySpan<float> x, int xStride, int rows,
        ReadOnlySpan<float> dy, int dyStride,
        Span<float> dw, InterleavedShape shape, int gateStart, int gateEnd, Span<float> scratch, Span<float> biasGradient = default)
        where T : struct, IBlock<T>
    {
        CheckOuter(x, xStride, rows, dy, dyStride, dw, shape, scratch.Length, biasGradient.Length);
        AccumulateOuterColumns<T>(x, xStride, rows, dy, dyStride, dw, shape, gateStart, gateEnd, scratch, 0, shape.Blocks * (gateEnd - gateStart), biasGradient);
    }

    /// <summary><see cref="AccumulateOuter{T}(ReadOnlySpan{float}, int, int, ReadOnlySpan{float}, int, Span{float}, InterleavedShape, int, int, Span{float}, Span{float})"/>
    /// with the gradient's columns (block, gate) split across <paramref name="pool"/>'s threads, each summing over
    /// every row in the same order as one thread does; the cuts fall on multiples of the column tile, so the result
    /// is bit-identical at any thread count. The parts run at once and transpose each slab of inputs together (once,
    /// not once per thread), a barrier before and after they read it. Each part needs its own
    /// <see cref="OuterScratchLength"/> floats of <paramref name="scratch"/>: with less, fewer parts run. The operands
    /// stay pinned for the call. Each part sums its columns of <paramref name="biasGradient"/>, when given.</summary>
    public static unsafe void AccumulateOuter<T>(ComputePool? pool,
        ReadOnlySpan<float> x, int xStride, int rows,
        ReadOnlySpan<float> dy, int dyStride,
        Span<float> dw, InterleavedShape shape, int gateStart, int gateEnd, Span<float> scratch, Span<float> biasGradient = default)
        where T : struct, IBlock<T>
    {
        CheckOuter(x, xStride, rows, dy, dyStride, dw, shape, scratch.Length, biasGradient.Length);
        int columns = shape.Blocks * (gateEnd - gateStart), length = OuterScratchLength(shape);
        int group = typeof(T) == typeof(Block512) ? OuterColumns : Avx512F.VL.IsSupported ? 2 : 1;
        int groups = columns / group;
        int threads = pool is null ? 1 : Math.Min(pool.Concurrency, scratch.Length / length);
        // Few columns (a head of a few classes) for the threads: split the inputs instead, in groups of 4 (the tiles'),
        // each part transposing and summing its own inputs of every column, with no barrier; else the columns.
        int inputGroups = shape.Inputs / 4;
        bool byInputs = groups < 2 * threads && inputGroups >= 2;
        int parts = byInputs ? Math.Min(threads, inputGroups) : Math.Min(threads, groups);
        if (parts <= 1)
        {
            AccumulateOuterColumns<T>(x, xStride, rows, dy, dyStride, dw, shape, gateStart, gateEnd, scratch, 0, columns, biasGradient);
            return;
        }
        fixed (float* px = x, pdy = dy, pdw = dw, ps = scratch, pb = biasGradient)
        {
            var work = OuterWork<T>.ForThisThread;
            work.Set(new Pinned(px, x.Length), xStride, rows, new Pinned(pdy, dy.Length), dyStride, new Pinned(pdw, dw.Length), shape,
                gateStart, gateEnd, new Pinned(ps, scratch.Length), length, columns, group, groups, parts, new Pinned(pb, biasGradient.Length), byInputs);
            pool!.Together(parts, work);
        }
    }

    private static void CheckOuter(ReadOnlySpan<float> x, int xStride, int rows, ReadOnlySpan<float> dy, int dyStride,
        ReadOnlySpan<float> dw, InterleavedShape shape, int scratchLength, int biasLength)
    {
        CheckOperand(x, xStride, rows, shape.Inputs, "x");
        CheckOperand(dy, dyStride, rows, shape.RowLength, "dy");
        CheckWeights(dw, shape);
        if (scratchLength < OuterScratchLength(shape))
            throw new ArgumentException($"AccumulateOuter needs {OuterScratchLength(shape)} floats of scratch for {shape}; got {scratchLength}.");
        if (biasLength != 0 && biasLength != shape.RowLength)
            throw new ArgumentException($"The bias gradient needs {shape.RowLength} floats (a row of {shape}); it has {biasLength}.");
    }

    /// <summary>The weight gradient of the columns [<paramref name="columnStart"/>, <paramref name="columnEnd"/>).</summary>
    private static void AccumulateOuterColumns<T>(
        ReadOnlySpan<float> x, int xStride, int rows,
        ReadOnlySpan<float> dy, int dyStride,
        Span<float> dw, InterleavedShape shape, int gateStart, int gateEnd, Span<float> scratch, int columnStart, int columnEnd, Span<float> bias)
        where T : struct, IBlock<T>
    {
        int k = shape.Inputs;
        Span<float> xT = scratch.Slice(0, k * RowSlab);
        for (int slab = 0; slab < rows; slab += RowSlab)
        {
            int n = Math.Min(RowSlab, rows - slab);
            TransposeSlab(x.Slice(slab * xStride), xStride, 0, n, k, xT);
            AccumulateOuterSlab<T>(xT, dy, dyStride, slab, n, dw, shape, gateStart, gateEnd, scratch.Slice(k * RowSlab), columnStart, columnEnd, bias, 0, k);
        }
    }

    /// <summary>The columns [<paramref name="columnStart"/>, <paramref name="columnEnd"/>) of the weight gradient over the
    /// <paramref name="n"/> rows of the slab that starts at row <paramref name="slab"/>, whose inputs
    /// <paramref name="xT"/> holds transposed (<see cref="TransposeSlab"/>); <paramref name="columnScratch"/> takes the
    /// packed gradient columns.</summary>
    private static void AccumulateOuterSlab<T>(ReadOnlySpan<float> xT, ReadOnlySpan<float> dy, int dyStride, int slab, int n,
        Span<float> dw, InterleavedShape shape, int gateStart, int gateEnd, Span<float> columnScratch, int columnStart, int columnEnd, Span<float> bias,
        int inputStart, int inputCount)
        where T : struct, IBlock<T>
    {
        // inputs [inputStart, inputStart + inputCount) of each column: xT holds those inputs' rows from its start
        int k = inputCount, gates = shape.Gates, kStride = gates * W;
        Span<float> column = columnScratch.Slice(0, RowSlab * OuterColumns * W);
        ref float xT0 = ref MemoryMarshal.GetReference(xT);
        ref float col0 = ref MemoryMarshal.GetReference(column);
        ref float dw0 = ref Unsafe.Add(ref MemoryMarshal.GetReference(dw), inputStart * kStride);
        int perBlock = gateEnd - gateStart, c = columnStart;
        if (typeof(T) != typeof(Block512) && Avx512F.VL.IsSupported)
        {
            // 256-bit blocks with AVX-512's 32 registers: two columns × four inputs (16 registers of 256 bits).
            for (; c + 2 <= columnEnd; c += 2)
            {
                int w0 = PackColumn<T>(dy, dyStride, slab, n, shape, gateStart, perBlock, bias, c, column);
                int w1 = PackColumn<T>(dy, dyStride, slab, n, shape, gateStart, perBlock, bias, c + 1, column.Slice(RowSlab * W));
                OuterTile2x4<T>(ref xT0, ref col0, n, k, kStride, ref Unsafe.Add(ref dw0, w0), ref Unsafe.Add(ref dw0, w1));
            }
        }
        if (typeof(T) == typeof(Block512))
        {
            // Three columns × four inputs: 12 accumulators share each broadcast input and each gradient vector.
            for (; c + OuterColumns <= columnEnd; c += OuterColumns)
            {
                int w0 = PackColumn<T>(dy, dyStride, slab, n, shape, gateStart, perBlock, bias, c, column);
                int w1 = PackColumn<T>(dy, dyStride, slab, n, shape, gateStart, perBlock, bias, c + 1, column.Slice(RowSlab * W));
                int w2 = PackColumn<T>(dy, dyStride, slab, n, shape, gateStart, perBlock, bias, c + 2, column.Slice(2 * RowSlab * W));
                OuterTile3x4<T>(ref xT0, ref col0, n, k, kStride, ref Unsafe.Add(ref dw0, w0), ref Unsafe.Add(ref dw0, w1), ref Unsafe.Add(ref dw0, w2));
            }
        }
        for (; c < columnEnd; c++)
        {
            ref float dwColumn = ref Unsafe.Add(ref dw0, PackColumn<T>(dy, dyStride, slab, n, shape, gateStart, perBlock, bias, c, column));
            int i = 0;
            // Four inputs share each gradient vector.
            for (; i + 4 <= k; i += 4)
            {
                ref float dwi = ref Unsafe.Add(ref dwColumn, i * kStride);
                ref float xi = ref Unsafe.Add(ref xT0, i * RowSlab);
                T a0 = T.Load(in dwi);
                T a1 = T.Load(in Unsafe.Add(ref dwi, kStride));
                T a2 = T.Load(in Unsafe.Add(ref dwi, 2 * kStride));
                T a3 = T.Load(in Unsafe.Add(ref dwi, 3 * kStride));
                for (int r0 = 0; r0 < n; r0 += SumChunk)
                {
                    int r1 = Math.Min(n, r0 + SumChunk);
                    T c0 = T.Zero, c1 = T.Zero, c2 = T.Zero, c3 = T.Zero;
                    for (int r = r0; r < r1; r++)
                    {
                        T d = T.Load(in Unsafe.Add(ref col0, r * W));
                        c0 = T.MultiplyAdd(T.Create(Unsafe.Add(ref xi, r)), d, c0);
                        c1 = T.MultiplyAdd(T.Create(Unsafe.Add(ref xi, RowSlab + r)), d, c1);
                        c2 = T.MultiplyAdd(T.Create(Unsafe.Add(ref xi, 2 * RowSlab + r)), d, c2);
                        c3 = T.MultiplyAdd(T.Create(Unsafe.Add(ref xi, 3 * RowSlab + r)), d, c3);
                    }
                    a0 += c0;
                    a1 += c1;
                    a2 += c2;
                    a3 += c3;
                }
                T.Store(ref dwi, a0);
                T.Store(ref Unsafe.Add(ref dwi, kStride), a1);
                T.Store(ref Unsafe.Add(ref dwi, 2 * kStride), a2);
                T.Store(ref Unsafe.Add(ref dwi, 3 * kStride), a3);
            }
            for (; i < k; i++)
            {
                ref float dwi = ref Unsafe.Add(ref dwColumn, i * kStride);
                ref float xi = ref Unsafe.Add(ref xT0, i * RowSlab);
                T a0 = T.Load(in dwi);
                for (int r0 = 0; r0 < n; r0 += SumChunk)
                {
                    int r1 = Math.Min(n, r0 + SumChunk);
                    T c0 = T.Zero;
                    for (int r = r0; r < r1; r++)
                        c0 = T.MultiplyAdd(T.Create(Unsafe.Add(ref xi, r)), T.Load(in Unsafe.Add(ref col0, r * W)), c0);
                    a0 += c0;
                }
                T.Store(ref dwi, a0);
            }
        }
    }

    /// <summary><c>xT[i·RowSlab + r] = x[r·xStride + i]</c> for the rows [<paramref name="rowStart"/>,
    /// <paramref name="rowEnd"/>) of a slab (at most <see cref="RowSlab"/>) and <paramref name="k"/> inputs, a row at a
    /// time: contiguous loads. (Tiles of 16 × 16 were tried: LSTM(256)'s batch-4 training step took 10.5–12.9 ms with
    /// them against 8.3 ms, with a wide spread from run to run; loads and stores aliasing is a guess, not confirmed.)</summary>
    private static void TransposeSlab(ReadOnlySpan<float> x, int xStride, int rowStart, int rowEnd, int k, Span<float> xT)
    {
        for (int r = rowStart; r < rowEnd; r++)
        {
            var xr = x.Slice(r * xStride, k);
            for (int i = 0; i < k; i++)
                xT[i * RowSlab + r] = xr[i];
        }
    }

    /// <summary>Copies column <paramref name="c"/> (the c-th (block, gate) pair in the gate range) of a slab of
    /// <paramref name="n"/> rows of dy into <paramref name="destination"/>, 16 floats a row; returns the offset of that
    /// column in the weight matrix.</summary>
    private static int PackColumn<T>(ReadOnlySpan<float> dy, int dyStride, int slab, int n, InterleavedShape shape,
        int gateStart, int perBlock, Span<float> bias, int c, Span<float> destination)
        where T : struct, IBlock<T>
    {
        int b = c / perBlock, g = gateStart + c % perBlock;
        int yColumn = (b * shape.Gates + g) * W;
        if (bias.IsEmpty)
        {
            for (int r = 0; r < n; r++)
                dy.Slice((slab + r) * dyStride + yColumn, W).CopyTo(destination.Slice(r * W, W));
        }
        else
        {
            // the bias's gradient on the way: Σ_r dy[r, column] in AccumulateRows' chunks (a slab starts on a chunk)
            ref float dy0 = ref Unsafe.Add(ref MemoryMarshal.GetReference(dy), slab * dyStride + yColumn);
            ref float d0 = ref MemoryMarshal.GetReference(destination);
            ref float sum = ref Unsafe.Add(ref MemoryMarshal.GetReference(bias), yColumn);
            T a = T.Load(in sum);
            for (int r0 = 0; r0 < n; r0 += SumChunk)
            {
                int r1 = Math.Min(n, r0 + SumChunk);
                T chunk = T.Zero;
                for (int r = r0; r < r1; r++)
                {
                    T v = T.Load(in Unsafe.Add(ref dy0, r * dyStride));
                    T.Store(ref Unsafe.Add(ref d0, r * W), v);
                    chunk += v;
                }
                a += chunk;
            }
            T.Store(ref sum, a);
        }
        return (b * shape.Inputs * shape.Gates + g) * W;
    }

    /// <summary>Two packed gradient columns × four inputs at a time (8 accumulators), over a slab's rows.</summary>
    private static void OuterTile2x4<T>(ref float xT0, ref float col0, int n, int k, int kStride, ref float dw0, ref float dw1)
        where T : struct, IBlock<T>
    {
        ref float d1 = ref Unsafe.Add(ref col0, RowSlab * W);
        int i = 0;
        for (; i + 4 <= k; i += 4)
        {
            ref float xi = ref Unsafe.Add(ref xT0, i * RowSlab);
            int at = i * kStride;
            T a00 = T.Zero, a01 = T.Zero, a02 = T.Zero, a03 = T.Zero;
            T a10 = T.Zero, a11 = T.Zero, a12 = T.Zero, a13 = T.Zero;
            for (int r0 = 0; r0 < n; r0 += SumChunk)
            {
                int r1 = Math.Min(n, r0 + SumChunk);
                T c00 = T.Zero, c01 = T.Zero, c02 = T.Zero, c03 = T.Zero;
                T c10 = T.Zero, c11 = T.Zero, c12 = T.Zero, c13 = T.Zero;
                for (int r = r0; r < r1; r++)
                {
                    T x0 = T.Create(Unsafe.Add(ref xi, r)), x1 = T.Create(Unsafe.Add(ref xi, RowSlab + r));
                    T x2 = T.Create(Unsafe.Add(ref xi, 2 * RowSlab + r)), x3 = T.Create(Unsafe.Add(ref xi, 3 * RowSlab + r));
                    T v = T.Load(in Unsafe.Add(ref col0, r * W));
                    c00 = T.MultiplyAdd(x0, v, c00); c01 = T.MultiplyAdd(x1, v, c01); c02 = T.MultiplyAdd(x2, v, c02); c03 = T.MultiplyAdd(x3, v, c03);
                    v = T.Load(in Unsafe.Add(ref d1, r * W));
                    c10 = T.MultiplyAdd(x0, v, c10); c11 = T.MultiplyAdd(x1, v, c11); c12 = T.MultiplyAdd(x2, v, c12); c13 = T.MultiplyAdd(x3, v, c13);
                }
                a00 += c00; a01 += c01; a02 += c02; a03 += c03;
                a10 += c10; a11 += c11; a12 += c12; a13 += c13;
            }
            AddTo(ref dw0, at, a00); AddTo(ref dw0, at + kStride, a01); AddTo(ref dw0, at + 2 * kStride, a02); AddTo(ref dw0, at + 3 * kStride, a03);
            AddTo(ref dw1, at, a10); AddTo(ref dw1, at + kStride, a11); AddTo(ref dw1, at + 2 * kStride, a12); AddTo(ref dw1, at + 3 * kStride, a13);
        }
        for (; i < k; i++)
        {
            ref float xi = ref Unsafe.Add(ref xT0, i * RowSlab);
            T a0 = T.Zero, a1 = T.Zero;
            for (int r = 0; r < n; r++)
            {
                T xv = T.Create(Unsafe.Add(ref xi, r));
                a0 = T.MultiplyAdd(xv, T.Load(in Unsafe.Add(ref col0, r * W)), a0);
                a1 = T.MultiplyAdd(xv, T.Load(in Unsafe.Add(ref d1, r * W)), a1);
            }
            AddTo(ref dw0, i * kStride, a0);
            AddTo(ref dw1, i * kStride, a1);
        }
    }

    /// <summary>Three packed gradient columns × four inputs at a time (12 accumulators), over a slab's rows.</summary>
    private static void OuterTile3x4<T>(ref float xT0, ref float col0, int n, int k, int kStride,
        ref float dw0, ref float dw1, ref float dw2)
        where T : struct, IBlock<T>
    {
        ref float d1 = ref Unsafe.Add(ref col0, RowSlab * W);
        ref float d2 = ref Unsafe.Add(ref col0, 2 * RowSlab * W);
        int i = 0;
        for (; i + 4 <= k; i += 4)
        {
            ref float xi = ref Unsafe.Add(ref xT0, i * RowSlab);
            int at = i * kStride;
            T a00 = T.Zero, a01 = T.Zero, a02 = T.Zero, a03 = T.Zero;
            T a10 = T.Zero, a11 = T.Zero, a12 = T.Zero, a13 = T.Zero;
            T a20 = T.Zero, a21 = T.Zero, a22 = T.Zero, a23 = T.Zero;
            for (int r0 = 0; r0 < n; r0 += SumChunk)
            {
                int r1 = Math.Min(n, r0 + SumChunk);
                T c00 = T.Zero, c01 = T.Zero, c02 = T.Zero, c03 = T.Zero;
                T c10 = T.Zero, c11 = T.Zero, c12 = T.Zero, c13 = T.Zero;
                T c20 = T.Zero, c21 = T.Zero, c22 = T.Zero, c23 = T.Zero;
                for (int r = r0; r < r1; r++)
                {
                    T x0 = T.Create(Unsafe.Add(ref xi, r)), x1 = T.Create(Unsafe.Add(ref xi, RowSlab + r));
                    T x2 = T.Create(Unsafe.Add(ref xi, 2 * RowSlab + r)), x3 = T.Create(Unsafe.Add(ref xi, 3 * RowSlab + r));
                    T v = T.Load(in Unsafe.Add(ref col0, r * W));
                    c00 = T.MultiplyAdd(x0, v, c00); c01 = T.MultiplyAdd(x1, v, c01); c02 = T.MultiplyAdd(x2, v, c02); c03 = T.MultiplyAdd(x3, v, c03);
                    v = T.Load(in Unsafe.Add(ref d1, r * W));
                    c10 = T.MultiplyAdd(x0, v, c10); c11 = T.MultiplyAdd(x1, v, c11); c12 = T.MultiplyAdd(x2, v, c12); c13 = T.MultiplyAdd(x3, v, c13);
                    v = T.Load(in Unsafe.Add(ref d2, r * W));
                    c20 = T.MultiplyAdd(x0, v, c20); c21 = T.MultiplyAdd(x1, v, c21); c22 = T.MultiplyAdd(x2, v, c22); c23 = T.MultiplyAdd(x3, v, c23);
                }
                a00 += c00; a01 += c01; a02 += c02; a03 += c03;
                a10 += c10; a11 += c11; a12 += c12; a13 += c13;
                a20 += c20; a21 += c21; a22 += c22; a23 += c23;
            }
            AddTo(ref dw0, at, a00); AddTo(ref dw0, at + kStride, a01); AddTo(ref dw0, at + 2 * kStride, a02); AddTo(ref dw0, at + 3 * kStride, a03);
            AddTo(ref dw1, at, a10); AddTo(ref dw1, at + kStride, a11); AddTo(ref dw1, at + 2 * kStride, a12); AddTo(ref dw1, at + 3 * kStride, a13);
            AddTo(ref dw2, at, a20); AddTo(ref dw2, at + kStride, a21); AddTo(ref dw2, at + 2 * kStride, a22); AddTo(ref dw2, at + 3 * kStride, a23);
        }
        for (; i < k; i++)
        {
            ref float xi = ref Unsafe.Add(ref xT0, i * RowSlab);
            T a0 = T.Zero, a1 = T.Zero, a2 = T.Zero;
            for (int r = 0; r < n; r++)
            {
                T xv = T.Create(Unsafe.Add(ref xi, r));
                a0 = T.MultiplyAdd(xv, T.Load(in Unsafe.Add(ref col0, r * W)), a0);
                a1 = T.MultiplyAdd(xv, T.Load(in Unsafe.Add(ref d1, r * W)), a1);
                a2 = T.MultiplyAdd(xv, T.Load(in Unsafe.Add(ref d2, r * W)), a2);
            }
            AddTo(ref dw0, i * kStride, a0);
            AddTo(ref dw1, i * kStride, a1);
            AddTo(ref dw2, i * kStride, a2);
        }
    }

    /// <summary>
    /// Packs the transpose of <paramref name="w"/>, restricted to gates in [gateStart, gateEnd), as a matrix of shape
    /// <see cref="InterleavedShape.Transposed"/>: then <c>dx += dy·w</c> (the backward product) is the forward kernel
    /// <see cref="MultiplyAdd{T}(ReadOnlySpan{float}, int, int, ReadOnlySpan{float}, InterleavedShape, int, int, Span{float}, int, bool)"/>
    /// over <c>dy</c>'s rows, register-blocked over rows instead of re-reading the weights
    /// for every row. Gates outside the range, padded units and padded inputs pack as zeros.
    /// </summary>
    public static void PackTransposed(ReadOnlySpan<float> w, InterleavedShape shape, int gateStart, int gateEnd, Span<float> transposed) =>
        PackTransposed(null, w, shape, gateStart, gateEnd, transposed);

    /// <summary><see cref="PackTransposed(ReadOnlySpan{float}, InterleavedShape, int, int, Span{float})"/> with the blocks
    /// split across <paramref name="pool"/>'s threads (a copy: each block writes its own places).</summary>
    public static unsafe void PackTransposed(ComputePool? pool, ReadOnlySpan<float> w, InterleavedShape shape, int gateStart, int gateEnd, Span<float> transposed)
    {
        CheckWeights(w, shape);
        var t = shape.Transposed;
        if (transposed.Length < t.Length)
            throw new ArgumentException($"The transpose of {shape} needs {t.Length} floats; the span has {transposed.Length}.");
        if ((uint)gateStart > (uint)gateEnd || gateEnd > shape.Gates)
            throw new ArgumentOutOfRangeException(nameof(gateStart), $"Gate range [{gateStart}, {gateEnd}) is outside the matrix's {shape.Gates} gates.");
        // the tiles write every place of the gates in range, padded inputs as zeros: only the other gates' need clearing
        if (gateEnd - gateStart < shape.Gates)
            transposed.Slice(0, t.Length).Clear();
        int parts = PartsFor(pool, shape.Blocks, shape.Length);
        if (parts <= 1)
        {
            PackTransposedBlocks(w, shape, gateStart, gateEnd, transposed, 0, shape.Blocks);
            return;
        }
        fixed (float* pw = w, pt = transposed)
        {
            var work = PackWork.ForThisThread;
            work.Set(new Pinned(pw, w.Length), shape, gateStart, gateEnd, new Pinned(pt, t.Length), parts);
            pool!.For(parts, work);
        }
    }

    /// <summary>The transposed copy of blocks [<paramref name="blockStart"/>, <paramref name="blockEnd"/>): every place
    /// of the gates in range, the padded inputs of a last partial tile as zeros.</summary>
    /// <remarks>The copy goes by tiles of 16 inputs × the 16 units of one (block, gate): in <paramref name="w"/> the tile
    /// is 16 rows of 16 units (one per input, <c>gates × 16</c> floats apart), in the transpose 16 rows of 16 inputs (one
    /// per unit, contiguous), so a tile is a 16 × 16 transpose, in registers where AVX-512 is there.</remarks>
    private static void PackTransposedBlocks(ReadOnlySpan<float> w, InterleavedShape shape, int gateStart, int gateEnd, Span<float> transposed,
        int blockStart, int blockEnd)
    {
        var t = shape.Transposed;
        int k = shape.Inputs, gates = shape.Gates, rowStride = gates * W;
        for (int b = blockStart; b < blockEnd; b++)
            for (int g = gateStart; g < gateEnd; g++)
            {
                int j = (b * gates + g) * W; // the tile's first unit's position in an output row
                for (int first = 0; first < k; first += W)
                {
                    int n = Math.Min(W, k - first); // inputs in this tile; the transpose's padding inputs stay zero
                    ReadOnlySpan<float> source = w.Slice(((b * k + first) * gates + g) * W, (n - 1) * rowStride + W);
                    Span<float> target = transposed.Slice((first / W * t.Inputs + j) * W, W * W);
                    if (Avx512F.IsSupported && n == W)
                    {
                        TransposeTile(source, rowStride, target);
                        continue;
                    }
                    for (int u = 0; u < W; u++)
                        for (int i = 0; i < W; i++)
                            target[u * W + i] = i < n ? source[i * rowStride + u] : 0f;
                }
            }
    }

    /// <summary><c>target[u·16 + i] = source[i·<paramref name="rowStride"/> + u]</c> for i, u in [0, 16): a 16 × 16
    /// transpose in registers. Unpacking pairs of rows, then shuffling within 128-bit lanes, leaves rows 4q…4q+3 of
    /// column 4L+m in lane L of vector 4q+m; two rounds of 128-bit lane shuffles gather each column's four lanes.</summary>
    [SkipLocalsInit] // the two stacks of vectors are written before they are read
    private static void TransposeTile(ReadOnlySpan<float> source, int rowStride, Span<float> target)
    {
        ref float s = ref MemoryMarshal.GetReference(source);
        Span<Vector512<float>> r = stackalloc Vector512<float>[W], q = stackalloc Vector512<float>[W];
        for (int i = 0; i < W; i++)
            r[i] = Vector512.LoadUnsafe(ref s, (nuint)(i * rowStride));
        // q[2p], q[2p+1]: rows 2p and 2p+1 interleaved, the low and the high pair of each lane
        for (int p = 0; p < W; p += 2)
        {
            q[p] = Avx512F.UnpackLow(r[p], r[p + 1]);
            q[p + 1] = Avx512F.UnpackHigh(r[p], r[p + 1]);
        }
        // r[4g+m], lane L: column 4L+m of rows 4g…4g+3
        for (int g = 0; g < W; g += 4)
        {
            r[g] = Avx512F.Shuffle(q[g], q[g + 2], 0x44);
            r[g + 1] = Avx512F.Shuffle(q[g], q[g + 2], 0xEE);
            r[g + 2] = Avx512F.Shuffle(q[g + 1], q[g + 3], 0x44);
            r[g + 3] = Avx512F.Shuffle(q[g + 1], q[g + 3], 0xEE);
        }
        // q[m] (m < 4): columns m and m+8 of rows 0–7, q[m+4]: columns m+4 and m+12; q[m+8], q[m+12]: the same of rows 8–15
        for (int m = 0; m < 4; m++)
        {
            q[m] = Avx512F.Shuffle4x128(r[m], r[m + 4], 0x88);
            q[m + 4] = Avx512F.Shuffle4x128(r[m], r[m + 4], 0xDD);
            q[m + 8] = Avx512F.Shuffle4x128(r[m + 8], r[m + 12], 0x88);
            q[m + 12] = Avx512F.Shuffle4x128(r[m + 8], r[m + 12], 0xDD);
        }
        ref float d = ref MemoryMarshal.GetReference(target);
        for (int c = 0; c < 8; c++)
        {
            Avx512F.Shuffle4x128(q[c], q[c + 8], 0x88).StoreUnsafe(ref d, (nuint)(c * W));
            Avx512F.Shuffle4x128(q[c], q[c + 8], 0xDD).StoreUnsafe(ref d, (nuint)((c + 8) * W));
        }
    }

    /// <summary><c>sum[c] += Σ_r dy[r, c]</c> over a row of <paramref name="width"/> floats (a multiple of 16):
    /// the bias gradient.</summary>
    public static void AccumulateRows<T>(ReadOnlySpan<float> dy, int dyStride, int rows, int width, Span<float> sum)
        where T : struct, IBlock<T>
    {
        CheckRowSums(dy, dyStride, rows, width, sum.Length);
        ref float dy0 = ref MemoryMarshal.GetReference(dy);
        ref float s0 = ref MemoryMarshal.GetReference(sum);
        for (int c = 0; c < width; c += W)
        {
            T a = T.Load(in Unsafe.Add(ref s0, c));
            for (int r0 = 0; r0 < rows; r0 += SumChunk)
            {
                int r1 = Math.Min(rows, r0 + SumChunk);
                T chunk = T.Zero;
                for (int r = r0; r < r1; r++)
                    chunk += T.Load(in Unsafe.Add(ref dy0, r * dyStride + c));
                a += chunk;
            }
            T.Store(ref Unsafe.Add(ref s0, c), a);
        }
    }

    /// <summary><see cref="AccumulateRows{T}(ReadOnlySpan{float}, int, int, int, Span{float})"/> with the blocks of 16
    /// columns split across <paramref name="pool"/>'s threads: each column is summed over the rows as on one thread.</summary>
    public static unsafe void AccumulateRows<T>(ComputePool? pool, ReadOnlySpan<float> dy, int dyStride, int rows, int width, Span<float> sum)
        where T : struct, IBlock<T>
    {
        CheckRowSums(dy, dyStride, rows, width, sum.Length);
        int blocks = width / W;
        int parts = PartsFor(pool, blocks, (long)rows * width);
        if (parts <= 1)
        {
            AccumulateRows<T>(dy, dyStride, rows, width, sum);
            return;
        }
        fixed (float* pdy = dy, ps = sum)
        {
            var work = RowSumWork<T>.ForThisThread;
            work.Set(new Pinned(pdy, dy.Length), dyStride, rows, new Pinned(ps, width), blocks, parts);
            pool!.For(parts, work);
        }
    }

    private static void CheckRowSums(ReadOnlySpan<float> dy, int dyStride, int rows, int width, int sumLength)
    {
        CheckOperand(dy, dyStride, rows, width, "dy");
        if (width % W != 0 || sumLength < width)
            throw new ArgumentException($"Row width must be a multiple of {W} within the sum's length {sumLength}; got {width}.");
    }

    // Elements below which a part of a row-wise or copy kernel is not worth a dispatch (≈ 10 µs of exp at this size).
    private const int MinElementsPerPart = 16_384;

    /// <summary>Parts a light kernel (a copy, a sum, a softmax) over <paramref name="elements"/> floats in
    /// <paramref name="units"/> independent pieces is split into on <paramref name="pool"/>: at most one per thread and
    /// per piece, each at least <see cref="MinElementsPerPart"/> floats.</summary>
    internal static int PartsFor(ComputePool? pool, int units, long elements) =>
        pool is null ? 1 : (int)Math.Min(Math.Min(pool.Concurrency, units), elements / MinElementsPerPart);

    /// <summary><c>y[r, c] += row[c]</c> for each of <paramref name="rows"/> rows (a bias added to every row).</summary>
    public static void AddRows<T>(ReadOnlySpan<float> row, Span<float> y, int yStride, int rows)
        where T : struct, IBlock<T>
    {
        CheckOperand(y, yStride, rows, row.Length, "y");
        if (row.Length % W != 0)
            throw new ArgumentException($"Row length must be a multiple of {W}; got {row.Length}.");
        ref float b0 = ref MemoryMarshal.GetReference(row);
        ref float y0 = ref MemoryMarshal.GetReference(y);
        for (int r = 0; r < rows; r++)
        {
            ref float yr = ref Unsafe.Add(ref y0, r * yStride);
            for (int c = 0; c < row.Length; c += W)
                T.Store(ref Unsafe.Add(ref yr, c), T.Load(in Unsafe.Add(ref yr, c)) + T.Load(in Unsafe.Add(ref b0, c)));
        }
    }

    /// <summary>Copies <paramref name="row"/> into each of <paramref name="rows"/> rows of <paramref name="y"/>.</summary>
    public static void BroadcastRows(ReadOnlySpan<float> row, Span<float> y, int yStride, int rows)
    {
        CheckOperand(y, yStride, rows, row.Length, "y");
        for (int r = 0; r < rows; r++)
            row.CopyTo(y.Slice(r * yStride, row.Length));
    }

    private static void CheckOperand(ReadOnlySpan<float> span, int stride, int rows, int width, string name)
    {
        if (rows < 0 || stride < width || (rows > 0 && span.Length < (rows - 1) * stride + width))
            throw new ArgumentException(
                $"Operand '{name}' needs {rows} rows of {width} floats at stride {stride} ({(rows > 0 ? (rows - 1) * stride + width : 0)} floats); it has {span.Length}.");
    }

    private static void CheckWeights(ReadOnlySpan<float> w, InterleavedShape shape)
    {
        if (w.Length < shape.Length)
            throw new ArgumentException($"An interleaved matrix of {shape} needs {shape.Length} floats; the span has {w.Length}.");
    }

    /// <summary>A pinned operand: its address and length, valid while the dispatching call holds it fixed.</summary>
    private readonly unsafe struct Pinned(float* address, int length)
    {
        private readonly float* _address = address;
        private readonly int _length = length;

        public Span<float> Span => new(_address, _length);
    }

    /// <summary>A parallel product's arguments and its split: part i takes the tiles [i·tiles/parts, (i+1)·tiles/parts),
    /// the last part also the columns after the last whole tile; or, split by slabs, the slabs of rows
    /// [i·slabs/parts, (i+1)·slabs/parts) with every column. One instance per calling thread, reused.</summary>
    private sealed class ProductWork<T> : IParallelWork where T : struct, IBlock<T>
    {
        [ThreadStatic]
#pragma warning disable IDE1006 // a thread-static field is t_camelCase (the naming rules cannot tell it from a static one)
        private static ProductWork<T>? t_work;
#pragma warning restore IDE1006

        private Pinned _x, _w, _bias, _y;
        private int _xStride, _rows, _gateStart, _gateEnd, _yStride, _columns, _tile, _tiles, _parts, _rowsPerStep;
        private bool _bySlabs;
        private InterleavedShape _shape;

        public static ProductWork<T> ForThisThread => t_work ??= new ProductWork<T>();

        public void Set(Pinned x, int xStride, int rows, Pinned w, InterleavedShape shape, int gateStart,
            int gateEnd, Pinned bias, Pinned y, int yStride, int columns, int tile, int tiles, int parts, bool bySlabs = false, int rowsPerStep = 0)
        {
            (_x, _xStride, _rows, _w, _shape, _gateStart, _gateEnd, _bias, _y, _yStride) = (x, xStride, rows, w, shape, gateStart, gateEnd, bias, y, yStride);
            (_columns, _tile, _tiles, _parts, _bySlabs, _rowsPerStep) = (columns, tile, tiles, parts, bySlabs, rowsPerStep);
        }

        public void Run(int index)
        {
            if (_rowsPerStep > 0)
            {
                // the groups of 4 rows [i·groups/parts, (i+1)·groups/parts) of every step, all columns
                int groups = _rowsPerStep / 4;
                int first = groups * index / _parts * 4, count = groups * (index + 1) / _parts * 4 - first;
                for (int step = 0; step < _rows; step += _rowsPerStep)
                    MultiplyAddColumns<T>(_x.Span.Slice((step + first) * _xStride), _xStride, count, _w.Span, _shape, _gateStart, _gateEnd,
                        _y.Span.Slice((step + first) * _yStride), _yStride, 0, _columns, bias: _bias.Span);
                return;
            }
            if (_bySlabs)
            {
                int slabs = (_rows + RowSlabOfTiles - 1) / RowSlabOfTiles;
                int first = (int)((long)slabs * index / _parts) * RowSlabOfTiles;
                int last = Math.Min(_rows, (int)((long)slabs * (index + 1) / _parts) * RowSlabOfTiles);
                if (first < last)
                    MultiplyAddColumns<T>(_x.Span.Slice(first * _xStride), _xStride, last - first, _w.Span, _shape, _gateStart, _gateEnd,
                        _y.Span.Slice(first * _yStride), _yStride, 0, _columns, bias: _bias.Span);
                return;
            }
            int start = (int)((long)_tiles * index / _parts) * _tile;
            int end = index == _parts - 1 ? _columns : (int)((long)_tiles * (index + 1) / _parts) * _tile;
            MultiplyAddColumns<T>(_x.Span, _xStride, _rows, _w.Span, _shape, _gateStart, _gateEnd, _y.Span, _yStride, start, end, bias: _bias.Span);
        }
    }

    /// <summary>A parallel weight gradient's arguments and its split: part i takes the column groups
    /// [i·groups/parts, (i+1)·groups/parts) with its own slice of the scratch, the last part also the columns after
    /// the last whole group. One instance per calling thread, reused.</summary>
    private sealed class OuterWork<T> : IParallelWork where T : struct, IBlock<T>
    {
        [ThreadStatic]
#pragma warning disable IDE1006 // a thread-static field is t_camelCase (the naming rules cannot tell it from a static one)
        private static OuterWork<T>? t_work;
#pragma warning restore IDE1006

        private readonly ComputeBarrier _barrier = new();
        private Pinned _x, _dy, _dw, _scratch, _bias;
        private int _xStride, _rows, _dyStride, _gateStart, _gateEnd, _columns, _group, _groups, _parts, _scratchLength;
        private bool _byInputs;
        private InterleavedShape _shape;

        public static OuterWork<T> ForThisThread => t_work ??= new OuterWork<T>();

        public void Set(Pinned x, int xStride, int rows, Pinned dy, int dyStride, Pinned dw, InterleavedShape shape,
            int gateStart, int gateEnd, Pinned scratch, int scratchLength, int columns, int group, int groups, int parts, Pinned bias, bool byInputs)
        {
            (_x, _xStride, _rows, _dy, _dyStride, _dw, _shape, _gateStart, _gateEnd) = (x, xStride, rows, dy, dyStride, dw, shape, gateStart, gateEnd);
            (_scratch, _scratchLength, _columns, _group, _groups, _parts, _bias, _byInputs) = (scratch, scratchLength, columns, group, groups, parts, bias, byInputs);
            _barrier.Reset(parts);
        }

        /// <summary>Part <paramref name="index"/>: its groups of gradient columns over every slab of rows. The parts
        /// transpose each slab together (each its share of the rows, in groups of 16) into the first part's scratch, wait for one another, sum
        /// their columns over it, and wait again before the next slab overwrites it: each input is transposed once,
        /// however many threads read it.</summary>
        public void Run(int index)
        {
            if (_byInputs)
            {
                RunInputs(index);
                return;
            }
            try
            {
                int start = (int)((long)_groups * index / _parts) * _group;
                int end = index == _parts - 1 ? _columns : (int)((long)_groups * (index + 1) / _parts) * _group;
                int k = _shape.Inputs;
                Span<float> scratch = _scratch.Span;
                Span<float> xT = scratch.Slice(0, k * RowSlab);
                Span<float> columnScratch = scratch.Slice(index * _scratchLength + k * RowSlab, _scratchLength - k * RowSlab);
                ReadOnlySpan<float> x = _x.Span, dy = _dy.Span;
                for (int slab = 0; slab < _rows; slab += RowSlab)
                {
                    int n = Math.Min(RowSlab, _rows - slab), tiles = (n + 15) / 16;
                    int first = tiles * index / _parts * 16, last = Math.Min(n, tiles * (index + 1) / _parts * 16);
                    TransposeSlab(x.Slice(slab * _xStride), _xStride, first, last, k, xT);
                    _barrier.SignalAndWait();
                    AccumulateOuterSlab<T>(xT, dy, _dyStride, slab, n, _dw.Span, _shape, _gateStart, _gateEnd, columnScratch, start, end, _bias.Span, 0, k);
                    _barrier.SignalAndWait();
                }
            }
            catch
            {
                _barrier.Break();
                throw;
            }
        }

        /// <summary>Part <paramref name="index"/> of a split by inputs: inputs [i0, i1) (whole groups of 4 but the last
        /// part's, which also takes the inputs after the last group: the tiles of one thread) of every column, over every
        /// slab, in scratch of its own: it transposes its inputs of the slab and copies every column of dy; the first
        /// part sums the bias. Nothing is shared, so there is no barrier.</summary>
        private void RunInputs(int index)
        {
            int k = _shape.Inputs, groups = k / 4;
            int i0 = groups * index / _parts * 4, i1 = index == _parts - 1 ? k : groups * (index + 1) / _parts * 4;
            Span<float> scratch = _scratch.Span.Slice(index * _scratchLength, _scratchLength);
            Span<float> xT = scratch.Slice(0, (i1 - i0) * RowSlab), columnScratch = scratch.Slice(k * RowSlab);
            ReadOnlySpan<float> x = _x.Span, dy = _dy.Span;
            Span<float> bias = index == 0 ? _bias.Span : default;
            for (int slab = 0; slab < _rows; slab += RowSlab)
            {
                int n = Math.Min(RowSlab, _rows - slab);
                TransposeSlab(x.Slice(slab * _xStride + i0), _xStride, 0, n, i1 - i0, xT);
                AccumulateOuterSlab<T>(xT, dy, _dyStride, slab, n, _dw.Span, _shape, _gateStart, _gateEnd, columnScratch, 0, _columns, bias, i0, i1 - i0);
            }
        }
    }

    /// <summary>Column sums split by blocks of 16 columns: part i takes blocks [i·blocks/parts, (i+1)·blocks/parts).</summary>
    private sealed class RowSumWork<T> : IParallelWork where T : struct, IBlock<T>
    {
        [ThreadStatic]
#pragma warning disable IDE1006 // a thread-static field is t_camelCase (the naming rules cannot tell it from a static one)
        private static RowSumWork<T>? t_work;
#pragma warning restore IDE1006

        private Pinned _dy, _sum;
        private int _dyStride, _rows, _blocks, _parts;

        public static RowSumWork<T> ForThisThread => t_work ??= new RowSumWork<T>();

        public void Set(Pinned dy, int dyStride, int rows, Pinned sum, int blocks, int parts) =>
            (_dy, _dyStride, _rows, _sum, _blocks, _parts) = (dy, dyStride, rows, sum, blocks, parts);

        public void Run(int index)
        {
            int start = (int)((long)_blocks * index / _parts) * W, end = (int)((long)_blocks * (index + 1) / _parts) * W;
            if (start >= end)
                return;
            // the columns [start, end) of every row: the same sums as the whole row's
            AccumulateRows<T>(_dy.Span.Slice(start), _dyStride, _rows, end - start, _sum.Span.Slice(start, end - start));
        }
    }

    /// <summary>A transposed copy split by blocks: part i takes blocks [i·blocks/parts, (i+1)·blocks/parts).</summary>
    private sealed class PackWork : IParallelWork
    {
        [ThreadStatic]
#pragma warning disable IDE1006 // a thread-static field is t_camelCase (the naming rules cannot tell it from a static one)
        private static PackWork? t_work;
#pragma warning restore IDE1006

        private Pinned _w, _transposed;
        private InterleavedShape _shape;
        private int _gateStart, _gateEnd, _parts;

        public static PackWork ForThisThread => t_work ??= new PackWork();

        public void Set(Pinned w, InterleavedShape shape, int gateStart, int gateEnd, Pinned transposed, int parts) =>
            (_w, _shape, _gateStart, _gateEnd, _transposed, _parts) = (w, shape, gateStart, gateEnd, transposed, parts);

        public void Run(int index) =>
            PackTransposedBlocks(_w.Span, _shape, _gateStart, _gateEnd, _transposed.Span,
                (int)((long)_shape.Blocks * index / _parts), (int)((long)_shape.Blocks * (index + 1) / _parts));
    }
}
