/// One channel's panel in a replay plot.
public struct PlotSeries: Sendable {
    public var name: String
    public var values: [Double]
    /// The scored value (the smoothed reading when `smoothing` < 1), drawn over the raw one.
    public var scored: [Double]
    public var center: [Double]
    public var spread: [Double]
    /// Band half-width in units of the spread (z_on).
    public var k: Double
    public var inEpisode: [Bool]
    public var unhealthy: [Bool]
    /// Draw `scored` as its own line (smoothing on).
    public var showScored: Bool

    public init(name: String, values: [Double], scored: [Double], center: [Double], spread: [Double], k: Double,
                inEpisode: [Bool], unhealthy: [Bool], showScored: Bool) {
        self.name = name; self.values = values; self.scored = scored; self.center = center; self.spread = spread
        self.k = k; self.inEpisode = inEpisode; self.unhealthy = unhealthy; self.showScored = showScored
    }
}

/// A self-contained SVG of a replay: per channel the readings, the band centre ± k·spread they
/// were scored against, the detector's episodes and the labels; a T² panel for the multivariate
/// detector. Long series are reduced to the min and max per pixel column, so the file stays small.
public struct SVGPlot: Sendable {
    public var title: String
    public var times: [Int64]
    public var labels: [Bool]?
    /// Rows before this were warm-up (not scored); shaded.
    public var scoredFrom: Int
    public var series: [PlotSeries]
    /// The multivariate detector's z (Wilson–Hilferty of T²), its episodes and threshold.
    public var multivariate: (z: [Double], inEpisode: [Bool], zOn: Double)?

    public init(title: String, times: [Int64], labels: [Bool]?, scoredFrom: Int, series: [PlotSeries],
                multivariate: (z: [Double], inEpisode: [Bool], zOn: Double)? = nil) {
        self.title = title; self.times = times; self.labels = labels; self.scoredFrom = scoredFrom
        self.series = series; self.multivariate = multivariate
    }

    static let width = 1400.0, left = 70.0, right = 20.0, top = 80.0, panel = 120.0, gap = 30.0, bottom = 46.0

    public func render() -> String {
        let n = times.count
        let panels = series.count + (multivariate == nil ? 0 : 1)
        let plotW = Self.width - Self.left - Self.right
        let height = Self.top + Double(panels) * (Self.panel + Self.gap) + Self.bottom
        var out = #"<svg xmlns="http://www.w3.org/2000/svg" width="\#(Int(Self.width))" height="\#(Int(height))" viewBox="0 0 \#(Int(Self.width)) \#(Int(height))" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">"#
        out += "\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        out += "<text x=\"\(Self.left)\" y=\"22\" font-size=\"16\" font-weight=\"bold\">\(Self.escape(title))</text>\n"
        legend(&out)
        guard n > 0 else { return out + "</svg>\n" }
        let t0 = times[0], t1 = max(times[n - 1], t0 + 1)
        func x(_ i: Int) -> Double { Self.left + plotW * Double(times[i] - t0) / Double(t1 - t0) }
        let bucket = max(1, n / Int(plotW))

        var panelTop = Self.top
        for (p, s) in series.enumerated() {
            drawPanel(&out, index: p, top: panelTop, name: s.name, x: x, plotW: plotW, bucket: bucket) { y in
                // y range from the readings and the band centre, robust to a few wild readings
                var pts: [Double] = []
                pts.reserveCapacity(n * 2)
                for v in s.values where v.isFinite { pts.append(v) }
                for v in s.center where v.isFinite { pts.append(v) }
                return pts
            } draw: { out, y, top in
                // band
                self.band(&out, s: s, x: x, y: y, bucket: bucket)
                Self.polyline(&out, s.values, x: x, y: y, bucket: bucket, stroke: "#555555", width: 0.8)
                if s.showScored { Self.polyline(&out, s.scored, x: x, y: y, bucket: bucket, stroke: "#08519c", width: 1.4) }
                self.spans(&out, s.inEpisode, x: x, y0: top, h: 7, fill: "#f16913", opacity: 0.95)
                var marks = 0
                for i in 0..<n where s.unhealthy[i] && s.values[i].isFinite && marks < 2000 {
                    marks += 1
                    out += "<circle cx=\"\(Self.f(x(i)))\" cy=\"\(Self.f(y(s.values[i])))\" r=\"2.2\" fill=\"#7b3294\"/>"
                }
            }
            panelTop += Self.panel + Self.gap
        }
        if let mv = multivariate {
            drawPanel(&out, index: series.count, top: panelTop, name: "T² (z scale)", x: x, plotW: plotW, bucket: bucket) { _ in
                var pts = mv.z.filter(\.isFinite)
                pts.append(mv.zOn)
                pts.append(0)
                return pts
            } draw: { out, y, top in
                let yo = y(mv.zOn)
                out += "<line x1=\"\(Self.left)\" x2=\"\(Self.left + plotW)\" y1=\"\(Self.f(yo))\" y2=\"\(Self.f(yo))\" stroke=\"#3182bd\" stroke-dasharray=\"5,3\"/>"
                Self.polyline(&out, mv.z, x: x, y: y, bucket: bucket, stroke: "#555555", width: 0.8)
                self.spans(&out, mv.inEpisode, x: x, y0: top, h: 7, fill: "#f16913", opacity: 0.95)
            }
            panelTop += Self.panel + Self.gap
        }
        timeAxis(&out, y: panelTop - Self.gap + 4, plotW: plotW, t0: t0, t1: t1)
        return out + "</svg>\n"
    }

