import Testing
import VigilCore

@Suite struct EvaluationMetricsTests {
    @Test func confusionCountsRatesAndDelayByHand() {
        let labels: [Bool] = [0, 0, 1, 1, 1, 0, 1, 1, 0, 0].map { $0 == 1 }
        let predicted: [Bool] = [0, 1, 0, 1, 1, 1, 0, 0, 0, 0].map { $0 == 1 }
        let times = (0..<10).map { Int64($0) * 1_000_000_000 }
        var e = Evaluation()
        e.add(labels: labels, predicted: predicted, times: times, scoredFrom: 1)
        #expect(e.truePositives == 2 && e.falsePositives == 2 && e.falseNegatives == 3 && e.trueNegatives == 2)
        #expect(e.precision == 0.5)
        #expect(e.recall == 0.4)
        #expect(abs(e.f1 - 0.4 / 0.9) < 1e-12)
        #expect(e.falseAlarmRate == 0.5)
        #expect(e.missedAlarmRate == 0.6)
        #expect(e.anomalies == 2 && e.detected == 1)
        #expect(e.meanDelaySeconds == 1)
        #expect(e.meanDelayRows == 1)
        // pooling is adding the counts, not averaging the rates
        var pooled = Evaluation()
        pooled.merge(e)
        var other = Evaluation()
        other.add(labels: [true, true, false], predicted: [true, true, false], times: [0, 1, 2])
        pooled.merge(other)
        #expect(pooled.truePositives == 4 && pooled.trueNegatives == 3 && pooled.files == 2)
        #expect(pooled.meanDelaySeconds == 0.5)
        #expect(e.report.contains("F1 0.444  FAR 50.00%  MAR 60.00%"))
    }

    @Test func warmupRowsAreNotScored() {
        var e = Evaluation()
        e.add(labels: [true, true, false], predicted: [false, false, false], times: [0, 1, 2], scoredFrom: 2)
        #expect(e.rows == 1 && e.trueNegatives == 1 && e.anomalies == 0)
        #expect(e.meanDelaySeconds.isNaN)
    }

    @Test func fixedFormatting() {
        #expect(Evaluation.fixed(0.8374, 3) == "0.837")
        #expect(Evaluation.fixed(15.926, 2) == "15.93")
        #expect(Evaluation.fixed(-0.05, 1) == "-0.1")
        #expect(Evaluation.fixed(3, 0) == "3")
        #expect(Evaluation.fixed(.nan, 2) == "n/a")
        // Too large for Int64 digits (a reading of 1e300 on a plot's axis once trapped here).
        #expect(Evaluation.fixed(1e300, 1) == "1e+300")
        #expect(Evaluation.fixed(-1e19, 0) == "-1e+19")
        #expect(Evaluation.fixed(8e17, 1) == "800000000000000000.0")
    }

    @Test func plotIsAStandaloneSVGWithEveryLayer() {
        let n = 5000
        let times = (0..<n).map { Int64($0) * 1_000_000_000 }
        let values = (0..<n).map { Double($0 % 7) + ($0 > 3000 && $0 < 3200 ? 20 : 0) }
        let series = PlotSeries(name: "Volume Flow RateRMS", values: values, scored: values, center: [Double](repeating: 3, count: n),
                                spread: [Double](repeating: 2, count: n), k: 4, inEpisode: (0..<n).map { $0 > 3000 && $0 < 3210 },
                                unhealthy: (0..<n).map { $0 == 10 }, showScored: true)
        let svg = SVGPlot(title: "a <test> & more", times: times, labels: (0..<n).map { $0 > 2990 && $0 < 3200 }, scoredFrom: 400,
                          series: [series], multivariate: ((0..<n).map { Double($0 % 5) }, [Bool](repeating: false, count: n), 4)).render()
        #expect(svg.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\""))
        #expect(svg.hasSuffix("</svg>\n"))
        #expect(svg.contains("a &lt;test&gt; &amp; more"))
        for layer in ["labelled anomaly", "detected episode", "warm-up (not scored)", "smoothed (scored)", "T² (z scale)", "<polygon", "<circle"] {
            #expect(svg.contains(layer), "missing \(layer)")
        }
        // min/max per pixel column: 5000 points do not become 5000 vertices
        #expect(svg.utf8.count < 200_000)
    }
}
