#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.5.0' }
# No secret in any stream, output object, error, Export-Clixml or ConvertTo-Json, for every cmdlet and every
# authentication method, run with -Verbose and with $DebugPreference = 'Continue' in BeforeEach, so that a debug line
# would be captured too (the module writes none today; not -Debug, which on Windows PowerShell 5.1 means Inquire, a
# prompt that a non-interactive run fails on). Besides the given secrets, the tokens the simulator issues for a
# password or a client secret (IAM, ArcGIS, UAA) are looked for. The simulator's default secrets are used, as the
# out-of-process simulator knows them: token 'sim-token', password 'sim-password', access key SIMAK000000000000000 with
# secret key 'sim-secret-key', UAA client 'sim-client' with secret 'sim-secret'.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSetup.ps1')
    $script:ModulePath = Get-TestModulePath
    $script:Sim = Start-TestSimulator
    # Connections of an earlier run in this session (the store outlives Remove-Module) would make a default ambiguous.
    Remove-Variable -Name BackupToolsConnectionStore -Scope Global -ErrorAction Ignore
    Import-Module (Join-Path $script:ModulePath 'BackupTools.psd1') -Force
    $script:Secrets = 'sim-token', 'sim-password', 'sim-secret-key', 'sim-secret', 'Pester-Passc0de-XYZZY'
    # Tokens issued at run time, as the simulator makes them (SimTokens.Issue: a prefix and 48 hex digits).
    $script:IssuedTokenPatterns = 'MII[0-9a-f]{48}', 'sim-arcgis-[0-9a-f]{48}', 'sim-uaa-[0-9a-f]{48}'
    $script:Project = '0123456789abcdef0123456789abcdef'
    $secure = { param($text) ConvertTo-SecureString $text -AsPlainText -Force }
    $script:Token = & $secure 'sim-token'
    $script:Credential = [pscredential]::new('admin', (& $secure 'sim-password'))
    $script:SecretKey = & $secure 'sim-secret-key'
    $script:ClientSecret = & $secure 'sim-secret'
    $script:Passcode = & $secure 'Pester-Passc0de-XYZZY'
    # Secrets given as text are held in variables, never written on a command's own line: an error record carries the
    # line it came from (InvocationInfo.Line), and Export-Clixml writes it out, so a literal there would be found by
    # Assert-NoSecret in the test's own source rather than in anything the module wrote.
    $script:TokenText = 'sim-token'
    $script:PasscodeText = 'Pester-Passc0de-XYZZY'

    function Assert-NoSecret([object[]] $Captured, [string] $Because) {
        $text = @(
            $Captured | ForEach-Object {
                if ($_ -is [System.Management.Automation.ErrorRecord]) { $_.ToString(); $_.Exception.ToString(); "$($_.TargetObject)"; $_.ErrorDetails.Message }
                elseif ($_ -is [System.Management.Automation.InformationalRecord]) { $_.Message }
                else { "$_"; ($_ | Out-String); ($_ | ConvertTo-Json -Depth 6 -WarningAction SilentlyContinue) }
            }
        ) -join "`n"
        $file = Join-Path $TestDrive ("capture-{0}.xml" -f [guid]::NewGuid())
        $Captured | Where-Object { $_ -isnot [System.Management.Automation.InformationalRecord] } | Export-Clixml -Path $file -Depth 6 -Verbose:$false
        $text += "`n" + (Get-Content -Raw $file -Verbose:$false)
        foreach ($secret in $script:Secrets) { $text | Should -Not -Match ([regex]::Escape($secret)) -Because $Because }
        foreach ($pattern in $script:IssuedTokenPatterns) { $text | Should -Not -Match $pattern -Because "$Because (an issued token)" }
    }
}

AfterAll {
    Remove-Module BackupTools -ErrorAction SilentlyContinue
    Stop-TestSimulator $script:Sim
}

