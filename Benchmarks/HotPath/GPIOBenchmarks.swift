import Benchmark
import VigilSources

/// The GPIO sources' per-edge and per-frame work: a sound sensor can chatter at kHz, so one edge
/// must cost nanoseconds; a DHT frame comes every 2 s at most, but must not allocate either way.
func gpioBenchmarks() {
    Benchmark("DigitalInputTracker.edge, 20 ms debounce (per edge)") { benchmark in
        var tracker = DigitalInputTracker(active: false, at: 0, debounce: 20_000_000)
        var t: Int64 = 0
        var level = false
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            t &+= 1_000_000
            level.toggle()
            tracker.edge(active: level, at: t)
            if t % 1_000_000_000 == 0 { blackHole(tracker.closeWindow(at: t)) }
        }
        blackHole(tracker.edges)
    }

    let frame = DHTTrace.frame(bytes: DHTTrace.bytes(temperature: 21.5, humidity: 45.2, model: .dht22), model: .dht22,
                               jitterNanos: 10_000, seed: 1)
    Benchmark("DHTDecoder.decode, DHT22 frame with ±10 µs jitter (per frame)") { benchmark in
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(DHTDecoder.decode(frame, model: .dht22))
        }
    }
}
