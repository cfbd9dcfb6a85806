#Requires -Version 7.4
<#
.SYNOPSIS
    Start-up cost of the packaged module, each sample in a fresh pwsh: Import-Module, and the first cmdlet calls
    (Connect-BackupService, then New-InstanceBackup | Get-BackupJob on DDS against the simulator), against the same two
    HTTP requests made with a bare HttpClient in a fresh pwsh. The same measures as bench/BackupTools.StartupHost, which
    hosts the PowerShell 7.6 engine where pwsh is not installed.
.PARAMETER SimulatorUri
    The address of a BackupTools simulator that is already listening; the script does not start one.
.EXAMPLE
    # In a second terminal, from the repository root, start the simulator and leave it running (jobs found from
    # their create on, so that the module and the bare client both read a found job: the script also sets this):
    dotnet run --project src/BackupTools.Simulator -- --port 5099 --not-found-seconds 0
    # Then, once it prints 'BackupTools simulator listening on http://127.0.0.1:5099/':
    ./build.ps1 -Task Package; pwsh ./bench/Startup.ps1 -SimulatorUri http://127.0.0.1:5099/
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
`$w.Restart()
`$null = Connect-BackupService -Provider DDS -Endpoint '${SimulatorUri}dds/' -ProjectId '$project' -AccessToken `$t
`$null = New-InstanceBackup -InstanceId '$instance' -Name ('cold-' + [guid]::NewGuid().ToString('N').Substring(0, 8)) | Get-BackupJob
`$first = `$w.Elapsed.TotalMilliseconds
`$w.Restart()
`$null = New-InstanceBackup -InstanceId '$instance' -Name ('warm-' + [guid]::NewGuid().ToString('N').Substring(0, 8)) | Get-BackupJob
`$warm = `$w.Elapsed.TotalMilliseconds
[string]::Join(' ', [string[]]@(`$import, `$first, `$warm).ForEach({ `$_.ToString([cultureinfo]::InvariantCulture) }))
"@
# The same create and status read with a bare HttpClient, no module: the runtime's and pwsh's own first-use cost.
$raw = @"
`$ErrorActionPreference = 'Stop'
`$w = [System.Diagnostics.Stopwatch]::StartNew()
`$http = [System.Net.Http.HttpClient]::new()
`$post = [System.Net.Http.HttpRequestMessage]::new([System.Net.Http.HttpMethod]::Post, '${SimulatorUri}dds/v3/$project/backups')
`$post.Content = [System.Net.Http.StringContent]::new('{"backup":{"instance_id":"$instance","name":"raw-' + [guid]::NewGuid().ToString('N').Substring(0, 8) + '"}}', [System.Text.Encoding]::UTF8, 'application/json')
`$null = `$post.Headers.TryAddWithoutValidation('X-Auth-Token', 'sim-token')
`$created = `$http.SendAsync(`$post).GetAwaiter().GetResult().EnsureSuccessStatusCode()
`$job = [System.Text.Json.JsonDocument]::Parse(`$created.Content.ReadAsStringAsync().GetAwaiter().GetResult()).RootElement.GetProperty('job_id').GetString()
`$get = [System.Net.Http.HttpRequestMessage]::new([System.Net.Http.HttpMethod]::Get, '${SimulatorUri}dds/v3/$project/jobs?id=' + `$job)
`$null = `$get.Headers.TryAddWithoutValidation('X-Auth-Token', 'sim-token')
`$null = `$http.SendAsync(`$get).GetAwaiter().GetResult().EnsureSuccessStatusCode().Content.ReadAsStringAsync().GetAwaiter().GetResult()
`$w.Elapsed.TotalMilliseconds.ToString([cultureinfo]::InvariantCulture)
"@
# This very pwsh; installed as a .NET tool (dotnet tool install PowerShell) this process is dotnet running pwsh.dll,
# and the pwsh next to the engine is used.
$pwsh = (Get-Process -Id $PID).Path
$pwshName = if ($IsWindows) { 'pwsh.exe' } else { 'pwsh' }
if ((Split-Path -Leaf $pwsh) -ne $pwshName) { $pwsh = Join-Path $PSHOME $pwshName }
$samples = foreach ($i in 1..$Runs) {
    $line = & $pwsh -NoProfile -NonInteractive -Command $child
    if ($LASTEXITCODE -ne 0) { throw "Run ${i}: the module child failed with exit code $LASTEXITCODE" }
    $import, $first, $warm = ($line -split ' ') | ForEach-Object { [double]::Parse($_, [cultureinfo]::InvariantCulture) }
    $rawLine = & $pwsh -NoProfile -NonInteractive -Command $raw
    if ($LASTEXITCODE -ne 0) { throw "Run ${i}: the HttpClient child failed with exit code $LASTEXITCODE" }
    $bare = [double]::Parse($rawLine, [cultureinfo]::InvariantCulture)
    [pscustomobject]@{ Import = $import; First = $first; Warm = $warm; Raw = $bare }
}
$median = { param($values) $s = @($values | Sort-Object); if ($s.Count % 2) { $s[($s.Count - 1) / 2] } else { ($s[$s.Count / 2 - 1] + $s[$s.Count / 2]) / 2 } }
[pscustomobject]@{
    Runs                = $Runs
    ImportModuleMs      = & $median $samples.Import
    FirstCallMs         = & $median $samples.First
    RawHttpClientMs     = & $median $samples.Raw
    FirstCallOverheadMs = (& $median $samples.First) - (& $median $samples.Raw)
    WarmCallMs          = & $median $samples.Warm
}
