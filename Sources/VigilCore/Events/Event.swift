/// Something worth sending upstream. Events are rare next to readings, so they may allocate.
public enum Event: Sendable, Equatable {
    case anomalyStart(channel: ChannelInfo, EpisodeStart)
    case anomalyEnd(channel: ChannelInfo, Episode)
    case summary(channel: ChannelInfo, Summary)
    /// A source went down or came back (`vigil/<device>/health`).
    case sourceHealth(source: String, SourceHealth)
    /// A sensor health problem began (stuck, dropout, out_of_range, rate_of_change) …
    case healthStart(channel: ChannelInfo, HealthStart)
    /// … and ended.
    case healthEnd(channel: ChannelInfo, HealthEnd)
    /// The multivariate (T²) detector over a source's channels opened an episode …
    case multivariateStart(source: String, channels: [ChannelInfo], MultivariateStart)
    /// … and closed it.
    case multivariateEnd(source: String, Episode)

    /// The channel the event is about; for a multivariate event, the source (unit empty).
    public var channel: ChannelInfo {
        switch self {
        case .anomalyStart(let c, _), .anomalyEnd(let c, _), .summary(let c, _), .healthStart(let c, _), .healthEnd(let c, _): return c
        case .multivariateStart(let s, _, _), .multivariateEnd(let s, _), .sourceHealth(let s, _): return ChannelInfo(name: s, unit: "")
        }
    }
}

/// A channel's identity as it appears in topics and payloads.
public struct ChannelInfo: Sendable, Hashable {
    public var name: String
    public var unit: String
    public init(name: String, unit: String) { self.name = name; self.unit = unit }
}
