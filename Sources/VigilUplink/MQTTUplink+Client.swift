import CMosquitto
import VigilCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// A fresh libmosquitto handle per connection, set up from `Settings`.
extension MQTTUplink {
    /// MQTT 3.1.1, a send window with room for the status messages, credentials, TLS and the last will.
    func makeClient() throws(MosquittoError) -> MosquittoClient {
        let client = try MosquittoClient(id: settings.clientID.isEmpty ? nil : settings.clientID, cleanSession: true)
        try client.setOption(MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311)
        // Room for our window plus the status messages and announcements, so libmosquitto never holds
        // messages back itself.
        let announcements = state.withLock { $0.announcements.count + $0.pendingAnnouncements.count }
        try client.setOption(MOSQ_OPT_SEND_MAXIMUM, Int32(clamping: settings.maxInflight + 2 + announcements))
        if let username = settings.username {
            try client.setCredentials(username: username, password: settings.password?.value)
        }
        if let tls = settings.tls {
            try configureTLS(client, tls)
        }
        try client.setWill(topic: settings.statusTopic, payload: settings.status.will, qos: 1, retain: true)
        return client
    }

    /// CA (file, directory, or the system store), client certificate, verification on, TLS 1.2 or later.
    private func configureTLS(_ client: MosquittoClient, _ tls: TLS) throws(MosquittoError) {
        // libmosquitto only says "invalid arguments" for a file it cannot open: name the file and the reason.
        for (key, path) in [("ca_file", tls.caFile), ("cert_file", tls.certFile), ("key_file", tls.keyFile)] {
            guard let path else { continue }
            if access(path, R_OK) != 0 {
                throw MosquittoError(kind: .setup, code: Int32(MOSQ_ERR_INVAL.rawValue),
                                     message: "cannot read mqtt.tls.\(key) '\(path)': \(String(cString: strerror(errno)))")
            }
        }
        if let dir = tls.caDir, access(dir, R_OK | X_OK) != 0 {
            throw MosquittoError(kind: .setup, code: Int32(MOSQ_ERR_INVAL.rawValue),
                                 message: "cannot read mqtt.tls.ca_dir '\(dir)': \(String(cString: strerror(errno)))")
        }
        var caDir = tls.caDir
        if tls.caFile == nil && tls.caDir == nil {
            // No CA given: the system's trust store (public brokers such as HiveMQ Cloud, AWS IoT with Amazon's roots).
            try client.setOption(MOSQ_OPT_TLS_USE_OS_CERTS, 1)
            // mosquitto_tls_set insists on a CA location; the system directory carries the client certificate.
            caDir = "/etc/ssl/certs"
        }
        do {
            try client.setTLS(caFile: tls.caFile, caDir: caDir, certFile: tls.certFile, keyFile: tls.keyFile)
            try client.setTLSOptions(verifyPeer: true, version: tls.minimumVersion)
            try client.setTLSInsecure(tls.insecure)
        } catch {
            throw MosquittoError(kind: .setup, code: error.code, message: "TLS settings refused by libmosquitto: \(error)")
        }
    }

}
