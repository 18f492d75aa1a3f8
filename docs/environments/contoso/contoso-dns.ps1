# runbook 0.1.0: Windows PowerShell (DnsServer module) commands for environment 'contoso'.
# Run on dc01.contoso.com, step by step, as in the runbook. Generated: do not edit.
$ErrorActionPreference = 'Stop'

# Step 5: DNS record for autodiscover.contoso.com - pre-check
Resolve-DnsName -Name 'autodiscover.contoso.com' -Server 'dc01.contoso.com' -DnsOnly -ErrorAction SilentlyContinue

# Step 5: DNS record for autodiscover.contoso.com - change
Add-DnsServerResourceRecordCName -Name 'autodiscover' -HostNameAlias 'ex01.contoso.com' -ZoneName 'contoso.com' -ComputerName 'dc01.contoso.com'

# Step 5: DNS record for autodiscover.contoso.com - verify
Resolve-DnsName -Name 'autodiscover.contoso.com' -Server 'dc01.contoso.com' -DnsOnly
