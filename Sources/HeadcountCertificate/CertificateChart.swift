import HeadcountCore

/// The inline SVG chart of certificate.html: one step line per number over the window, with
/// labelled axes (time of day in the pipeline's zone, every 10 minutes for a two-hour event;
/// counts at round steps), incomplete minutes shaded and amended ones marked.
struct CertificateChart {
    let certificate: Certificate
    let time: CertificateTime
    /// More points than pixels only bloat the page.
    static let maximumPoints = 1000
    static let width = 900.0, height = 330.0, left = 66.0, bottom = 52.0, top = 34.0, right = 26.0

    struct Series {
        var name: String
        var color: String
        var width: Double
        var dash: String
        var value: @Sendable (BucketNumbers) -> Int
    }

    var series: [Series] {
        var all = [
            Series(name: "unique", color: "#6a3d9a", width: 1.6, dash: "", value: { $0.unique }),
            Series(name: "qualified", color: "#1b6e3a", width: 2.6, dash: "", value: { $0.qualified }),
            Series(name: "active", color: "#1f5fa8", width: 1.6, dash: "", value: { $0.active }),
            Series(name: "peak", color: "#c0392b", width: 1.4, dash: "5 3", value: { $0.peak }),
        ]
        if certificate.pipeline.spec.hasSustainedPeak {
            all.append(Series(name: "sustained peak", color: "#d35400", width: 1.8, dash: "", value: { $0.sustainedPeak }))
        }
        return all
    }

    private var rules: CountingRules { certificate.pipeline.rules }

    var svg: String {
        let buckets = certificate.snapshots.map(\.payload.numbers)
        guard !buckets.isEmpty else { return "<p>No snapshot is sealed yet.</p>" }
        let points = spans(buckets)
        let highest = max(1, points.map { point in series.map { $0.value(point.numbers) }.max() ?? 0 }.max() ?? 1)
        let step = Self.niceStep(Double(highest) / 5)
        let ceiling = Int((Double(highest) / step).rounded(.up) * step)
        var out = "<svg viewBox=\"0 0 \(Int(Self.width)) \(Int(Self.height))\" role=\"img\""
        out += " aria-label=\"\(CertificatePage.escape(certificate.audience)) per minute\" class=\"plot\">"
        out += shading(buckets)
        out += yAxis(ceiling: ceiling, step: step) + xAxis()
        for line in series {
            out += "<polyline fill=\"none\" stroke=\"\(line.color)\" stroke-width=\"\(line.width)\" stroke-linejoin=\"round\""
            if !line.dash.isEmpty { out += " stroke-dasharray=\"\(line.dash)\"" }
            out += " points=\"\(steps(points, line.value, ceiling: ceiling))\"/>"
        }
        out += legend() + "</svg>"
        return out
    }

    /// Each bucket's value held across the bucket: the numbers are per bucket, not per instant.
    private func steps(_ points: [(from: Instant, to: Instant, numbers: BucketNumbers)], _ value: (BucketNumbers) -> Int, ceiling: Int) -> String {
        points.map { point in
            let y = Self.format(y(value(point.numbers), ceiling: ceiling))
            return "\(Self.format(x(point.from))),\(y) \(Self.format(x(point.to))),\(y)"
        }.joined(separator: " ")
    }

    /// Runs of buckets merged by their maxima, which keeps every peak visible.
    static func downsampled(_ buckets: [BucketNumbers]) -> [BucketNumbers] {
        guard buckets.count > maximumPoints else { return buckets }
        let group = (buckets.count + maximumPoints - 1) / maximumPoints
        return stride(from: 0, to: buckets.count, by: group).map { start in
            let slice = buckets[start..<min(buckets.count, start + group)]
            var merged = slice.last!
            merged.bucketStart = slice.first!.bucketStart
            merged.active = slice.map(\.active).max()!
            merged.peak = slice.map(\.peak).max()!
            merged.sustainedPeak = slice.map(\.sustainedPeak).max()!
            merged.unique = slice.map(\.unique).max()!
            merged.qualified = slice.map(\.qualified).max()!
            return merged
        }
    }

    /// The merged buckets with the span each covers; the last ends with the last sealed bucket.
    private func spans(_ buckets: [BucketNumbers]) -> [(from: Instant, to: Instant, numbers: BucketNumbers)] {
        let merged = Self.downsampled(buckets)
        let end = rules.bucketEnd(buckets.last!.bucket)
        return merged.enumerated().map { index, numbers in
            (numbers.bucketStart, index + 1 < merged.count ? merged[index + 1].bucketStart : end, numbers)
        }
    }

    private func x(_ instant: Instant) -> Double {
        let span = Self.width - Self.left - Self.right
        let start = rules.windowStart.milliseconds, end = rules.windowEnd.milliseconds
        let clamped = min(max(instant.milliseconds, start), end)
        return Self.left + span * Double(clamped - start) / Double(max(1, end - start))
    }

    private func y(_ value: Int, ceiling: Int) -> Double {
        let span = Self.height - Self.top - Self.bottom
        return Self.top + span * (1 - Double(value) / Double(max(1, ceiling)))
    }

    /// 1, 2, 2.5 or 5 times a power of ten, at least `raw`.
    static func niceStep(_ raw: Double) -> Double {
        guard raw > 1 else { return 1 }
        var power = 1.0
        while power * 10 <= raw { power *= 10 }
        return [1, 2, 2.5, 5, 10].map { $0 * power }.first { $0 >= raw } ?? power * 10
    }

