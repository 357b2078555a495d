import Synchronization
import VigilCore

/// `kind: simulator` — runs a `SimulatorModel` in real time: tick k happens at start + k·period on
/// the monotonic clock. A late tick is not skipped (its readings carry the time it actually ran),
/// so every injected fault reaches the detector.
public final class SimulatorSource: Source {
    public let name: String
    public let channels: [ChannelInfo]
    private let model: Mutex<SimulatorModel>
    private let log: SourceLogger
    /// Ground truth so far, for logs and tests.
    public var groundTruth: [InjectedFault] { model.withLock { $0.groundTruth } }

    /// - Parameter log: gets the ground truth (one line per injected fault) when the run ends.
    public init(config: SimulatorSourceConfig, log: @escaping SourceLogger = { _, _ in }) throws(SimulatorError) {
        let m = try SimulatorModel(channels: config.channels, faults: config.faults, rateHz: config.rate, seed: config.seed)
        self.log = log
        name = config.name
        channels = config.channels.map { ChannelInfo(name: $0.name, unit: $0.unit) }
        model = Mutex(m)
    }

    public func run(into sink: ReadingSink, until stop: StopSignal) {
        let start = Clock.monotonicNanos()
        let wallStart = Clock.wallNanos()
        var m = model.withLock { $0 }
        while !stop.isRaised {
            // Wake at least every 250 ms so a slow rate still notices `stop` and summaries.
            let due = start + m.nextOffsetNanos
            var now = Clock.monotonicNanos()
            while now < due && !stop.isRaised {
                Clock.sleep(untilMonotonic: min(due, now + 250_000_000))
                now = Clock.monotonicNanos()
                if now < due { sink.idle(monoNanos: now, wallNanos: wallStart + (now - start)) }
            }
            if stop.isRaised { break }
            let wall = Clock.wallNanos()
            m.step { channel, value in
                sink.reading(channel: channel, value: value, monoNanos: now, wallNanos: wall)
            }
            sink.idle(monoNanos: now, wallNanos: wall)
            if m.groundTruth.count != model.withLock({ $0.groundTruth.count }) {
                let snapshot = m
                model.withLock { $0 = snapshot }
            }
        }
        let snapshot = m
        model.withLock { $0 = snapshot }
        // The ground truth goes into the log, so a demo or a test can set the verdicts against it.
        for f in m.groundTruth {
            log(.info, "simulator injected fault kind=\(f.kind.rawValue) channel=\(f.channel) from_s=\(Double(f.startNanos) / 1e9) to_s=\(Double(f.endNanos) / 1e9) magnitude=\(f.magnitude)")
        }
        if m.faultsNotListed > 0 {
            log(.info, "simulator injected \(m.faultsNotListed) more faults after the first \(SimulatorModel.groundTruthLimit) (counted, not listed)")
        }
    }
}
