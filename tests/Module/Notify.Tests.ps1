#Requires -Version 7.4
# Alerts as a studio gets them: a real SMTP server (npm smtp-server, STARTTLS with a throwaway certificate the child
# PowerShell trusts through SSL_CERT_FILE, i.e. the platform's own trust store) and a real HTTP listener on 127.0.0.1.
# Runs happen in a child pwsh, as a scheduled task would start them; secrets come only from Set-NekkCredential.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Join-Path $PSScriptRoot 'NodeTools.psm1') -Force
    Import-NekkTestModule
    $script:work = New-NekkTestDirectory 'notify'
    $script:data = Join-Path $work 'data'
    $env:NEKKBACKUP_DATA = $data
    $script:smtpUser = 'alerts@studio.test'
    $script:smtpPass = 'pw-Q7x!Notify-' + [guid]::NewGuid().ToString('N').Substring(0, 8)
    $script:sink = Start-NekkAlertSink -Directory $work -User $smtpUser -Password $smtpPass
    $script:hookToken = 'tok-' + [guid]::NewGuid().ToString('N')
    $script:hookUrl = "http://127.0.0.1:$($sink.HttpPort)/hooks/$hookToken"
    # A closed port on loopback: the "unreachable webhook".
    $l = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0); $l.Start(); $script:deadPort = $l.LocalEndpoint.Port; $l.Stop()
    Set-NekkCredential -Target webhook:alerts -Secret (ConvertTo-SecureString $hookUrl -AsPlainText -Force)
    Set-NekkCredential -Target webhook:teams -Secret (ConvertTo-SecureString "$hookUrl/teams" -AsPlainText -Force)
    Set-NekkCredential -Target webhook:slack -Secret (ConvertTo-SecureString "$hookUrl/slack" -AsPlainText -Force)
    Set-NekkCredential -Target webhook:dead -Secret (ConvertTo-SecureString "http://127.0.0.1:$deadPort/hooks/$hookToken" -AsPlainText -Force)
    Set-NekkCredential -Target smtp:127.0.0.1 -Credential ([pscredential]::new($smtpUser, (ConvertTo-SecureString $smtpPass -AsPlainText -Force)))

    $script:src = New-Item -ItemType Directory (Join-Path $work 'Sessions') -Force
    Set-Content (Join-Path $src 'take-01.wav') 'take one'
    $script:nasRoot = New-Item -ItemType Directory (Join-Path $work 'nas') -Force
    $smtpTable = "Smtp = @{ Server = '127.0.0.1'; Port = $($sink.SmtpPort); From = 'nekk@studio.test'; To = @('owner@studio.test', 'it@studio.test') }"
    function New-NotifyPlan([string] $Name, [string] $Notify, [string] $Sources = $src.FullName, [string] $Extra = '') {
        $p = Join-Path $work "$Name.psd1"
        Set-Content $p "@{ SchemaVersion = 1; Name = '$Name'; Host = 'studio-a'; Sources = '$Sources'; NasDestination = '$(Join-Path $nasRoot $Name)'; Daw = @{ Processes = @() }; $Notify $Extra }"
        $p
    }
    # Runs a script in a fresh pwsh (as the scheduler would) that trusts the sink's certificate through SSL_CERT_FILE.
    function Invoke-Child([string] $Script, [switch] $NoTrust) {
        $old = $env:SSL_CERT_FILE
        try {
            $env:SSL_CERT_FILE = if ($NoTrust) { $null } else { $sink.Certificate }
            $out = Invoke-NekkPwsh -Command "Import-Module '$(Get-NekkManifestPath)'; $Script" 2>&1
            [pscustomobject]@{ Exit = $LASTEXITCODE; Output = ($out | Out-String) }
        }
        finally { $env:SSL_CERT_FILE = $old }
    }
    function Wait-Inbox([int] $Webhooks, [int] $Mails) {
        $deadline = (Get-Date).AddSeconds(10)
        while ((@(Get-NekkAlertSinkMessage $sink webhook).Count -lt $Webhooks -or @(Get-NekkAlertSinkMessage $sink mail).Count -lt $Mails) -and (Get-Date) -lt $deadline) { Start-Sleep -Milliseconds 100 }
        Start-Sleep -Milliseconds 300   # and nothing more arrives
    }
    function Clear-Inbox { Remove-Item (Join-Path $sink.Inbox '*') -Force -ErrorAction Ignore }
    function Get-Logs { Get-ChildItem (Join-Path $data 'logs') -Recurse -File -ErrorAction Ignore | ForEach-Object { Get-Content -Raw $_.FullName } | Out-String }
}

