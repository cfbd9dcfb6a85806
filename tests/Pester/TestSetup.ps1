# Shared by the Pester files: finds the packaged module and a running simulator (build.ps1 -Task Test provides both
# through environment variables; run alone, this builds the package and starts the simulator itself).
$script:RepoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path

function Get-TestModulePath {
    if ($env:BACKUPTOOLS_MODULE) { return $env:BACKUPTOOLS_MODULE }
    $version = ([xml](Get-Content -Raw (Join-Path $script:RepoRoot 'Directory.Build.props'))).Project.PropertyGroup.ModuleVersion |
        Where-Object { $_ } | Select-Object -First 1
    # Published once per session (an up-to-date build takes seconds), into a folder of its own under the temp folder: a
    # package left from an earlier build would test old code, and out/BackupTools/<version>/ may be imported in this
    # very session (on Windows its DLL is then locked, and publishing there, which empties the folder first, fails).
    # Not again in the same session, for the same reason: start a new session to test changed code.
    if (-not $global:BackupToolsTestPackagePath) {
        # Packages of earlier sessions: on Windows the exiting session still holds its DLLs, so its own clean-up (below)
        # fails there and the folder stays. Removed here once a day old (a session still using one is not that old).
        # Renamed first: on Windows that fails while a session holds a DLL inside, and the folder is then left whole
        # (Remove-Item alone deleted what it could and left a broken package); a renamed one is removed next time if
        # this time failed.
        Get-ChildItem -LiteralPath ([System.IO.Path]::GetTempPath()) -Directory -Filter 'BackupTools-pester-*' -ErrorAction SilentlyContinue |
            Where-Object { $_.LastWriteTime -lt (Get-Date).AddDays(-1) } |
            ForEach-Object {
                $target = $_.FullName
                if ($_.Name -notlike '*.removing') {
                    try { Rename-Item -LiteralPath $_.FullName -NewName "$($_.Name).removing" -ErrorAction Stop } catch { return }
                    $target = "$($_.FullName).removing"
                }
                Remove-Item -LiteralPath $target -Recurse -Force -ErrorAction SilentlyContinue
            }
        $path = Join-Path ([System.IO.Path]::GetTempPath()) "BackupTools-pester-$([guid]::NewGuid().ToString('N').Substring(0, 8))/BackupTools/$version"
        # (forward slashes, and one at the end: MSBuild takes them everywhere, and a quoted argument ending in \ would
        # escape its closing quote on Windows)
        $log = & dotnet publish (Join-Path $script:RepoRoot 'src/BackupTools/BackupTools.csproj') -c Release --nologo "-p:ModulePackageDir=$($path.Replace('\', '/'))/" 2>&1
        if ($LASTEXITCODE -ne 0) { throw "dotnet publish failed ($LASTEXITCODE):$([Environment]::NewLine)$($log -join [Environment]::NewLine)" }
        $global:BackupToolsTestPackagePath = $path
        # Removed when the session ends where the files can be removed then (not on Windows: see above).
        $root = Split-Path (Split-Path $path)
        $null = Register-EngineEvent -SourceIdentifier PowerShell.Exiting -Action { Remove-Item -LiteralPath $Event.MessageData -Recurse -Force -ErrorAction SilentlyContinue } -MessageData $root
    }
    $path = $global:BackupToolsTestPackagePath
    if (-not (Test-Path (Join-Path $path 'BackupTools.psd1'))) { throw "No package at $path (dotnet publish src/BackupTools -c Release lays it out)." }
    $path
}

