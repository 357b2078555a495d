import VigilTestSupport

/// A real mosquitto and a real `vigil-fleet --http` on loopback ports, with a fresh database: what the API
/// and page tests start with.
final class FleetHTTPFixture {
    let broker: MosquittoBroker
    let db: TemporaryDatabase
    let http: Int
    let fleet: FleetReceiverProcess
    var base: String { "http://127.0.0.1:\(http)" }

    /// Returns once the receiver is subscribed and its server is listening.
    init(clientID: String, _ extra: [String] = []) throws {
        broker = try MosquittoBroker()
        db = try TemporaryDatabase()
        http = try freeLocalPort()
        fleet = try FleetReceiverProcess(["--broker", "mqtt://127.0.0.1:\(broker.port)", "--db", db.path, "--client-id", clientID,
                                          "--http", "127.0.0.1:\(http)"] + extra)
        guard waitUntil(timeout: 60, { [fleet, http] in fleet.stderr.contains("API listening on http://127.0.0.1:\(http)") }) else {
            throw TestSupportError("vigil-fleet did not start its server: \(fleet.stderr)")
        }
    }

    /// Publishes at QoS 1 on `vigil/<topic>`; returns once the broker has it.
    func publish(_ topic: String, _ payload: String) throws {
        try mqttPublish(port: broker.port, topic: "vigil/" + topic, payload: payload)
    }
}
