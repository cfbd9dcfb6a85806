#Requires -Version 7.4
<#
.SYNOPSIS
    Makes a precompiled copy of the running pwsh for bench/Startup.ps1: the PowerShell .NET tool (dotnet tool restore;
    dotnet pwsh) ships its engine as IL, JIT-compiled as it runs, where pwsh's releases ship it compiled ahead
    (ReadyToRun). Start-up figures taken in the tool's pwsh show the engine's JIT, not the module's cost.
.DESCRIPTION
    Copies $PSHOME to -OutputPath and compiles its assemblies there ahead of time with crossgen2 for this platform and
    runtime, as pwsh's release builds are (they publish ReadyToRun, dependencies included): the engine's own
    (System.Management.Automation, the console host, the Utility, Management and Security commands, the SDK,
    Newtonsoft.Json) must compile; the others are compiled where crossgen2 takes them (Microsoft.ApplicationInsights,
    whose telemetry thread JIT-compiled some 150 methods during a first call in an engine-only copy, competing with it
    for the CPU), and left as shipped otherwise. crossgen2 comes from the NuGet package folder,
    where `dotnet publish src/BackupTools -c Release` restores it (the package compiles the module's core the same way).
    The copy is for measuring, not for use: it is not signed, and it keeps the tool's other files as they are.
.EXAMPLE
    dotnet tool restore
    dotnet pwsh ./bench/New-PrecompiledPwsh.ps1
    dotnet out/pwsh-precompiled/pwsh.dll ./bench/Startup.ps1 -SimulatorUri http://127.0.0.1:5099/ -Runs 15
.OUTPUTS
    The copy's pwsh.dll, to run with dotnet (the tool's pwsh executable is built for one platform only).
#>
[CmdletBinding()]
param(
    [string] $OutputPath = (Join-Path $PSScriptRoot '../out/pwsh-precompiled')
)
$ErrorActionPreference = 'Stop'
$arch = [System.Runtime.InteropServices.RuntimeInformation]::OSArchitecture.ToString().ToLowerInvariant()
$os = if ($IsWindows) { 'win' } elseif ($IsMacOS) { 'osx' } else { 'linux' }
$rid = "$os-$arch"
$packages = if ($env:NUGET_PACKAGES) { $env:NUGET_PACKAGES } else { Join-Path ([Environment]::GetFolderPath('UserProfile')) '.nuget/packages' }
$runtime = [System.Runtime.InteropServices.RuntimeEnvironment]::GetRuntimeDirectory()
$crossgenExe = if ($IsWindows) { 'crossgen2.exe' } else { 'crossgen2' }
# The crossgen2 of this runtime's version if restored, else the newest restored of this major version.
$crossgen = Get-ChildItem (Join-Path $packages "microsoft.netcore.app.crossgen2.$rid") -Directory -ErrorAction Ignore |
    Where-Object { $_.Name -like "$([Environment]::Version.Major).*" } |
    Sort-Object { $_.Name -eq [Environment]::Version.ToString() }, { [version]($_.Name -replace '-.*$', '') } -Descending |
    ForEach-Object { Join-Path $_.FullName "tools/$crossgenExe" } | Where-Object { Test-Path -LiteralPath $_ } | Select-Object -First 1
if (-not $crossgen) {
    throw "No crossgen2 for $rid and .NET $([Environment]::Version.Major) under ${packages}: run 'dotnet publish src/BackupTools -c Release' first (it restores crossgen2 to compile the module's core)."
}
$OutputPath = [IO.Path]::GetFullPath($OutputPath)
if ([IO.Path]::GetFullPath($PSHOME).TrimEnd('/', '\') -eq $OutputPath.TrimEnd('/', '\')) { throw "Run this script in the pwsh to copy, not in the copy ($OutputPath)." }
if (Test-Path -LiteralPath $OutputPath) { Remove-Item -LiteralPath $OutputPath -Recurse -Force }
Copy-Item -LiteralPath $PSHOME -Destination $OutputPath -Recurse
$required = 'System.Management.Automation', 'Microsoft.PowerShell.ConsoleHost', 'pwsh', 'Microsoft.PowerShell.Commands.Utility',
    'Microsoft.PowerShell.Commands.Management', 'Microsoft.PowerShell.Security', 'Microsoft.PowerShell.SDK', 'Newtonsoft.Json'
foreach ($name in $required) {
    if (-not (Test-Path -LiteralPath (Join-Path $PSHOME "$name.dll"))) { Write-Warning "$name.dll is not in $PSHOME; left out." }
}
foreach ($source in Get-ChildItem -LiteralPath $PSHOME -Filter '*.dll' -File) {
    $name = $source.BaseName
    # References as -r:<pattern>, one argument each: crossgen2 expands the pattern itself.
    $arguments = @($source.FullName, '-o', (Join-Path $OutputPath "$name.dll"), "-r:$(Join-Path $PSHOME '*.dll')", "-r:$(Join-Path $runtime '*.dll')",
        '--targetos', $os, '--targetarch', $arch, '-O')
    $log = & $crossgen @arguments 2>&1
    if ($LASTEXITCODE -eq 0) { Write-Verbose "$name.dll compiled ahead for $rid"; continue }
    # (crossgen2 may have left a partial output: the copy keeps the shipped file then)
    Copy-Item -LiteralPath $source.FullName -Destination (Join-Path $OutputPath "$name.dll") -Force
    if ($required -contains $name) { throw "crossgen2 of $name.dll failed ($LASTEXITCODE):$([Environment]::NewLine)$($log -join [Environment]::NewLine)" }
    Write-Verbose "$name.dll left as shipped (crossgen2: $(@($log)[0]))"
}
$entry = Join-Path $OutputPath 'pwsh.dll'
if (-not (Test-Path -LiteralPath $entry)) { throw "No pwsh.dll in ${PSHOME}: run this script in the PowerShell .NET tool (dotnet pwsh)." }
$entry
