/// What every source kind's settings have in common. Each kind's own type, in its folder under
/// VigilSources, adds the rest; the core knows no kind by name.
public protocol SourceSettings: Sendable {
    var name: String { get }
    /// Each channel with the path of the entry that defines it, relative to the source.
    var channelPaths: [(name: String, path: [String])] { get }
    /// The GPIO lines the source uses (checked against the board preset); none by default.
    var gpioLines: [GPIOLineUse] { get }
    /// The header buses (I²C, I²S) the source uses; none by default.
    var headerBuses: [HeaderBusUse] { get }
    /// Field checks beyond decoding; paths relative to the source entry.
    func validate() -> [ConfigIssue]
}

extension SourceSettings {
    public var gpioLines: [GPIOLineUse] { [] }
    public var headerBuses: [HeaderBusUse] { [] }
}

/// A GPIO line a source uses, for checks against the board preset.
public struct GPIOLineUse: Sendable, Equatable {
    /// Relative to the source entry.
    public var path: [String]
    public var chip: String?
    public var line: Int
    public init(path: [String], chip: String?, line: Int) { self.path = path; self.chip = chip; self.line = line }

    /// The largest line offset: the kernel counts a chip's lines in 16 bits (and libgpiod's
    /// offsets, 32 bits, would trap on a larger config value when the line is opened).
    public static let maxOffset = 65535

    /// What is wrong with `line` as an offset; empty when nothing.
    public static func problems(line: Int) -> [String] {
        if line < 0 { return ["must be a line offset (0 or more), got \(line)"] }
        if line > maxOffset { return ["must be at most \(maxOffset) (the largest GPIO line offset), got \(line)"] }
        return []
    }
}

/// The source kinds a config may name, in the order an unknown kind's error lists them: `kind:`
/// and how to decode that kind's settings. Whoever decodes a `VigilConfig` passes them in the
/// decoder's `userInfo[.sourceKinds]` (the agent's registered list: VigilSources' `SourceKinds`).
public struct SourceKindDecoders: Sendable {
    public typealias Decode = @Sendable (any Decoder) throws -> any SourceSettings
    public var kinds: [(name: String, decode: Decode)]
    public init(_ kinds: [(name: String, decode: Decode)]) { self.kinds = kinds }
    public var names: [String] { kinds.map(\.name) }
}

extension CodingUserInfoKey {
    /// A `SourceKindDecoders`: the kinds `sources` entries may name.
    public static let sourceKinds = CodingUserInfoKey(rawValue: "vigil.sourceKinds")!
}

/// One entry of `sources`: its `kind` and that kind's settings.
public struct SourceConfig: Sendable, Decodable {
    public var kind: String
    public var settings: any SourceSettings

    public init(kind: String, settings: any SourceSettings) { self.kind = kind; self.settings = settings }

    enum KindKey: String, CodingKey { case kind }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: KindKey.self)
        let kind = try c.decode(String.self, forKey: .kind)
        let known = decoder.userInfo[.sourceKinds] as? SourceKindDecoders ?? SourceKindDecoders([])
        guard let entry = known.kinds.first(where: { $0.name == kind }) else {
            throw DecodingError.dataCorruptedError(forKey: .kind, in: c,
                debugDescription: "unknown source kind '\(kind)' (known: \(known.names.joined(separator: ", ")))")
        }
        self.kind = kind
        settings = try entry.decode(decoder)
    }

    public var name: String { settings.name }
    public var channelNames: [String] { channelPaths.map(\.name) }
    public var channelPaths: [(name: String, path: [String])] { settings.channelPaths }
    public var gpioLines: [GPIOLineUse] { settings.gpioLines }
    public var headerBuses: [HeaderBusUse] { settings.headerBuses }
    func validate() -> [ConfigIssue] { settings.validate() }
}
