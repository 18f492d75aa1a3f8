# runbook 0.1.0: Exchange Management Shell commands for environment 'litwareinc'.
# Run on atl-exchange-001.litwareinc.com, step by step, as in the runbook. Generated: do not edit.
$ErrorActionPreference = 'Stop'

# Step 3: Exchange Server Auth certificate - pre-check
Get-AuthConfig | Format-List
Get-ExchangeCertificate | Format-List

# Step 4: Exchange autodiscover URI - pre-check
$beforeAutodiscover = Get-ClientAccessServer | Select-Object Name, AutoDiscoverServiceInternalUri
Get-ClientAccessServer | Select-Object Name, AutoDiscoverServiceInternalUri | Format-List

# Step 4: Exchange autodiscover URI - change
Get-ClientAccessServer | Set-ClientAccessServer -AutoDiscoverServiceInternalUri 'https://autodiscover.litwareinc.com/autodiscover/autodiscover.xml'

# Step 4: Exchange autodiscover URI - verify
Get-ClientAccessServer | Select-Object Name, AutoDiscoverServiceInternalUri | Format-List

# Step 7: Register Lync as a partner application in Exchange - pre-check
$beforePartnerApplications = Get-PartnerApplication
Get-PartnerApplication | Format-List *

# Step 7: Register Lync as a partner application in Exchange - change
Set-Location -Path (Join-Path -Path $env:ExchangeInstallPath -ChildPath 'Scripts')
.\Configure-EnterprisePartnerApplication.ps1 -AuthMetadataUrl 'https://atl-cs-001.litwareinc.com/metadata/json/1' -ApplicationType Lync
iisreset 'atl-exchange-001.litwareinc.com'

# Step 7: Register Lync as a partner application in Exchange - verify
Get-PartnerApplication | Format-List *
