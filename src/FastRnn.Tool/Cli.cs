using System.CommandLine;
using System.CommandLine.Invocation;

namespace FastRnn.Tool;

/// <summary>The <c>fastrnn</c> command line (<see cref="ToolCommands"/> defines it). <c>fastrnn train</c> with no other
/// arguments learns the embedded Reber grammar (a classic long-range-dependency task it generates itself) and reports
/// next-symbol accuracy on held-out strings; <c>fastrnn --help</c> and <c>fastrnn SUBCOMMAND --help</c> describe every
/// subcommand and option.</summary>
public static class Cli
{
    /// <summary>Runs the command line <paramref name="args"/>, writing results and help to <paramref name="output"/> and
    /// errors to <paramref name="error"/>. Returns the exit code: 0 when done, 1 when a task ran but missed its target,
    /// 2 for a usage error (an unknown subcommand or option, a bad value, a bad file: nothing is trained or written).</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        if (args is ["help"])
            args = ["--help"];
        var root = ToolCommands.Build(output, error);
        var configuration = new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false };
        if (args.Length == 0)
        {
            root.Parse(["--help"]).Invoke(configuration);
            return 2;
        }
        // No response files: an argument that starts with @ (a --prime, say) is taken as it is.
        var result = root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
        if (result.Errors.Count == 0)
            return result.Invoke(configuration);
        if (result.Action is ParseErrorAction action)
            action.ShowHelp = false; // the errors, and for a misspelled name the closest ones, without pages of help
        result.Invoke(new InvocationConfiguration { Output = error, Error = error }); // suggestions too: all of it on the error writer
        string command = result.CommandResult.Command == root ? "" : result.CommandResult.Command.Name + " ";
        error.WriteLine($"See 'fastrnn {command}--help'.");
        return 2;
    }
}
