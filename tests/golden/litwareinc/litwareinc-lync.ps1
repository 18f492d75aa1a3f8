# runbook 0.1.0: Lync Server Management Shell commands for environment 'litwareinc'.
# Run on atl-cs-001.litwareinc.com, step by step, as in the runbook. Generated: do not edit.
$ErrorActionPreference = 'Stop'

# Step 2: OAuthTokenIssuer certificate - pre-check
$beforeOAuthCertificate = Get-CsCertificate -Type OAuthTokenIssuer
$beforeOAuthCertificate | Format-List

# Step 2: OAuthTokenIssuer certificate - change
$x = (Get-CsCertificate -Type Default).Thumbprint
Set-CsCertificate -Identity global -Type OAuthTokenIssuer -Thumbprint $x

# Step 2: OAuthTokenIssuer certificate - verify
Get-CsCertificate -Type OAuthTokenIssuer

# Step 6: Exchange autodiscover URL - pre-check
$beforeOAuthConfiguration = Get-CsOAuthConfiguration -Identity global
$beforeOAuthConfiguration | Format-List

# Step 6: Exchange autodiscover URL - change
Set-CsOAuthConfiguration -Identity global -ExchangeAutodiscoverUrl 'https://autodiscover.litwareinc.com/autodiscover/autodiscover.svc'

# Step 6: Exchange autodiscover URL - verify
Get-CsOAuthConfiguration -Identity global

# Step 8: register Exchange as a partner application - pre-check
$beforeCsPartnerApplications = Get-CsPartnerApplication
Get-CsPartnerApplication | Format-List

# Step 8: register Exchange as a partner application - change
New-CsPartnerApplication -Identity Exchange -ApplicationTrustLevel Full -MetadataUrl 'https://autodiscover.litwareinc.com/autodiscover/metadata/json/1'

# Step 8: register Exchange as a partner application - verify
Get-CsPartnerApplication -Identity Exchange

# Verification: server-to-server connection to Exchange storage
Test-CsExStorageConnectivity -SipUri 'sip:kenmyer@litwareinc.com'
