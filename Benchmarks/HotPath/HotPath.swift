import Benchmark
import VigilAgent
import VigilCore
import VigilSources

/// Discards events; counts them so the work cannot be optimised away.
final class CountingSink: EventSink, @unchecked Sendable {
    var events = 0
    func emit(_ event: Event) { events &+= 1 }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .instructions, .mallocCountTotal],
        scalingFactor: .kilo,
        maxDuration: .seconds(3)
    )

    // Readings from the simulator, made once: the benchmark measures the detector, not the RNG.
    let readings: [Double] = {
        var m = try! SimulatorModel(channels: [SimulatedChannel.defaults[0]],
                                    faults: [FaultSpec(kind: .spike, channel: "temperature", ratePerHour: 360, magnitude: 10)],
                                    rateHz: 10, seed: 3)
        var out: [Double] = []
        out.reserveCapacity(4096)
        while out.count < 4096 { m.step { _, x in out.append(x) } }
        return out
    }()

    // One reading through the windowed z-score, episodes and summary: the per-reading hot path.
    Benchmark("ChannelDetector.process, window 60 (per reading)") { benchmark in
        var d = ChannelDetector(settings: DetectorSettings(windowSize: 60, warmup: 20, zOn: 4, zOff: 2.5, endAfter: 5, stdFloor: 0.01))
        var t: Int64 = 0
        benchmark.startMeasurement()
        for i in benchmark.scaledIterations {
            t &+= 100_000_000
            blackHole(d.process(readings[i & 4095], monoNanos: t, wallNanos: t))
        }
    }

    Benchmark("ChannelDetector.process, window 60 + 20 s duration (per reading)") { benchmark in
        var d = ChannelDetector(settings: DetectorSettings(windowSize: 600, windowDuration: .seconds(20), warmup: 20, zOn: 4, zOff: 2.5, endAfter: 5, stdFloor: 0.01))
        var t: Int64 = 0
        benchmark.startMeasurement()
        for i in benchmark.scaledIterations {
            t &+= 100_000_000
            blackHole(d.process(readings[i & 4095], monoNanos: t, wallNanos: t))
        }
    }

    // One reading through each detector kind at the default window (600) and hold-out, with the
    // default health checks (stuck, dropout) on: what a channel costs per reading.
    for kind in DetectorKind.allCases {
        Benchmark("ChannelDetector.process, \(kind.rawValue), window 600 (per reading)") { benchmark in
            var d = ChannelDetector(settings: DetectorSettings(kind: kind, windowSize: 600, stdFloor: 0.01))
            var t: Int64 = 0
            benchmark.startMeasurement()
            for i in benchmark.scaledIterations {
                t &+= 100_000_000
                blackHole(d.process(readings[i & 4095], monoNanos: t, wallNanos: t))
            }
        }
    }

    Benchmark("ChannelDetector.process, zscore, smoothing 0.1 + range/rate checks (per reading)") { benchmark in
        var s = DetectorSettings(windowSize: 600, stdFloor: 0.01, smoothing: 0.1)
        s.health = HealthSettings(min: -40, max: 80, maxRate: 50)
        var d = ChannelDetector(settings: s)
        var t: Int64 = 0
        benchmark.startMeasurement()
        for i in benchmark.scaledIterations {
            t &+= 100_000_000
            blackHole(d.process(readings[i & 4095], monoNanos: t, wallNanos: t))
        }
    }

    // What a config without detector settings gets: two scales, thresholds from the budget and the
    // learnt cadence, cadence-aware health.
    Benchmark("ChannelDetector.process, default configuration (two scales, budget) (per reading)") { benchmark in
        var d = ChannelDetector(settings: .defaults)
        var t: Int64 = 0
        benchmark.startMeasurement()
        for i in benchmark.scaledIterations {
            t &+= 100_000_000
            blackHole(d.process(readings[i & 4095], monoNanos: t, wallNanos: t))
        }
    }

    // Hotelling T² over 3 and 8 channels: one complete row (d readings) per iteration.
    for d in [3, 8] {
        Benchmark("MultivariateDetector.process, \(d) channels, window 600 (per row)") { benchmark in
            var m = MultivariateDetector(settings: DetectorSettings.multivariateDefaults, floors: [Double](repeating: 0.01, count: d))
            var row = [Double](repeating: 0, count: d)
            var t: Int64 = 0
            benchmark.startMeasurement()
            for i in benchmark.scaledIterations {
                t &+= 100_000_000
                for c in 0..<d { row[c] = readings[(i &* 7 &+ c &* 131) & 4095] + Double(c) }
                blackHole(m.process(row, monoNanos: t, wallNanos: t))
            }
        }
    }

    // Source → pipeline → detector → event sink, as a source thread calls it.
    Benchmark("Pipeline.reading, 3 channels (per reading)") { benchmark in
        let sink = CountingSink()
        let channels = SimulatedChannel.defaults.map { ChannelInfo(name: $0.name, unit: $0.unit) }
        let p = Pipeline(channels: channels, settings: Array(repeating: DetectorSettings(), count: 3),
                         summaryInterval: .seconds(3600), sink: sink)
        var t: Int64 = 0
        benchmark.startMeasurement()
        for i in benchmark.scaledIterations {
            t &+= 100_000_000
            p.reading(channel: i % 3, value: readings[i & 4095], monoNanos: t, wallNanos: t)
        }
        blackHole(sink.events)
    }

    Benchmark("SimulatorModel.step, 3 channels (per tick)") { benchmark in
        var m = try! SimulatorModel(channels: SimulatedChannel.defaults, faults: [], rateHz: 10, seed: 1)
        var s = 0.0
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { m.step { _, x in s += x } }
        blackHole(s)
    }

    // Events are rare (one per episode start/end and per summary); encoding may allocate.
    Benchmark("EventEncoder.payload, anomaly start (per event)", configuration: .init(scalingFactor: .one)) { benchmark in
        let e = JSONPayloadEncoder(device: "gw-1")
        let event = Event.anomalyStart(channel: ChannelInfo(name: "temperature", unit: "°C"),
                                       EpisodeStart(id: 3, wallNanos: 1_795_434_000_123_000_000, value: 31.2, z: 6.1, mean: 22.01, std: 0.5))
        for i in benchmark.scaledIterations { blackHole(e.payload(for: event, seq: UInt64(i))) }
    }

    serialBenchmarks()
    gpioBenchmarks()
}