# The PowerShell to run a child case in: this one's own executable. Not the host process's path: in the Windows
# PowerShell ISE that is powershell_ise.exe, which takes no -Command (the child would open an ISE window and run nothing).
# Run as & (Get-TestPowerShell) @(Get-TestPowerShellPrefix) <arguments>.
function Get-TestPowerShell {
    if ($PSVersionTable.PSEdition -eq 'Desktop') { return (Join-Path $PSHOME 'powershell.exe') }
    $path = (Get-Process -Id $PID).Path
    $exe = if ($IsWindows) { 'pwsh.exe' } else { 'pwsh' }
    $leaf = Split-Path -Leaf $path
    # PowerShell as a .NET tool (dotnet pwsh): dotnet runs pwsh.dll (Get-TestPowerShellPrefix); the tool's own pwsh
    # executable is built for one platform only.
    if ($leaf -eq 'dotnet' -or $leaf -eq 'dotnet.exe') { if (Test-Path (Join-Path $PSHOME 'pwsh.dll')) { return $path } }
    # A host embedding PowerShell 7 (an editor's console) is not pwsh itself: the pwsh next to the engine is used then.
    if ($leaf -ne $exe) { $path = Join-Path $PSHOME $exe }
    $path
}

# The arguments that come before a child's own: pwsh.dll where Get-TestPowerShell is dotnet, else none.
function Get-TestPowerShellPrefix {
    if ($PSVersionTable.PSEdition -eq 'Desktop') { return @() }
    $leaf = Split-Path -Leaf (Get-Process -Id $PID).Path
    if (($leaf -eq 'dotnet' -or $leaf -eq 'dotnet.exe') -and (Test-Path (Join-Path $PSHOME 'pwsh.dll'))) { return @(Join-Path $PSHOME 'pwsh.dll') }
    @()
}

