use super::*;

fn check(text: &str) -> Result<ServerConfig, String> {
    ServerConfig::parse(Path::new("/etc/patchctl/server.toml"), text).map_err(|e| e.to_string())
}

#[test]
fn a_full_file_parses_with_paths_beside_it() {
    let config = check(
        "listen = \"0.0.0.0:443\"\ndatabase = \"state.db\"\n\
         [tls]\ncert = \"tls/cert.pem\"\nkey = \"/secret/key.pem\"\n\
         [login]\nmax_failures = 3\nlockout_minutes = 2\ntoken_hours = 1\nfailures_per_minute = 7\n\
         [scheduler]\npoll_seconds = 5\n",
    )
    .unwrap();
    assert_eq!(config.listen, "0.0.0.0:443".parse().unwrap());
    let tls = config.tls.unwrap();
    assert_eq!(tls.cert, Path::new("/etc/patchctl/tls/cert.pem"));
    assert_eq!(tls.key, Path::new("/secret/key.pem"));
    assert_eq!(config.database.unwrap(), Path::new("/etc/patchctl/state.db"));
    assert_eq!(config.login.lockout, Lockout { max_failures: 3, lockout_seconds: 120 });
    assert_eq!(config.login.token_seconds, 3600);
    assert_eq!(config.rate_limit, RateLimit { max_failures: 7, window_seconds: 60 });
    assert_eq!(config.scheduler, Some(Duration::from_secs(5)));
}

#[test]
fn an_empty_file_is_plain_http_on_loopback_with_the_defaults() {
    let config = check("").unwrap();
    assert!(config.listen.ip().is_loopback() && config.tls.is_none());
    assert_eq!(config.login.lockout, Lockout::default());
    assert_eq!(check("[scheduler]\nenabled = false\n").unwrap().scheduler, None);
}

#[test]
fn problems_point_at_their_line_and_column() {
    // (file, the message)
    let cases = [
        (
            "listen = \"10.0.0.1:80\"\n",
            "/etc/patchctl/server.toml:1:10: 10.0.0.1:80 is not a loopback address, and plain \
             HTTP is served on loopback only: add a [tls] table with cert and key",
        ),
        (
            "listen = \"localhost\"\n",
            "/etc/patchctl/server.toml:1:10: \"localhost\" is not an address and port",
        ),
        (
            "[login]\nmax_failures = 0\ntoken_hours = 9000\n",
            "/etc/patchctl/server.toml:2:16: max_failures must be from 1 to 1000\n\
             /etc/patchctl/server.toml:3:15: token_hours must be from 1 to 8760",
        ),
        ("[tls]\ncert = \"c.pem\"\n", "/etc/patchctl/server.toml:1:1: missing field \"key\""),
    ];
    for (text, expected) in cases {
        assert_eq!(check(text).unwrap_err(), expected, "{text}");
    }
    let unknown = check("[login]\nmax_failure = 3\n").unwrap_err();
    assert!(unknown.starts_with("/etc/patchctl/server.toml:2:1: unknown field"), "{unknown}");
}

/// The file the .deb installs as /etc/patchctl/server.toml parses with this parser, and says
/// what its comments promise: loopback, the state under /var/lib/patchctl, the scheduler off.
#[test]
fn the_packaged_default_parses() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../cli/debian/server.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let config = ServerConfig::parse(Path::new(DEFAULT_PATH), &text).unwrap();
    assert!(config.listen.ip().is_loopback() && config.tls.is_none());
    assert_eq!(config.database.unwrap(), Path::new("/var/lib/patchctl/patchctl.db"));
    assert_eq!(config.login.lockout, Lockout::default());
    assert_eq!(config.rate_limit, RateLimit::default());
    assert_eq!(config.scheduler, None);
    // The commented-out [tls] table parses too once uncommented.
    let with_tls = text.replace("# [tls]\n# cert", "[tls]\ncert").replace("# key =", "key =");
    let with_tls = ServerConfig::parse(Path::new(DEFAULT_PATH), &with_tls).unwrap();
    assert_eq!(with_tls.tls.unwrap().key, Path::new("/etc/patchctl/tls/key.pem"));
}
