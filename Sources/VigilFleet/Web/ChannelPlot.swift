import Foundation
import VigilCore

/// Numbers as the page prints them: at most 3 decimals, no trailing zeros.
enum PlotNumber {
    static func text(_ v: Double) -> String {
        guard v.isFinite else { return "–" }
        var s = String(format: "%.3f", v)
        while s.hasSuffix("0") { s.removeLast() }
        if s.hasSuffix(".") { s.removeLast() }
        return s == "-0" ? "0" : s
    }
    /// A coordinate: one decimal is plenty on an 800-wide plot.
    static func coordinate(_ v: Double) -> String { String(format: "%.1f", v) }
}

/// One channel's plot as inline SVG: the summaries' mean as a line over their min/max band, anomaly episodes
/// and health periods as shaded spans (an open one reaches the right edge). Pure: data in, markup out.
///
/// Hooks for tests and styling: `polyline.mean` carries `data-points` (one point per summary with a mean),
/// `rect.episode` and `rect.health` one per period inside the plotted time range.
struct ChannelPlot {
    static let width = 800.0, height = 160.0
    static let left = 56.0, right = 8.0, top = 8.0, bottom = 22.0

    var series: FleetView.ChannelSeries

    var markup: Markup {
        let points = series.points
        let marks = series.periods
        // Time range: the summaries', else the periods'; at least a minute wide.
        let starts = points.map(\.fromNanos) + (points.isEmpty ? marks.map(\.startNanos) : [])
        let ends = points.map(\.tsNanos) + (points.isEmpty ? marks.map { $0.endNanos ?? $0.startNanos } : [])
        guard var t0 = starts.min(), var t1 = ends.max() else { return "<p class=\"empty\">no summaries yet</p>" }
        if t1 - t0 < 60_000_000_000 { let mid = t0 / 2 + t1 / 2; t0 = mid - 30_000_000_000; t1 = mid + 30_000_000_000 }
        let values = points.flatMap { [$0.min, $0.max, $0.mean].compactMap { $0 } }.filter(\.isFinite)
        var v0 = values.min() ?? 0, v1 = values.max() ?? 1
        if v1 - v0 < 1e-9 { v0 -= 0.5; v1 += 0.5 }
        let plotW = Self.width - Self.left - Self.right, plotH = Self.height - Self.top - Self.bottom
        func x(_ t: Int64) -> Double { Self.left + Double(min(max(t, t0), t1) - t0) / Double(t1 - t0) * plotW }
        func y(_ v: Double) -> Double { Self.top + (v1 - v) / (v1 - v0) * plotH }
        func pair(_ t: Int64, _ v: Double) -> String { PlotNumber.coordinate(x(t)) + "," + PlotNumber.coordinate(y(v)) }

        var body = Markup()
        // Periods under the data; those wholly outside the range are left out.
        for p in marks where p.startNanos <= t1 && (p.endNanos ?? t1) >= t0 {
            let x0 = x(p.startNanos), x1 = max(x(p.endNanos ?? t1), x0 + 2)
            let state = p.endNanos == nil ? "open" : Timestamp.rfc3339(p.endNanos!)
            let title = "\(p.kind.rawValue) \(p.label): \(Timestamp.rfc3339(p.startNanos)) – \(state)"
            let cls = p.kind == .anomaly ? "episode" : "health"
            body += "<rect class=\"\(cls)\(p.endNanos == nil ? " open" : "")\" x=\"\(PlotNumber.coordinate(x0))\" y=\"\(PlotNumber.coordinate(Self.top))\" width=\"\(PlotNumber.coordinate(x1 - x0))\" height=\"\(PlotNumber.coordinate(plotH))\"><title>\(title)</title></rect>"
        }
        let band = points.compactMap { p in p.max.map { pair(p.tsNanos, $0) } }
            + points.reversed().compactMap { p in p.min.map { pair(p.tsNanos, $0) } }
        if band.count >= 2 { body += "<polygon class=\"band\" points=\"\(band.joined(separator: " "))\"/>" }
        let means = points.compactMap { p in p.mean.map { pair(p.tsNanos, $0) } }
        body += "<polyline class=\"mean\" data-points=\"\(means.count)\" points=\"\(means.joined(separator: " "))\"/>"
        for p in points { if let m = p.mean { body += "<circle class=\"point\" cx=\"\(PlotNumber.coordinate(x(p.tsNanos)))\" cy=\"\(PlotNumber.coordinate(y(m)))\" r=\"1.5\"/>" } }
        let axis: Markup = """
            <text x="\(PlotNumber.coordinate(Self.left - 4))" y="\(PlotNumber.coordinate(Self.top + 10))" text-anchor="end">\(PlotNumber.text(v1))</text>\
            <text x="\(PlotNumber.coordinate(Self.left - 4))" y="\(PlotNumber.coordinate(Self.top + plotH))" text-anchor="end">\(PlotNumber.text(v0))</text>\
            <text x="\(PlotNumber.coordinate(Self.left))" y="\(PlotNumber.coordinate(Self.height - 6))">\(Timestamp.rfc3339(t0))</text>\
            <text x="\(PlotNumber.coordinate(Self.width - Self.right))" y="\(PlotNumber.coordinate(Self.height - 6))" text-anchor="end">\(Timestamp.rfc3339(t1))</text>\
            <rect class="frame" x="\(PlotNumber.coordinate(Self.left))" y="\(PlotNumber.coordinate(Self.top))" width="\(PlotNumber.coordinate(plotW))" height="\(PlotNumber.coordinate(plotH))"/>
            """
        return """
            <svg class="plot" data-channel="\(series.channel)" viewBox="0 0 \(Int(Self.width)) \(Int(Self.height))" width="100%" role="img" \
            aria-label="\(series.channel) (\(series.unit)): mean with min/max band">\(body)\(axis)</svg>
            """
    }
}
