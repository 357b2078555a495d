import Testing
import VigilCore
@testable import VigilSources

@Suite struct SimulatorValidationTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var channels: [SimulatedChannel] = twoChannels
        var faults: [FaultSpec] = []
        var rateHz: Double = 10
        var expected: String
        var testDescription: String { expected }
    }

    static func with(_ change: (inout SimulatedChannel) -> Void, at index: Int = 1) -> [SimulatedChannel] {
        var chs = twoChannels
        change(&chs[index])
        return chs
    }

    static let okSpike = FaultSpec(kind: .spike, channel: "temp", at: .seconds(1), magnitude: 3)

    static let cases: [Case] = [
        Case(rateHz: 0, expected: "rate: must be > 0 and <= 10000"),
        Case(rateHz: -1, expected: "rate: must be > 0 and <= 10000"),
        Case(rateHz: 10_000.5, expected: "rate: must be > 0 and <= 10000"),
        Case(rateHz: .nan, expected: "rate: must be > 0 and <= 10000"),
        Case(rateHz: .infinity, expected: "rate: must be > 0 and <= 10000"),
        Case(rateHz: 1e-10, expected: "rate: must be >= 1e-9"),
        Case(channels: [], expected: "channels: at least one channel is required"),
        Case(channels: with { $0.name = "" }, expected: "channels[1].name: must not be empty"),
        Case(channels: with { $0.name = "temp" }, expected: "channels[1].name: 'temp' is already the name of channels[0]"),
        Case(channels: with { $0.mean = .nan }, expected: "channels[1].mean: must be finite"),
        Case(channels: with({ $0.mean = -.infinity }, at: 0), expected: "channels[0].mean: must be finite"),
        Case(channels: with({ $0.std = 0 }, at: 0), expected: "channels[0].std: must be > 0"),
        Case(channels: with { $0.std = -1 }, expected: "channels[1].std: must be > 0"),
        Case(channels: with { $0.std = .infinity }, expected: "channels[1].std: must be finite"),
        Case(channels: with { $0.std = .nan }, expected: "channels[1].std: must be finite"),
        Case(channels: with { $0.walkPoints = 0 }, expected: "channels[1].walk_points: must be between 1 and 100000"),
        Case(channels: with { $0.walkPoints = 100_001 }, expected: "channels[1].walk_points: must be between 1 and 100000"),
        Case(channels: with { $0.recalibration = -0.01 }, expected: "channels[1].recalibration: must be between 0 and 1"),
        Case(channels: with { $0.recalibration = 1.01 }, expected: "channels[1].recalibration: must be between 0 and 1"),
        Case(channels: with { $0.recalibration = .nan }, expected: "channels[1].recalibration: must be between 0 and 1"),
        Case(channels: with { $0.walkShare = -0.5 }, expected: "channels[1].walk_share: must be between 0 and 1"),
        Case(channels: with { $0.walkShare = 2 }, expected: "channels[1].walk_share: must be between 0 and 1"),
        Case(channels: with { $0.resolution = -0.1 }, expected: "channels[1].resolution: must be >= 0 and finite"),
        Case(channels: with { $0.resolution = .infinity }, expected: "channels[1].resolution: must be >= 0 and finite"),
        Case(faults: [okSpike, okSpike, FaultSpec(kind: .spike, channel: "tempx", at: .seconds(1), magnitude: 3)],
             expected: "faults[2].channel: no channel named 'tempx'"),
        Case(faults: [FaultSpec(kind: .spike, channel: "temp", magnitude: 3)],
             expected: "faults[0]: needs either at or rate_per_hour"),
        Case(faults: [okSpike, FaultSpec(kind: .spike, channel: "temp", at: .seconds(1), ratePerHour: 2, magnitude: 3)],
             expected: "faults[1]: has both at and rate_per_hour; set only one"),
        Case(faults: [FaultSpec(kind: .spike, channel: "temp", at: ConfigDuration(nanoseconds: -1), magnitude: 3)],
             expected: "faults[0].at: must be >= 0"),
        Case(faults: [FaultSpec(kind: .spike, channel: "temp", ratePerHour: 0, magnitude: 3)],
             expected: "faults[0].rate_per_hour: must be > 0 and finite"),
        Case(faults: [FaultSpec(kind: .spike, channel: "temp", ratePerHour: .infinity, magnitude: 3)],
             expected: "faults[0].rate_per_hour: must be > 0 and finite"),
        Case(faults: [FaultSpec(kind: .spike, channel: "temp", at: .seconds(1), magnitude: .nan)],
             expected: "faults[0].magnitude: must be finite"),
        Case(faults: [FaultSpec(kind: .levelShift, channel: "hum", at: .seconds(1), magnitude: .infinity)],
             expected: "faults[0].magnitude: must be finite"),
    ] + FaultKind.allCases.filter { $0 != .spike }.map { kind in
        Case(faults: [okSpike, FaultSpec(kind: kind, channel: "hum", at: .seconds(1), magnitude: 2)],
             expected: "faults[1].duration: must be > 0 for \(kind.rawValue)")
    }

    @Test(arguments: cases)
    func rejectsWithAMessageNamingTheField(_ c: Case) {
        #expect(throws: SimulatorError.self) {
            _ = try SimulatorModel(channels: c.channels, faults: c.faults, rateHz: c.rateHz, seed: 1)
        }
        do throws(SimulatorError) {
            _ = try SimulatorModel(channels: c.channels, faults: c.faults, rateHz: c.rateHz, seed: 1)
        } catch {
            #expect(error.description == c.expected)
        }
    }

    @Test func errorsCarryAPathForNesting() {
        do throws(SimulatorError) {
            _ = try SimulatorModel(channels: Self.with { $0.walkShare = 2 }, faults: [], rateHz: 10, seed: 1)
            Issue.record("accepted a walk_share of 2")
        } catch {
            #expect(error == SimulatorError(["channels", "1", "walk_share"], "must be between 0 and 1"))
            #expect(error.field == "channels[1].walk_share")
            #expect(ConfigIssue(["sources", "0"] + error.path, error.message).description
                    == "sources[0].channels[1].walk_share: must be between 0 and 1")
        }
    }

    @Test func acceptsTheBoundaries() throws {
        let edge = [channel("a", walkPoints: 1, recalibration: 0, walkShare: 0, resolution: 0),
                    channel("b", walkPoints: 100_000, recalibration: 1, walkShare: 1, resolution: 0.001)]
        let faults = [FaultSpec(kind: .spike, channel: "a", at: .seconds(0)),                       // no duration needed
                      FaultSpec(kind: .dropout, channel: "b", ratePerHour: 1e-6, duration: ConfigDuration(nanoseconds: 1))]
        var m = try SimulatorModel(channels: edge, faults: faults, rateHz: 10_000, seed: 1)
        #expect(m.record(10).values.count == 10)
        _ = try SimulatorModel(channels: edge, faults: [], rateHz: 1e-9, seed: 1)
        _ = try SimulatorModel(channels: SimulatedChannel.defaults, faults: [], rateHz: 1, seed: 0)
    }
}

