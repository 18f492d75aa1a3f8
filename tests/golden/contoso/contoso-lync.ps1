# runbook 0.1.0: Skype for Business Server Management Shell commands for environment 'contoso'.
# Run on fe01.contoso.com, step by step, as in the runbook. Generated: do not edit.
$ErrorActionPreference = 'Stop'

# Step 2: Skype for Business OAuthTokenIssuer certificate - pre-check
$beforeOAuthCertificate = Get-CsCertificate -Type OAuthTokenIssuer
$beforeOAuthCertificate | Format-List

# Step 2: Skype for Business OAuthTokenIssuer certificate - change
Set-CsCertificate -Identity global -Type OAuthTokenIssuer -Thumbprint '5F1A07A5D220018587E8136347C373267524F227'

# Step 2: Skype for Business OAuthTokenIssuer certificate - verify
Get-CsCertificate -Type OAuthTokenIssuer

# Step 6: Point Skype for Business at Exchange autodiscover - pre-check
$beforeOAuthConfiguration = Get-CsOAuthConfiguration -Identity global
$beforeOAuthConfiguration | Format-List

# Step 6: Point Skype for Business at Exchange autodiscover - change
Set-CsOAuthConfiguration -Identity global -ExchangeAutodiscoverUrl 'https://autodiscover.contoso.com/autodiscover/autodiscover.svc'

# Step 6: Point Skype for Business at Exchange autodiscover - verify
Get-CsOAuthConfiguration -Identity global

# Step 8: Register Exchange as a partner application in Skype for Business - pre-check
$beforeCsPartnerApplications = Get-CsPartnerApplication
Get-CsPartnerApplication | Format-List

# Step 8: Register Exchange as a partner application in Skype for Business - change
New-CsPartnerApplication -Identity Exchange -ApplicationTrustLevel Full -MetadataUrl 'https://autodiscover.contoso.com/autodiscover/metadata/json/1'

# Step 8: Register Exchange as a partner application in Skype for Business - verify
Get-CsPartnerApplication -Identity Exchange

# Verification: Server-to-server connection to Exchange storage - verify
Test-CsExStorageConnectivity -SipUri 'sip:pilar.ackerman@contoso.com'
