# runbook 0.1.0: Windows DNS commands for environment 'contoso' (DnsServer module).
# Step 5 of the runbook. Generated: do not edit.
$ErrorActionPreference = 'Stop'

# Step 5: DNS record - pre-check
Resolve-DnsName -Name 'autodiscover.contoso.com' -Server 'dc01.contoso.com' -DnsOnly

# Step 5: DNS record - change
Add-DnsServerResourceRecordCName -Name 'autodiscover' -HostNameAlias 'ex01.contoso.com' -ZoneName 'contoso.com' -ComputerName 'dc01.contoso.com'

# Step 5: DNS record - verify
Resolve-DnsName -Name 'autodiscover.contoso.com' -Server 'dc01.contoso.com' -DnsOnly
