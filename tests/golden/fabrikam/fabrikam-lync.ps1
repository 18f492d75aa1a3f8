# runbook 0.1.0: Skype for Business Server Management Shell commands for environment 'fabrikam'.
# Run on sfbfe1.corp.fabrikam.com, step by step, as in the runbook. Generated: do not edit.
$ErrorActionPreference = 'Stop'

# Step 2: Skype for Business OAuthTokenIssuer certificate - pre-check
$beforeOAuthCertificate = Get-CsCertificate -Type OAuthTokenIssuer
$beforeOAuthCertificate | Format-List

# Step 2: Skype for Business OAuthTokenIssuer certificate - change
Set-CsCertificate -Identity global -Type OAuthTokenIssuer -Thumbprint '3E4F0A1B2C3D4E5F60718293A4B5C6D7E8F90A1B'

# Step 2: Skype for Business OAuthTokenIssuer certificate - verify
Get-CsCertificate -Type OAuthTokenIssuer

# Step 6: Point Skype for Business at Exchange autodiscover - pre-check
$beforeOAuthConfiguration = Get-CsOAuthConfiguration -Identity global
$beforeOAuthConfiguration | Format-List

# Step 6: Point Skype for Business at Exchange autodiscover - change
Set-CsOAuthConfiguration -Identity global -ExchangeAutodiscoverUrl 'https://autodiscover.corp.fabrikam.com/autodiscover/autodiscover.svc'

# Step 6: Point Skype for Business at Exchange autodiscover - verify
Get-CsOAuthConfiguration -Identity global

# Step 8: Register Exchange as a partner application in Skype for Business - pre-check
$beforeCsPartnerApplications = Get-CsPartnerApplication
Get-CsPartnerApplication | Format-List

# Step 8: Register Exchange as a partner application in Skype for Business - change
New-CsPartnerApplication -Identity Exchange -ApplicationTrustLevel Full -MetadataUrl 'https://autodiscover.corp.fabrikam.com/autodiscover/metadata/json/1'

# Step 8: Register Exchange as a partner application in Skype for Business - verify
Get-CsPartnerApplication -Identity Exchange

# Verification: Server-to-server connection to Exchange storage - verify
Test-CsExStorageConnectivity -SipUri 'sip:adele.vance@fabrikam.com'
