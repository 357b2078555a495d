/// Exit statuses from sysexits.h that systemd units key on.
public enum ExitStatus {
    public static let ok: Int32 = 0
    public static let usage: Int32 = 64
    public static let dataError: Int32 = 65
    public static let noInput: Int32 = 66
    /// EX_CONFIG: the unit's `RestartPreventExitStatus=78` keeps systemd from restart-looping.
    public static let config: Int32 = 78
    /// EX_OSERR: a service could not start (no thread could be created); systemd restarts the agent.
    public static let cannotStart: Int32 = 71
    /// EX_TEMPFAIL: another agent holds the outbox directory; systemd retries, and the holder may be
    /// gone by then.
    public static let tempFail: Int32 = 75
}
