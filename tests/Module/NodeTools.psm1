# The npm tools the report and alert tests drive (tests/Module/node: puppeteer-core, smtp-server, mailparser).
Set-StrictMode -Version 3.0

function Get-NekkNodeTools {
    $dir = Join-Path $PSScriptRoot 'node'
    if (-not (Test-Path (Join-Path $dir 'node_modules/puppeteer-core/package.json')) -or -not (Test-Path (Join-Path $dir 'node_modules/smtp-server/package.json'))) {
        # .ci/run installs them; a developer's first run does it here.
        & npm ci --no-audit --no-fund --silent --prefix $dir | Out-Null
        if ($LASTEXITCODE) { throw "npm ci in $dir failed" }
    }
    $dir
}

# Opens the report in headless chromium; returns the page facts (console errors, requests, overflow, marks, PDF).
function Invoke-NekkReportCheck([string] $Report, [string] $OutDir, [string] $Name) {
    $tools = Get-NekkNodeTools
    $json = & node (Join-Path $tools 'check-report.mjs') $Report $OutDir $Name
    if ($LASTEXITCODE) { throw "check-report.mjs failed ($LASTEXITCODE): $json" }
    $json | ConvertFrom-Json -AsHashtable
}

# Starts the SMTP (STARTTLS) + HTTP alert sink on 127.0.0.1 with a throwaway certificate; returns ports, paths and the process.
function Start-NekkAlertSink([string] $Directory, [string] $User, [string] $Password) {
    $tools = Get-NekkNodeTools
    $cert = Join-Path $Directory 'sink-cert.pem'
    $key = Join-Path $Directory 'sink-key.pem'
    & openssl req -x509 -newkey rsa:2048 -nodes -keyout $key -out $cert -days 2 -subj '/CN=127.0.0.1' -addext 'subjectAltName=IP:127.0.0.1,DNS:localhost' 2>$null
    if ($LASTEXITCODE) { throw 'openssl could not make the test certificate' }
    $inbox = Join-Path $Directory 'inbox'
    $out = Join-Path $Directory 'sink.out'
    $p = Start-Process node -ArgumentList @((Join-Path $tools 'alert-sink.mjs'), $inbox, $cert, $key, $User, $Password) -PassThru -RedirectStandardOutput $out -RedirectStandardError "$out.err"
    $deadline = (Get-Date).AddSeconds(30)
    while (-not ((Test-Path $out) -and (Get-Content -Raw $out) -match 'READY (\d+) (\d+)')) {
        if ((Get-Date) -gt $deadline -or $p.HasExited) { throw "the alert sink did not start: $(Get-Content -Raw "$out.err" -ErrorAction Ignore)" }
        Start-Sleep -Milliseconds 100
    }
    [pscustomobject]@{ Process = $p; SmtpPort = [int]$Matches[1]; HttpPort = [int]$Matches[2]; Inbox = $inbox; Certificate = $cert }
}

# The messages the sink received so far: webhook POSTs and e-mails, oldest first.
function Get-NekkAlertSinkMessage($Sink, [ValidateSet('webhook', 'mail')] [string] $Kind) {
    if (-not (Test-Path $Sink.Inbox)) { return @() }
    @(Get-ChildItem $Sink.Inbox -Filter "$Kind-*.json" | Sort-Object { [long]($_.BaseName -split '-')[1] }, Name | ForEach-Object { Get-Content -Raw $_.FullName | ConvertFrom-Json })
}

# Starts s3rver (the real S3-protocol server, field-notes.md) on a free loopback port with one bucket; returns Process and Port.
function Start-NekkS3rver([string] $DataDirectory, [string] $Bucket) {
    $cache = Join-Path $HOME '.cache/nekkbackup-s3rver'
    $s3js = if ($env:NEKKBACKUP_S3RVER) { $env:NEKKBACKUP_S3RVER } else { Join-Path $cache 'node_modules/s3rver/bin/s3rver.js' }
    if (-not (Test-Path $s3js)) { & npm install --no-audit --no-fund --prefix $cache s3rver@3.7.1 | Out-Null }
    $l = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0); $l.Start(); $port = $l.LocalEndpoint.Port; $l.Stop()
    New-Item -ItemType Directory -Force $DataDirectory | Out-Null
    # --openssl-legacy-provider: s3rver's continuation tokens use a cipher OpenSSL 3 only offers there.
    $p = Start-Process node -ArgumentList @('--openssl-legacy-provider', $s3js, '-d', $DataDirectory, '-p', $port, '-a', '127.0.0.1', '-s', '--configure-bucket', $Bucket) -PassThru
    $deadline = (Get-Date).AddSeconds(30)
    while ($true) {
        try { $c = [System.Net.Sockets.TcpClient]::new('127.0.0.1', $port); $c.Dispose(); break }
        catch { if ((Get-Date) -gt $deadline) { throw 's3rver did not start' }; Start-Sleep -Milliseconds 100 }
    }
    [pscustomobject]@{ Process = $p; Port = $port }
}

Export-ModuleMember -Function *
