import CMosquitto
import VigilUplink

/// The receiver's connection failures in words a person can act on, by the agent's diagnostics
/// (`ConnectDiagnostics`, docs/tls.md) with the receiver's option names in the hints.
enum BrokerFailure {
    static let names = TLSSettingNames(whose: "the receiver's", broker: "--broker", caFile: "--ca-file", certFile: "--cert-file",
                                       certAndKey: "--cert-file and --key-file", version: "--tls-version")

    /// `error` as it is, unless it ended a TLS connection before CONNACK: then what libmosquitto and
    /// OpenSSL logged about it (`errorLog`) turned into a reason with a hint.
    static func explain(_ error: SubscriberError, tls: Bool, answered: Bool, errorLog: [String]) -> SubscriberError {
        guard tls, !answered else { return error }
        let explained = ConnectDiagnostics.explain(MosquittoError(kind: .library, code: error.code, message: error.message),
                                                   tls: true, errorLog: errorLog, names: names)
        guard explained.kind == .tls else { return error }
        return SubscriberError(code: explained.code, message: "TLS handshake failed: \(explained.message)")
    }
}

extension ReceiverSettings {
    /// `mqtt://HOST:PORT`, or `mqtts://` with TLS: for logs.
    public var endpoint: String { "\(tls == nil ? "mqtt" : "mqtts")://\(host):\(port)" }
}
