# runbook 0.1.0: Lync Server Management Shell commands for environment 'litwareinc'.
# Run on atl-cs-001.litwareinc.com, step by step, as in the runbook. Generated: do not edit.
$ErrorActionPreference = 'Stop'

# Step 2: Lync OAuthTokenIssuer certificate - pre-check
$beforeOAuthCertificate = Get-CsCertificate -Type OAuthTokenIssuer
$beforeOAuthCertificate | Format-List

# Step 2: Lync OAuthTokenIssuer certificate - change
$x = (Get-CsCertificate -Type Default).Thumbprint
Set-CsCertificate -Identity global -Type OAuthTokenIssuer -Thumbprint $x

# Step 2: Lync OAuthTokenIssuer certificate - verify
Get-CsCertificate -Type OAuthTokenIssuer

# Step 6: Point Lync at Exchange autodiscover - pre-check
$beforeOAuthConfiguration = Get-CsOAuthConfiguration -Identity global
$beforeOAuthConfiguration | Format-List

# Step 6: Point Lync at Exchange autodiscover - change
Set-CsOAuthConfiguration -Identity global -ExchangeAutodiscoverUrl 'https://autodiscover.litwareinc.com/autodiscover/autodiscover.svc'

# Step 6: Point Lync at Exchange autodiscover - verify
Get-CsOAuthConfiguration -Identity global

# Step 8: Register Exchange as a partner application in Lync - pre-check
$beforeCsPartnerApplications = Get-CsPartnerApplication
Get-CsPartnerApplication | Format-List

# Step 8: Register Exchange as a partner application in Lync - change
New-CsPartnerApplication -Identity Exchange -ApplicationTrustLevel Full -MetadataUrl 'https://autodiscover.litwareinc.com/autodiscover/metadata/json/1'

# Step 8: Register Exchange as a partner application in Lync - verify
Get-CsPartnerApplication -Identity Exchange

# Verification: Server-to-server connection to Exchange storage - verify
Test-CsExStorageConnectivity -SipUri 'sip:kenmyer@litwareinc.com'
