#Requires -Version 7.4
# Export-NekkBackupReport as the studio owner sees it: the HTML opened in real headless chromium (Debian's package,
# driven by puppeteer-core): no console error, no request, the verdict and rule names visible, SVG charts with data
# marks, no horizontal overflow at 1280 and 390 px, page.pdf() works. Screenshots go to out/test-results/report/.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Join-Path $PSScriptRoot 'NodeTools.psm1') -Force
    Import-NekkTestModule
    $script:work = New-NekkTestDirectory 'report'
    $env:NEKKBACKUP_DATA = Join-Path $work 'data'
    $script:shots = Join-Path $PSScriptRoot '../../out/test-results/report'
    New-Item -ItemType Directory -Force $shots | Out-Null
    $script:rules = @('ThreeCopies', 'TwoMedia', 'OneOffsite', 'FolderFresh', 'CloudFresh', 'ImageFresh', 'DrillWithin92Days', 'ImageRepositorySeparate', 'IntegrityCheckPassed')

    # Everything a person would notice: the checks the issue lists, at both widths.
    function Assert-ReportInBrowser([hashtable] $Page, [string] $Headline) {
        $Page.consoleErrors | Should -BeNullOrEmpty
        $Page.requests | Should -BeNullOrEmpty
        foreach ($w in '1280', '390') {
            $m = $Page.widths[$w]
            $m.scrollWidth | Should -BeLessOrEqual $m.clientWidth -Because "no horizontal overflow at $w px ($($m.wide -join ', '))"
            ($m.headlines -join "`n") | Should -Match $Headline
            $m.scripts | Should -Be 0
            $m.h1 | Should -Be 1
            $m.charts | Should -BeGreaterThan 0
            $m.chartsWithTitle | Should -Be $m.charts
        }
        $Page.pdf.magic | Should -Be '%PDF-'
        $Page.pdf.bytes | Should -BeGreaterThan 10000
        foreach ($s in $Page.screenshots) { (Get-Item $s).Length | Should -BeGreaterThan 10000 }
    }
}

AfterAll {
    if ($script:s3) { Stop-Process -Id $script:s3.Id -Force -ErrorAction SilentlyContinue }
    Remove-Item -Recurse -Force $script:work -ErrorAction SilentlyContinue
}

