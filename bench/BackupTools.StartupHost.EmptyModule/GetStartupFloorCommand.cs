using System.Management.Automation;

namespace BackupTools.StartupHost.EmptyModule
{
    /// <summary>Writes one object: the engine's own cost of a first binary cmdlet call.</summary>
    [Cmdlet(VerbsCommon.Get, "StartupFloor")]
    [OutputType(typeof(int))]
    public sealed class GetStartupFloorCommand : PSCmdlet
    {
        /// <summary>Writes 1.</summary>
        protected override void ProcessRecord() => WriteObject(1);
    }
}