    private func legend(_ out: inout String) {
        var lx = Self.left
        let y = 44.0
        func item(_ swatch: String, _ text: String) {
            out += "<g transform=\"translate(\(Self.f(lx)),\(Self.f(y - 10)))\">\(swatch)<text x=\"26\" y=\"10\">\(Self.escape(text))</text></g>"
            lx += 34 + Double(text.count) * 7.2
        }
        item("<line x1=\"0\" x2=\"20\" y1=\"6\" y2=\"6\" stroke=\"#555555\" stroke-width=\"1.5\"/>", "reading")
        if series.contains(where: \.showScored) {
            item("<line x1=\"0\" x2=\"20\" y1=\"6\" y2=\"6\" stroke=\"#08519c\" stroke-width=\"2\"/>", "smoothed (scored)")
        }
        let k = series.first?.k ?? multivariate?.zOn ?? 0
        item("<rect width=\"20\" height=\"12\" fill=\"#9ecae1\" opacity=\"0.6\"/>", "centre ± \(Evaluation.fixed(k, k == k.rounded() ? 0 : 1))·spread (z_on)")
        item("<rect width=\"20\" height=\"7\" y=\"2\" fill=\"#f16913\"/>", "detected episode")
        if labels != nil { item("<rect width=\"20\" height=\"12\" fill=\"#e34a33\" opacity=\"0.25\"/>", "labelled anomaly") }
        item("<circle cx=\"10\" cy=\"6\" r=\"3\" fill=\"#7b3294\"/>", "unhealthy reading")
        if scoredFrom > 0 { item("<rect width=\"20\" height=\"12\" fill=\"#000000\" opacity=\"0.08\"/>", "warm-up (not scored)") }
    }