function Start-TestSimulator {
    if ($env:BACKUPTOOLS_SIMULATOR) { return [pscustomobject]@{ BaseUri = $env:BACKUPTOOLS_SIMULATOR; Process = $null } }
    $project = Join-Path $script:RepoRoot 'src/BackupTools.Simulator/BackupTools.Simulator.csproj'
    # Built first, so that a first build (restore included) is not counted against the wait for the simulator's line.
    $log = & dotnet build $project -c Release --nologo 2>&1
    if ($LASTEXITCODE -ne 0) { throw "dotnet build of the simulator failed ($LASTEXITCODE):$([Environment]::NewLine)$($log -join [Environment]::NewLine)" }
    # Arguments as one string: the constructor taking a list does not exist on Windows PowerShell 5.1's .NET Framework.
    $psi = [System.Diagnostics.ProcessStartInfo]::new('dotnet')
    $psi.Arguments = "run -c Release --no-build --project `"$project`" -- --port 0 --job-seconds 1"
    $psi.RedirectStandardOutput = $true
    $psi.UseShellExecute = $false
    $process = [System.Diagnostics.Process]::Start($psi)
    # dotnet may print build lines first: read until the simulator's own first line (or give up after 200 lines, or
    # after 60 s without a line: a simulator that hangs before printing must not hang the test run).
    $line = $null
    for ($i = 0; $i -lt 200; $i++) {
        $pending = $process.StandardOutput.ReadLineAsync()
        if (-not $pending.Wait([TimeSpan]::FromSeconds(60))) { $line = '(nothing printed for 60 s)'; break }
        $line = $pending.Result
        if ($null -eq $line -or $line -match 'listening on (http://127\.0\.0\.1:\d+/)') { break }
    }
    if ($line -notmatch 'listening on (http://127\.0\.0\.1:\d+/)') { Stop-TestSimulator ([pscustomobject]@{ Process = $process }); throw "Simulator did not start: $line" }
    [pscustomobject]@{ BaseUri = $Matches[1]; Process = $process }
}

function Stop-TestSimulator($Simulator) {
    if ($Simulator -and $Simulator.Process -and -not $Simulator.Process.HasExited) {
        # Kill(bool) (the whole tree: dotnet run and the simulator) exists on PowerShell 7 only. Kill() would stop
        # dotnet run alone and leave the simulator running: on Windows PowerShell, taskkill /T stops the tree.
        if ($PSVersionTable.PSEdition -eq 'Core') { $Simulator.Process.Kill($true) } else { & taskkill.exe /PID $Simulator.Process.Id /T /F | Out-Null }
    }
}

function Get-SimulatorCounters([string] $BaseUri) {
    Invoke-RestMethod -Uri "${BaseUri}_sim/counters"
}

function Reset-Simulator([string] $BaseUri) {
    Invoke-RestMethod -Method Post -Uri "${BaseUri}_sim/reset" | Out-Null
}

# Arms one fault (a FaultRule as the simulator's README describes it: provider, method, pathContains, statusCode,
# retryAfter, times, kind, delayMs, ...). BeforeEach's reset clears it.
function Add-SimulatorFault([string] $BaseUri, [hashtable] $Rule) {
    Invoke-RestMethod -Method Post -Uri "${BaseUri}_sim/faults" -ContentType 'application/json' -Body ($Rule | ConvertTo-Json -Compress) | Out-Null
}

# Sets simulator options and gives back the values they had, for a finally block to restore (a reset keeps options, and
# under build.ps1 the other Pester files share the simulator).
function Set-SimulatorOption([string] $BaseUri, [hashtable] $Options) {
    $current = Invoke-RestMethod -Uri "${BaseUri}_sim/options"
    $previous = @{}
    foreach ($name in $Options.Keys) { $previous[$name] = $current.$name }
    Invoke-RestMethod -Method Post -Uri "${BaseUri}_sim/options" -ContentType 'application/json' -Body ($Options | ConvertTo-Json -Compress) | Out-Null
    $previous
}

# The requests the simulator answered since its last reset (control routes excluded), oldest first, one object each.
# Piped: Invoke-RestMethod writes a JSON array as one object.
function Get-SimulatorRequest([string] $BaseUri) {
    Invoke-RestMethod -Uri "${BaseUri}_sim/requests?last=10000" | ForEach-Object { $_ }
}

# Runs $Script with the pipeline thread's culture set to $Name (the session's culture the module reads), and sets it
# back. Inside one script block: Windows PowerShell 5.1 resets the culture before each pipeline the host runs.
function Invoke-InCulture([string] $Name, [scriptblock] $Script) {
    $thread = [System.Threading.Thread]::CurrentThread
    $culture = $thread.CurrentCulture
    try {
        $thread.CurrentCulture = [System.Globalization.CultureInfo]::GetCultureInfo($Name)
        & $Script
    }
    finally { $thread.CurrentCulture = $culture }
}

# A TCP port free on the loopback address just now.
function Get-FreeTcpPort {
    $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
    $listener.Start()
    try { $listener.LocalEndpoint.Port } finally { $listener.Stop() }
}

# What is wrong with example code a user would copy: parse errors, and for each call of one of -Cmdlets, what
# PowerShell's static parameter binder finds (an unknown or ambiguous parameter, a missing argument, parameters of
# two sets). Nothing when it is fine. The commands are bound as written, not run.
function Test-ExampleCode([string] $Code, [string[]] $Cmdlets) {
    $errors = $null
    $tokens = $null
    $ast = [System.Management.Automation.Language.Parser]::ParseInput($Code, [ref]$tokens, [ref]$errors)
    foreach ($parseError in @($errors)) { "parse error: $($parseError.Message) at '$($parseError.Extent.Text)'" }
    $commands = $ast.FindAll({ param($node) $node -is [System.Management.Automation.Language.CommandAst] }, $true)
    foreach ($command in $commands) {
        if ($Cmdlets -notcontains $command.GetCommandName()) { continue }
        $bound = [System.Management.Automation.Language.StaticParameterBinder]::BindCommand($command, $true)
        foreach ($key in @($bound.BindingExceptions.Keys)) {
            "$($command.GetCommandName()) ($key): $($bound.BindingExceptions[$key].BindingException.ErrorId) in '$($command.Extent.Text)'"
        }
    }
}
