/// The agent's version: what `vigil --version` prints and the birth message carries.
public enum VigilVersion {
    public static let current = "0.1.0"
}
