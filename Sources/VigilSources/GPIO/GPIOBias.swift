import VigilCore

/// A GPIO line's pull resistor as a request sets it. `as-is` (the default) keeps what the board,
/// the device tree or an external resistor decide; a simulated chip's level also stays untouched.
public enum GPIOBias: String, Sendable, Equatable, CaseIterable, Decodable {
    case asIs = "as-is"
    case disabled
    case pullUp = "pull-up"
    case pullDown = "pull-down"

    public init(from decoder: Decoder) throws { self = try decodeNamed(decoder, what: "bias") }
}

extension SourceContext {
    /// A GPIO source's chip: its own, or the board's header chip; with neither, an issue at `chip`.
    func chip(_ own: String?) throws(SourceConfigError) -> String {
        if let c = own ?? board?.headerChip.label { return c }
        throw SourceConfigError(issues: [ConfigIssue(["chip"], noChipMessage())])
    }
}
