extension CertificatePage {
    /// The page's only style sheet: a document on screen, A4 on paper. Fonts are the
    /// reader's own (nothing is fetched); colours print as they show (`print-color-adjust`).
    static let style = """
        :root{--ink:#1d2330;--soft:#5b6474;--line:#d9dee7;--paper:#fff;--accent:#1b6e3a;--warn:#b03a2e;--warnbg:#fdf1ef;
        --serif:Georgia,"DejaVu Serif","Times New Roman",serif;--sans:"Segoe UI","Helvetica Neue",Arial,"Liberation Sans","DejaVu Sans",sans-serif;
        --mono:"DejaVu Sans Mono",Menlo,Consolas,monospace}
        *{box-sizing:border-box}
        html{background:#eceff3;-webkit-print-color-adjust:exact;print-color-adjust:exact}
        body{margin:0;color:var(--ink);font:14px/1.5 var(--sans)}
        .sheet{max-width:210mm;margin:24px auto;padding:18mm 16mm;background:var(--paper);box-shadow:0 2px 14px rgba(20,30,50,.14)}
        h1{font:700 26px/1.2 var(--serif);margin:6px 0 6px}
        h2{font:700 15px/1.3 var(--sans);text-transform:uppercase;letter-spacing:.06em;color:var(--soft);
        border-bottom:1px solid var(--line);padding-bottom:4px;margin:26px 0 10px}
        code,pre{font-family:var(--mono);font-size:12px}
        code{word-break:break-all}
        pre{background:#f4f6f9;border:1px solid var(--line);border-radius:4px;padding:8px 10px;white-space:pre-wrap}
        .masthead{border-bottom:3px double var(--ink);padding-bottom:10px}
        .kicker{font:700 12px/1 var(--sans);letter-spacing:.18em;text-transform:uppercase;color:var(--accent)}
        .when{font-size:16px;margin:2px 0}.id{color:var(--soft);margin:2px 0;font-size:12.5px}
        .headline{margin:18px 0 4px}
        .rehearsal{margin:0 0 10px;padding:8px 12px;border:3px solid #b00020;color:#b00020;font-weight:700;letter-spacing:.04em}
        .sentence{font:400 20px/1.4 var(--serif);margin:0 0 14px}
        .figures{display:flex;gap:10px}
        .figure{flex:1;border:1px solid var(--line);border-radius:6px;padding:10px 12px}
        .figure.main{border:2px solid var(--accent);flex:1.35}
        .figure .value{font:700 28px/1.1 var(--serif);font-variant-numeric:tabular-nums}
        .figure.main .value{font-size:36px;color:var(--accent)}
        .figure .label{font-weight:700;margin-top:2px}.figure .note{color:var(--soft);font-size:12px;line-height:1.35}
        .status{color:var(--soft);margin:10px 0 0}.amended-result{color:var(--warn)}
        svg.plot{width:100%;height:auto;display:block;font-family:var(--sans)}
        svg .grid{stroke:#e6e9ef;stroke-width:1}svg .axis{stroke:#8a93a3;stroke-width:1}
        svg .tick{font-size:11px;fill:#4a5262}svg .title{font-size:12px;fill:#2c3340;font-weight:600}
        svg .legend{font-size:11.5px;fill:#2c3340}
        svg .incomplete{fill:#f8d3cd}svg .unsealed{fill:#eef0f4}svg .amended{fill:#7a4cc2}
        p.ok{color:var(--accent);margin:4px 0}p.warn{margin:6px 0}
        ul.warn{background:var(--warnbg);border-left:3px solid var(--warn);margin:4px 0 8px;padding:6px 10px 6px 28px}
        ul.warn .reason{color:var(--soft)}
        table{border-collapse:collapse;width:100%}
        th,td{text-align:left;vertical-align:top;padding:5px 8px;border-bottom:1px solid var(--line)}
        table.rules{table-layout:fixed}table.rules th:first-child{width:21%}table.rules td.value,table.rules thead th:last-child{width:27%}
        table.rules td.value{font-weight:600}
        table.rules thead th,table.numbers thead th{font-size:11.5px;text-transform:uppercase;letter-spacing:.04em;color:var(--soft)}
        table.numbers{font-size:12px;font-variant-numeric:tabular-nums}
        table.numbers td,table.numbers th{padding:2px 6px}table.numbers td{white-space:nowrap}
        table.numbers code{word-break:normal;font-size:11px}
        table.numbers .n{text-align:right}table.numbers td.utc,table.numbers td.sealed{color:var(--soft)}
        table.numbers tr.incomplete td{background:var(--warnbg)}table.numbers tr.amended td{background:#f3eefb}table.numbers tr.amended td.note{color:#7a4cc2}
        table.numbers td.note{color:var(--warn);font-weight:600}
        .fine{color:var(--soft);font-size:12px}
        .key{font-size:12.5px}
        .signs{display:flex;gap:28px}
        .sign{flex:1;border:1px solid var(--line);border-radius:6px;padding:10px 14px 4px}
        .sign .role{font-weight:700}
        .sign .line{border-bottom:1px solid #9aa3b2;height:46px;padding-top:30px;font-size:11px;color:var(--soft)}
        dl{margin:0}dt{font-weight:600;margin-top:6px}dd{margin:0 0 2px}
        @page{size:A4;margin:14mm 13mm 16mm;
        @bottom-left{content:"Headcount attendance certificate";font:9px sans-serif;color:#6b7280}
        @bottom-right{content:"page " counter(page) " of " counter(pages);font:9px sans-serif;color:#6b7280}}
        @media print{
        html{background:none}body{font-size:10pt;line-height:1.4}
        table.numbers{font-size:7.8pt}table.numbers code{font-size:7.4pt}table.numbers td,table.numbers th{padding:1px 4px}
        table.rules td,table.rules th{padding:3px 6px}
        .sheet{max-width:none;margin:0;padding:0;box-shadow:none}
        h2{break-after:avoid}
        .headline,.chart,.figure,.signatures,.check,table.rules tr,ul.warn li{break-inside:avoid}
        .seals{break-before:page}
        .minutes{break-before:page}
        table.numbers thead{display:table-header-group}
        table.numbers tr{break-inside:avoid}
        pre{white-space:pre-wrap}
        }
        """
}
