import Foundation

extension MQTTSubscriber.Message {
    /// The status message's fields (`state`, `clean`, `first_seq`, …) when this is a JSON status
    /// payload; nil for anything else.
    public var status: [String: Any]? {
        guard topic.hasSuffix("/status"),
              let object = try? JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: Any],
              object["type"] as? String == "status" else { return nil }
        return object
    }

    /// `online` or `offline` for a status message, nil otherwise.
    public var statusState: String? { status?["state"] as? String }
}
