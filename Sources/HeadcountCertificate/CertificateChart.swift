import HeadcountCore

/// An inline SVG line chart of active, peak, unique and qualified per bucket.
struct CertificateChart {
    let snapshots: [BucketNumbers]
    /// More points than pixels only bloat the page.
    static let maximumPoints = 1000
    static let width = 800.0, height = 300.0, left = 60.0, bottom = 30.0, top = 10.0, right = 10.0

    static let series: [(name: String, color: String, value: @Sendable (BucketNumbers) -> Int)] = [
        ("active", "#1565c0", { $0.active }), ("peak", "#c62828", { $0.peak }),
        ("unique", "#6a1b9a", { $0.unique }), ("qualified", "#1b5e20", { $0.qualified }),
    ]

    var svg: String {
        guard !snapshots.isEmpty else { return "<p>No bucket is sealed yet.</p>" }
        let points = Self.downsampled(snapshots)
        let highest = max(1, points.map { max($0.active, $0.peak, $0.unique, $0.qualified) }.max() ?? 1)
        var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(Int(Self.width)) \(Int(Self.height))\""
        out += " role=\"img\" aria-label=\"participants per bucket\" style=\"max-width:100%\">"
        out += axes(highest: highest)
        for series in Self.series {
            let coordinates = points.enumerated().map { index, numbers in
                "\(Self.format(x(index, count: points.count))),\(Self.format(y(series.value(numbers), highest: highest)))"
            }
            out += "<polyline fill=\"none\" stroke=\"\(series.color)\" stroke-width=\"1.5\" points=\"\(coordinates.joined(separator: " "))\"/>"
        }
        out += legend() + "</svg>"
        return out
    }

    /// Groups of buckets merged by their maxima, which keeps every peak visible.
    static func downsampled(_ buckets: [BucketNumbers]) -> [BucketNumbers] {
        guard buckets.count > maximumPoints else { return buckets }
        let group = (buckets.count + maximumPoints - 1) / maximumPoints
        return stride(from: 0, to: buckets.count, by: group).map { start in
            let slice = buckets[start..<min(buckets.count, start + group)]
            var merged = slice.first!
            merged.active = slice.map(\.active).max()!
            merged.peak = slice.map(\.peak).max()!
            merged.unique = slice.map(\.unique).max()!
            merged.qualified = slice.map(\.qualified).max()!
            return merged
        }
    }

    private func x(_ index: Int, count: Int) -> Double {
        let span = Self.width - Self.left - Self.right
        return Self.left + (count <= 1 ? span / 2 : span * Double(index) / Double(count - 1))
    }

    private func y(_ value: Int, highest: Int) -> Double {
        let span = Self.height - Self.top - Self.bottom
        return Self.top + span * (1 - Double(value) / Double(highest))
    }

    private func axes(highest: Int) -> String {
        let baseline = Self.height - Self.bottom
        var out = "<line x1=\"\(Self.left)\" y1=\"\(baseline)\" x2=\"\(Self.width - Self.right)\" y2=\"\(baseline)\" stroke=\"#888\"/>"
        out += "<line x1=\"\(Self.left)\" y1=\"\(Self.top)\" x2=\"\(Self.left)\" y2=\"\(baseline)\" stroke=\"#888\"/>"
        out += "<text x=\"\(Self.left - 6)\" y=\"\(Self.top + 10)\" font-size=\"11\" text-anchor=\"end\">\(highest)</text>"
        out += "<text x=\"\(Self.left - 6)\" y=\"\(baseline)\" font-size=\"11\" text-anchor=\"end\">0</text>"
        let first = snapshots.first!.bucketStart.rfc3339, last = snapshots.last!.bucketStart.rfc3339
        out += "<text x=\"\(Self.left)\" y=\"\(Self.height - 8)\" font-size=\"11\">\(CertificatePage.escape(first))</text>"
        out += "<text x=\"\(Self.width - Self.right)\" y=\"\(Self.height - 8)\" font-size=\"11\" text-anchor=\"end\">\(CertificatePage.escape(last))</text>"
        return out
    }

    private func legend() -> String {
        Self.series.enumerated().map { index, series in
            let x = Self.left + 10 + Double(index) * 90
            return "<rect x=\"\(x)\" y=\"\(Self.top + 4)\" width=\"10\" height=\"10\" fill=\"\(series.color)\"/>"
                + "<text x=\"\(x + 14)\" y=\"\(Self.top + 13)\" font-size=\"11\">\(series.name)</text>"
        }.joined()
    }

    private static func format(_ value: Double) -> String {
        String(Double((value * 10).rounded()) / 10)
    }
}
