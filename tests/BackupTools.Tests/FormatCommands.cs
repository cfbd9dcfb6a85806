using System;
using System.Management.Automation;
using System.Reflection;
using Microsoft.PowerShell.Commands.Internal.Format;

namespace BackupTools.Tests
{
    /// <summary>
    /// Format-Table and Format-List for the hosted engine, which lacks them (they live in Microsoft.PowerShell.Utility,
    /// not in the System.Management.Automation package): thin subclasses of the engine's public front-end bases whose
    /// implementation is the engine's own shape command, as Utility's FormatTableCommand and FormatListCommand are. The
    /// module's views are then rendered by the real formatter (approach of the third review's probe).
    /// </summary>
    internal static class FormatCommands
    {
        public static void Use(FrontEndCommandBase command, string shape)
        {
            var engine = typeof(PSObject).Assembly;
            var shapeType = engine.GetType("Microsoft.PowerShell.Commands.Internal.Format.FormatShape", throwOnError: true);
            var inner = engine.GetType("Microsoft.PowerShell.Commands.Internal.Format.InnerFormatShapeCommand", throwOnError: true);
            var implementation = Activator.CreateInstance(inner, BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public, null,
                new[] { Enum.Parse(shapeType, shape) }, null);
            typeof(FrontEndCommandBase).GetField("implementation", BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public)
                .SetValue(command, implementation);
        }
    }

    [Cmdlet(VerbsCommon.Format, "Table")]
    public sealed class FormatTableStandIn : OuterFormatTableBase
    {
        public FormatTableStandIn() => FormatCommands.Use(this, "Table");
    }

    [Cmdlet(VerbsCommon.Format, "List")]
    public sealed class FormatListStandIn : OuterFormatTableAndListBase
    {
        public FormatListStandIn() => FormatCommands.Use(this, "List");
    }
}
