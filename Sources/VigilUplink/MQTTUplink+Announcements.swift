import VigilCore

// Retained announcements beside the outbox (Home Assistant discovery configs): not numbered, not
// stored, republished on every connect instead, so a broker that lost its retained messages gets them back.
extension MQTTUplink {
    /// From now on, publishes `messages` (retained) after the birth message on every connect. `now`
    /// (what changed, and empty retained payloads for what was removed) goes out at once when
    /// connected, else first thing after the next connect. Thread-safe.
    public func announce(_ messages: [OutboundMessage], now: [OutboundMessage] = []) {
        state.withLock { s in
            s.announcements = messages
            s.pendingAnnouncements += now
        }
        wakeup.signal()
    }

    /// Publishes the pending announcements, and with `all` (just connected) every announcement after
    /// them. QoS 1 without tracking: a lost one is published again on the next connect.
    func publishAnnouncements(_ client: MosquittoClient, _ connection: Connection, all: Bool) {
        let messages = state.withLock { s -> [OutboundMessage] in
            defer { s.pendingAnnouncements.removeAll() }
            return all ? s.pendingAnnouncements + s.announcements : s.pendingAnnouncements
        }
        for m in messages {
            do {
                _ = try client.publish(topic: m.topic, payload: m.payload, qos: m.qos, retain: m.retain)
            } catch {
                logger.error("MQTT announcement on '\(m.topic)' not published: \(error)")
            }
        }
    }
}
