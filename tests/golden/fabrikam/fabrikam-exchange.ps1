# runbook 0.1.0: Exchange Management Shell commands for environment 'fabrikam'.
# Run on exch19.corp.fabrikam.com, step by step, as in the runbook. Generated: do not edit.
$ErrorActionPreference = 'Stop'

# Step 3: Exchange Server Auth certificate - pre-check
Get-AuthConfig | Format-List
Get-ExchangeCertificate | Format-List

# Step 4: Exchange autodiscover URI - pre-check
$beforeAutodiscover = Get-ClientAccessService | Select-Object Name, AutoDiscoverServiceInternalUri
Get-ClientAccessService | Select-Object Name, AutoDiscoverServiceInternalUri | Format-List

# Step 4: Exchange autodiscover URI - change
Set-ClientAccessService -Identity 'exch19.corp.fabrikam.com' -AutoDiscoverServiceInternalUri 'https://autodiscover.corp.fabrikam.com/autodiscover/autodiscover.xml'

# Step 4: Exchange autodiscover URI - verify
Get-ClientAccessService | Select-Object Name, AutoDiscoverServiceInternalUri | Format-List

# Step 7: Register Skype for Business as a partner application in Exchange - pre-check
$beforePartnerApplications = Get-PartnerApplication
Get-PartnerApplication | Format-List *

# Step 7: Register Skype for Business as a partner application in Exchange - change
Set-Location -Path (Join-Path -Path $env:ExchangeInstallPath -ChildPath 'Scripts')
.\Configure-EnterprisePartnerApplication.ps1 -AuthMetadataUrl 'https://sfbpool.corp.fabrikam.com/metadata/json/1' -ApplicationType Lync
iisreset 'exch19.corp.fabrikam.com'

# Step 7: Register Skype for Business as a partner application in Exchange - verify
Get-PartnerApplication | Format-List *
