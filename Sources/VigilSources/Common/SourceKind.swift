import VigilCore

/// A sensor kind: the type of its settings, which decodes a `kind: <name>` entry of `sources` and
/// builds the source. Each kind lives in its own folder and is registered by one line in
/// `SourceKinds.all`.
public protocol SourceKind: SourceSettings, Decodable {
    /// What `kind:` says in the config: `serial`, `dht_iio`.
    static var kind: String { get }
    /// What `vigil probe` lists for this kind (kinds sharing a listing name the same probe); nil for none.
    static var probe: (any DeviceProbe)? { get }
    /// Builds the source; throws the problems only building shows, paths relative to the source entry.
    func makeSource(_ context: SourceContext) throws(SourceConfigError) -> Source
}

extension SourceKind {
    public static var probe: (any DeviceProbe)? { nil }
}

/// What the agent gives a kind when it builds a source.
public struct SourceContext: Sendable {
    /// The board preset that applies (GPIO sources default to its header chip and check lines against it).
    public var board: Board?
    /// The source's log lines (the agent's logger, with the source's name attached).
    public var log: SourceLogger
    /// Why there is no default header chip, for a GPIO source that names none.
    public var noChipMessage: @Sendable () -> String

    public init(board: Board?, log: @escaping SourceLogger = { _, _ in },
                noChipMessage: @escaping @Sendable () -> String = { "set chip to a gpiochip label, name or path" }) {
        self.board = board; self.log = log; self.noChipMessage = noChipMessage
    }
}

/// What `vigil probe` prints about one kind of device (serial ports, gpiochips, I²C buses).
public protocol DeviceProbe: Sendable {
    /// Kinds that share a listing give probes with the same id; it runs once.
    var id: String { get }
    /// Writes its lines through `print`; throws when the listing failed in a way that should fail
    /// the command (its message goes to standard error).
    func run(_ options: ProbeOptions, print: (String) -> Void) throws(ProbeFailure)
}

public struct ProbeOptions: Sendable {
    /// Only summary lines (gpiochips without their lines).
    public var brief: Bool
    /// This machine's board preset, if any (its header chip is pointed out).
    public var board: Board?
    public init(brief: Bool = false, board: Board? = nil) { self.brief = brief; self.board = board }
}

public struct ProbeFailure: Error, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
}

extension SourceKinds {
    /// `kind:` → decoder, for `VigilConfig` decoding (`userInfo[.sourceKinds]`).
    public static var decoders: SourceKindDecoders {
        SourceKindDecoders(all.map { kind in (name: kind.kind, decode: { try kind.init(from: $0) }) })
    }

    /// The registered kinds' names, in order.
    public static var names: [String] { all.map { $0.kind } }

    /// The probes of the registered kinds, each once, in the kinds' order.
    public static var probes: [any DeviceProbe] {
        var seen: Set<String> = []
        return all.compactMap { $0.probe }.filter { seen.insert($0.id).inserted }
    }

    /// Builds the source a config entry describes.
    public static func makeSource(_ config: SourceConfig, _ context: SourceContext) throws(SourceConfigError) -> Source {
        guard let kind = config.settings as? any SourceKind else {
            throw SourceConfigError(issues: [ConfigIssue(["kind"], "'\(config.kind)' is not a registered source kind (known: \(names.joined(separator: ", ")))")])
        }
        return try kind.makeSource(context)
    }
}
