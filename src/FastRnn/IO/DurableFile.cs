using System.Diagnostics;
using System.Runtime.InteropServices;

namespace FastRnn;

/// <summary>Writes a file so that it is either all there under its name or not changed at all: to a temporary file
/// beside it (a name no other writer uses), flushed to the disk, renamed over the target, and the directory flushed so
/// the rename itself survives a power loss (Linux and macOS; elsewhere the rename is as durable as the file system
/// makes it). A write that fails removes its temporary file and leaves the target as it was. A process killed between
/// the write and the rename leaves its temporary file behind: readers never open it (they open the target by name), and
/// the next write of the same target removes every such file whose writing process is gone.</summary>
internal static partial class DurableFile
{
    public static void Write(string path, Action<Stream> write)
    {
        string full = Path.GetFullPath(path);
        RemoveStaleTemporaries(full);
        string temporary = $"{full}{TemporaryInfix}{Environment.ProcessId}-{Guid.NewGuid():N}";
        try
        {
            using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                write(file);
                file.Flush(flushToDisk: true);
            }
            File.Move(temporary, full, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
        FlushDirectory(Path.GetDirectoryName(full)!);
    }

    /// <summary>What a temporary file's name adds to its target's: then the writer's process id, a dash and a GUID.</summary>
    internal const string TemporaryInfix = ".tmp-";

    /// <summary>Deletes the temporary files of <paramref name="full"/> left by processes that no longer run (killed
    /// mid-save); those of this process and of running ones may be writes in progress and stay.</summary>
    private static void RemoveStaleTemporaries(string full)
    {
        string directory = Path.GetDirectoryName(full)!, prefix = Path.GetFileName(full) + TemporaryInfix;
        if (!Directory.Exists(directory))
            return;
        foreach (var file in Directory.EnumerateFiles(directory, prefix + "*"))
        {
            string rest = Path.GetFileName(file)[prefix.Length..];
            int dash = rest.IndexOf('-');
            if (dash <= 0 || !int.TryParse(rest.AsSpan(0, dash), out int process) || process == Environment.ProcessId || IsRunning(process))
                continue;
            try
            {
                File.Delete(file);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // another writer removed it first, or it is not ours to remove: it stays ignored
            }
        }
    }

    private static bool IsRunning(int process)
    {
        try
        {
            using var running = Process.GetProcessById(process);
            return !running.HasExited;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>fsync on the directory, where the rename is recorded (POSIX); nothing where it cannot be opened.</summary>
    private static void FlushDirectory(string directory)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
            return;
        try
        {
            int descriptor = Open(directory, 0 /* O_RDONLY */);
            if (descriptor < 0)
                return;
            try
            {
                if (Sync(descriptor) != 0)
                    throw new IOException($"Could not flush directory '{directory}' to disk (errno {Marshal.GetLastPInvokeError()}).");
            }
            finally
            {
                _ = Close(descriptor);
            }
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
        }
    }

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Sync(int descriptor);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int descriptor);
}
