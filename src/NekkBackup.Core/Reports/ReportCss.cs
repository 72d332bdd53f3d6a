namespace NekkBackup.Core.Reports
{
    /// <summary>The report's only style sheet, inlined: system fonts, fluid layout to 320 px, print rules.</summary>
    internal static class ReportCss
    {
        public const string Text = @"
*,*::before,*::after{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;font-family:system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif;font-size:16px;line-height:1.5;color:#1b1b1b;background:#fff}
header,main,footer{max-width:1100px;margin:0 auto;padding:0 16px}
header{padding-top:16px;border-bottom:1px solid #d0d7de}
h1{font-size:1.6rem;margin:.4em 0}
h2{font-size:1.3rem;margin:1.4em 0 .5em;padding-top:.6em;border-top:2px solid #d0d7de}
h3{font-size:1.1rem;margin:1.2em 0 .4em}
h4{font-size:1rem;margin:1em 0 .3em}
p,li,figcaption,dd{overflow-wrap:anywhere;word-break:break-word}
td,th{overflow-wrap:break-word}
.meta{color:#57606a;margin:.2em 0 .8em}
.verdict{border:2px solid;border-left-width:10px;border-radius:6px;padding:10px 14px;margin:12px 0}
.verdict .headline{font-size:1.15rem;font-weight:600;margin:.2em 0}
.verdict h3{font-size:1rem;margin:.8em 0 .2em}
.v-Safe{border-color:#1a7f37;background:#eefbf1}
.v-Attention{border-color:#9a6700;background:#fff8e5}
.v-AtRisk,.v-NotProtected{border-color:#c62828;background:#fdeeee}
.badge{display:inline-block;font-weight:700;padding:0 .45em;border-radius:4px;border:1px solid currentColor;margin-right:.3em;white-space:nowrap}
.s-Pass,.b-Safe{color:#1a7f37}
.s-Warn,.b-Attention{color:#8a5c00}
.s-Fail,.b-AtRisk,.b-NotProtected{color:#b71c1c}
.scroll{max-width:100%;overflow-x:auto}
table{border-collapse:collapse;width:100%;margin:.4em 0 1em;font-size:.95rem}
caption{text-align:left;font-weight:600;padding:.2em 0}
th,td{border-bottom:1px solid #d0d7de;padding:6px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa}
td.num{text-align:right;white-space:nowrap}
.legs{display:grid;grid-template-columns:1fr;gap:8px}
figure{margin:0 0 14px;padding:10px;border:1px solid #d0d7de;border-radius:6px;break-inside:avoid;page-break-inside:avoid}
figcaption{font-weight:600;margin-bottom:4px}
svg.chart{display:block;width:100%;height:auto;max-width:100%}
.chart text{font-size:19px;fill:#333}
.chart .ylab{text-anchor:end}
.chart .grid{stroke:#e3e6ea;stroke-width:1}
.chart .axis{stroke:#57606a;stroke-width:1.2}
.ok circle,.ok{fill:#1a7f37;stroke:none}
.fail path,.fail{stroke:#c62828;stroke-width:2.6;fill:none}
.refused path,.refused{fill:#b26a00;stroke:none}
.other rect,.other{fill:#6e7781;stroke:none}
.chart .area{fill:#ddeaff;stroke:none}
.chart .growth{fill:none;stroke:#0b57d0;stroke-width:2.2}
ul.legend{list-style:none;padding:0;margin:4px 0;display:flex;flex-wrap:wrap;gap:4px 16px}
ul.legend li{display:flex;align-items:center;gap:6px}
svg.key{flex:none}
.note{color:#57606a;font-size:.92rem}
footer{border-top:1px solid #d0d7de;margin-top:24px;padding-bottom:24px;color:#57606a;font-size:.9rem}
@media (min-width:900px){.legs{grid-template-columns:1fr 1fr}}
@media print{
  @page{margin:14mm}
  body{font-size:10.5pt}
  header,main,footer{max-width:none;padding:0}
  .scroll{overflow:visible}
  section.host{break-before:page;page-break-before:always}
  section.host:first-of-type{break-before:auto;page-break-before:auto}
  .verdict,table,figure,tr{break-inside:avoid;page-break-inside:avoid}
  .legs{grid-template-columns:1fr 1fr}
  *{-webkit-print-color-adjust:exact;print-color-adjust:exact}
}
";
    }
}
