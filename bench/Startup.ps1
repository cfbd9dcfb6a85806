#Requires -Version 7.4
<#
.SYNOPSIS
    Start-up cost of the packaged module, each sample in a fresh pwsh: Import-Module, and the first cmdlet calls
    (Connect-BackupService, then New-InstanceBackup | Get-BackupJob on DDS against the simulator), against the same two
    HTTP requests made with a bare HttpClient in a fresh pwsh, and against what the engine itself costs: Import-Module
    of the smallest binary module (one cmdlet, a manifest; bench/BackupTools.StartupHost.EmptyModule) with its first
    call, and of an empty manifest. The same measures as bench/BackupTools.StartupHost, which hosts the PowerShell 7.6
    engine in a .NET process.
.DESCRIPTION
    The bare requests are made by compiled code (BareRequests in the smallest module's assembly) and timed there, as
    the hosted measure's bare client is: a script making them would also pay for PowerShell's own first .NET method
    calls, which the module's cmdlets do not make, and the module would look faster than no module at all.
    Run it in the pwsh you want measured. The PowerShell .NET tool (dotnet tool restore; dotnet pwsh) ships its engine
    as IL, JIT-compiled as it runs, where pwsh's releases ship it precompiled: bench/New-PrecompiledPwsh.ps1 makes a
    precompiled copy of it for this measure.
.PARAMETER SimulatorUri
    The address of a BackupTools simulator that is already listening; the script does not start one.
.EXAMPLE
    # In a second terminal, from the repository root, start the simulator and leave it running (jobs found from
    # their create on, so that the module and the bare client both read a found job: the script also sets this):
    dotnet run --project src/BackupTools.Simulator -- --port 5099 --not-found-seconds 0
    # Then, once it prints 'BackupTools simulator listening on http://127.0.0.1:5099/':
    ./build.ps1 -Task Package; pwsh ./bench/Startup.ps1 -SimulatorUri http://127.0.0.1:5099/
.EXAMPLE
    # Without a pwsh release: the .NET tool, precompiled once into out/pwsh-precompiled, then measured there.
    dotnet tool restore
    dotnet pwsh ./bench/New-PrecompiledPwsh.ps1
    dotnet out/pwsh-precompiled/pwsh.dll ./bench/Startup.ps1 -SimulatorUri http://127.0.0.1:5099/ -Runs 15
#>
param(
    [Parameter(Mandatory)] [string] $SimulatorUri,
    [string] $ModulePath = (Get-ChildItem (Join-Path $PSScriptRoot '../out/BackupTools') -Directory -ErrorAction Ignore | Sort-Object { [version]$_.Name } | Select-Object -Last 1).FullName,
    [ValidateRange(1, 1000)]
    [int] $Runs = 7
)
$ErrorActionPreference = 'Stop'
# With or without its trailing slash: the service paths are appended to it.
$SimulatorUri = $SimulatorUri.TrimEnd('/') + '/'
if (-not $ModulePath -or -not (Test-Path -LiteralPath (Join-Path $ModulePath 'BackupTools.psd1'))) {
    throw "No package at '$ModulePath': run ./build.ps1 -Task Package first, or pass -ModulePath <folder holding BackupTools.psd1>."
}
$manifest = Join-Path $ModulePath 'BackupTools.psd1'
# Started as a program, the simulator answers a new DDS job 'not found' for its first 2 s, as the service does; the
# bare client's status read would then fail and the module's would take another path. Both read a found job here.
$null = Invoke-RestMethod -Method Post -Uri "${SimulatorUri}_sim/options" -ContentType 'application/json' -Body '{"notFoundWindowMs":0}'
$project = '0123456789abcdef0123456789abcdef'
$instance = '0123456789abcdef0123456789abcdefin02'
# Each child stops at its first error (exit code 1), as the hosted measure throws on one: a failed call is quick,
# and its time must not be reported as the module's.
$child = @"
`$ErrorActionPreference = 'Stop'
`$w = [System.Diagnostics.Stopwatch]::StartNew()
Import-Module '$($manifest.Replace("'", "''"))'
`$import = `$w.Elapsed.TotalMilliseconds
`$t = ConvertTo-SecureString 'sim-token' -AsPlainText -Force
# The names are made before the clock starts, as the hosted measure passes its name in: computing one in the script
# is PowerShell's first .NET method calls ([guid], ToString, Substring), which are not the module's.
`$cold = 'cold-' + [guid]::NewGuid().ToString('N').Substring(0, 8)
`$warmName = 'warm-' + [guid]::NewGuid().ToString('N').Substring(0, 8)
`$w.Restart()
`$null = Connect-BackupService -Provider DDS -Endpoint '${SimulatorUri}dds/' -ProjectId '$project' -AccessToken `$t
`$null = New-InstanceBackup -InstanceId '$instance' -Name `$cold | Get-BackupJob
`$first = `$w.Elapsed.TotalMilliseconds
`$w.Restart()
`$null = New-InstanceBackup -InstanceId '$instance' -Name `$warmName | Get-BackupJob
`$warm = `$w.Elapsed.TotalMilliseconds
[string]::Join(' ', [string[]]@(`$import, `$first, `$warm).ForEach({ `$_.ToString([cultureinfo]::InvariantCulture) }))
"@
# The engine's own floor, then the same create and status read with a bare HttpClient (compiled code, timed inside).
$floorProject = Join-Path $PSScriptRoot 'BackupTools.StartupHost.EmptyModule/BackupTools.StartupHost.EmptyModule.csproj'
$floorBuild = & dotnet build $floorProject -c Release --nologo 2>&1
if ($LASTEXITCODE -ne 0) { throw "dotnet build of the smallest module failed:$([Environment]::NewLine)$($floorBuild -join [Environment]::NewLine)" }
$floorDir = Join-Path ([IO.Path]::GetTempPath()) "BackupTools.Startup.$PID"
$null = New-Item -ItemType Directory -Force (Join-Path $floorDir 'Smallest'), (Join-Path $floorDir 'Empty')
Copy-Item (Join-Path $PSScriptRoot 'BackupTools.StartupHost.EmptyModule/bin/Release/netstandard2.0/BackupTools.StartupHost.EmptyModule.dll') (Join-Path $floorDir 'Smallest')
$smallest = Join-Path $floorDir 'Smallest/Smallest.psd1'
Set-Content -LiteralPath $smallest -Value "@{ RootModule = 'BackupTools.StartupHost.EmptyModule.dll'; ModuleVersion = '1.0.0'; GUID = '1b8e2f0a-3c1d-4e5f-9a7b-6c5d4e3f2a1b'; CmdletsToExport = @('Get-StartupFloor'); FunctionsToExport = @(); VariablesToExport = @(); AliasesToExport = @() }"
$empty = Join-Path $floorDir 'Empty/Empty.psd1'
Set-Content -LiteralPath $empty -Value "@{ ModuleVersion = '1.0.0'; GUID = '0b8e2f0a-3c1d-4e5f-9a7b-6c5d4e3f2a1b' }"
$raw = @"
`$ErrorActionPreference = 'Stop'
`$w = [System.Diagnostics.Stopwatch]::StartNew()
Import-Module '$($smallest.Replace("'", "''"))'
`$import = `$w.Elapsed.TotalMilliseconds
`$w.Restart()
`$null = Get-StartupFloor
`$first = `$w.Elapsed.TotalMilliseconds
`$bare = [BackupTools.StartupHost.EmptyModule.BareRequests]::Run('$SimulatorUri', '$project', '$instance')
[string]::Join(' ', [string[]]@(`$import, `$first, `$bare).ForEach({ `$_.ToString([cultureinfo]::InvariantCulture) }))
"@
$emptyChild = @"
`$w = [System.Diagnostics.Stopwatch]::StartNew()
Import-Module '$($empty.Replace("'", "''"))'
`$w.Elapsed.TotalMilliseconds.ToString([cultureinfo]::InvariantCulture)
"@
# The child sessions run in this very pwsh, not whichever one PATH finds first. As a .NET tool (dotnet pwsh) this
# process is dotnet running pwsh.dll, and so are the children (the tool's own pwsh executable is built for one
# platform only); a host embedding PowerShell uses the pwsh next to its engine.
$pwsh = (Get-Process -Id $PID).Path
$pwshPrefix = @()
$pwshLeaf = Split-Path -Leaf $pwsh
if (($pwshLeaf -eq 'dotnet' -or $pwshLeaf -eq 'dotnet.exe') -and (Test-Path (Join-Path $PSHOME 'pwsh.dll'))) { $pwshPrefix = @(Join-Path $PSHOME 'pwsh.dll') }
elseif ($pwshLeaf -ne $(if ($IsWindows) { 'pwsh.exe' } else { 'pwsh' })) { $pwsh = Join-Path $PSHOME $(if ($IsWindows) { 'pwsh.exe' } else { 'pwsh' }) }
try {
    $samples = foreach ($i in 1..$Runs) {
        $line = & $pwsh @pwshPrefix -NoProfile -NonInteractive -Command $child
        if ($LASTEXITCODE -ne 0) { throw "Run ${i}: the module child failed with exit code $LASTEXITCODE" }
        $import, $first, $warm = ($line -split ' ') | ForEach-Object { [double]::Parse($_, [cultureinfo]::InvariantCulture) }
        $rawLine = & $pwsh @pwshPrefix -NoProfile -NonInteractive -Command $raw
        if ($LASTEXITCODE -ne 0) { throw "Run ${i}: the smallest module's child failed with exit code $LASTEXITCODE" }
        $floorImport, $floorFirst, $bare = ($rawLine -split ' ') | ForEach-Object { [double]::Parse($_, [cultureinfo]::InvariantCulture) }
        $emptyLine = & $pwsh @pwshPrefix -NoProfile -NonInteractive -Command $emptyChild
        if ($LASTEXITCODE -ne 0) { throw "Run ${i}: the empty manifest's child failed with exit code $LASTEXITCODE" }
        [pscustomobject]@{
            Import = $import; First = $first; Warm = $warm; Raw = $bare
            FloorImport = $floorImport; FloorFirst = $floorFirst; EmptyImport = [double]::Parse($emptyLine, [cultureinfo]::InvariantCulture)
        }
    }
}
finally {
    Remove-Item -LiteralPath $floorDir -Recurse -Force -ErrorAction Ignore
}
$median = { param($values) $s = @($values | Sort-Object); if ($s.Count % 2) { $s[($s.Count - 1) / 2] } else { ($s[$s.Count / 2 - 1] + $s[$s.Count / 2]) / 2 } }
[pscustomobject]@{
    Runs                      = $Runs
    PowerShell                = "$($PSVersionTable.PSVersion) ($PSHOME)"
    ImportModuleMs            = & $median $samples.Import
    SmallestModuleImportMs    = & $median $samples.FloorImport
    EmptyManifestImportMs     = & $median $samples.EmptyImport
    FirstCallMs               = & $median $samples.First
    RawHttpClientMs           = & $median $samples.Raw
    FirstCallOverheadMs       = (& $median $samples.First) - (& $median $samples.Raw)
    SmallestModuleFirstCallMs = & $median $samples.FloorFirst
    WarmCallMs                = & $median $samples.Warm
}
