@{
    RootModule             = 'BackupTools.dll'
    ModuleVersion          = '0.1.0'
    GUID                   = '6f1c2b9e-3f5d-4a7b-9c2e-8d4b1a0e7c31'
    Author                 = 'BackupTools contributors'
    CompanyName            = 'BackupTools'
    Copyright              = '(c) BackupTools contributors. MIT License.'
    Description            = 'Start backups on Dataverse, ArcGIS Enterprise, Huawei Cloud TaurusDB, Cloud Foundry and Open Telekom Cloud DDS, and follow their jobs to their true outcome.'
    CompatiblePSEditions   = @('Desktop', 'Core')
    PowerShellVersion      = '5.1'
    DotNetFrameworkVersion = '4.7.2'
    FormatsToProcess       = @('BackupTools.Format.ps1xml')
    TypesToProcess         = @('BackupTools.Types.ps1xml')
    CmdletsToExport        = @(
        'Connect-BackupService'
        'Get-BackupJob'
        'Get-BackupProvider'
        'New-DisasterRecoveryBackup'
        'New-InstanceBackup'
        'Wait-BackupJob'
    )
    FunctionsToExport      = @()
    VariablesToExport      = @()
    AliasesToExport        = @()
    PrivateData            = @{
        PSData = @{
            Tags         = @('Backup', 'Dataverse', 'ArcGIS', 'TaurusDB', 'GaussDB', 'CloudFoundry', 'DDS', 'OpenTelekomCloud', 'HuaweiCloud', 'PSEdition_Desktop', 'PSEdition_Core', 'Windows', 'Linux', 'MacOS')
            ProjectUri   = 'https://github.com/backuptools/BackupTools'
            LicenseUri   = 'https://github.com/backuptools/BackupTools/blob/main/LICENSE'
            ReleaseNotes = '0.1.0: backups on TaurusDB, DDS, Dataverse, ArcGIS Enterprise (New-DisasterRecoveryBackup) and Cloud Foundry; Wait-BackupJob for thousands of jobs; tokens, access-key signing, IAM/ArcGIS/UAA sign-in, UAA client credentials and a token-provider script (Get-BackupProvider lists them per service); creates never repeated unsafely; dependencies isolated from other modules.'
        }
    }
}
