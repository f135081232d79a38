using System.Runtime.InteropServices;

namespace FastRnn;

/// <summary>Writes a file so that it is either all there under its name or not changed at all: to a temporary file
/// beside it (a name no other writer uses), flushed to the disk, renamed over the target, and the directory flushed so
/// the rename itself survives a power loss (Linux and macOS; elsewhere the rename is as durable as the file system
/// makes it). A write that fails removes its temporary file and leaves the target as it was.</summary>
internal static partial class DurableFile
{
    public static void Write(string path, Action<Stream> write)
    {
        string full = Path.GetFullPath(path);
        string temporary = $"{full}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";
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