AfterAll {
    if ($script:sink) { Stop-Process -Id $sink.Process.Id -Force -ErrorAction Ignore }
    Remove-Item -Recurse -Force $script:work -ErrorAction SilentlyContinue
}

Describe 'A failing leg alerts once by webhook and once by e-mail' {
    BeforeAll {
        Clear-Inbox
        $script:reports = Join-Path $work 'reports'
        $script:failPlan = New-NotifyPlan 'failing' "Notify = @{ When = 'Failure'; Webhook = @{ Name = 'alerts'; Format = 'Json' }; $smtpTable };" -Sources (Join-Path $work 'Sessions-gone') -Extra "; Report = @{ Path = '$reports' }"
        $script:run = Invoke-Child "`$r = Invoke-NekkBackupPlan -Path '$failPlan' -Job Folder -ErrorAction SilentlyContinue; `$r.Status; exit `$LASTEXITCODE"
        Wait-Inbox 1 1
        $script:hooks = @(Get-NekkAlertSinkMessage $sink webhook)
        $script:mails = @(Get-NekkAlertSinkMessage $sink mail)
    }

    It 'the run failed with exit code 1, as it would without Notify' {
        $run.Exit | Should -Be 1 -Because $run.Output
        $run.Output | Should -Match 'Failed'
    }

    It 'sends exactly one webhook POST with host, plan, leg, reason and next step' {
        $hooks.Count | Should -Be 1
        $hooks[0].method | Should -Be 'POST'
        $hooks[0].url | Should -Be "/hooks/$hookToken"
        $hooks[0].contentType | Should -BeLike 'application/json*'
        $b = $hooks[0].body | ConvertFrom-Json
        $b.source | Should -Be 'NekkBackup'
        $b.kind | Should -Be 'Failure'
        $b.host | Should -Be 'studio-a'
        $b.plan | Should -Be 'failing'
        $b.status | Should -Be 'Failed'
        $b.legs[0].leg | Should -Be 'Folder'
        $b.legs[0].status | Should -Be 'Failed'
        $b.reason | Should -Match 'Sessions-gone'
        $b.nextStep | Should -Match 'Invoke-NekkBackupPlan -Path .*failing\.psd1 -Job Folder'
        $b.compliant | Should -BeFalse
    }

    It 'sends exactly one e-mail over STARTTLS, authenticated, to every recipient, with the same content' {
        $mails.Count | Should -Be 1
        $m = $mails[0]
        $m.secure | Should -BeTrue
        $m.user | Should -Be $smtpUser
        $m.envelopeFrom | Should -Be 'nekk@studio.test'
        $m.envelopeTo | Should -Be @('owner@studio.test', 'it@studio.test')
        $m.subject | Should -Be 'NekkBackup: studio-a backup failed (Folder) — plan failing'
        $m.host | Should -Be 'studio-a'
        $m.text | Should -Match 'Host: studio-a'
        $m.text | Should -Match 'Plan: failing'
        $m.text | Should -Match 'Leg: Folder Backup — Failed: .*Sessions-gone'
        $m.text | Should -Match 'Next step: Read the reason above'
    }

    It 'writes the report after the run, and no secret is in the plan, the log, the report or the output' {
        $report = Join-Path $reports 'studio-a-failing.html'
        Test-Path $report | Should -BeTrue
        $places = @{ plan = (Get-Content -Raw $failPlan); log = (Get-Logs); report = (Get-Content -Raw $report); output = $run.Output }
        $places.log | Should -Match 'failing'   # the log exists and is about this run
        foreach ($k in $places.Keys) {
            $places[$k] | Should -Not -Match ([regex]::Escape($hookToken)) -Because "the webhook URL must not be in the $k"
            $places[$k] | Should -Not -Match ([regex]::Escape($smtpPass)) -Because "the SMTP password must not be in the $k"
        }
    }
}

