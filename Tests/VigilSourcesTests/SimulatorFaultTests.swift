import Testing
import VigilCore
@testable import VigilSources

/// Each fault changes exactly what it says, exactly where the ground truth says, and nothing else:
/// every run is compared with the fault-free run of the same seed.
@Suite struct SimulatorFaultTests {
    static let seed: UInt64 = 42
    static let second: Int64 = 1_000_000_000
    static let tempStd = 0.5, humStd = 2.0

    /// Runs `ticks` at 10 Hz with and without `faults`.
    static func runPair(_ faults: [FaultSpec], ticks: Int, channels: [SimulatedChannel] = twoChannels)
        throws -> (clean: Trace, faulty: Trace, truth: [InjectedFault]) {
        var clean = try SimulatorModel(channels: channels, faults: [], rateHz: 10, seed: seed)
        var faulty = try SimulatorModel(channels: channels, faults: faults, rateHz: 10, seed: seed)
        let c = clean.record(ticks), f = faulty.record(ticks)
        return (c, f, faulty.groundTruth)
    }

    /// Every (tick, channel) outside `ticks` × `channel` is bit-identical in both runs.
    static func expectUnchanged(_ r: (clean: Trace, faulty: Trace, truth: [InjectedFault]),
                                except ticks: ClosedRange<Int>, channel: Int, sourceLocation: SourceLocation = #_sourceLocation) {
        for t in r.clean.values.indices {
            for c in r.clean.values[t].indices where !(c == channel && ticks.contains(t)) {
                #expect(r.clean[t, c]?.bitPattern == r.faulty[t, c]?.bitPattern, "tick \(t) channel \(c)",
                        sourceLocation: sourceLocation)
            }
        }
    }

    static func truth(_ kind: FaultKind, _ channel: String, _ first: Int, _ last: Int, _ magnitude: Double) -> InjectedFault {
        InjectedFault(kind: kind, channel: channel, firstTick: first, lastTick: last,
                      startNanos: Int64(first) * 100_000_000, endNanos: Int64(last) * 100_000_000, magnitude: magnitude)
    }

    @Test func spikeIsOneReadingOffsetByMagnitudeTimesStd() throws {
        let r = try Self.runPair([FaultSpec(kind: .spike, channel: "temp", at: .seconds(5), magnitude: 6)], ticks: 200)
        #expect(r.truth == [Self.truth(.spike, "temp", 50, 50, 6)])
        #expect(r.truth[0].startNanos == 5 * Self.second && r.truth[0].endNanos == 5 * Self.second)
        #expect(r.faulty[50, 0] == r.clean[50, 0]! + 6 * Self.tempStd)
        Self.expectUnchanged(r, except: 50...50, channel: 0)
    }

    @Test func fixedFaultsStartAtTheFirstTickAtOrAfterTheirTime() throws {
        // 10 Hz: ticks at 0, 0.1 s, 0.2 s … ; 5.05 s falls between ticks 50 and 51; 0 is tick 0.
        let faults = [FaultSpec(kind: .spike, channel: "hum", at: .seconds(5.05), magnitude: -4),
                      FaultSpec(kind: .spike, channel: "temp", at: .seconds(0), magnitude: 3),
                      FaultSpec(kind: .spike, channel: "temp", at: ConfigDuration(nanoseconds: 1_100_000_001), magnitude: 1)]
        let r = try Self.runPair(faults, ticks: 100)
        #expect(r.truth == [Self.truth(.spike, "temp", 0, 0, 3), Self.truth(.spike, "temp", 12, 12, 1),
                            Self.truth(.spike, "hum", 51, 51, -4)])
        #expect(r.faulty[51, 1] == r.clean[51, 1]! + -4 * Self.humStd)
        #expect(r.faulty[0, 0] == r.clean[0, 0]! + 3 * Self.tempStd)
        #expect(r.faulty[12, 0] == r.clean[12, 0]! + 1 * Self.tempStd)
    }

    @Test func levelShiftOffsetsExactlyTheRecordedTicks() throws {
        let r = try Self.runPair([FaultSpec(kind: .levelShift, channel: "temp", at: .seconds(10.05),
                                            duration: .seconds(2), magnitude: -3)], ticks: 200)
        // First tick at/after 10.05 s is 101 (10.1 s); 2 s = 20 ticks: 101…120.
        #expect(r.truth == [Self.truth(.levelShift, "temp", 101, 120, -3)])
        for t in 101...120 { #expect(r.faulty[t, 0] == r.clean[t, 0]! + -3 * Self.tempStd, "tick \(t)") }
        Self.expectUnchanged(r, except: 101...120, channel: 0)
    }

    @Test func durationsRoundUpToWholeTicks() throws {
        let r = try Self.runPair([FaultSpec(kind: .levelShift, channel: "hum", at: .seconds(1),
                                            duration: .milliseconds(250), magnitude: 2)], ticks: 50)
        #expect(r.truth == [Self.truth(.levelShift, "hum", 10, 12, 2)])   // ⌈2.5⌉ = 3 ticks
        for t in 10...12 { #expect(r.faulty[t, 1] == r.clean[t, 1]! + 2 * Self.humStd) }
        Self.expectUnchanged(r, except: 10...12, channel: 1)
    }

    @Test func driftRampsLinearlyToMagnitudeTimesStd() throws {
        let r = try Self.runPair([FaultSpec(kind: .drift, channel: "hum", at: .seconds(3),
                                            duration: .seconds(4), magnitude: 5)], ticks: 100)
        #expect(r.truth == [Self.truth(.drift, "hum", 30, 69, 5)])
        let shift = 5 * Self.humStd
        for i in 0..<40 {
            #expect(r.faulty[30 + i, 1] == r.clean[30 + i, 1]! + shift * Double(i + 1) / 40, "tick \(30 + i)")
        }
        #expect(r.faulty[69, 1] == r.clean[69, 1]! + shift)       // full magnitude at the last tick
        Self.expectUnchanged(r, except: 30...69, channel: 1)      // and back to clean right after
    }

    @Test func stuckHoldsTheLastReadingBeforeTheFault() throws {
        let r = try Self.runPair([FaultSpec(kind: .stuck, channel: "temp", at: .seconds(7),
                                            duration: .seconds(1.5), magnitude: 0)], ticks: 120)
        #expect(r.truth == [Self.truth(.stuck, "temp", 70, 84, 0)])
        let held = try #require(r.clean[69, 0])
        for t in 70...84 { #expect(r.faulty[t, 0]?.bitPattern == held.bitPattern, "tick \(t)") }
        // The clean process kept running underneath: it really was moving.
        #expect(Set((70...84).map { r.clean[$0, 0]! }).count > 1)
        Self.expectUnchanged(r, except: 70...84, channel: 0)
    }

    @Test func stuckFromTheFirstTickHoldsTheFirstReading() throws {
        let r = try Self.runPair([FaultSpec(kind: .stuck, channel: "hum", at: .seconds(0),
                                            duration: .seconds(1), magnitude: 0)], ticks: 30)
        #expect(r.truth == [Self.truth(.stuck, "hum", 0, 9, 0)])
        for t in 0...9 { #expect(r.faulty[t, 1] == r.clean[0, 1]) }
        Self.expectUnchanged(r, except: 0...9, channel: 1)
    }

    @Test func dropoutEmitsNothingForItsTicks() throws {
        let r = try Self.runPair([FaultSpec(kind: .dropout, channel: "temp", at: .seconds(2),
                                            duration: .milliseconds(350), magnitude: 0)], ticks: 60)
        #expect(r.truth == [Self.truth(.dropout, "temp", 20, 23, 0)])
        for t in 20...23 {
            #expect(r.faulty[t, 0] == nil, "tick \(t)")
            #expect(r.faulty[t, 1] != nil)
        }
        #expect(r.faulty.series(0).count == 56)
        Self.expectUnchanged(r, except: 20...23, channel: 0)
    }

    @Test func noiseBurstScalesOnlyTheWhiteNoiseOnlyWithinItsTicks() throws {
        let r = try Self.runPair([FaultSpec(kind: .noiseBurst, channel: "hum", at: .seconds(10),
                                            duration: .seconds(2_000), magnitude: 4)], ticks: 20_200)
        #expect(r.truth == [Self.truth(.noiseBurst, "hum", 100, 20_099, 4)])
        Self.expectUnchanged(r, except: 100...20_099, channel: 1)
        // Inside: reading − clean = (4 − 1)·ε_t with ε ~ N(0, (1 − walkShare)·std²) = N(0, 2).
        let d = (100...20_099).map { r.faulty[$0, 1]! - r.clean[$0, 1]! }
        #expect(d.allSatisfy { $0 != 0 })
        let (mean, std) = meanAndStd(d)
        let want = 3 * (0.5 * Self.humStd * Self.humStd).squareRoot()
        #expect(abs(mean) < 0.05 * want)
        #expect(abs(std / want - 1) < 0.03, "std of the change \(std), want \(want)")
        // The change is white: no walk in it.
        #expect(abs(lag1Autocorrelation(d)) < 0.03)
    }

    @Test func noiseBurstOnAPureWalkChangesNothing() throws {
        let ch = [channel("w", walkShare: 1)]
        let r = try Self.runPair([FaultSpec(kind: .noiseBurst, channel: "w", at: .seconds(1),
                                            duration: .seconds(2), magnitude: 10)], ticks: 50, channels: ch)
        #expect(r.truth.count == 1)
        #expect(r.clean.bitIdentical(to: r.faulty))
    }

    /// Offsets add; stuck wins over offsets; dropout wins over everything; the process goes on.
    @Test func overlappingFaultsFollowTheDocumentedRule() throws {
        let faults = [
            FaultSpec(kind: .levelShift, channel: "temp", at: .seconds(1), duration: .seconds(2), magnitude: 2),  // 10…29
            FaultSpec(kind: .spike, channel: "temp", at: .seconds(1.5), magnitude: 5),                              // 15
            FaultSpec(kind: .stuck, channel: "temp", at: .seconds(2), duration: .milliseconds(500)),                 // 20…24
            FaultSpec(kind: .dropout, channel: "temp", at: .seconds(2.2), duration: .milliseconds(200)),             // 22…23
            FaultSpec(kind: .drift, channel: "temp", at: .seconds(2.5), duration: .seconds(1), magnitude: 4),       // 25…34
        ]
        let r = try Self.runPair(faults, ticks: 60)
        #expect(r.truth.map { [$0.firstTick, $0.lastTick] } == [[10, 29], [15, 15], [20, 24], [22, 23], [25, 34]])
        let ls = 2 * Self.tempStd, sp = 5 * Self.tempStd, dr = 4 * Self.tempStd
        for t in 10...19 where t != 15 { #expect(r.faulty[t, 0] == r.clean[t, 0]! + ls) }
        #expect(r.faulty[15, 0] == r.clean[15, 0]! + (ls + sp))
        let held = r.faulty[19, 0]!                          // the last reading before the stuck, shifted
        for t in [20, 21, 24] { #expect(r.faulty[t, 0] == held) }
        for t in [22, 23] { #expect(r.faulty[t, 0] == nil) }
        for t in 25...29 { #expect(r.faulty[t, 0] == r.clean[t, 0]! + (ls + dr * Double(t - 24) / 10)) }
        for t in 30...34 { #expect(r.faulty[t, 0] == r.clean[t, 0]! + dr * Double(t - 24) / 10) }
        Self.expectUnchanged(r, except: 10...34, channel: 0)
    }

    @Test func faultsAreRoundedLikeReadings() throws {
        let ch = [channel("t", std: 0.3, resolution: 0.01)]
        let r = try Self.runPair([FaultSpec(kind: .levelShift, channel: "t", at: .seconds(1),
                                            duration: .seconds(1), magnitude: 1)], ticks: 30, channels: ch)
        for t in 10...19 {
            let v = r.faulty[t, 0]!
            #expect((v * 100).rounded() / 100 == v)
            #expect(abs(v - (r.clean[t, 0]! + 0.3)) <= 0.01 + 1e-12)
        }
    }

    // MARK: rate-driven

    static let hourly = [FaultSpec(kind: .spike, channel: "temp", ratePerHour: 120, magnitude: 8),
                         FaultSpec(kind: .levelShift, channel: "hum", ratePerHour: 30, duration: .seconds(20), magnitude: 3)]

    @Test func rateDrivenFaultsAreDeterministicForASeed() throws {
        var a = try SimulatorModel(channels: twoChannels, faults: Self.hourly, rateHz: 10, seed: 1)
        var b = try SimulatorModel(channels: twoChannels, faults: Self.hourly, rateHz: 10, seed: 1)
        var c = try SimulatorModel(channels: twoChannels, faults: Self.hourly, rateHz: 10, seed: 2)
        let ta = a.record(36_000), tb = b.record(36_000)
        _ = c.record(36_000)
        #expect(ta.bitIdentical(to: tb))
        #expect(a.groundTruth == b.groundTruth)
        #expect(a.groundTruth != c.groundTruth)
        #expect(a.groundTruth.contains { $0.kind == .spike } && a.groundTruth.contains { $0.kind == .levelShift })
        // Recorded in start order, with consistent ticks and offsets.
        #expect(a.groundTruth.map(\.firstTick) == a.groundTruth.map(\.firstTick).sorted())
        for f in a.groundTruth {
            #expect(f.startNanos == Int64(f.firstTick) * 100_000_000 && f.endNanos == Int64(f.lastTick) * 100_000_000)
            #expect(f.lastTick - f.firstTick == (f.kind == .spike ? 0 : 199))
        }
    }

    @Test func rateDrivenFaultsActExactlyWhereRecorded() throws {
        let r = try Self.runPair(Self.hourly, ticks: 36_000)
        var tempOffset = [Double](repeating: 0, count: 36_000), humOffset = tempOffset
        for f in r.truth {
            for t in f.firstTick...min(f.lastTick, 35_999) {
                if f.channel == "temp" { tempOffset[t] += 8 * Self.tempStd } else { humOffset[t] += 3 * Self.humStd }
            }
        }
        for t in 0..<36_000 {
            #expect(abs(r.faulty[t, 0]! - (r.clean[t, 0]! + tempOffset[t])) < 1e-9)
            #expect(abs(r.faulty[t, 1]! - (r.clean[t, 1]! + humOffset[t])) < 1e-9)
        }
    }

    @Test func rateDrivenCountsFollowThePoissonRate() throws {
        // 1 Hz for 50 h, 200 per hour: expect 10,000 ± 100 (one standard deviation).
        var m = try SimulatorModel(channels: [channel("x")],
                                   faults: [FaultSpec(kind: .spike, channel: "x", ratePerHour: 200, magnitude: 5)],
                                   rateHz: 1, seed: 77)
        for _ in 0..<180_000 { m.step { _, _ in } }
        // The model lists the first `groundTruthLimit` and counts the rest (a soak must not grow).
        #expect(m.groundTruth.count == SimulatorModel.groundTruthLimit)
        let n = m.groundTruth.count + m.faultsNotListed
        #expect(abs(n - 10_000) < 400, "\(n) faults")
        // Exponential gaps: mean 18 s and coefficient of variation 1 (ticks are 1 s, so a little less).
        let starts = m.groundTruth.map { Double($0.firstTick) }
        let gaps = zip(starts.dropFirst(), starts).map { $0 - $1 }
        let (mean, std) = meanAndStd(gaps)
        #expect(abs(mean - 18) < 0.8, "mean gap \(mean)")
        #expect(abs(std / mean - 1) < 0.06, "coefficient of variation \(std / mean)")
    }

    @Test func addingAFaultLeavesTheOtherFaultsTimesAlone() throws {
        let one = [Self.hourly[0]]
        let three = Self.hourly + [FaultSpec(kind: .dropout, channel: "temp", ratePerHour: 60, duration: .seconds(1))]
        var a = try SimulatorModel(channels: twoChannels, faults: one, rateHz: 10, seed: 9)
        var b = try SimulatorModel(channels: twoChannels, faults: three, rateHz: 10, seed: 9)
        for _ in 0..<36_000 { a.step { _, _ in }; b.step { _, _ in } }
        #expect(a.groundTruth.map(\.firstTick) == b.groundTruth.filter { $0.kind == .spike }.map(\.firstTick))
    }
}