Describe 'Secrets never leak' {
    BeforeEach {
        Reset-Simulator $script:Sim.BaseUri
        $DebugPreference = 'Continue'
        $VerbosePreference = 'Continue'
    }

    It '<Provider> with <Method>' -ForEach @(
        @{ Provider = 'TaurusDB'; Method = 'AccessToken' }
        @{ Provider = 'TaurusDB'; Method = 'AccessKey' }
        @{ Provider = 'TaurusDB'; Method = 'Credential' }
        @{ Provider = 'DDS'; Method = 'AccessToken' }
        @{ Provider = 'DDS'; Method = 'AccessKey' }
        @{ Provider = 'DDS'; Method = 'Credential' }
        @{ Provider = 'Dataverse'; Method = 'AccessToken' }
        @{ Provider = 'Dataverse'; Method = 'TokenProvider' }
        @{ Provider = 'ArcGIS'; Method = 'AccessToken' }
        @{ Provider = 'ArcGIS'; Method = 'Credential' }
        @{ Provider = 'CloudFoundry'; Method = 'AccessToken' }
        @{ Provider = 'CloudFoundry'; Method = 'Credential' }
        @{ Provider = 'CloudFoundry'; Method = 'ClientCredential' }
    ) {
        $prefix = @{ TaurusDB = 'taurusdb'; DDS = 'dds'; Dataverse = 'dataverse'; ArcGIS = 'arcgis'; CloudFoundry = 'cf' }[$Provider]
        $connect = @{ Provider = $Provider; Endpoint = "$($script:Sim.BaseUri)$prefix/" }
        if ($Provider -in 'TaurusDB', 'DDS') { $connect.ProjectId = $script:Project }
        switch ($Method) {
            'AccessToken' { $connect.AccessToken = $script:Token }
            'AccessKey' { $connect.AccessKeyId = 'SIMAK000000000000000'; $connect.SecretAccessKey = $script:SecretKey }
            'Credential' { $connect.Credential = $script:Credential }
            'ClientCredential' { $connect.ClientId = 'sim-client'; $connect.ClientSecret = $script:ClientSecret }
            'TokenProvider' { $connect.TokenProvider = { ConvertTo-SecureString 'sim-token' -AsPlainText -Force } }
        }
        $captured = & {
            $connection = Connect-BackupService @connect -Verbose
            $connection
            $job = switch ($Provider) {
                'TaurusDB' { New-InstanceBackup -Connection $connection -InstanceId '0123456789abcdef0123456789abcdefin07' -Name 'leak-check' -Verbose }
                'DDS' { New-InstanceBackup -Connection $connection -InstanceId '0123456789abcdef0123456789abcdefin02' -Name 'leak-check' -Verbose }
                'Dataverse' { New-InstanceBackup -Connection $connection -InstanceId ([guid]::NewGuid().Guid) -Label 'leak-check' -Verbose }
                'CloudFoundry' { New-InstanceBackup -Connection $connection -ServiceInstanceGuid ([guid]::NewGuid().Guid) -Verbose }
                'ArcGIS' { New-DisasterRecoveryBackup -Connection $connection -Name 'leak-check' -Passcode $script:Passcode -Verbose }
            }
            $job
            $job | Get-BackupJob -Connection $connection -Verbose
            $job | Wait-BackupJob -Connection $connection -PollingInterval 0.1 -Timeout 60 -Verbose
            Get-BackupProvider -Name $Provider
        } *>&1
        ($captured | Where-Object { $_ -is [BackupTools.BackupJob] } | Select-Object -Last 1).State | Should -Be 'Succeeded'
        Assert-NoSecret $captured "$Provider with $Method"
    }

    It 'takes secrets given as text and shows them nowhere' {
        # A runbook's Automation variable is text: -AccessToken and -Passcode take it, and it is made a SecureString at
        # once (a binding error on Windows PowerShell 5.1 would otherwise quote the value).
        $captured = & {
            $c = Connect-BackupService -Provider ArcGIS -Endpoint "$($script:Sim.BaseUri)arcgis/" -AccessToken $script:TokenText -Verbose
            New-DisasterRecoveryBackup -Connection $c -Name 'text-secrets' -Passcode $script:PasscodeText -Verbose |
                Wait-BackupJob -Connection $c -PollingInterval 0.1 -Timeout 60 -Verbose
            $typed = @{ p = $script:PasscodeText }
            try { New-DisasterRecoveryBackup -Connection $c -Name 'typed-secret' -Passcode $typed -ErrorAction Stop }
            catch { $_ }
        } *>&1
        ($captured | Where-Object { $_ -is [BackupTools.BackupJob] } | Select-Object -Last 1).State | Should -Be 'Succeeded'
        @($captured | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] }).Count | Should -BeGreaterThan 0
        Assert-NoSecret $captured 'secrets given as text'
    }

    It 'keeps a refused secret out of the error' {
        $wrong = [pscredential]::new('admin', (ConvertTo-SecureString 'Pester-Passc0de-XYZZY' -AsPlainText -Force))
        $captured = & {
            try {
                $c = Connect-BackupService -Provider TaurusDB -Endpoint "$($script:Sim.BaseUri)taurusdb/" -ProjectId $script:Project -Credential $wrong
                New-InstanceBackup -Connection $c -InstanceId '0123456789abcdef0123456789abcdefin07' -Name 'refused-one' -ErrorAction Stop
            }
            catch { $_ }
        } *>&1
        @($captured | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] }).Count | Should -BeGreaterThan 0
        Assert-NoSecret $captured 'a refused password'
    }
}
