import Logging
import VigilCore
import VigilSources

extension Agent {
    /// Builds every configured source through its kind (`SourceKinds`); each problem is placed
    /// under its `sources[i]`.
    /// - Parameter board: the board GPIO sources default to and check against; by default the one the
    ///   config names, or this machine's (`BoardDetection`).
    /// - Parameter only: the names of the sources to build; nil builds them all.
    public static func buildSources(_ config: VigilConfig, board: Board?? = nil, only: Set<String>? = nil,
                                    logger: Logger = Logger(label: "vigil")) throws(ConfigIssueList) -> [Source] {
        let board = board ?? BoardDetection.board(for: config)
        var sources: [Source] = []
        var issues: [ConfigIssue] = []
        for (i, sc) in config.sources.enumerated() where only?.contains(sc.name) ?? true {
            let context = SourceContext(board: board, log: sourceLogger(logger, source: sc.name),
                                        noChipMessage: { BoardDetection.noChipMessage(config) })
            do { sources.append(try SourceKinds.makeSource(sc, context)) } catch {
                issues += error.issues.map { ConfigIssue(["sources", "\(i)"] + $0.path, $0.message) }
            }
        }
        if !issues.isEmpty { throw ConfigIssueList(issues: issues) }
        return sources
    }

    /// A source's log lines, on the agent's logger with the source's name attached.
    static func sourceLogger(_ log: Logger, source: String) -> SourceLogger {
        { level, message in
            switch level {
            case .debug: log.debug("\(message)", metadata: ["source": "\(source)"])
            case .info: log.info("\(message)", metadata: ["source": "\(source)"])
            case .warning: log.warning("\(message)", metadata: ["source": "\(source)"])
            case .error: log.error("\(message)", metadata: ["source": "\(source)"])
            }
        }
    }
}
