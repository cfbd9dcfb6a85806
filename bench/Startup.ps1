<#
.SYNOPSIS
    Start-up cost of the packaged module, each run in a fresh pwsh: Import-Module, and the client-side overhead of
    the first cmdlet call (first New-InstanceBackup + Get-BackupJob against the simulator, minus the same pair warm).
.EXAMPLE
    ./build.ps1 -Task Package; pwsh ./bench/Startup.ps1 -SimulatorUri http://127.0.0.1:5099/
#>
param(
    [Parameter(Mandatory)] [string] $SimulatorUri,
    [string] $ModulePath = (Get-ChildItem (Join-Path $PSScriptRoot '../out/BackupTools') -Directory | Sort-Object Name | Select-Object -Last 1).FullName,
    [int] $Runs = 7
)
$ErrorActionPreference = 'Stop'
$manifest = Join-Path $ModulePath 'BackupTools.psd1'
$child = @"
`$w = [System.Diagnostics.Stopwatch]::StartNew()
Import-Module '$manifest'
`$import = `$w.Elapsed.TotalMilliseconds
`$t = ConvertTo-SecureString 'sim-token' -AsPlainText -Force
`$null = Connect-BackupService -Provider DDS -Endpoint '${SimulatorUri}dds/' -ProjectId '0123456789abcdef0123456789abcdef' -AccessToken `$t
`$w.Restart()
`$null = New-InstanceBackup -InstanceId '0123456789abcdef0123456789abcdefin02' -Name ('cold-' + [guid]::NewGuid().ToString('N').Substring(0, 8)) | Get-BackupJob
`$first = `$w.Elapsed.TotalMilliseconds
`$w.Restart()
`$null = New-InstanceBackup -InstanceId '0123456789abcdef0123456789abcdefin02' -Name ('warm-' + [guid]::NewGuid().ToString('N').Substring(0, 8)) | Get-BackupJob
`$warm = `$w.Elapsed.TotalMilliseconds
'{0} {1} {2}' -f `$import, `$first, `$warm
"@
$samples = foreach ($i in 1..$Runs) {
    $line = & ((Get-Process -Id $PID).Path) -NoProfile -NonInteractive -Command $child
    $import, $first, $warm = ($line -split ' ') | ForEach-Object { [double]::Parse($_, [cultureinfo]::InvariantCulture) }
    [pscustomobject]@{ Import = $import; First = $first; Warm = $warm; FirstCallOverhead = $first - $warm }
}
$median = { param($values) ($values | Sort-Object)[[int][math]::Floor($values.Count / 2)] }
[pscustomobject]@{
    Runs                   = $Runs
    ImportModuleMs         = & $median $samples.Import
    FirstCallMs            = & $median $samples.First
    WarmCallMs             = & $median $samples.Warm
    FirstCallOverheadMs    = & $median $samples.FirstCallOverhead
}
