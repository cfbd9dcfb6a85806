#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.5.0' }
# The module as a PowerShell user meets it, against the simulator. Pester 5 syntax.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSetup.ps1')
    $script:ModulePath = Get-TestModulePath
    $script:Sim = Start-TestSimulator
    # Connections of an earlier run in this session (the store outlives Remove-Module) would make a default ambiguous.
    Remove-Variable -Name BackupToolsConnectionStore -Scope Global -ErrorAction Ignore
    Import-Module (Join-Path $script:ModulePath 'BackupTools.psd1') -Force
    $script:Token = ConvertTo-SecureString 'sim-token' -AsPlainText -Force
    $script:Project = '0123456789abcdef0123456789abcdef'
    $script:Taurus = '0123456789abcdef0123456789abcdefin07'
    $script:Dds = '0123456789abcdef0123456789abcdefin02'
}

AfterAll {
    Remove-Module BackupTools -ErrorAction SilentlyContinue
    Stop-TestSimulator $script:Sim
}

Describe 'BackupTools' {
    BeforeEach {
        Reset-Simulator $script:Sim.BaseUri
        $null = Connect-BackupService -Provider TaurusDB -Endpoint "$($script:Sim.BaseUri)taurusdb/" -ProjectId $script:Project -AccessToken $script:Token
        $null = Connect-BackupService -Provider DDS -Endpoint "$($script:Sim.BaseUri)dds/" -ProjectId $script:Project -AccessToken $script:Token
    }

    Context 'Import' {
        It 'is imported from the package folder and exports the six cmdlets' {
            $module = Get-Module BackupTools
            $expected = (Resolve-Path $script:ModulePath).Path.TrimEnd('\', '/')
            $module.ModuleBase.TrimEnd('\', '/') | Should -Be $expected
            # The cmdlets are the package's own DLL, not a build output's.
            (Get-Command New-InstanceBackup).ImplementingType.Assembly.Location | Should -Be (Join-Path $expected 'BackupTools.dll')
            @($module.ExportedCmdlets.Keys | Sort-Object) | Should -Be @('Connect-BackupService', 'Get-BackupJob', 'Get-BackupProvider', 'New-DisasterRecoveryBackup', 'New-InstanceBackup', 'Wait-BackupJob')
        }
    }

    Context 'Connect-BackupService' {
        It 'returns a connection that shows no secret' {
            $c = Connect-BackupService -Provider DDS -Endpoint "$($script:Sim.BaseUri)dds/" -ProjectId $script:Project -AccessToken $script:Token
            $c.Provider | Should -Be 'DDS'
            $c.AuthenticationMethod | Should -Be 'AccessToken'
            ($c | ConvertTo-Json -Depth 5) | Should -Not -Match 'sim-token'
            $file = Join-Path $TestDrive 'connection.xml'
            $c | Export-Clixml -Path $file
            Get-Content -Raw $file | Should -Not -Match 'sim-token'
        }

        It 'refuses plain http to a remote host' {
            { Connect-BackupService -Provider DDS -Endpoint 'http://dds.eu-de.otc.t-systems.com' -ProjectId $script:Project -AccessToken $script:Token } |
                Should -Throw -ErrorId 'ConnectionEndpointInvalid,BackupTools.Commands.ConnectBackupServiceCommand'
        }

        It 'maps a region to its documented endpoint and sends nothing' {
            try {
                $c = Connect-BackupService -Provider DDS -Region eu-de -ProjectId $script:Project -AccessToken $script:Token
                $c.Endpoint | Should -Be (Get-BackupProvider DDS).RegionEndpoints['eu-de']
                $c.Endpoint.Host | Should -Be 'dds.eu-de.otc.t-systems.com'
                (Get-SimulatorCounters $script:Sim.BaseUri).totalRequests | Should -Be 0
            }
            finally {
                # A second DDS endpoint in the session leaves -Provider DDS without a default (ConnectionNotFound) in
                # the tests after this one; BeforeEach connects to the simulator again.
                Remove-Variable -Name BackupToolsConnectionStore -Scope Global -ErrorAction Ignore
            }
        }

        It 'refuses a malformed project id and an unknown region, naming them, before sending' {
            { Connect-BackupService -Provider DDS -Endpoint "$($script:Sim.BaseUri)dds/" -ProjectId 'not-a-project' -AccessToken $script:Token -ErrorAction Stop } |
                Should -Throw -ErrorId 'ConnectionParameterInvalid,BackupTools.Commands.ConnectBackupServiceCommand' -ExpectedMessage "*'not-a-project'*"
            { Connect-BackupService -Provider DDS -Region 'mars-1' -ProjectId $script:Project -AccessToken $script:Token -ErrorAction Stop } |
                Should -Throw -ErrorId 'ConnectionEndpointInvalid,BackupTools.Commands.ConnectBackupServiceCommand' -ExpectedMessage "*'mars-1'*eu-de*"
            (Get-SimulatorCounters $script:Sim.BaseUri).totalRequests | Should -Be 0
        }

        It 'sends nothing itself: a token the service refuses fails the first call with the service''s code' {
            $bad = ConvertTo-SecureString 'not-the-sim-token' -AsPlainText -Force
            $c = Connect-BackupService -Provider DDS -Endpoint "$($script:Sim.BaseUri)dds/" -ProjectId 'fedcba9876543210fedcba9876543210' -AccessToken $bad
            (Get-SimulatorCounters $script:Sim.BaseUri).totalRequests | Should -Be 0
            $caught = $null
            try { New-InstanceBackup -Connection $c -InstanceId $script:Dds -Name 'refused-token' -ErrorAction Stop }
            catch { $caught = $_ }
            $caught.FullyQualifiedErrorId | Should -Be 'BackupServiceError,BackupTools.Commands.NewInstanceBackupCommand'
            $caught.CategoryInfo.Category | Should -Be 'AuthenticationError'
            $caught.Exception.ServiceCode | Should -Be 'APIG.1002'
            $caught.Exception.HttpStatus | Should -Be 401
            $caught.Exception.Message | Should -Match 'APIG\.1002: Incorrect token'
            $caught.Exception.Message | Should -Not -Match 'not-the-sim-token'
            $counters = Get-SimulatorCounters $script:Sim.BaseUri
            $counters.totalRequests | Should -Be 1 -Because 'a refused plain token is not sent again'
            $counters.totalCreates | Should -Be 0
        }

        It 'formats a connection as a table without its token' {
            $c = Connect-BackupService -Provider DDS -Endpoint "$($script:Sim.BaseUri)dds/" -ProjectId $script:Project -AccessToken $script:Token
            $text = $c | Format-Table | Out-String -Width 120
            $text | Should -Match 'Provider\s+Endpoint\s+Scope\s+Auth'
            $text | Should -Match ("DDS\s+" + [regex]::Escape("$($script:Sim.BaseUri)dds/") + "\s+$($script:Project)\s+AccessToken")
            # At 80 columns the project id is whole (it was cut to 6 characters behind the method).
            $narrow = $c | Format-Table | Out-String -Width 80
            $narrow | Should -Match ("DDS\s+" + [regex]::Escape("$($script:Sim.BaseUri)dds/") + "\s+$($script:Project)" + '(\s|$)')
            $text | Should -Not -Match 'sim-token'
        }
    }

    Context 'New-InstanceBackup and Wait-BackupJob' {
        It 'backs up instances from a CSV and waits for them' {
            $csv = Join-Path $TestDrive 'instances.csv'
            @(
                [pscustomobject]@{ Provider = 'TaurusDB'; InstanceId = $script:Taurus; Name = 'csv-taurus'; Description = 'from csv' }
                [pscustomobject]@{ Provider = 'DDS'; InstanceId = $script:Dds; Name = 'csv-dds'; Description = 'from csv' }
            ) | Export-Csv -Path $csv -NoTypeInformation
            $out = Join-Path $TestDrive 'results.csv'
            $done = Import-Csv $csv | New-InstanceBackup | Wait-BackupJob -PollingInterval 0.1 -Timeout 60
            $done | Select-Object Provider, BackupName, State | Export-Csv -Path $out -NoTypeInformation
            $rows = Import-Csv $out
            $rows.Count | Should -Be 2
            $rows.State | Should -Be @('Succeeded', 'Succeeded')
            # The whole jobs: no messages are empty cells (not a type name), and the rows wait again as jobs.
            $all = Join-Path $TestDrive 'jobs.csv'
            $done | Export-Csv -Path $all -NoTypeInformation
            $jobRows = @(Import-Csv $all)
            $jobRows.Errors | Should -Be @('', '')
            $jobRows.Warnings | Should -Be @('', '')
            $again = @($jobRows | Wait-BackupJob -PollingInterval 0.1 -Timeout 60)
            $again.Count | Should -Be 2
            $again.State | Should -Be @('Succeeded', 'Succeeded')
        }

        It 'keeps a failed job''s reasons in Export-Csv, and its row read back fails with them' {
            $csv = Join-Path $TestDrive 'failed.csv'
            New-InstanceBackup -Provider TaurusDB -InstanceId $script:Taurus -Name 'fail-csv' |
                Wait-BackupJob -PollingInterval 0.1 -Timeout 60 -ErrorVariable waitErrors -ErrorAction SilentlyContinue |
                Export-Csv -Path $csv -NoTypeInformation
            @($waitErrors).Count | Should -Be 1
            $row = Import-Csv $csv
            $row.State | Should -Be 'Failed'
            # Export-Csv writes each property's ToString(): the messages, not 'BackupTools.BackupJobMessage[]'.
            $row.Errors | Should -Match "^DBS\.200410: Backup 'fail-csv' failed"
            $row.Errors | Should -Be $waitErrors[0].TargetObject.Errors.ToString()
            $row.Warnings | Should -Be ''
            # The row binds to Wait-BackupJob and fails with the same reasons, written as the first time.
            $row | Wait-BackupJob -Timeout 10 -ErrorVariable againErrors -ErrorAction SilentlyContinue | Out-Null
            @($againErrors).Count | Should -Be 1
            $againErrors[0].FullyQualifiedErrorId | Should -Be 'BackupJobFailed,BackupTools.Commands.WaitBackupJobCommand'
            $againErrors[0].Exception.Message | Should -Be $waitErrors[0].Exception.Message
            # JSON and the object itself still see a list of messages.
            $job = $waitErrors[0].TargetObject
            $json = $job | ConvertTo-Json -Depth 3 | ConvertFrom-Json
            @($json.Errors).Count | Should -Be 1
            $json.Errors[0].Code | Should -Be 'DBS.200410'
            $job.Errors.Count | Should -Be 1
            $job.Errors.Length | Should -Be 1
            $job.Errors[-1].Code | Should -Be 'DBS.200410'
            @($job.Errors | ForEach-Object { $_.Code }) | Should -Be @('DBS.200410')
        }

        It 'starts 2,000 backups of two services from one pipeline and waits on them all, one backup per row' {
            # What a runbook over a large estate does, in one session: every row created once (the simulator's count),
            # every job followed to its end and written once. Nothing here is timed.
            $rows = foreach ($i in 1..2000) {
                if ($i % 2) { [pscustomobject]@{ Provider = 'TaurusDB'; InstanceId = $script:Taurus; Name = "many-t$i" } }
                else { [pscustomobject]@{ Provider = 'DDS'; InstanceId = $script:Dds; Name = "many-d$i" } }
            }
            $jobs = @($rows | New-InstanceBackup)
            $done = @($jobs | Wait-BackupJob -PollingInterval 0.5 -Timeout 600)
            $jobs.Count | Should -Be 2000
            $done.Count | Should -Be 2000
            @($done | Where-Object State -NE 'Succeeded').Count | Should -Be 0
            @($done.JobId | Sort-Object -Unique).Count | Should -Be 2000
            @($done.BackupName | Sort-Object -Unique).Count | Should -Be 2000
            @($done | Where-Object Provider -EQ 'DDS').Count | Should -Be 1000
            (Get-SimulatorCounters $script:Sim.BaseUri).totalCreates | Should -Be 2000
        }

        It '-WhatIf sends nothing' {
            # No error either: a refused input or a missing connection also sends nothing and writes nothing.
            New-InstanceBackup -Provider DDS -InstanceId $script:Dds -Name 'whatif-run' -WhatIf -ErrorVariable whatIfErrors -ErrorAction SilentlyContinue |
                Should -BeNullOrEmpty
            $whatIfErrors | Should -BeNullOrEmpty
            (Get-SimulatorCounters $script:Sim.BaseUri).totalRequests | Should -Be 0
        }

        It 'refuses a name that breaks the rule, naming it, before sending' {
            { New-InstanceBackup -Provider TaurusDB -InstanceId $script:Taurus -Name '1-starts-with-digit' -ErrorAction Stop } |
                Should -Throw -ErrorId 'BackupParameterInvalid,BackupTools.Commands.NewInstanceBackupCommand' -ExpectedMessage "*'1-starts-with-digit'*"
            (Get-SimulatorCounters $script:Sim.BaseUri).totalRequests | Should -Be 0
        }

        It 'raises a failed job as an error that try/catch sees' {
            $caught = $null
            try {
                New-InstanceBackup -Provider TaurusDB -InstanceId $script:Taurus -Name 'fail-pester' |
                    Wait-BackupJob -PollingInterval 0.1 -Timeout 60 -ErrorAction Stop
            }
            catch { $caught = $_ }
            $caught | Should -Not -BeNullOrEmpty
            $caught.FullyQualifiedErrorId | Should -BeLike 'BackupJobFailed,*'
            $caught.TargetObject.State | Should -Be 'Failed'
            # The service's own code and reason, in the record and in the job it carries.
            $caught.CategoryInfo.Category | Should -Be 'InvalidResult'
            $caught.Exception.ServiceCode | Should -Be 'DBS.200410'
            $caught.Exception.Message | Should -Match "'fail-pester'.*DBS\.200410: Backup 'fail-pester' failed"
            $caught.TargetObject.Errors[0].Code | Should -Be 'DBS.200410'
            $caught.ErrorDetails.RecommendedAction | Should -Not -BeNullOrEmpty
        }

        It 'keeps nothing and warns of nothing when the caught error carries the failed job' {
            # The job whose own error stopped the command reached the user as the error's TargetObject. The module's
            # warning about jobs that may not have reached the user goes to the host, which Pester does not capture:
            # the body runs in a child PowerShell whose whole output, host lines included, is read back. Its first
            # host line is a control: were host lines not captured, that assertion fails rather than the last passing
            # for nothing.
            $manifest = (Join-Path $script:ModulePath 'BackupTools.psd1').Replace("'", "''")
            $child = @"
Import-Module '$manifest'
`$t = ConvertTo-SecureString 'sim-token' -AsPlainText -Force
`$null = Connect-BackupService -Provider TaurusDB -Endpoint '$($script:Sim.BaseUri)taurusdb/' -ProjectId '$($script:Project)' -AccessToken `$t
`$host.UI.WriteWarningLine('control: host lines are captured')
try {
    New-InstanceBackup -InstanceId '$($script:Taurus)' -Name 'fail-caught' | Wait-BackupJob -PollingInterval 0.1 -Timeout 60 -ErrorAction Stop
}
catch { 'caught: ' + `$_.FullyQualifiedErrorId }
'kept: ' + [bool]`$global:BackupToolsUnwrittenJobs
"@
            $text = (& (Get-TestPowerShell) @(Get-TestPowerShellPrefix) -NoProfile -NonInteractive -Command $child 2>&1 | ForEach-Object { "$_" }) -join [Environment]::NewLine
            $text | Should -Match 'control: host lines are captured'
            $text | Should -Match 'caught: BackupJobFailed,'
            $text | Should -Match 'kept: False'
            $text | Should -Not -Match 'were not written|may not have reached you'
        }

        It 'uses the connection piped to it, not the one made last' {
            $a = Connect-BackupService -Provider DDS -Endpoint "$($script:Sim.BaseUri)dds/" -ProjectId $script:Project -AccessToken $script:Token
            $null = Connect-BackupService -Provider DDS -Endpoint "$($script:Sim.BaseUri)dds/" -ProjectId 'fedcba9876543210fedcba9876543210' -AccessToken $script:Token
            $job = $a | New-InstanceBackup -InstanceId $script:Dds -Name 'piped-conn'
            $job.Scope | Should -Be $script:Project
        }

        It 'refuses a DDS name repeated in one command before sending it' {
            $rows = @(
                [pscustomobject]@{ Provider = 'DDS'; InstanceId = $script:Dds; Name = 'twice-dds' }
                [pscustomobject]@{ Provider = 'DDS'; InstanceId = $script:Dds; Name = 'twice-dds' }
            )
            $jobs = $rows | New-InstanceBackup -ErrorVariable dupErrors -ErrorAction SilentlyContinue
            @($jobs).Count | Should -Be 1
            $dupErrors[0].FullyQualifiedErrorId | Should -BeLike 'BackupParameterInvalid,*'
            (Get-SimulatorCounters $script:Sim.BaseUri).totalCreates | Should -Be 1
        }

        It 'writes the job and a timeout error when time runs out' {
            $jobDurationMs = (Invoke-RestMethod -Uri "$($script:Sim.BaseUri)_sim/options").jobDurationMs
            Invoke-RestMethod -Method Post -Uri "$($script:Sim.BaseUri)_sim/options" -ContentType 'application/json' -Body '{"jobDurationMs":600000}' | Out-Null
            try {
                $job = New-InstanceBackup -Provider DDS -InstanceId $script:Dds -Name 'long-runner' |
                    Wait-BackupJob -Timeout 1 -PollingInterval 0.1 -ErrorVariable waitErrors -ErrorAction SilentlyContinue
                $job.State | Should -Be 'Running'
                $waitErrors[0].FullyQualifiedErrorId | Should -BeLike 'BackupJobTimeout,*'
            }
            finally {
                Invoke-RestMethod -Method Post -Uri "$($script:Sim.BaseUri)_sim/options" -ContentType 'application/json' -Body (@{ jobDurationMs = $jobDurationMs } | ConvertTo-Json -Compress) | Out-Null
            }
        }

        It 'writes BackupJobNotFound for a job the service does not know once its grace is over' {
            $ghost = [BackupTools.BackupJob]::FromProperties(@{
                    Provider = 'DDS'; Endpoint = "$($script:Sim.BaseUri)dds/"; Scope = $script:Project
                    JobId = 'fedcba9876543210fedcba9876543210'; CreatedAt = [DateTimeOffset]::UtcNow.AddHours(-2)
                })
            $written = $ghost | Wait-BackupJob -PollingInterval 0.1 -Timeout 30 -ErrorVariable waitErrors -ErrorAction SilentlyContinue
            @($waitErrors).Count | Should -Be 1
            $waitErrors[0].FullyQualifiedErrorId | Should -Be 'BackupJobNotFound,BackupTools.Commands.WaitBackupJobCommand'
            $waitErrors[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
            $waitErrors[0].TargetObject.JobId | Should -Be 'fedcba9876543210fedcba9876543210'
            # The job is written too, with its last state, so a script still holds it.
            $written.JobId | Should -Be 'fedcba9876543210fedcba9876543210'
            (Get-SimulatorCounters $script:Sim.BaseUri).statusReads.DDS.'fedcba9876543210fedcba9876543210' | Should -Be 1
        }

        It 'refuses to follow a status URL on another host than the job''s endpoint, sending nothing' {
            $foreign = [BackupTools.BackupJob]::FromProperties(@{
                    Provider = 'DDS'; Endpoint = "$($script:Sim.BaseUri)dds/"; Scope = $script:Project
                    StatusUrl = "http://evil.example.com/v3/$($script:Project)/jobs?id=abc"
                })
            $foreign | Wait-BackupJob -Timeout 10 -ErrorVariable waitErrors -ErrorAction SilentlyContinue | Out-Null
            $waitErrors[0].FullyQualifiedErrorId | Should -Be 'BackupJobInvalid,BackupTools.Commands.WaitBackupJobCommand'
            $waitErrors[0].CategoryInfo.Category | Should -Be 'SecurityError'
            $waitErrors[0].Exception.Message | Should -Match 'evil\.example\.com'
            (Get-SimulatorCounters $script:Sim.BaseUri).totalRequests | Should -Be 0
        }

        It 'waits on a job exported to Clixml and imported again' {
            $file = Join-Path $TestDrive 'job.xml'
            New-InstanceBackup -Provider TaurusDB -InstanceId $script:Taurus -Name 'saved-job' | Export-Clixml -Path $file
            $done = Import-Clixml -Path $file | Wait-BackupJob -PollingInterval 0.1 -Timeout 60
            $done.State | Should -Be 'Succeeded'
            $done | Should -BeOfType ([BackupTools.BackupJob])
        }

        It 'waits on a job in another process' {
            $file = Join-Path $TestDrive 'job2.xml'
            New-InstanceBackup -Provider DDS -InstanceId $script:Dds -Name 'other-process' | Export-Clixml -Path $file
            # Paths go into single-quoted literals of the child's command: a ' in them (C:\Users\O'Brien\...) is doubled.
            $manifest = (Join-Path $script:ModulePath 'BackupTools.psd1').Replace("'", "''")
            $endpoint = "$($script:Sim.BaseUri)dds/".Replace("'", "''")
            $fileText = $file.Replace("'", "''")
            $command = "Import-Module '$manifest'; `$t = ConvertTo-SecureString 'sim-token' -AsPlainText -Force; " +
                "`$null = Connect-BackupService -Provider DDS -Endpoint '$endpoint' -ProjectId '$($script:Project)' -AccessToken `$t; " +
                "(Import-Clixml '$fileText' | Wait-BackupJob -PollingInterval 0.1 -Timeout 60).State"
            $state = & (Get-TestPowerShell) @(Get-TestPowerShellPrefix) -NoProfile -NonInteractive -Command $command
            $LASTEXITCODE | Should -Be 0 -Because 'the other process must import, connect and wait without an error'
            $state | Should -Be 'Succeeded'
        }

        It 'works inside ForEach-Object -Parallel with a connection passed in' -Skip:($PSVersionTable.PSVersion.Major -lt 7) {
            $connection = Connect-BackupService -Provider DDS -Endpoint "$($script:Sim.BaseUri)dds/" -ProjectId $script:Project -AccessToken $script:Token
            $manifest = Join-Path $script:ModulePath 'BackupTools.psd1'
            $instance = $script:Dds
            $states = 1..3 | ForEach-Object -ThrottleLimit 3 -Parallel {
                Import-Module $using:manifest
                New-InstanceBackup -Connection $using:connection -InstanceId $using:instance -Name "parallel-$_" |
                    Wait-BackupJob -Connection $using:connection -PollingInterval 0.1 -Timeout 60 |
                    ForEach-Object State
            }
            $states | Should -Be @('Succeeded', 'Succeeded', 'Succeeded')
        }

        It 'works in a thread job with a connection passed in' -Skip:(-not (Get-Command Start-ThreadJob -ErrorAction SilentlyContinue)) {
            $connection = Connect-BackupService -Provider TaurusDB -Endpoint "$($script:Sim.BaseUri)taurusdb/" -ProjectId $script:Project -AccessToken $script:Token
            $manifest = Join-Path $script:ModulePath 'BackupTools.psd1'
            $instance = $script:Taurus
            $state = Start-ThreadJob {
                Import-Module $using:manifest
                (New-InstanceBackup -Connection $using:connection -InstanceId $using:instance -Name 'thread-job' |
                    Wait-BackupJob -Connection $using:connection -PollingInterval 0.1 -Timeout 60).State
            } | Receive-Job -Wait -AutoRemoveJob
            $state | Should -Be 'Succeeded'
        }

        It 'keeps the jobs it could not write when an upstream command fails' {
            # Both creates are answered while the upstream command sleeps; it then fails, and the pipeline ends before
            # New-InstanceBackup can write them: they are kept in $BackupToolsUnwrittenJobs (and a host warning says so).
            # A job it wrote before the failure is kept there too: the command was stopped on the way.
            $global:BackupToolsUnwrittenJobs = $null
            $rows = {
                [pscustomobject]@{ Provider = 'TaurusDB'; InstanceId = $script:Taurus; Name = 'upstream-1' }
                [pscustomobject]@{ Provider = 'TaurusDB'; InstanceId = $script:Taurus; Name = 'upstream-2' }
                Start-Sleep -Seconds 2
                throw 'upstream failed'
            }
            $written = [System.Collections.Generic.List[object]]::new()
            try {
                { & $rows | New-InstanceBackup -ThrottleLimit 4 | ForEach-Object { $written.Add($_) } } | Should -Throw -ExpectedMessage '*upstream failed*'
                # Row 1's answer may be written while row 2 is taken; both are kept, written or not, and none is lost.
                @($global:BackupToolsUnwrittenJobs | ForEach-Object BackupName | Sort-Object) | Should -Be @('upstream-1', 'upstream-2')
                # Every job the command did write is among the kept ones (the assignment of a stopped statement is lost).
                foreach ($name in @($written | ForEach-Object BackupName)) {
                    @($global:BackupToolsUnwrittenJobs | ForEach-Object BackupName) | Should -Contain $name
                }
                (Get-SimulatorCounters $script:Sim.BaseUri).totalCreates | Should -Be 2
            }
            finally {
                $global:BackupToolsUnwrittenJobs = $null
            }
        }

        It 'shows HTTP calls with -Verbose and never the token' {
            $verbose = New-InstanceBackup -Provider DDS -InstanceId $script:Dds -Name 'verbose-run' -Verbose 4>&1 |
                Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }
            ($verbose.Message -join "`n") | Should -Match 'HTTP POST'
            ($verbose.Message -join "`n") | Should -Not -Match 'sim-token'
        }

        It 'carries the service''s refusal in the error record: DDS refuses a name an earlier command used' {
            $null = New-InstanceBackup -Provider DDS -InstanceId $script:Dds -Name 'taken-name'
            $caught = $null
            try { New-InstanceBackup -Provider DDS -InstanceId $script:Dds -Name 'taken-name' -ErrorAction Stop }
            catch { $caught = $_ }
            $caught.FullyQualifiedErrorId | Should -Be 'BackupServiceError,BackupTools.Commands.NewInstanceBackupCommand'
            $caught.CategoryInfo.Category | Should -Be 'ResourceExists'
            $caught.Exception.ServiceCode | Should -Be 'DBS.201201'
            $caught.Exception.ServiceMessage | Should -Be 'Backup name already exists.'
            $caught.Exception.HttpStatus | Should -Be 400
            $caught.Exception.Message | Should -Match 'DBS\.201201: Backup name already exists'
            $caught.TargetObject.Name | Should -Be 'taken-name'
            $caught.ErrorDetails.RecommendedAction | Should -Not -BeNullOrEmpty
            $counters = Get-SimulatorCounters $script:Sim.BaseUri
            $counters.totalCreates | Should -Be 2
            $counters.backups.DDS.($script:Dds) | Should -Be 1
        }

        It 'repeats a create the gateway throttled (429, Retry-After) and makes one backup' {
            Add-SimulatorFault $script:Sim.BaseUri @{ provider = 'taurusdb'; method = 'POST'; pathContains = '/backups'; statusCode = 429; retryAfter = '1'; times = 1 }
            $job = New-InstanceBackup -Provider TaurusDB -InstanceId $script:Taurus -Name 'throttled-once' -ErrorVariable createErrors
            $createErrors | Should -BeNullOrEmpty
            $job.BackupName | Should -Be 'throttled-once'
            $job.JobId | Should -Not -BeNullOrEmpty
            $posts = @(Get-SimulatorRequest $script:Sim.BaseUri | Where-Object { $_.method -eq 'POST' -and $_.path -like '*/backups/create' })
            @($posts | ForEach-Object status) | Should -Be @(429, 201)
            # The throttled attempt made nothing: one backup, and one job for it.
            $counters = Get-SimulatorCounters $script:Sim.BaseUri
            $counters.backups.TaurusDB.($script:Taurus) | Should -Be 1
            $counters.jobs | Should -Be 1
        }

        It 'repeats a DDS create whose answer was lost and follows the backup the first attempt made' {
            # The service makes the backup, then the connection drops before its answer: DDS's unique names let the
            # repeat find out ("already exists"), and the backup is looked up by name instead of made twice.
            Add-SimulatorFault $script:Sim.BaseUri @{ provider = 'dds'; method = 'POST'; pathContains = '/backups'; kind = 'DropAfterRead'; times = 1 }
            $job = New-InstanceBackup -Provider DDS -InstanceId $script:Dds -Name 'answer-lost' -ErrorVariable createErrors
            $createErrors | Should -BeNullOrEmpty
            $job.BackupName | Should -Be 'answer-lost'
            $job.BackupId | Should -Not -BeNullOrEmpty
            $counters = Get-SimulatorCounters $script:Sim.BaseUri
            $counters.creates.DDS.($script:Dds) | Should -Be 2
            $counters.backups.DDS.($script:Dds) | Should -Be 1
            $counters.jobs | Should -Be 1
        }

        It 'reports an instance busy with another operation at once with -BusyRetryCount 0' {
            Add-SimulatorFault $script:Sim.BaseUri @{ provider = 'dds'; method = 'POST'; pathContains = '/backups'; statusCode = 403; times = 1 }
            $caught = $null
            try { New-InstanceBackup -Provider DDS -InstanceId $script:Dds -Name 'busy-instance' -BusyRetryCount 0 -ErrorAction Stop }
            catch { $caught = $_ }
            $caught.FullyQualifiedErrorId | Should -Be 'BackupServiceError,BackupTools.Commands.NewInstanceBackupCommand'
            $caught.CategoryInfo.Category | Should -Be 'ResourceBusy'
            $caught.Exception.ServiceCode | Should -Be 'DBS.201015'
            $caught.Exception.HttpStatus | Should -Be 403
            $counters = Get-SimulatorCounters $script:Sim.BaseUri
            $counters.totalRequests | Should -Be 1
            $counters.jobs | Should -Be 0
        }

        It 'refuses -BusyRetryCount and -ThrottleLimit out of range when they are bound' {
            { New-InstanceBackup -Provider DDS -InstanceId $script:Dds -Name 'range-check' -BusyRetryCount 21 -ErrorAction Stop } |
                Should -Throw -ErrorId 'ParameterArgumentValidationError,BackupTools.Commands.NewInstanceBackupCommand'
            { New-InstanceBackup -Provider DDS -InstanceId $script:Dds -Name 'range-check' -ThrottleLimit 0 -ErrorAction Stop } |
                Should -Throw -ErrorId 'ParameterArgumentValidationError,BackupTools.Commands.NewInstanceBackupCommand'
            (Get-SimulatorCounters $script:Sim.BaseUri).totalRequests | Should -Be 0
        }

        It 'refuses a -Provider that offers no such backup as such, with no connection to it either' {
            # Not ConnectionNotFound: connecting to ArcGIS, as that error advised, would only lead to this refusal.
            Remove-Variable -Name BackupToolsConnectionStore -Scope Global -ErrorAction Ignore
            $passcode = ConvertTo-SecureString 'pester-passcode-1' -AsPlainText -Force
            { New-InstanceBackup -Provider ArcGIS -InstanceId 'site' -Name 'not-offered' -ErrorAction Stop } |
                Should -Throw -ErrorId 'ProviderOperationNotSupported,BackupTools.Commands.NewInstanceBackupCommand' -ExpectedMessage 'ArcGIS does not offer instance backups.'
            { New-DisasterRecoveryBackup -Provider TaurusDB -Name 'not-offered' -Passcode $passcode -ErrorAction Stop } |
                Should -Throw -ErrorId 'ProviderOperationNotSupported,BackupTools.Commands.NewDisasterRecoveryBackupCommand'
            (Get-SimulatorCounters $script:Sim.BaseUri).totalRequests | Should -Be 0
        }

        It 'writes ConnectionNotFound, sending nothing, when the session has no connection' {
            # BeforeEach connects again for the next test.
            Remove-Variable -Name BackupToolsConnectionStore -Scope Global -ErrorAction Ignore
            { New-InstanceBackup -Provider DDS -InstanceId $script:Dds -Name 'no-connection' -ErrorAction Stop } |
                Should -Throw -ErrorId 'ConnectionNotFound,BackupTools.Commands.NewInstanceBackupCommand'
            (Get-SimulatorCounters $script:Sim.BaseUri).totalRequests | Should -Be 0
        }
    }

    Context 'Get-BackupJob' {
        It 'reads a job once and writes it refreshed, without waiting' {
            $job = New-InstanceBackup -Provider DDS -InstanceId $script:Dds -Name 'read-once'
            $job.LastCheckedAt | Should -BeNullOrEmpty
            $read = $job | Get-BackupJob
            $read | Should -BeOfType ([BackupTools.BackupJob])
            $read.JobId | Should -Be $job.JobId
            $read.LastCheckedAt | Should -Not -BeNullOrEmpty
            # Still running: DDS reports Running from the start, or does not know a new job for its first seconds.
            $read.State | Should -Be 'Running'
            $read.RawStatus | Should -BeIn @('NotFound (starting)', 'Running')
            (Get-SimulatorCounters $script:Sim.BaseUri).statusReads.DDS.($job.JobId) | Should -Be 1
        }

        It 'reads its jobs at once and writes them in completion order' {
            $slow = New-InstanceBackup -Provider TaurusDB -InstanceId $script:Taurus -Name 'order-slow'
            $fast = New-InstanceBackup -Provider DDS -InstanceId $script:Dds -Name 'order-fast'
            # The TaurusDB read is answered 1.5 s late; read one after the other, the DDS job would come second.
            Add-SimulatorFault $script:Sim.BaseUri @{ provider = 'taurusdb'; method = 'GET'; pathContains = '/jobs'; kind = 'SlowAnswer'; delayMs = 1500; times = 1 }
            $read = @($slow, $fast | Get-BackupJob)
            @($read | ForEach-Object BackupName) | Should -Be @('order-fast', 'order-slow')
            $reads = @(Get-SimulatorRequest $script:Sim.BaseUri | Where-Object { $_.method -eq 'GET' -and $_.path -like '*/jobs' })
            $reads.Count | Should -Be 2
            # Both reads reached the simulator before the slow one was answered.
            [Math]::Abs(([DateTimeOffset]$reads[1].at - [DateTimeOffset]$reads[0].at).TotalMilliseconds) | Should -BeLessThan 1000
        }

        It 'tells every job of an endpoint the long Retry-After one read got, sending no more reads' {
            $jobs = @(
                New-InstanceBackup -Provider DDS -InstanceId $script:Dds -Name 'quiet-1'
                New-InstanceBackup -Provider DDS -InstanceId $script:Dds -Name 'quiet-2'
                New-InstanceBackup -Provider DDS -InstanceId $script:Dds -Name 'quiet-3'
            )
            Add-SimulatorFault $script:Sim.BaseUri @{ provider = 'dds'; method = 'GET'; pathContains = '/jobs'; statusCode = 503; retryAfter = '120'; times = 1000 }
            $read = $jobs | Get-BackupJob -ErrorVariable readErrors -ErrorAction SilentlyContinue
            $read | Should -BeNullOrEmpty
            $readErrors.Count | Should -Be 3
            foreach ($e in $readErrors) {
                $e.FullyQualifiedErrorId | Should -Be 'BackupServiceError,BackupTools.Commands.GetBackupJobCommand'
                $e.Exception.HttpStatus | Should -Be 503
                $e.Exception.ServiceCode | Should -Be 'APIG.0201'
            }
            # Each error is about its own job.
            @($readErrors | ForEach-Object { $_.TargetObject.BackupName } | Sort-Object) | Should -Be @('quiet-1', 'quiet-2', 'quiet-3')
            @(Get-SimulatorRequest $script:Sim.BaseUri | Where-Object { $_.method -eq 'GET' -and $_.path -like '*/jobs' }).Count | Should -Be 1
        }

        It 'reads a job row''s times in the session''s culture, and takes no reading in the future' {
            $read = Invoke-InCulture 'de-DE' {
                @(
                    # As Export-Csv writes 1 February in de-DE; PowerShell's invariant reading is 2 January.
                    [pscustomobject]@{ Provider = 'DDS'; JobId = 'aaaa0000aaaa0000aaaa0000aaaa0000'; CreatedAt = '01.02.2026 10:00:00 +00:00' }
                    # Read either way, a start decades ahead: unknown, so the start is when the row is read.
                    [pscustomobject]@{ Provider = 'DDS'; JobId = 'bbbb0000bbbb0000bbbb0000bbbb0000'; CreatedAt = '01.02.2099 10:00:00 +00:00' }
                ) | Get-BackupJob -ErrorVariable rowErrors -ErrorAction SilentlyContinue | Out-Null
                $rowErrors
            }
            $known = @($read | Where-Object { $_.TargetObject.JobId -eq 'aaaa0000aaaa0000aaaa0000aaaa0000' })
            # The service does not know it and its start is long past: not found, at once.
            $known.Count | Should -Be 1
            $known[0].FullyQualifiedErrorId | Should -Be 'BackupJobNotFound,BackupTools.Commands.GetBackupJobCommand'
            $known[0].TargetObject.CreatedAt | Should -Be ([DateTimeOffset]::new(2026, 2, 1, 10, 0, 0, [TimeSpan]::Zero))
            # The other is still in its grace, counted from now.
            @($read | Where-Object { $_.TargetObject.JobId -eq 'bbbb0000bbbb0000bbbb0000bbbb0000' }).Count | Should -Be 0
        }

        It 'refuses an object that is not a job, and a job of a project it has no connection to, sending nothing' {
            $caught = $null
            try { [pscustomobject]@{ Provider = 'DDS'; Name = 'no-job-id' } | Get-BackupJob -ErrorAction Stop }
            catch { $caught = $_ }
            $caught.FullyQualifiedErrorId | Should -Be 'ParameterArgumentTransformationError,BackupTools.Commands.GetBackupJobCommand'
            $caught.Exception.InnerException.InnerException.ErrorId | Should -Be 'BackupJobInvalid'
            $other = [BackupTools.BackupJob]::FromProperties(@{ Provider = 'DDS'; Endpoint = "$($script:Sim.BaseUri)dds/"; JobId = 'other-project-job'; Scope = 'fedcba9876543210fedcba9876543210' })
            { $other | Get-BackupJob -ErrorAction Stop } |
                Should -Throw -ErrorId 'ConnectionNotFound,BackupTools.Commands.GetBackupJobCommand' -ExpectedMessage '*fedcba9876543210fedcba9876543210*'
            (Get-SimulatorCounters $script:Sim.BaseUri).totalRequests | Should -Be 0
        }
    }

    Context 'Jobs built in PowerShell for mocks' {
        It 'takes a job a Mock New-InstanceBackup returns through the real Wait-BackupJob and the views' {
            # A job id the simulator knows, as a user's mock would name one of the service's.
            $script:RealJobId = (New-InstanceBackup -Provider DDS -InstanceId $script:Dds -Name 'mocked-create').JobId
            Mock New-InstanceBackup { [BackupTools.BackupJob]::new('DDS', "$($script:Sim.BaseUri)dds/", $script:RealJobId) }
            $job = New-InstanceBackup -InstanceId 'anything' -Name 'anything'
            Should -Invoke New-InstanceBackup -Times 1 -Exactly
            $job | Should -BeOfType ([BackupTools.BackupJob])
            $job.State | Should -Be 'Running'
            ($job | Format-Table | Out-String -Width 80) | Should -Match 'DDS\s+Running\s+00:00:00'
            $done = $job | Wait-BackupJob -PollingInterval 0.1 -Timeout 60
            $done.State | Should -Be 'Succeeded'
            $done.JobId | Should -Be $script:RealJobId
            (Get-SimulatorCounters $script:Sim.BaseUri).statusReads.DDS.($script:RealJobId) | Should -BeGreaterThan 0
        }

        It 'builds a failed job with the service''s messages, as about_BackupTools shows, and the views show it' {
            $now = [DateTimeOffset]::UtcNow
            $m = [BackupTools.BackupJobMessage]::new('DBS.200410', 'disk full')
            $failed = [BackupTools.BackupJob]::new('DDS', 'https://dds.eu-de.otc.t-systems.com/', 'job-2', $null,
                '2f1c4a8e9b7d4c6fa1e3b5d7c9f0a2b4in02', 'nightly', $null, $null, 'Instance', 'Failed', 'Failed', 40,
                $now.AddHours(-3), $now.AddHours(-1), $null, @($m))
            $failed.IsFinal | Should -BeTrue
            $failed.Errors[0].Code | Should -Be 'DBS.200410'
            $table = $failed | Format-Table | Out-String -Width 120
            $table | Should -Match 'DDS\s+nightly\s+Failed\s+40\s+02:00:00\s+2f1c4a8e9b7d4c6fa1e3b5d7c9f0a2b4in02'
            $list = $failed | Format-List | Out-String -Width 120
            $list | Should -Match 'Errors\s+:\s+\{DBS\.200410: disk full\}'
            $bag = [BackupTools.BackupJob]::FromProperties(@{
                    Provider = 'DDS'; JobId = 'job-3'; State = 'Failed'
                    Errors = @(@{ Code = 'DBS.200410'; Message = 'disk full' })
                })
            $bag.State | Should -Be 'Failed'
            $bag.Errors[0].Message | Should -Be 'disk full'
            ($bag | Format-Table | Out-String -Width 80) | Should -Match 'DDS\s+Failed'
        }

        It 'runs the worked example of about_BackupTools as a user would: a mock, and the simulator started in BeforeAll' {
            # The example as the package's help shows it, with what a user changes: the clone's path and a free port.
            $lines = @(Get-Content (Join-Path $script:ModulePath 'en-US/about_BackupTools.help.txt'))
            $start = [array]::IndexOf($lines, '        BeforeAll {')
            $start | Should -BeGreaterThan 0 -Because 'about_BackupTools shows a test file that starts with BeforeAll'
            $end = $start
            while ($end + 1 -lt $lines.Count -and ($lines[$end + 1] -eq '' -or $lines[$end + 1].StartsWith('        '))) { $end++ }
            $example = ($lines[$start..$end] | ForEach-Object { if ($_.Length -ge 8) { $_.Substring(8) } else { '' } }) -join "`n"
            $example | Should -Match 'Mock New-InstanceBackup'
            $example | Should -Match 'Start-Process dotnet'
            $example | Should -Match ([regex]::Escape("'C:\src\BackupTools'"))
            $example | Should -Match '5099'
            $port = Get-FreeTcpPort
            $example = $example.Replace("'C:\src\BackupTools'", "'$($script:RepoRoot.Replace("'", "''"))'").Replace('5099', "$port")
            $folder = Join-Path $TestDrive 'nightly'
            $null = New-Item -ItemType Directory -Path $folder
            Set-Content -Path (Join-Path $folder 'Backup-Nightly.Tests.ps1') -Value $example
            # The script under test, as the help describes it: connects, backs up the instances of a CSV file, waits.
            Set-Content -Path (Join-Path $folder 'Backup-Nightly.ps1') -Value @'
param([Parameter(Mandatory = $true)] [string] $Csv)
$token = ConvertTo-SecureString 'sim-token' -AsPlainText -Force
$null = Connect-BackupService -Provider DDS -Region eu-de -ProjectId 0123456789abcdef0123456789abcdef -AccessToken $token
Import-Csv $Csv | New-InstanceBackup | Wait-BackupJob -Timeout 3600
'@
            # A new process, in which BackupTools is found by name (Import-Module BackupTools) in the package's folder,
            # and Pester is this session's own (build.ps1 may have imported one from outside PSModulePath).
            $modules = (Split-Path (Split-Path $script:ModulePath)).Replace("'", "''")
            $child = @"
`$env:PSModulePath = '$modules' + [System.IO.Path]::PathSeparator + `$env:PSModulePath
Import-Module '$((Join-Path (Get-Module Pester).ModuleBase 'Pester.psd1').Replace("'", "''"))'
`$r = Invoke-Pester -Path '$((Join-Path $folder 'Backup-Nightly.Tests.ps1').Replace("'", "''"))' -PassThru -Output None
foreach (`$t in `$r.Failed) { 'failed: ' + `$t.ExpandedName + ': ' + `$t.ErrorRecord }
'result: passed ' + `$r.PassedCount + ', failed ' + `$r.FailedCount
"@
            $text = (& (Get-TestPowerShell) @(Get-TestPowerShellPrefix) -NoProfile -NonInteractive -Command $child 2>&1 | ForEach-Object { "$_" }) -join [Environment]::NewLine
            $text | Should -Match 'result: passed 2, failed 0' -Because $text
            # Its AfterAll stopped the simulator it started: the port is free again.
            $free = $false
            for ($i = 0; $i -lt 50 -and -not $free; $i++) {
                $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, $port)
                try { $listener.Start(); $free = $true } catch { Start-Sleep -Milliseconds 100 } finally { $listener.Stop() }
            }
            $free | Should -BeTrue -Because "the example's AfterAll stops the simulator on port $port"
        }
    }

    Context 'Views' {
        It 'formats a job as a table that fits 80 columns, and shows the whole instance id when wider' {
            $job = New-InstanceBackup -Provider DDS -InstanceId $script:Dds -Name 'view-check'
            $text = $job | Format-Table | Out-String -Width 80
            # Format-Table never writes past the width it is given: it drops or cuts columns instead, so the check is
            # that every column's header is still there at 80 columns.
            $text | Should -Match 'Provider\s+BackupName\s+State\s+%\s+Elapsed\s+InstanceId'
            ($text -split "`n" | ForEach-Object { $_.TrimEnd().Length } | Measure-Object -Maximum).Maximum | Should -BeLessOrEqual 80
            # The instance id is the last column and takes what is left.
            $job | Format-Table | Out-String -Width 120 | Should -Match ([regex]::Escape($script:Dds))
        }

        It 'formats the providers as a table, and one provider as a list with its regions' {
            $table = Get-BackupProvider | Format-Table | Out-String -Width 120
            $table | Should -Match 'Name\s+Service\s+Kinds'
            $table | Should -Match 'ArcGIS\s+ArcGIS Enterprise disaster-recovery backups\s+DisasterRecovery'
            $table | Should -Match 'DDS\s+Open Telekom Cloud Document Database Service\s+Instance'
            $list = Get-BackupProvider DDS | Format-List | Out-String -Width 120
            $list | Should -Match 'Regions\s+:\s+eu-de: dds\.eu-de\.otc\.t-systems\.com'
            $list | Should -Match 'Auth\s+:\s+AccessToken, AccessKey, Credential'
        }

        It 'formats a job as a list with every property the table leaves out' {
            $job = New-InstanceBackup -Provider DDS -InstanceId $script:Dds -Name 'view-list'
            $list = $job | Format-List | Out-String -Width 200
            foreach ($name in 'Endpoint', 'Scope', 'JobId', 'StatusUrl', 'RawStatus', 'CreatedAt', 'Errors', 'Warnings') {
                $list | Should -Match "(?m)^$name\s+:" -Because "the list view shows $name"
            }
            $list | Should -Match ([regex]::Escape($job.JobId))
        }
    }

    Context 'The other three services' {
        BeforeEach {
            $null = Connect-BackupService -Provider Dataverse -Endpoint "$($script:Sim.BaseUri)dataverse/" -AccessToken $script:Token
            $null = Connect-BackupService -Provider ArcGIS -Endpoint "$($script:Sim.BaseUri)arcgis/" -AccessToken $script:Token
            $null = Connect-BackupService -Provider CloudFoundry -Endpoint "$($script:Sim.BaseUri)cf/" -AccessToken $script:Token
            $script:Passcode = ConvertTo-SecureString 'pester-passcode-1' -AsPlainText -Force
        }

        It 'backs up a Dataverse environment with -Label and -Notes' {
            $job = New-InstanceBackup -Provider Dataverse -InstanceId ([guid]::NewGuid().Guid) -Label 'pester-label' -Notes 'from Pester' |
                Wait-BackupJob -PollingInterval 0.1 -Timeout 60
            $job.State | Should -Be 'Succeeded'
            $job.BackupName | Should -Be 'pester-label'
        }

        It 'backs up a Cloud Foundry service instance by -ServiceInstanceGuid' {
            $job = New-InstanceBackup -Provider CloudFoundry -ServiceInstanceGuid ([guid]::NewGuid().Guid) |
                Wait-BackupJob -PollingInterval 0.1 -Timeout 60
            $job.State | Should -Be 'Succeeded'
        }

        It 'takes an ArcGIS disaster-recovery backup in the default store and never shows the passcode' {
            # No -Provider: the session's one connection to a service offering disaster-recovery backups is taken.
            # Verbose of both commands is merged after the pipeline, so it never reaches Wait-BackupJob as input.
            $all = & {
                New-DisasterRecoveryBackup -Name 'pester-dr' -Passcode $script:Passcode -RetentionPeriod 7 -Verbose |
                    Wait-BackupJob -PollingInterval 0.1 -Timeout 60 -Verbose
            } 4>&1
            $job = $all | Where-Object { $_ -is [BackupTools.BackupJob] }
            $job.State | Should -Be 'Succeeded'
            ($all | Out-String) | Should -Not -Match 'pester-passcode-1'
            ($job | ConvertTo-Json -Depth 5) | Should -Not -Match 'pester-passcode-1'
        }

        It 'refuses a short passcode before sending' {
            $short = ConvertTo-SecureString 'short' -AsPlainText -Force
            { New-DisasterRecoveryBackup -Provider ArcGIS -Name 'pester-short' -Passcode $short -ErrorAction Stop } |
                Should -Throw -ErrorId 'BackupParameterInvalid,BackupTools.Commands.NewDisasterRecoveryBackupCommand'
            # Nothing at all: not even the default store's lookup that a real backup without -StoreName makes first.
            (Get-SimulatorCounters $script:Sim.BaseUri).totalRequests | Should -Be 0
        }

        It '-WhatIf on New-DisasterRecoveryBackup sends nothing' {
            New-DisasterRecoveryBackup -Provider ArcGIS -Name 'pester-whatif' -Passcode $script:Passcode -WhatIf -ErrorVariable whatIfErrors -ErrorAction SilentlyContinue |
                Should -BeNullOrEmpty
            $whatIfErrors | Should -BeNullOrEmpty
            (Get-SimulatorCounters $script:Sim.BaseUri).totalRequests | Should -Be 0
        }

        It 'waits on jobs of all five services in one call' {
            $jobs = @(
                New-InstanceBackup -Provider TaurusDB -InstanceId $script:Taurus -Name 'five-taurus'
                New-InstanceBackup -Provider DDS -InstanceId $script:Dds -Name 'five-dds'
                New-InstanceBackup -Provider Dataverse -InstanceId ([guid]::NewGuid().Guid) -Label 'five-dataverse'
                New-InstanceBackup -Provider CloudFoundry -ServiceInstanceGuid ([guid]::NewGuid().Guid)
                New-DisasterRecoveryBackup -Provider ArcGIS -Name 'five-arcgis' -Passcode $script:Passcode
            )
            $done = $jobs | Wait-BackupJob -PollingInterval 0.1 -Timeout 60
            ($done.Provider | Sort-Object) | Should -Be @('ArcGIS', 'CloudFoundry', 'Dataverse', 'DDS', 'TaurusDB')
            $done.State | Sort-Object -Unique | Should -Be 'Succeeded'
        }

        It 'waits for the backup it started with -Wait and writes the finished job' {
            $job = New-InstanceBackup -Provider CloudFoundry -ServiceInstanceGuid ([guid]::NewGuid().Guid) -Wait -PollingInterval 0.1 -Timeout 60
            @($job).Count | Should -Be 1
            $job.State | Should -Be 'Succeeded'
            $job.IsFinal | Should -BeTrue
            (Get-SimulatorCounters $script:Sim.BaseUri).totalStatusReads | Should -BeGreaterThan 0
        }

        It 'Wait-BackupJob -Any writes the first job to finish and leaves the other running' {
            $fast = New-InstanceBackup -Provider CloudFoundry -ServiceInstanceGuid ([guid]::NewGuid().Guid)
            $previous = Set-SimulatorOption $script:Sim.BaseUri @{ jobDurationMs = 600000 }
            try { $slow = New-InstanceBackup -Provider CloudFoundry -ServiceInstanceGuid ([guid]::NewGuid().Guid) }
            finally { $null = Set-SimulatorOption $script:Sim.BaseUri $previous }
            $first = @($slow, $fast | Wait-BackupJob -Any -PollingInterval 0.1 -Timeout 30)
            $first.Count | Should -Be 1
            $first[0].JobId | Should -Be $fast.JobId
            $first[0].State | Should -Be 'Succeeded'
            (Get-BackupJob $slow).State | Should -Be 'Running'
        }

        It 'refuses a backup of a kind the provider does not offer, and names a store the service refuses' {
            { New-DisasterRecoveryBackup -Provider DDS -Name 'dr-on-dds' -Passcode $script:Passcode -ErrorAction Stop } |
                Should -Throw -ErrorId 'ProviderOperationNotSupported,BackupTools.Commands.NewDisasterRecoveryBackupCommand'
            { New-InstanceBackup -Provider ArcGIS -InstanceId 'site' -Name 'not-offered' -ErrorAction Stop } |
                Should -Throw -ErrorId 'ProviderOperationNotSupported,BackupTools.Commands.NewInstanceBackupCommand'
            (Get-SimulatorCounters $script:Sim.BaseUri).totalRequests | Should -Be 0
            # ArcGIS answers HTTP 200 with its error in the body: an error all the same, with the service's code and text.
            $caught = $null
            try { New-DisasterRecoveryBackup -Provider ArcGIS -StoreName 'no-such-store' -Name 'dr-missing-store' -Passcode $script:Passcode -ErrorAction Stop }
            catch { $caught = $_ }
            $caught.FullyQualifiedErrorId | Should -Be 'BackupServiceError,BackupTools.Commands.NewDisasterRecoveryBackupCommand'
            $caught.Exception.HttpStatus | Should -Be 200
            $caught.Exception.ServiceCode | Should -Be '500'
            $caught.Exception.ServiceMessage | Should -Be "Backup store 'no-such-store' does not exist."
            $caught.Exception.Message | Should -Not -Match 'pester-passcode-1'
            (Get-SimulatorCounters $script:Sim.BaseUri).jobs | Should -Be 0
        }

        It 'fails a -TokenProvider connection made in a runspace that has closed with a reason, sending nothing' -Skip:(-not (Get-Command Start-ThreadJob -ErrorAction SilentlyContinue)) {
            $manifest = Join-Path $script:ModulePath 'BackupTools.psd1'
            $endpoint = "$($script:Sim.BaseUri)dataverse/"
            $connection = Start-ThreadJob {
                Import-Module $using:manifest
                Connect-BackupService -Provider Dataverse -Endpoint $using:endpoint -TokenProvider { ConvertTo-SecureString 'sim-token' -AsPlainText -Force }
            } | Receive-Job -Wait -AutoRemoveJob
            { New-InstanceBackup -Connection $connection -InstanceId ([guid]::NewGuid().Guid) -Label 'closed-runspace' -ErrorAction Stop } |
                Should -Throw -ErrorId 'ConnectionAuthenticationFailed,BackupTools.Commands.NewInstanceBackupCommand' -ExpectedMessage '*runspace that is closed*connect again in this runspace*'
            (Get-SimulatorCounters $script:Sim.BaseUri).totalRequests | Should -Be 0
        }

        It 'reads -RetentionDate text in the session''s culture, and refuses text two cultures read apart' {
            $sent = Invoke-InCulture 'de-DE' {
                # 13.01.2099: only de-DE reads it (the invariant reading has no month 13).
                $null = New-DisasterRecoveryBackup -Provider ArcGIS -Name 'retain-de' -Passcode $script:Passcode -RetentionDate '13.01.2099'
                # Export-Csv's cell of 1 February in de-DE; PowerShell's invariant reading is 2 January.
                $row = [pscustomobject]@{ Name = 'retain-ambiguous'; RetentionDate = '01.02.2099 00:00:00' }
                $out = $row | New-DisasterRecoveryBackup -Provider ArcGIS -Passcode $script:Passcode -ErrorVariable ambiguous -ErrorAction SilentlyContinue
                # ISO text is read as written in every culture.
                $null = [pscustomobject]@{ Name = 'retain-iso'; RetentionDate = '2099-12-31' } | New-DisasterRecoveryBackup -Provider ArcGIS -Passcode $script:Passcode
                @{ Out = $out; Errors = $ambiguous }
            }
            $sent.Out | Should -BeNullOrEmpty
            @($sent.Errors).Count | Should -Be 1
            $sent.Errors[0].Exception.Message | Should -Match '1 February 2099.*de-DE.*2 January 2099.*yyyy-MM-dd'
            $creates = @(Get-SimulatorRequest $script:Sim.BaseUri | Where-Object { $_.method -eq 'POST' -and $_.path -like '*/backups/create' })
            @($creates | ForEach-Object { if ($_.body -match '(?:^|&)name=([^&]+)') { $Matches[1] } }) | Should -Be @('retain-de', 'retain-iso')
            $dates = @($creates | ForEach-Object {
                    $ms = [long]($_.body -replace '^.*retentionDate=(\d+).*$', '$1')
                    [DateTimeOffset]::FromUnixTimeMilliseconds($ms).ToLocalTime().ToString('yyyy-MM-dd', [System.Globalization.CultureInfo]::InvariantCulture)
                })
            $dates | Should -Be @('2099-01-13', '2099-12-31')
        }
    }

    Context 'Help' {
        It 'has a synopsis, a description and examples for <_>' -ForEach @(
            'Connect-BackupService', 'New-InstanceBackup', 'New-DisasterRecoveryBackup', 'Get-BackupJob', 'Wait-BackupJob', 'Get-BackupProvider'
        ) {
            $name = $_
            $help = Get-Help $name -Full
            $help.Synopsis | Should -Not -BeNullOrEmpty
            $help.Synopsis | Should -Not -Match '^\s*\S+-\S+ \['
            ($help.Description.Text -join '') | Should -Not -BeNullOrEmpty
            @($help.Examples.Example).Count | Should -BeGreaterOrEqual 2
            foreach ($parameter in (Get-Command $name).Parameters.Keys | Where-Object { $_ -notin [System.Management.Automation.Cmdlet]::CommonParameters -and $_ -notin [System.Management.Automation.Cmdlet]::OptionalCommonParameters }) {
                ($help.Parameters.Parameter | Where-Object Name -EQ $parameter).Description | Should -Not -BeNullOrEmpty -Because "-$parameter needs help"
            }
        }

        It 'has about_BackupTools' {
            Get-Help about_BackupTools | Out-String | Should -Match 'BackupJobTimeout'
        }

        It 'documents inputs, outputs and related links for <_>' -ForEach @(
            'Connect-BackupService', 'New-InstanceBackup', 'New-DisasterRecoveryBackup', 'Get-BackupJob', 'Wait-BackupJob', 'Get-BackupProvider'
        ) {
            $name = $_
            $help = Get-Help $name -Full
            $outputs = @($help.returnValues.returnValue | ForEach-Object { $_.type.name })
            foreach ($type in (Get-Command $name).OutputType) {
                $outputs | Should -Contain $type.Name -Because "$name declares $($type.Name) as output"
            }
            @($help.inputTypes.inputType).Count | Should -BeGreaterOrEqual 1
            @($help.relatedLinks.navigationLink | ForEach-Object linkText) | Should -Contain 'about_BackupTools'
            foreach ($example in @($help.Examples.Example)) {
                $example.Code | Should -Match $name -Because "each example of $name shows $name"
                ($example.Remarks | ForEach-Object Text) -join '' | Should -Not -BeNullOrEmpty
            }
        }

        It 'shows examples that parse and bind, in the help of <_>' -ForEach @(
            'Connect-BackupService', 'New-InstanceBackup', 'New-DisasterRecoveryBackup', 'Get-BackupJob', 'Wait-BackupJob', 'Get-BackupProvider'
        ) {
            # What a user copies: each example as Get-Help shows it parses, and each call of a BackupTools cmdlet in it
            # names parameters the cmdlet has, with arguments, in one parameter set (PowerShell's own static binder).
            $name = $_
            $examples = @((Get-Help $name -Full).Examples.Example)
            $examples.Count | Should -BeGreaterOrEqual 2
            foreach ($example in $examples) {
                $problems = @(Test-ExampleCode -Code ($example.Code -join "`n") -Cmdlets (Get-Module BackupTools).ExportedCmdlets.Keys)
                $problems | Should -BeNullOrEmpty -Because "the example '$($example.Title.Trim('- '))' of $name is what users copy"
            }
        }

        It 'shows code in about_BackupTools and the README that parses and binds' {
            $cmdlets = (Get-Module BackupTools).ExportedCmdlets.Keys
            # about_BackupTools: the blocks indented 8 columns that are code (a variable, a comment, a type, a cmdlet
            # call with a parameter, a script block, dotnet), not the tables and catalogue entries indented alike.
            $lines = @(Get-Content -LiteralPath (Join-Path $script:ModulePath 'en-US/about_BackupTools.help.txt'))
            $blocks = New-Object System.Collections.Generic.List[string]
            $current = $null
            foreach ($line in $lines + '') {
                if ($line.StartsWith('        ') -or ($null -ne $current -and $line.Trim() -eq '')) {
                    if ($null -eq $current) { $current = New-Object System.Collections.Generic.List[string] }
                    $current.Add($line)
                }
                elseif ($null -ne $current) {
                    $first = @($current | Where-Object { $_.Trim() })[0].Trim()
                    if ($first -match '^(?:[$#\[]|[A-Z][a-z]+-[A-Z]\w* -|\w+ \{$|dotnet )') { $blocks.Add(($current -join "`n")) }
                    $current = $null
                }
            }
            # (the concepts' runbook, Export-Clixml, the runbook with try/catch, the simulator, the worked Pester example...)
            $blocks.Count | Should -BeGreaterOrEqual 8
            ($blocks -join "`n") | Should -Match 'Mock New-InstanceBackup'
            $readme = Get-Content -Raw -LiteralPath (Join-Path $script:RepoRoot 'README.md')
            $readmeBlocks = @([regex]::Matches($readme, '(?ms)^```powershell\s*?\r?\n(.*?)^```') | ForEach-Object { $_.Groups[1].Value })
            $readmeBlocks.Count | Should -BeGreaterOrEqual 1
            foreach ($block in @($blocks) + $readmeBlocks) {
                @(Test-ExampleCode -Code $block -Cmdlets $cmdlets) | Should -BeNullOrEmpty -Because "this is what users copy:`n$block"
            }
        }

        It 'finds what a broken example gets wrong (the check above can fail)' {
            $cmdlets = (Get-Module BackupTools).ExportedCmdlets.Keys
            @(Test-ExampleCode -Code 'New-InstanceBackup -InstanceId x -Nmae y' -Cmdlets $cmdlets) | Should -Match 'Nmae'
            @(Test-ExampleCode -Code 'Connect-BackupService -Provider DDS -AccessToken $t -Credential $c' -Cmdlets $cmdlets) | Should -Match 'AmbiguousParameterSet'
            @(Test-ExampleCode -Code '$jobs | Wait-BackupJob -Timeout' -Cmdlets $cmdlets) | Should -Match 'MissingArgument'
            @(Test-ExampleCode -Code '$jobs = @(' -Cmdlets $cmdlets) | Should -Match 'parse'
            @(Test-ExampleCode -Code 'Get-BackupJob -Job $j | Wait-BackupJob' -Cmdlets $cmdlets) | Should -BeNullOrEmpty
        }

        It 'names every error id of the catalogue in about_BackupTools' {
            $about = Get-Help about_BackupTools | Out-String
            $ids = @([BackupTools.ErrorIds].GetFields('Public, Static') | Where-Object IsLiteral | ForEach-Object { $_.GetRawConstantValue() })
            $ids.Count | Should -BeGreaterOrEqual 16
            foreach ($id in $ids) {
                $about | Should -Match "(?m)^\s+$id\s*$" -Because "the catalogue has an entry for $id"
            }
            $about | Should -Match 'TESTING YOUR SCRIPTS WITH PESTER'
        }
    }

    Context 'Completion' {
        It 'completes provider names and regions' {
            (TabExpansion2 -inputScript 'Connect-BackupService -Provider Tau' -cursorColumn 35).CompletionMatches.CompletionText | Should -Contain 'TaurusDB'
            $line = 'Connect-BackupService -Provider DDS -Region eu-'
            (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText | Should -Contain 'eu-de'
        }
    }

    Context 'Get-BackupProvider' {
        It 'lists the providers' {
            (Get-BackupProvider).Name | Should -Contain 'TaurusDB'
            (Get-BackupProvider).Name | Should -Contain 'DDS'
            (Get-BackupProvider).Count | Should -Be 5
        }

        It 'binds a piped object''s Provider, not its Name, and takes wildcards in -Provider' {
            $connection = Connect-BackupService -Provider DDS -Endpoint "$($script:Sim.BaseUri)dds/" -ProjectId $script:Project -AccessToken $script:Token
            ($connection | Get-BackupProvider).Name | Should -Be 'DDS'
            # A row of New-InstanceBackup's CSV: its Name is a backup's, and binding it would be ProviderNotFound.
            $row = [pscustomobject]@{ Provider = 'TaurusDB'; InstanceId = $script:Taurus; Name = 'nightly-01' }
            ($row | Get-BackupProvider -ErrorVariable rowErrors).Name | Should -Be 'TaurusDB'
            $rowErrors | Should -BeNullOrEmpty
            @((Get-BackupProvider -Provider 'D*').Name | Sort-Object) | Should -Be @('Dataverse', 'DDS')
            (Get-BackupProvider DDS | Get-BackupProvider).Name | Should -Be 'DDS'
        }

        It 'writes ProviderNotFound for a name no provider has and lists the others; a wildcard matching nothing is no error' {
            $found = Get-BackupProvider -Name 'DDS', 'NoSuchService', 'Taurus*' -ErrorVariable nameErrors -ErrorAction SilentlyContinue
            @($found.Name) | Should -Be @('TaurusDB', 'DDS')
            @($nameErrors).Count | Should -Be 1
            $nameErrors[0].FullyQualifiedErrorId | Should -Be 'ProviderNotFound,BackupTools.Commands.GetBackupProviderCommand'
            $nameErrors[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
            $nameErrors[0].Exception.Message | Should -Match "'NoSuchService'.*TaurusDB, DDS, Dataverse, ArcGIS, CloudFoundry"
            Get-BackupProvider 'Nothing*' -ErrorVariable wildcardErrors | Should -BeNullOrEmpty
            $wildcardErrors | Should -BeNullOrEmpty
            { Get-BackupProvider 'DDS[' -ErrorAction Stop } |
                Should -Throw -ErrorId 'ProviderNotFound,BackupTools.Commands.GetBackupProviderCommand'
        }

        It 'matches names and wildcards culture-invariantly, in a Turkish session too' {
            # In tr-TR the lower case of 'I' is the dotless i (U+0131): a culture-aware comparison finds no 'arcgis' in 'ArcGIS'.
            $names = Invoke-InCulture 'tr-TR' {
                $trErrors = @()
                $plain = Get-BackupProvider 'arcgis' -ErrorVariable +trErrors -ErrorAction SilentlyContinue
                $wild = Get-BackupProvider '*gis' -ErrorVariable +trErrors -ErrorAction SilentlyContinue
                $piped = [pscustomobject]@{ Provider = 'arcgis' } | Get-BackupProvider -ErrorVariable +trErrors -ErrorAction SilentlyContinue
                @{ Culture = [System.Threading.Thread]::CurrentThread.CurrentCulture.Name; Plain = $plain.Name; Wild = $wild.Name; Piped = $piped.Name; Errors = $trErrors.Count }
            }
            $names.Culture | Should -Be 'tr-TR' -Because 'the check means something only in a Turkish session'
            $names.Plain | Should -Be 'ArcGIS'
            $names.Wild | Should -Be 'ArcGIS'
            $names.Piped | Should -Be 'ArcGIS'
            $names.Errors | Should -Be 0
        }
    }
}
