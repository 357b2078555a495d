import VigilCore

/// A simulator setting that cannot be used, naming the field as the config file spells it
/// (`rate`, `channels[0].walk_points`, `faults[2].channel`, …) and what is wrong with it.
/// `path` has the same shape as `ConfigIssue.path`, so a caller can nest it:
/// `ConfigIssue(["sources", "0"] + error.path, error.message)`.
public struct SimulatorError: Error, Equatable, CustomStringConvertible {
    /// Keys and list indices leading to the field: `["channels", "1", "std"]`.
    public var path: [String]
    /// What is wrong, e.g. `must be > 0`.
    public var message: String

    public init(_ path: [String], _ message: String) {
        self.path = path
        self.message = message
    }

    /// The field as written in a config file: `channels[1].std`, `faults[0]`, `rate`.
    public var field: String {
        var out = ""
        for p in path {
            if Int(p) != nil { out += "[\(p)]" } else { out += out.isEmpty ? p : ".\(p)" }
        }
        return out
    }

    /// `field: message`, e.g. `faults[2].channel: no channel named 'tempx'`.
    public var description: String { "\(field): \(message)" }
}

/// The limits `SimulatorModel.init` enforces.
public enum SimulatorLimits {
    /// Highest sampling rate, in Hz.
    public static let maxRateHz = 10_000.0
    /// Lowest sampling rate, in Hz (one reading every ~31.7 years): keeps the period in an Int64 of ns.
    public static let minRateHz = 1e-9
    /// Longest random-walk memory, in steps.
    public static let maxWalkPoints = 100_000
}

enum SimulatorValidation {
    static func validate(channels: [SimulatedChannel], faults: [FaultSpec], rateHz: Double) throws(SimulatorError) {
        guard rateHz > 0, rateHz <= SimulatorLimits.maxRateHz else {
            throw SimulatorError(["rate"], "must be > 0 and <= 10000")
        }
        guard rateHz >= SimulatorLimits.minRateHz else {
            throw SimulatorError(["rate"], "must be >= 1e-9")
        }
        guard !channels.isEmpty else {
            throw SimulatorError(["channels"], "at least one channel is required")
        }
        var firstIndex: [String: Int] = [:]
        for (i, ch) in channels.enumerated() {
            func fail(_ key: String, _ message: String) -> SimulatorError {
                SimulatorError(["channels", "\(i)", key], message)
            }
            if ch.name.isEmpty { throw fail("name", "must not be empty") }
            if let j = firstIndex[ch.name] {
                throw fail("name", "'\(ch.name)' is already the name of channels[\(j)]")
            }
            firstIndex[ch.name] = i
            if !ch.mean.isFinite { throw fail("mean", "must be finite") }
            if !ch.std.isFinite { throw fail("std", "must be finite") }
            if !(ch.std > 0) { throw fail("std", "must be > 0") }
            if !(1...SimulatorLimits.maxWalkPoints).contains(ch.walkPoints) {
                throw fail("walk_points", "must be between 1 and 100000")
            }
            if !(ch.recalibration >= 0 && ch.recalibration <= 1) {
                throw fail("recalibration", "must be between 0 and 1")
            }
            if !(ch.walkShare >= 0 && ch.walkShare <= 1) {
                throw fail("walk_share", "must be between 0 and 1")
            }
            if !(ch.resolution >= 0 && ch.resolution.isFinite) {
                throw fail("resolution", "must be >= 0 and finite")
            }
        }
        for (i, fault) in faults.enumerated() {
            func fail(_ key: String?, _ message: String) -> SimulatorError {
                SimulatorError(["faults", "\(i)"] + (key.map { [$0] } ?? []), message)
            }
            if firstIndex[fault.channel] == nil {
                throw fail("channel", "no channel named '\(fault.channel)'")
            }
            switch (fault.at, fault.ratePerHour) {
            case (nil, nil):
                throw fail(nil, "needs either at or rate_per_hour")
            case (.some, .some):
                throw fail(nil, "has both at and rate_per_hour; set only one")
            case (let at?, nil):
                if at.nanoseconds < 0 { throw fail("at", "must be >= 0") }
            case (nil, let rate?):
                if !(rate > 0 && rate.isFinite) { throw fail("rate_per_hour", "must be > 0 and finite") }
            }
            if !fault.magnitude.isFinite { throw fail("magnitude", "must be finite") }
            if fault.kind != .spike && fault.duration.nanoseconds <= 0 {
                throw fail("duration", "must be > 0 for \(fault.kind.rawValue)")
            }
        }
    }
}
