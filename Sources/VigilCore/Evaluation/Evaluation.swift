/// Accuracy of verdicts against labels, pooled over any number of recordings: the SKAB
/// protocol (every scored row is one binary decision; F1, false-alarm rate = false alarms /
/// normal rows, missed-alarm rate = missed / anomalous rows) plus the detection delay of each
/// labelled anomaly.
public struct Evaluation: Sendable, Equatable {
    public private(set) var truePositives = 0
    public private(set) var falsePositives = 0
    public private(set) var falseNegatives = 0
    public private(set) var trueNegatives = 0
    /// Labelled anomalies (runs of positive rows) in the scored rows …
    public private(set) var anomalies = 0
    /// … those with at least one positive verdict inside them …
    public private(set) var detected = 0
    /// … and the sum of their delays: from the first labelled row to the first positive verdict in it.
    public private(set) var delayNanosTotal: Int64 = 0
    public private(set) var delayRowsTotal = 0
    public private(set) var files = 0

    public init() {}

    /// Adds one recording: `labels[i]` and `predicted[i]` for each row, scored from row `from` on.
    public mutating func add(labels: [Bool], predicted: [Bool], times: [Int64], scoredFrom from: Int = 0) {
        precondition(labels.count == predicted.count && labels.count == times.count)
        files += 1
        var i = max(0, from)
        var segmentStart: Int? = nil
        var found = false
        while i < labels.count {
            let l = labels[i], p = predicted[i]
            switch (l, p) {
            case (true, true): truePositives += 1
            case (false, true): falsePositives += 1
            case (true, false): falseNegatives += 1
            case (false, false): trueNegatives += 1
            }
            if l {
                if segmentStart == nil { segmentStart = i; found = false; anomalies += 1 }
                if p && !found {
                    found = true
                    detected += 1
                    delayNanosTotal += times[i] - times[segmentStart!]
                    delayRowsTotal += i - segmentStart!
                }
            } else {
                segmentStart = nil
            }
            i += 1
        }
    }

    public mutating func merge(_ o: Evaluation) {
        truePositives += o.truePositives; falsePositives += o.falsePositives
        falseNegatives += o.falseNegatives; trueNegatives += o.trueNegatives
        anomalies += o.anomalies; detected += o.detected
        delayNanosTotal += o.delayNanosTotal; delayRowsTotal += o.delayRowsTotal; files += o.files
    }

    public var rows: Int { truePositives + falsePositives + falseNegatives + trueNegatives }
    public var positives: Int { truePositives + falseNegatives }
    public var precision: Double { ratio(truePositives, truePositives + falsePositives) }
    public var recall: Double { ratio(truePositives, truePositives + falseNegatives) }
    public var f1: Double {
        let p = precision, r = recall
        return p + r > 0 ? 2 * p * r / (p + r) : 0
    }
    /// False-alarm rate: false alarms / normal rows.
    public var falseAlarmRate: Double { ratio(falsePositives, falsePositives + trueNegatives) }
    /// Missed-alarm rate: missed / anomalous rows.
    public var missedAlarmRate: Double { ratio(falseNegatives, falseNegatives + truePositives) }
    /// Mean delay over the detected anomalies, in seconds (NaN when none was detected).
    public var meanDelaySeconds: Double { detected > 0 ? Double(delayNanosTotal) / 1e9 / Double(detected) : .nan }
    public var meanDelayRows: Double { detected > 0 ? Double(delayRowsTotal) / Double(detected) : .nan }

    private func ratio(_ a: Int, _ b: Int) -> Double { b > 0 ? Double(a) / Double(b) : 0 }

    /// Two lines for people: the pooled metrics and the delay.
    public var report: String {
        func f(_ x: Double, _ places: Int) -> String { Self.fixed(x, places) }
        return """
            rows scored \(rows) (anomalous \(positives)) in \(files) file(s)
            precision \(f(precision, 3))  recall \(f(recall, 3))  F1 \(f(f1, 3))  FAR \(f(100 * falseAlarmRate, 2))%  MAR \(f(100 * missedAlarmRate, 2))%
            detection delay: mean \(f(meanDelaySeconds, 1)) s (\(f(meanDelayRows, 1)) rows) over \(detected) of \(anomalies) labelled anomalies

            """
    }

    /// `x` with exactly `places` decimals (no Foundation).
    public static func fixed(_ x: Double, _ places: Int) -> String {
        guard x.isFinite else { return "n/a" }
        var scale = 1.0
        for _ in 0..<places { scale *= 10 }
        let r = (abs(x) * scale).rounded()
        // Past 2^63 no Int64 holds the digits (a reading of 1e300 on a plot's axis).
        guard r < 9e18 else { return "\(x)" }
        let whole = Int64(r / scale)
        var frac = String(Int64(r - Double(whole) * scale))
        while frac.count < places { frac = "0" + frac }
        let sign = x < 0 && r > 0 ? "-" : ""
        return places > 0 ? "\(sign)\(whole).\(frac)" : "\(sign)\(whole)"
    }
}