    private func drawPanel(_ out: inout String, index: Int, top: Double, name: String, x: (Int) -> Double, plotW: Double,
                           bucket: Int, points: ((Double) -> Double) -> [Double],
                           draw: (inout String, (Double) -> Double, Double) -> Void) {
        let n = times.count
        var pts = points { $0 }
        pts.sort()
        var lo = pts.isEmpty ? 0 : pts[Int(Double(pts.count - 1) * 0.002)]
        var hi = pts.isEmpty ? 1 : pts[Int(Double(pts.count - 1) * 0.998)]
        if !(hi > lo) { lo -= 0.5; hi += 0.5 }
        let pad = (hi - lo) * 0.08
        lo -= pad; hi += pad
        let bottomY = top + Self.panel
        func y(_ v: Double) -> Double { bottomY - Self.panel * (v - lo) / (hi - lo) }
        let clip = "c\(index)"
        out += "<clipPath id=\"\(clip)\"><rect x=\"\(Self.left)\" y=\"\(Self.f(top))\" width=\"\(Self.f(plotW))\" height=\"\(Self.panel)\"/></clipPath>\n"
        out += "<rect x=\"\(Self.left)\" y=\"\(Self.f(top))\" width=\"\(Self.f(plotW))\" height=\"\(Self.panel)\" fill=\"#fbfbfb\" stroke=\"#bbbbbb\"/>\n"
        out += "<g clip-path=\"url(#\(clip))\">"
        if let labels { spans(&out, labels, x: x, y0: top, h: Self.panel, fill: "#e34a33", opacity: 0.18) }
        if scoredFrom > 0 && scoredFrom < n {
            out += "<rect x=\"\(Self.left)\" y=\"\(Self.f(top))\" width=\"\(Self.f(x(scoredFrom) - Self.left))\" height=\"\(Self.panel)\" fill=\"#000000\" opacity=\"0.06\"/>"
        }
        draw(&out, y, top)
        out += "</g>\n"
        // The name above the panel, the y range at its left.
        out += "<text x=\"\(Self.left)\" y=\"\(Self.f(top - 6))\" font-weight=\"bold\" font-size=\"13\">\(Self.escape(name))</text>"
        out += "<text x=\"\(Self.left - 6)\" y=\"\(Self.f(top + 10))\" text-anchor=\"end\" fill=\"#666666\" font-size=\"11\">\(Self.tick(hi))</text>"
        out += "<text x=\"\(Self.left - 6)\" y=\"\(Self.f(bottomY))\" text-anchor=\"end\" fill=\"#666666\" font-size=\"11\">\(Self.tick(lo))</text>\n"
    }

    private func band(_ out: inout String, s: PlotSeries, x: (Int) -> Double, y: (Double) -> Double, bucket: Int) {
        // One polygon per run of rows with a finite band.
        let n = times.count
        var i = 0
        while i < n {
            while i < n && !(s.center[i].isFinite && s.spread[i].isFinite) { i += 1 }
            var j = i
            while j < n && s.center[j].isFinite && s.spread[j].isFinite { j += 1 }
            if j - i >= 2 {
                var upper = "", lower: [String] = []
                var r = i
                while r < j {
                    let h = s.k * s.spread[r]
                    upper += "\(Self.f(x(r))),\(Self.f(y(s.center[r] + h))) "
                    lower.append("\(Self.f(x(r))),\(Self.f(y(s.center[r] - h)))")
                    r = (r + bucket < j || r == j - 1) ? r + bucket : j - 1
                }
                out += "<polygon points=\"\(upper)\(lower.reversed().joined(separator: " "))\" fill=\"#9ecae1\" opacity=\"0.55\"/>"
                var c = ""
                r = i
                while r < j {
                    c += "\(Self.f(x(r))),\(Self.f(y(s.center[r]))) "
                    r = (r + bucket < j || r == j - 1) ? r + bucket : j - 1
                }
                out += "<polyline points=\"\(c)\" fill=\"none\" stroke=\"#6baed6\" stroke-width=\"0.8\"/>"
            }
            i = j
        }
    }

    /// Runs of true as rectangles from `y0` down `h`.
    private func spans(_ out: inout String, _ flags: [Bool], x: (Int) -> Double, y0: Double, h: Double, fill: String,
                       opacity: Double) {
        let n = min(flags.count, times.count)
        var i = 0
        while i < n {
            guard flags[i] else { i += 1; continue }
            var j = i
            while j < n && flags[j] { j += 1 }
            let x0 = x(i), x1 = j < n ? x(j) : x(n - 1) + 1
            out += "<rect x=\"\(Self.f(x0))\" y=\"\(Self.f(y0))\" width=\"\(Self.f(max(1, x1 - x0)))\" height=\"\(Self.f(h))\" fill=\"\(fill)\" opacity=\"\(opacity)\"/>"
            i = j
        }
    }

