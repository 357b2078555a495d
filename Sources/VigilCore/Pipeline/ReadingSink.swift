/// Where a source delivers what it reads. `Pipeline` implements it; so do `vigil read` and tests.
public protocol ReadingSink: AnyObject {
    /// One reading of channel `channel` (an index into the source's `channels`).
    /// - Parameters:
    ///   - monoNanos: CLOCK_MONOTONIC when the reading was taken or received (ages windows).
    ///   - wallNanos: CLOCK_REALTIME at the same moment (goes into payloads).
    func reading(channel: Int, value: Double, monoNanos: Int64, wallNanos: Int64)
    /// Called regularly even when no reading arrives, so time-driven work (summaries) goes on.
    func idle(monoNanos: Int64, wallNanos: Int64)
    /// The monotonic time by which `idle` must be called again (its next summary or dropout
    /// check); a source with nothing to read sleeps until then. Default: 250 ms after `monoNanos`.
    func nextIdleDeadline(monoNanos: Int64) -> Int64
    /// A source that delivers readings in bursts (a serial port's chunk) brackets each, so the sink
    /// can hand on what the burst caused (its events) together when it ends. Default: nothing.
    func beginBurst()
    func endBurst()
    /// The source's counters as they are now: once at start and whenever a count changed (see
    /// `SourceReporter`). `counters` is the source's reused buffer: copy the values you keep;
    /// holding on to the value itself makes the source's next change copy it.
    func counters(_ counters: SourceCounters)
    /// The source's device went down or came back: `device` as the config names it
    /// (`/dev/ttyUSB0`), `reason` in the words of the OS or library. The counters pushed just
    /// before are the ones at this moment.
    func sourceState(up: Bool, device: String, reason: String, wallNanos: Int64)
}

extension ReadingSink {
    public func nextIdleDeadline(monoNanos: Int64) -> Int64 { monoNanos + 250_000_000 }
    public func beginBurst() {}
    public func endBurst() {}
}