Describe 'An alert that cannot be delivered' {
    It 'leaves a failing run''s status and exit code as they are, and logs a warning naming the channel (not the URL)' {
        Clear-Inbox
        $plain = New-NotifyPlan 'plain' '' -Sources (Join-Path $work 'Sessions-gone')
        $dead = New-NotifyPlan 'deadhook' "Notify = @{ When = 'Always'; Webhook = @{ Name = 'dead'; Format = 'Json' } };" -Sources (Join-Path $work 'Sessions-gone')
        $a = Invoke-Child "`$r = Invoke-NekkBackupPlan -Path '$plain' -Job Folder -ErrorAction SilentlyContinue; `$r.Status; exit `$LASTEXITCODE"
        $sw = [Diagnostics.Stopwatch]::StartNew()
        $b = Invoke-Child "`$r = Invoke-NekkBackupPlan -Path '$dead' -Job Folder -ErrorAction SilentlyContinue; `$r.Status; exit `$LASTEXITCODE"
        $sw.Stop()
        $b.Exit | Should -Be $a.Exit
        $b.Exit | Should -Be 1
        ($b.Output -split "`n")[0].Trim() | Should -Be 'Failed'
        $sw.Elapsed.TotalSeconds | Should -BeLessThan 45 -Because 'delivery has a short budget'
        $log = Get-Logs
        $log | Should -Match "Notification \(Failure\) to webhook 'dead' \(Json\) could not be delivered: webhook 'dead' \(Json\): could not connect \(ConnectionRefused\)"
        $log | Should -Not -Match ([regex]::Escape("127.0.0.1:$deadPort"))
        $log | Should -Not -Match ([regex]::Escape($hookToken))
    }

    It 'leaves a successful run Succeeded with exit code 0' {
        $dead = New-NotifyPlan 'deadok' "Notify = @{ When = 'Always'; Webhook = @{ Name = 'dead' } };"
        $b = Invoke-Child "`$r = Invoke-NekkBackupPlan -Path '$dead' -Job Folder; `$r.Status; exit `$LASTEXITCODE"
        $b.Exit | Should -Be 0 -Because $b.Output
        ($b.Output -split "`n")[0].Trim() | Should -Be 'Succeeded'
        Get-Logs | Should -Match "Notification \(Run\) to webhook 'dead' \(Json\) could not be delivered"
    }
}