    static func polyline(_ out: inout String, _ v: [Double], x: (Int) -> Double, y: (Double) -> Double, bucket: Int,
                         stroke: String, width: Double) {
        // Min and max per bucket, in time order; a NaN breaks the line.
        var points = ""
        func flush() {
            if !points.isEmpty { out += "<polyline points=\"\(points)\" fill=\"none\" stroke=\"\(stroke)\" stroke-width=\"\(width)\" stroke-linejoin=\"round\"/>" }
            points = ""
        }
        var i = 0
        while i < v.count {
            let end = min(v.count, i + bucket)
            var lo = i, hi = i, broken = false
            for r in i..<end {
                if !v[r].isFinite { broken = true; continue }
                if !v[lo].isFinite || v[r] < v[lo] { lo = r }
                if !v[hi].isFinite || v[r] > v[hi] { hi = r }
            }
            if broken && bucket == 1 { flush(); i = end; continue }
            if v[lo].isFinite {
                for r in (lo <= hi ? [lo, hi] : [hi, lo]) where r == lo || lo != hi {
                    points += "\(f(x(r))),\(f(y(v[r]))) "
                }
            }
            i = end
        }
        flush()
    }

    private func timeAxis(_ out: inout String, y: Double, plotW: Double, t0: Int64, t1: Int64) {
        let span = Double(t1 - t0) / 1e9
        let steps: [Double] = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400, 604800]
        let step = steps.first { span / $0 <= 12 } ?? span / 10
        var s = 0.0
        while s <= span + 1e-9 {
            let px = Self.left + plotW * s / max(span, 1e-9)
            out += "<line x1=\"\(Self.f(px))\" x2=\"\(Self.f(px))\" y1=\"\(Self.f(y))\" y2=\"\(Self.f(y + 5))\" stroke=\"#666666\"/>"
            out += "<text x=\"\(Self.f(px))\" y=\"\(Self.f(y + 18))\" text-anchor=\"middle\" fill=\"#444444\" font-size=\"11\">\(Self.elapsed(s))</text>"
            s += step
        }
        out += "<text x=\"\(Self.left)\" y=\"\(Self.f(y + 36))\" fill=\"#444444\" font-size=\"11\">time since \(Timestamp.rfc3339(t0))</text>\n"
    }

    static func elapsed(_ s: Double) -> String {
        let t = Int(s.rounded())
        if t >= 3600 { return "\(t / 3600)h\(t % 3600 / 60 < 10 ? "0" : "")\(t % 3600 / 60)" }
        if t >= 60 { return "\(t / 60)m\(t % 60 < 10 ? "0" : "")\(t % 60)" }
        return "\(t)s"
    }

    static func tick(_ v: Double) -> String {
        let a = abs(v)
        let places = a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : a >= 0.01 ? 4 : 6
        return Evaluation.fixed(v, places)
    }

    static func f(_ v: Double) -> String { Evaluation.fixed(v, 1) }

    static func wrap(_ s: String, _ width: Int) -> [String] {
        var lines: [String] = [], line = ""
        for word in s.split(separator: " ") {
            if !line.isEmpty && line.count + word.count + 1 > width { lines.append(line); line = "" }
            line += line.isEmpty ? String(word) : " \(word)"
        }
        if !line.isEmpty { lines.append(line) }
        return lines.isEmpty ? [s] : lines
    }

    static func escape(_ s: String) -> String {
        var o = ""
        for c in s {
            switch c {
            case "&": o += "&amp;"
            case "<": o += "&lt;"
            case ">": o += "&gt;"
            case "\"": o += "&quot;"
            default: o.append(c)
            }
        }
        return o
    }
}