    private func yAxis(ceiling: Int, step: Double) -> String {
        let baseline = Self.height - Self.bottom
        var out = ""
        var value = 0.0
        while value <= Double(ceiling) + 0.5 {
            let y = Self.format(y(Int(value), ceiling: ceiling))
            out += "<line x1=\"\(Self.left)\" x2=\"\(Self.width - Self.right)\" y1=\"\(y)\" y2=\"\(y)\" class=\"grid\"/>"
            out += "<text x=\"\(Self.left - 8)\" y=\"\(y)\" dy=\"4\" text-anchor=\"end\" class=\"tick\">\(CertificatePage.grouped(Int(value)))</text>"
            value += step
        }
        out += "<line x1=\"\(Self.left)\" y1=\"\(Self.top)\" x2=\"\(Self.left)\" y2=\"\(baseline)\" class=\"axis\"/>"
        let title = certificate.audience.prefix(1).uppercased() + certificate.audience.dropFirst()
        out += "<text x=\"14\" y=\"\(Self.format((Self.top + baseline) / 2))\" transform=\"rotate(-90 14 \(Self.format((Self.top + baseline) / 2)))\""
        out += " text-anchor=\"middle\" class=\"title\">\(CertificatePage.escape(title))</text>"
        return out
    }

    /// Ticks at round local times: every 10 minutes for a two-hour window, wider for longer.
    private func xAxis() -> String {
        let baseline = Self.height - Self.bottom
        let start = rules.windowStart.milliseconds, end = rules.windowEnd.milliseconds
        let intervals: [Int64] = [1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440]
        let minutes = intervals.first { (end - start) / ($0 * 60_000) <= 13 } ?? 2880
        let period = minutes * 60_000
        let offset = Int64(time.offsetMinutes) * 60_000
        // The first round local time at or after the start.
        var tick = ((start + offset + period - 1) / period) * period - offset
        var out = "<line x1=\"\(Self.left)\" y1=\"\(baseline)\" x2=\"\(Self.width - Self.right)\" y2=\"\(baseline)\" class=\"axis\"/>"
        while tick <= end {
            let x = Self.format(x(Instant(milliseconds: tick)))
            out += "<line x1=\"\(x)\" x2=\"\(x)\" y1=\"\(baseline)\" y2=\"\(baseline + 5)\" class=\"axis\"/>"
            out += "<text x=\"\(x)\" y=\"\(baseline + 18)\" text-anchor=\"middle\" class=\"tick\">\(time.clock(Instant(milliseconds: tick)))</text>"
            tick += period
        }
        let zone = time.offsetMinutes == 0 ? "UTC" : "\(time.zoneName); UTC \(time.utcClock(rules.windowStart))–\(time.utcClock(rules.windowEnd))"
        out += "<text x=\"\(Self.format((Self.left + Self.width - Self.right) / 2))\" y=\"\(Self.height - 8)\" text-anchor=\"middle\" class=\"title\">"
        out += "Time of day (\(CertificatePage.escape(zone)))</text>"
        return out
    }

    /// Incomplete minutes shaded, amended ones marked, the unsealed rest greyed.
    private func shading(_ buckets: [BucketNumbers]) -> String {
        let baseline = Self.height - Self.bottom
        var out = ""
        func band(_ from: Instant, _ to: Instant, _ kind: String) {
            let x0 = x(from), x1 = x(to)
            out += "<rect x=\"\(Self.format(x0))\" y=\"\(Self.top)\" width=\"\(Self.format(max(1, x1 - x0)))\" height=\"\(baseline - Self.top)\" class=\"\(kind)\"/>"
        }
        for run in CertificatePage.runs(certificate.incomplete) {
            band(rules.bucketStart(run.buckets.lowerBound), rules.bucketEnd(run.buckets.upperBound), "incomplete")
        }
        if buckets.count < rules.bucketCount { band(rules.bucketStart(buckets.count), rules.windowEnd, "unsealed") }
        for bucket in Set(certificate.amendments.map(\.bucket)).sorted() {
            let middle = (x(rules.bucketStart(bucket)) + x(rules.bucketEnd(bucket))) / 2
            out += "<path d=\"M\(Self.format(middle - 4)),\(Self.top) h8 l-4,7 z\" class=\"amended\"/>"
        }
        return out
    }

    private func legend() -> String {
        var x = Self.left + 4
        var out = ""
        for line in series {
            out += "<line x1=\"\(Self.format(x))\" x2=\"\(Self.format(x + 18))\" y1=\"14\" y2=\"14\" stroke=\"\(line.color)\" stroke-width=\"\(max(2, line.width))\""
            if !line.dash.isEmpty { out += " stroke-dasharray=\"\(line.dash)\"" }
            out += "/><text x=\"\(Self.format(x + 23))\" y=\"18\" class=\"legend\">\(line.name)</text>"
            x += 30 + Double(line.name.count) * 7
        }
        if !certificate.incomplete.isEmpty {
            out += "<rect x=\"\(Self.format(x))\" y=\"8\" width=\"14\" height=\"11\" class=\"incomplete\"/><text x=\"\(Self.format(x + 19))\" y=\"18\" class=\"legend\">incomplete</text>"
            x += 100
        }
        if !certificate.amendments.isEmpty {
            out += "<path d=\"M\(Self.format(x)),9 h10 l-5,9 z\" class=\"amended\"/><text x=\"\(Self.format(x + 15))\" y=\"18\" class=\"legend\">amended</text>"
        }
        return out
    }

    private static func format(_ value: Double) -> String {
        String(Double((value * 10).rounded()) / 10)
    }
}
