using System.Runtime.InteropServices;

namespace FastRnn;

/// <summary>
/// Keeps a pool's worker on one processor (Linux: <c>sched_setaffinity</c> on the calling thread; elsewhere nothing).
/// Without it the scheduler may wake a worker on the processor of the thread that woke it and leave both there, a
/// spinning worker and its dispatcher taking turns on one processor while another idles: measured on this project's
/// 2-vCPU machine as the LSTM(256) batch-1 shared step taking 64 µs for hundreds of milliseconds at a time instead of
/// 12–16 µs. ONNX Runtime pins its intra-op threads the same way.
/// </summary>
internal static partial class ThreadPinning
{
    // cpu_set_t of glibc: 1024 bits.
    private const int SetBytes = 128;

    /// <summary>The processors this process may run on, in order (empty when unknown).</summary>
    public static int[] AllowedProcessors()
    {
        if (!OperatingSystem.IsLinux())
            return [];
        Span<byte> set = stackalloc byte[SetBytes];
        try
        {
            if (GetAffinity(0, SetBytes, ref MemoryMarshal.GetReference(set)) != 0)
                return [];
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return [];
        }
        var allowed = new List<int>();
        for (int cpu = 0; cpu < SetBytes * 8; cpu++)
            if ((set[cpu / 8] & (1 << (cpu % 8))) != 0)
                allowed.Add(cpu);
        return [.. allowed];
    }

    /// <summary>Pins the calling thread to <paramref name="processor"/>; false when the system refused or cannot.</summary>
    public static bool PinCurrentThread(int processor)
    {
        if (!OperatingSystem.IsLinux() || processor is < 0 or >= SetBytes * 8)
            return false;
        Span<byte> set = stackalloc byte[SetBytes];
        set[processor / 8] = (byte)(1 << (processor % 8));
        try
        {
            return SetAffinity(0, SetBytes, ref MemoryMarshal.GetReference(set)) == 0;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    [LibraryImport("libc", EntryPoint = "sched_getaffinity")]
    private static partial int GetAffinity(int pid, nint size, ref byte set);

    [LibraryImport("libc", EntryPoint = "sched_setaffinity")]
    private static partial int SetAffinity(int pid, nint size, ref byte set);
}