Describe 'A 3-2-1 plan (folder, Ghost image, cloud) before and after it ran' {
    BeforeAll {
        $script:src = New-Item -ItemType Directory (Join-Path $work 'Sessions <script>alert(1)</script> & "take"') -Force
        1..6 | ForEach-Object { Set-Content (Join-Path $src "take-$_.wav") ("audio $_ " * 200) }
        $script:vol = Join-Path $work 'system.img'
        & truncate -s 16M $vol
        & mkfs.ext4 -q -F $vol
        # The NAS share (its folder exists; each host's destination is created by its first run).
        New-Item -ItemType Directory (Join-Path $work 'nas') -Force | Out-Null
        $script:nas = Join-Path $work 'nas/studio-r'
        $script:repo = Join-Path $work 'ghost'
        # The off-site leg: a real S3 server (s3rver) on loopback, keys stored for the backup principal.
        $s3srv = Start-NekkS3rver -DataDirectory (Join-Path $work 's3data') -Bucket offsite
        $script:s3 = $s3srv.Process
        $script:port = $s3srv.Port
        Set-NekkCredential -Target offsite -Credential ([pscredential]::new('S3RVER', (ConvertTo-SecureString 'S3RVER' -AsPlainText -Force)))
        $script:plan = Join-Path $work 'studio-r.psd1'
        $null = New-NekkBackupPlan -Path $plan -Source $src.FullName -NasDestination $nas -ImageSource $vol -ImageRepository $repo `
            -Bucket offsite -Endpoint "http://127.0.0.1:$port" -Prefix nekk -Region us-east-1 -DawProcess @()
    }

    It 'before any run: an honest "not protected yet" report' {
        $out = Join-Path $work 'before.html'
        $r = Export-NekkBackupReport -Path $plan -OutFile $out
        $r.PSObject.TypeNames[0] | Should -Be 'NekkBackup.ReportFile'
        $r.Verdict | Should -Be 'NotProtected'
        $r.Headline | Should -BeLike 'Not protected yet*'
        $page = Invoke-NekkReportCheck $out $shots 'before-any-run'
        Assert-ReportInBrowser $page 'Not protected yet'
        $page.widths['1280'].text | Should -Match 'Run the first backup now'
        foreach ($rule in $rules) { $page.widths['390'].rules | Should -Contain $rule }
    }

    It 'after folder, image and cloud runs (and one failure): charts with marks, verdict and rules visible, escaped names' {
        $first = Invoke-NekkBackupPlan -Path $plan
        $first.Status | Should -Be 'Succeeded' -Because $first.Reason
        $first.JobsRun | Should -Be @('Folder', 'Image', 'Cloud', 'Drill')
        # A failed run: the source folder is gone for a moment.
        $away = Join-Path $work 'moved-away'
        [System.IO.Directory]::Move($src.FullName, $away)
        $failed = Invoke-NekkBackupPlan -Path $plan -Job Folder -ErrorAction SilentlyContinue
        $failed.Status | Should -Be 'Failed'
        [System.IO.Directory]::Move($away, $src.FullName)
        Set-Content (Join-Path $src 'take-7.wav') ('new take ' * 500)
        (Invoke-NekkBackupPlan -Path $plan -Job Folder).Status | Should -Be 'Succeeded'
        (Invoke-NekkBackupPlan -Path $plan -Job Cloud).Status | Should -Be 'Succeeded'

        $out = Join-Path $work 'after.html'
        $r = Export-NekkBackupReport -Path $plan -OutFile $out -Days 30
        $r.Verdict | Should -BeIn @('Safe', 'Attention', 'AtRisk')
        $html = Get-Content -Raw $out
        # Self-contained: nothing that could load anything, and the hostile folder name is text, not markup.
        $html | Should -Not -Match '<script'
        $html | Should -Not -Match '(src|href)='
        $html | Should -Match ([regex]::Escape('Sessions &lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;take&quot;'))
        # Well-formed as XML too (an unescaped name would break this).
        $settings = [System.Xml.XmlReaderSettings]@{ DtdProcessing = 'Ignore' }
        $reader = [System.Xml.XmlReader]::Create([System.IO.StringReader]::new($html), $settings)
        while ($reader.Read()) { }
        $reader.Dispose()

        $page = Invoke-NekkReportCheck $out $shots 'after-runs'
        Assert-ReportInBrowser $page '3 copies|Action needed|safe'
        foreach ($rule in $rules) { $page.widths['1280'].rules | Should -Contain $rule }
        $m = $page.widths['1280']
        $m.marks | Should -BeGreaterOrEqual 7   # folder runs (3), image, cloud (2), growth lines, drill
        $m.failMarks | Should -Be 1
        $m.text | Should -Match 'NAS folder backup'
        $m.text | Should -Match 'Ghost system image'
        $m.text | Should -Match 'Off-site cloud copy'
        $m.text | Should -Match 'Succeeded: 2\s+Failed: 1'
        $m.text | Should -Match 'Full verification of the NAS backup'
        $m.text | Should -Match 'Upcoming schedule'
        $m.text | Should -Match ([regex]::Escape('Sessions <script>alert(1)</script> & "take"'))
        $html | Should -Not -Match 'S3RVER' -Because 'no credential reaches the report'
    }

    It 'the plan''s Report key writes the report after each run' {
        $p2 = Join-Path $work 'with-report.psd1'
        $reports = Join-Path $work 'nas/reports'
        Set-Content $p2 "@{ SchemaVersion = 1; Name = 'roomb'; Host = 'studio-b'; Sources = '$($src.FullName -replace "'", "''")'; NasDestination = '$(Join-Path $work 'nas/studio-b')'; Daw = @{ Processes = @() }; Report = @{ Path = '$reports'; Days = 14 } }"
        (Invoke-NekkBackupPlan -Path $p2 -Job Folder).Status | Should -Be 'Succeeded'
        $file = Join-Path $reports 'studio-b-roomb.html'
        Test-Path $file | Should -BeTrue
        Get-Content -Raw $file | Should -Match 'runs of the last 14 days'
    }

    It 'a fleet folder and a bucket give the fleet table, each host''s verdict and its run charts' {
        $fleetOut = Join-Path $work 'fleet.html'
        $f = Export-NekkBackupReport -FleetPath (Join-Path $work 'nas') -OutFile $fleetOut
        $f.Hosts | Should -Be 2
        $page = Invoke-NekkReportCheck $fleetOut $shots 'fleet'
        Assert-ReportInBrowser $page '.'
        $m = $page.widths['1280']
        $m.text | Should -Match '2 hosts: \d compliant, \d not compliant, 0 not reporting'
        $m.rules | Should -Contain 'studio-b'
        $m.marks | Should -BeGreaterThan 0
        $b = Export-NekkBackupReport -Bucket offsite -Endpoint "http://127.0.0.1:$port" -Prefix nekk -Region us-east-1 -OutFile (Join-Path $work 'bucket.html')
        $b.Hosts | Should -Be 1
        Get-Content -Raw $b.Path | Should -Match 'Every host.s latest published status'
        # The host published its plan history beside its status object: the bucket report charts its runs too.
        $bpage = Invoke-NekkReportCheck $b.Path $shots 'bucket'
        Assert-ReportInBrowser $bpage '.'
        $bpage.widths['1280'].marks | Should -BeGreaterThan 0
    }

    It 'bad input: a missing plan, a folder as -OutFile, -WhatIf writes nothing' {
        { Export-NekkBackupReport -Path (Join-Path $work 'nope.psd1') -OutFile (Join-Path $work 'x.html') -ErrorAction Stop } |
            Should -Throw -ErrorId 'NekkBackup.PlanNotFound,NekkBackup.Commands.Reports.ExportNekkBackupReportCommand'
        { Export-NekkBackupReport -Path $plan -OutFile $work -ErrorAction Stop } |
            Should -Throw -ErrorId 'NekkBackup.InvalidOutFile,NekkBackup.Commands.Reports.ExportNekkBackupReportCommand'
        $wi = Join-Path $work 'whatif.html'
        Export-NekkBackupReport -Path $plan -OutFile $wi -WhatIf | Should -BeNullOrEmpty
        Test-Path $wi | Should -BeFalse
    }
}