/// Readings are rounded to the channel's resolution.
@Suite struct SimulatorRoundingTests {
    @Test(arguments: [0.01, 0.1, 0.5, 1, 0.3, 0.025, 2.5])
    func readingsAreRoundedToResolution(_ resolution: Double) throws {
        var raw = try SimulatorModel(channels: [channel("t", mean: 21.7, std: 3)], faults: [], rateHz: 10, seed: 4)
        var rounded = try SimulatorModel(channels: [channel("t", mean: 21.7, std: 3, resolution: resolution)],
                                         faults: [], rateHz: 10, seed: 4)
        let a = raw.record(5_000).series(0), b = rounded.record(5_000).series(0)
        for (x, y) in zip(a, b) {
            // Within half a step of the raw value, and on the grid.
            #expect(abs(y - x) <= resolution / 2 * (1 + 1e-9))
            let steps = y / resolution
            #expect(abs(steps - steps.rounded()) < 1e-9, "\(y) is not a multiple of \(resolution)")
        }
        #expect(Set(b).count > 3)
    }

    @Test func decimalResolutionsGiveTheNearestDecimal() throws {
        var m = try SimulatorModel(channels: [channel("t", mean: 22, std: 0.3, resolution: 0.01),
                                              channel("h", mean: 45, std: 1, resolution: 0.1)],
                                   faults: [], rateHz: 10, seed: 4)
        let t = m.record(2_000)
        for v in t.series(0) {
            let text = "\(v)"
            #expect(text.split(separator: ".").last!.count <= 2, "\(text)")
        }
        for v in t.series(1) {
            #expect("\(v)".split(separator: ".").last!.count == 1, "\(v)")
        }
    }

    @Test func roundingHalvesAndNegatives() {
        let r = Rounding(resolution: 0.5)
        #expect(r.apply(1.25) == 1.5 && r.apply(1.24) == 1.0 && r.apply(-1.25) == -1.5 && r.apply(-0.2) == 0)
        #expect(Rounding(resolution: 0).apply(1.2345) == 1.2345)
        #expect(Rounding(resolution: 0.01).apply(22.134999) == 22.13)
        #expect(abs(Rounding(resolution: 0.3).apply(1.0) - 0.9) < 1e-12)
    }
}