Describe 'Send-NekkBackupNotification' {
    It '-Test reaches a Teams card, a Slack message and the mailbox, and MailKit loads in the module''s own load context' {
        Clear-Inbox
        $p = New-NotifyPlan 'channels' "Notify = @{ Webhook = @(@{ Name = 'teams'; Format = 'Teams' }, @{ Name = 'slack'; Format = 'Slack' }); $smtpTable };"
        $r = Invoke-Child @"
`$d = Send-NekkBackupNotification -Path '$p' -Test
`$alc = [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { `$_.GetName().Name -eq 'MailKit' } | ForEach-Object { [System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext(`$_).Name }
[pscustomobject]@{ D = @(`$d | Select-Object Channel, Kind, Message, Delivered, Attempts); Alc = @(`$alc); Type = `$d[0].PSObject.TypeNames[0] } | ConvertTo-Json -Depth 4 -Compress
"@
        $r.Exit | Should -Be 0 -Because $r.Output
        $o = ($r.Output -split "`n" | Where-Object { $_ -match '^\{' } | Select-Object -Last 1) | ConvertFrom-Json
        $o.Type | Should -Be 'NekkBackup.NotificationDelivery'
        ($o.D | ForEach-Object { "$($_.Kind)/$($_.Message)=$($_.Delivered)" }) | Should -Be @('Webhook/Test=True', 'Webhook/Test=True', 'Email/Test=True')
        $o.Alc | Should -Be @('NekkBackup')
        Wait-Inbox 2 1
        $hooks = @(Get-NekkAlertSinkMessage $sink webhook)
        $hooks.Count | Should -Be 2
        $teams = ($hooks | Where-Object url -like '*/teams').body | ConvertFrom-Json
        $teams.type | Should -Be 'message'
        $teams.attachments[0].contentType | Should -Be 'application/vnd.microsoft.card.adaptive'
        $teams.attachments[0].content.body[0].text | Should -Be 'NekkBackup: test message from studio-a — plan channels'
        ($teams.attachments[0].content.body[1].facts | Where-Object title -eq 'Host').value | Should -Be 'studio-a'
        $slack = ($hooks | Where-Object url -like '*/slack').body | ConvertFrom-Json
        $slack.text | Should -Be 'NekkBackup: test message from studio-a — plan channels'
        $slack.blocks[1].text.text | Should -Match '\*Host:\* studio-a'
        @(Get-NekkAlertSinkMessage $sink mail)[0].subject | Should -Be 'NekkBackup: test message from studio-a — plan channels'
    }

    It 'trusts only what the platform trusts: without the test certificate the e-mail is not sent' {
        Clear-Inbox
        $p = New-NotifyPlan 'untrusted' "Notify = @{ $smtpTable };"
        $r = Invoke-Child "Send-NekkBackupNotification -Path '$p' -Test -ErrorAction SilentlyContinue -ErrorVariable e | Out-Null; `$e[0].FullyQualifiedErrorId; `$e[0].Exception.Message" -NoTrust
        $r.Output | Should -Match 'NekkBackup.NotificationFailed'
        $r.Output | Should -Match 'TLS handshake failed'
        Start-Sleep -Milliseconds 500
        @(Get-NekkAlertSinkMessage $sink mail).Count | Should -Be 0
    }

    It 'refuses a plan without Notify, and a plan that puts a secret in Notify' {
        $none = New-NotifyPlan 'nonotify' ''
        { Send-NekkBackupNotification -Path $none -Test -ErrorAction Stop } | Should -Throw -ErrorId 'NekkBackup.NotifyNotConfigured,NekkBackup.Commands.Reports.SendNekkBackupNotificationCommand'
        $bad = New-NotifyPlan 'secretplan' "Notify = @{ Webhook = @{ Name = 'x'; Url = 'https://example.invalid/hook' } };"
        $err = $null
        try { Send-NekkBackupNotification -Path $bad -Test -ErrorAction Stop } catch { $err = $_ }
        $err.FullyQualifiedErrorId | Should -BeLike 'NekkBackup.InvalidPlan,*'
        $err.Exception.Message | Should -Match "key 'Notify.Webhook.Url' looks like a secret"
        { Set-NekkCredential -Target webhook:x -Secret (ConvertTo-SecureString 'ftp://nope' -AsPlainText -Force) -ErrorAction Stop } |
            Should -Throw -ErrorId 'NekkBackup.InvalidWebhookUrl,NekkBackup.Commands.Plans.SetNekkCredentialCommand'
    }

    It '-WhatIf sends nothing' {
        Clear-Inbox
        $p = New-NotifyPlan 'whatif' "Notify = @{ Webhook = @{ Name = 'alerts' } };"
        Send-NekkBackupNotification -Path $p -Test -WhatIf | Should -BeNullOrEmpty
        Start-Sleep -Milliseconds 300
        @(Get-NekkAlertSinkMessage $sink webhook).Count | Should -Be 0
    }
}
