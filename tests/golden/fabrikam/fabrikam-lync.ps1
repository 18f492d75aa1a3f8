# runbook 0.1.0: Skype for Business Server Management Shell commands for environment 'fabrikam'.
# Run on sfbfe1.corp.fabrikam.com, step by step, as in the runbook. Generated: do not edit.
$ErrorActionPreference = 'Stop'

# Step 2: OAuthTokenIssuer certificate - pre-check
$beforeOAuthCertificate = Get-CsCertificate -Type OAuthTokenIssuer
$beforeOAuthCertificate | Format-List

# Step 2: OAuthTokenIssuer certificate - change
Set-CsCertificate -Identity global -Type OAuthTokenIssuer -Thumbprint '3E4F0A1B2C3D4E5F60718293A4B5C6D7E8F90A1B'

# Step 2: OAuthTokenIssuer certificate - verify
Get-CsCertificate -Type OAuthTokenIssuer

# Step 6: Exchange autodiscover URL - pre-check
$beforeOAuthConfiguration = Get-CsOAuthConfiguration -Identity global
$beforeOAuthConfiguration | Format-List

# Step 6: Exchange autodiscover URL - change
Set-CsOAuthConfiguration -Identity global -ExchangeAutodiscoverUrl 'https://autodiscover.corp.fabrikam.com/autodiscover/autodiscover.svc'

# Step 6: Exchange autodiscover URL - verify
Get-CsOAuthConfiguration -Identity global

# Step 8: register Exchange as a partner application - pre-check
$beforeCsPartnerApplications = Get-CsPartnerApplication
Get-CsPartnerApplication | Format-List

# Step 8: register Exchange as a partner application - change
New-CsPartnerApplication -Identity Exchange -ApplicationTrustLevel Full -MetadataUrl 'https://autodiscover.corp.fabrikam.com/autodiscover/metadata/json/1'

# Step 8: register Exchange as a partner application - verify
Get-CsPartnerApplication -Identity Exchange

# Verification: server-to-server connection to Exchange storage
Test-CsExStorageConnectivity -SipUri 'sip:adele.vance@fabrikam.com'
