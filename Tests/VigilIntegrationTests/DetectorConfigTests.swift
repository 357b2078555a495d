import Testing
import VigilAgent
import VigilCore

/// Detector kinds, health checks and the multivariate detector in the config file, and through a pipeline.
@Suite struct DetectorConfigTests {
    static let yaml = """
        device: gw-1
        detector:
          kind: robust
          window: 120
          hold_out: 30
          smoothing: 0.5
          health: { stuck_after: 5m, resolution: 0.1 }
        channels:
          temperature: { kind: ewma, alpha: 0.05, health: { min: -40, max: 80, max_rate: 2, dropout_after: none } }
          humidity: { health: { min: 0, max: 100 } }
        multivariate:
          env: { window: 400, z_on: 5 }
        sources:
          - kind: simulator
            name: env
            channels:
              - { name: temperature, unit: "°C", mean: 22, std: 0.3 }
              - { name: humidity, unit: "%RH", mean: 45, std: 1 }
        """

    func problems(_ yaml: String) -> [String] {
        do { _ = try ConfigLoader.parse(yaml, file: "t.yaml"); return [] } catch { return error.problems.map { "t.yaml:\($0)" } }
    }

    @Test func kindsHealthAndMultivariateLoad() throws {
        let c = try ConfigLoader.parse(Self.yaml, file: "t.yaml")
        let t = c.detectorSettings(forChannel: "temperature")
        #expect(t.kind == .ewma && t.alpha == 0.05 && t.effectiveAlpha == 0.05)
        #expect(t.windowSize == 120 && t.holdOut == 30 && t.smoothing == 0.5)
        #expect(t.health == HealthSettings(stuckAfter: .seconds(300), resolution: 0.1, dropoutAfter: nil, min: -40, max: 80, maxRate: 2,
                                              stuckIntervals: nil, dropoutIntervals: nil))
        let h = c.detectorSettings(forChannel: "humidity")
        #expect(h.kind == .robust)
        #expect(h.health == HealthSettings(stuckAfter: .seconds(300), resolution: 0.1, dropoutAfter: .seconds(120), min: 0, max: 100,
                                              stuckIntervals: nil))  // an explicit stuck_after is fixed; dropout keeps its cadence default
        let m = try #require(c.multivariateSettings(forSource: "env"))
        #expect(m.windowSize == 400 && m.zOn == 5 && m.warmup == 100 && m.holdOut == 300)
        #expect(c.multivariateSettings(forSource: "other") == nil)
    }

    @Test func budgetSpikesAndCadenceKeysLoadAndZOnOverridesTheBudget() throws {
        let c = try ConfigLoader.parse(Self.yaml.replacing("  smoothing: 0.5\n", with: "  smoothing: 0.5\n  false_alarms_per_day: 3\n  spikes: false\n")
            .replacing("humidity: { health: { min: 0, max: 100 } }",
                       with: "humidity: { z_on: 6, health: { dropout_after: 1m, dropout_intervals: 30, stuck_intervals: none } }"), file: "t.yaml")
        let t = c.detectorSettings(forChannel: "temperature")
        #expect(t.falseAlarmsPerDay == 3 && !t.spikes)
        let h = c.detectorSettings(forChannel: "humidity")
        #expect(h.falseAlarmsPerDay == nil && h.zOn == 6)
        #expect(h.health.dropoutAfter == .seconds(60) && h.health.dropoutIntervals == 30 && h.health.stuckIntervals == nil)
        let none = try ConfigLoader.parse(Self.yaml.replacing("detector:\n", with: "detector:\n  kind: zscore\n")
            .replacing("  kind: robust\n", with: ""), file: "t.yaml")
        #expect(none.detectorSettings(forChannel: "other").falseAlarmsPerDay == 1)
    }

    @Test func budgetAndIntervalMistakesAreNamed() {
        #expect(problems(Self.yaml.replacing("smoothing: 0.5", with: "false_alarms_per_day: 0"))
                == ["t.yaml:6:3: detector.false_alarms_per_day: must be a number above 0, got 0.0"])
        #expect(problems(Self.yaml.replacing("resolution: 0.1 }", with: "resolution: 0.1, dropout_intervals: 0 }"))
                == ["t.yaml:7:47: detector.health.dropout_intervals: must be a number of 1 or more, got 0.0"])
    }

    @Test func mistakesAreNamedWithTheirLines() {
        #expect(problems(Self.yaml.replacing("kind: robust", with: "kind: median"))
                == ["t.yaml:3:3: detector.kind: unknown detector kind 'median' (known: zscore, robust, ewma)"])
        #expect(problems(Self.yaml.replacing("max_rate: 2", with: "max_rate: -2"))
                == ["t.yaml:9:72: channels.temperature.health.max_rate: must be a number above 0, got -2.0"])
        #expect(problems(Self.yaml.replacing("  env: { window: 400, z_on: 5 }", with: "  envv: { window: 400 }"))
                == ["t.yaml:12:3: multivariate.envv: no source named 'envv' (sources: env)"])
        #expect(problems(Self.yaml.replacing("  env: { window: 400, z_on: 5 }", with: "  env: { window: 400, kind: ewma }"))
                == ["t.yaml:12:23: multivariate.env.kind: the multivariate detector has no kind (it is always T²)"])
        #expect(problems(Self.yaml.replacing("smoothing: 0.5", with: "smoothing: 0"))
                == ["t.yaml:6:3: detector.smoothing: must be above 0 and at most 1, got 0.0"])
        #expect(problems(Self.yaml.replacing("resolution: 0.1", with: "resolutoin: 0.1")).first?.contains("unknown field 'resolutoin'") == true)
    }

    final class Collect: EventSink, @unchecked Sendable {
        var events: [Event] = []
        func emit(_ event: Event) { events.append(event) }
    }

    @Test func pipelineEmitsHealthAndMultivariateEvents() {
        let sink = Collect()
        let channels = [ChannelInfo(name: "temperature", unit: "°C"), ChannelInfo(name: "humidity", unit: "%RH")]
        var t = DetectorSettings(windowSize: 50, warmup: 10, stdFloor: 0.01, holdOut: 0)
        t.health = HealthSettings(stuckAfter: nil, dropoutAfter: .seconds(5), max: 80, dropoutIntervals: nil)
        let h = DetectorSettings(windowSize: 50, warmup: 10, stdFloor: 0.01, holdOut: 0, health: HealthSettings(stuckAfter: nil, dropoutAfter: nil))
        let p = Pipeline(channels: channels, settings: [t, h], summaryInterval: .seconds(3600), sink: sink, source: "env",
                         multivariate: DetectorSettings(windowSize: 100, warmup: 30, stdFloor: 0.01, holdOut: 0))
        let s: Int64 = 1_000_000_000
        var tick: Int64 = 0
        func row(_ temp: Double, _ hum: Double) {
            tick += 1
            p.reading(channel: 0, value: temp, monoNanos: tick * s, wallNanos: tick * s)
            p.reading(channel: 1, value: hum, monoNanos: tick * s, wallNanos: tick * s)
        }
        for i in 0..<60 { let d = Double(i % 5) * 0.1; row(22 + d, 45 - 2 * d) }   // correlated
        row(95, 45)                                                                 // out of range
        row(22.2, 44.6)
        for _ in 0..<3 { row(22.4, 44.6) }                                          // broken correlation (z ≈ 1–2 per channel)
        tick += 10
        p.idle(monoNanos: tick * s, wallNanos: tick * s)                            // temperature silent for 10 s
        p.finish(wallNanos: (tick + 1) * s)

        let kinds: [String] = sink.events.map {
            switch $0 {
            case .healthStart(let c, let e): return "health start \(c.name) \(e.check.name)"
            case .healthEnd(let c, let e): return "health end \(c.name) \(e.check.name)"
            case .multivariateStart(let src, _, _): return "t2 start \(src)"
            case .multivariateEnd(let src, let e): return "t2 end \(src) \(e.reason.rawValue)"
            case .anomalyStart(let c, _): return "anomaly start \(c.name)"
            case .anomalyEnd(let c, _): return "anomaly end \(c.name)"
            case .summary(let c, _): return "summary \(c.name)"
            default: return "other"
            }
        }
        #expect(kinds == ["health start temperature out_of_range", "health end temperature out_of_range", "t2 start env",
                          "health start temperature dropout", "health end temperature dropout", "t2 end env shutdown",
                          "summary temperature", "summary humidity"], "\(kinds)")
        let enc = JSONPayloadEncoder(device: "gw-1")
        let start = sink.events.first { if case .multivariateStart = $0 { return true } else { return false } }!
        #expect(enc.topic(for: start) == "vigil/gw-1/anomaly/env")
        let json = String(decoding: enc.payload(for: start, seq: 5), as: UTF8.self)
        #expect(json.contains(#""type":"anomaly","event":"start","source":"env","detector":"t2","episode":1"#))
        #expect(json.contains(#""contributions":"temperature:"#) || json.contains(#""contributions":"humidity:"#))
        #expect(enc.topic(for: sink.events[0]) == "vigil/gw-1/health/temperature")
    }
}
