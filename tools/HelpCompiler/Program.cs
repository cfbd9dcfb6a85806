using System;
using System.IO;

namespace BackupTools.HelpCompiler
{
    /// <summary>Command line: <c>HelpCompiler &lt;sourceDir&gt; &lt;outputDir&gt;</c>.</summary>
    public static class Program
    {
        public static int Main(string[] args)
        {
            if (args.Length != 2)
            {
                Console.Error.WriteLine("Usage: HelpCompiler <sourceDir> <outputDir>");
                Console.Error.WriteLine("  Reads <sourceDir>/*-*.md, writes <outputDir>/BackupTools.dll-Help.xml and copies about_*.help.txt.");
                return 2;
            }
            try
            {
                var result = HelpConverter.Compile(args[0], args[1]);
                Console.WriteLine($"HelpCompiler: {result.Commands.Count} commands -> {result.MamlPath}; {result.AboutTopics.Count} about topic(s) copied.");
                return 0;
            }
            catch (HelpFormatException ex)
            {
                Console.Error.WriteLine($"HelpCompiler: error: {ex.Message}");
                return 1;
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"HelpCompiler: error: {ex.Message}");
                return 1;
            }
        }
    }
}
