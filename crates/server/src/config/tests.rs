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
         [scheduler]\npoll_seconds = 5\nlease_seconds = 9\n",
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
    assert_eq!(config.lease_seconds, 9);
}

#[test]
fn an_empty_file_is_plain_http_on_loopback_with_the_defaults() {
    let config = check("").unwrap();
    assert!(config.listen.ip().is_loopback() && config.tls.is_none());
    assert_eq!(config.login.lockout, Lockout::default());
    assert_eq!(check("[scheduler]\nenabled = false\n").unwrap().scheduler, None);
    let shared = check("database_url = \"postgres://patchctl@db.example/patch\"\n").unwrap();
    assert_eq!(shared.database_url.as_deref(), Some("postgres://patchctl@db.example/patch"));
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
        (
            "database_url = \"mysql://db/patch\"\n",
            "/etc/patchctl/server.toml:1:16: database_url must be a PostgreSQL URL, \
             postgres://user:password@host:port/database",
        ),
        (
            "database = \"s.db\"\ndatabase_url = \"postgres://db/patch\"\n",
            "/etc/patchctl/server.toml:2:16: database_url and database both name the state: \
             keep one",
        ),
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
    assert!(config.oidc.is_none());
    // And the commented-out [oidc] table, with its roles.
    fn setting(line: &str) -> Option<&str> {
        let line = line.strip_prefix("# ")?;
        let key = line.split(" = ").next().unwrap_or("");
        let is_key =
            key.chars().all(|c| c.is_ascii_lowercase() || c == '_') && line.contains(" = ");
        (line.starts_with("[oidc") || is_key).then_some(line)
    }
    let start = text.find("# [oidc]").unwrap();
    let oidc: Vec<&str> = text[start..].lines().filter_map(setting).collect();
    assert_eq!(oidc.len(), 12, "{oidc:?}");
    let with_oidc = format!("{}\n{}\n", &text[..start], oidc.join("\n"));
    let oidc = ServerConfig::parse(Path::new(DEFAULT_PATH), &with_oidc).unwrap().oidc.unwrap();
    assert_eq!(oidc.client_secret, ClientSecret::File("/etc/patchctl/oidc-client-secret".into()));
    assert_eq!(oidc.roles.role(&["cab".into()]), Some(model::access::Role::Approver));
}

#[test]
fn an_oidc_table_parses_with_its_defaults_and_a_secret_file_beside_it() {
    let config = check(
        "[oidc]\nname = \"Example SSO\"\nissuer = \"https://sso.example.com/realms/ops\"\n\
         client_id = \"patchctl\"\nclient_secret_file = \"oidc-secret\"\n\
         [oidc.roles]\ncab = \"approver\"\nops = \"operator\"\n",
    )
    .unwrap();
    let oidc = config.oidc.unwrap();
    assert_eq!(oidc.name, "Example SSO");
    assert_eq!(oidc.issuer, "https://sso.example.com/realms/ops");
    assert_eq!(oidc.client_secret, ClientSecret::File("/etc/patchctl/oidc-secret".into()));
    assert_eq!(oidc.redirect_url, None);
    assert_eq!(oidc.scopes, ["openid", "profile", "email"]);
    assert_eq!(
        (oidc.groups_claim.as_str(), oidc.username_claim.as_str()),
        ("groups", "preferred_username")
    );
    assert_eq!(oidc.roles.role(&["ops".into()]), Some(model::access::Role::Operator));
    assert_eq!(oidc.roles.role(&["ops".into(), "cab".into()]), Some(model::access::Role::Approver));
    assert!(check("").unwrap().oidc.is_none());
    // A provider on the same machine may be plain HTTP.
    let local = check(
        "[oidc]\nissuer = \"http://127.0.0.1:9400\"\nclient_id = \"p\"\nclient_secret = \"s\"\n\
         redirect_url = \"https://patch.example.com/login/oidc/callback\"\n\
         scopes = [\"openid\", \"groups\"]\ngroups_claim = \"roles\"\n[oidc.roles]\nall = \"viewer\"\n",
    )
    .unwrap()
    .oidc
    .unwrap();
    assert_eq!(local.client_secret, ClientSecret::Inline("s".into()));
    assert_eq!(local.groups_claim, "roles");
}

#[test]
fn oidc_problems_point_at_their_line_and_column() {
    let roles = "[oidc.roles]\nops = \"operator\"\n";
    let secret = "client_id = \"p\"\nclient_secret = \"s\"\n";
    // (file, the message)
    let cases = [
        (
            format!("[oidc]\n{secret}{roles}"),
            "/etc/patchctl/server.toml:1:1: [oidc] needs issuer".to_owned(),
        ),
        (
            format!(
                "[oidc]\nissuer = \"https://sso\"\n{secret}[oidc.roles]\nops = \"operators\"\n"
            ),
            "/etc/patchctl/server.toml:6:7: group \"ops\": \"operators\" is not a role: expected \
             viewer, operator, approver or admin"
                .to_owned(),
        ),
        (
            format!("[oidc]\nissuer = \"http://sso.example.com\"\n{secret}{roles}"),
            "/etc/patchctl/server.toml:2:10: issuer \"http://sso.example.com\" is plain HTTP to \
             another machine: use https"
                .to_owned(),
        ),
        (
            format!("[oidc]\nissuer = \"https://sso\"\nclient_id = \"p\"\n{roles}"),
            "/etc/patchctl/server.toml:1:1: [oidc] needs client_secret or client_secret_file"
                .to_owned(),
        ),
        (
            format!("[oidc]\nissuer = \"https://sso\"\n{secret}scopes = [\"email\"]\n{roles}"),
            "/etc/patchctl/server.toml:5:10: scopes must include \"openid\"".to_owned(),
        ),
        (
            format!("[oidc]\nissuer = \"https://sso\"\n{secret}"),
            "/etc/patchctl/server.toml:1:1: [oidc.roles] maps no group to a role, so no one \
             could log in: add e.g. ops = \"operator\""
                .to_owned(),
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(check(&text).unwrap_err(), expected, "{text}");
    }
    let unknown = check("[oidc]\nissuer = \"https://sso\"\nclient = \"p\"\n").unwrap_err();
    assert!(unknown.starts_with("/etc/patchctl/server.toml:3:1: unknown field"), "{unknown}");
}

#[test]
fn the_database_table_sets_the_pool_within_its_ranges() {
    // The plain path, as ever: the pool is the command line's.
    let plain = check("database = \"s.db\"\n").unwrap();
    assert_eq!(plain.database.unwrap(), Path::new("/etc/patchctl/s.db"));
    assert_eq!(plain.pool, PoolConfig::default());
    let table = check(
        "database_url = \"postgres://db/patch\"\n\
         [database]\nmax_connections = 16\nacquire_timeout_seconds = 5\n",
    )
    .unwrap();
    assert_eq!(
        table.pool,
        PoolConfig { max_connections: Some(16), acquire_timeout_seconds: Some(5) }
    );
    assert_eq!(table.database, None);
    // What the file sets wins over the command line's; what it leaves is kept.
    let cli = ops::PoolSettings { max_connections: 3, acquire_timeout: Duration::from_secs(60) };
    assert_eq!(
        table.pool.over(cli),
        ops::PoolSettings { max_connections: 16, acquire_timeout: Duration::from_secs(5) }
    );
    let some = check("[database]\npath = \"s.db\"\nmax_connections = 2\n").unwrap();
    assert_eq!(some.database.unwrap(), Path::new("/etc/patchctl/s.db"));
    assert_eq!(
        some.pool.over(cli),
        ops::PoolSettings { max_connections: 2, acquire_timeout: Duration::from_secs(60) }
    );

    let cases = [
        (
            "[database]\nmax_connections = 0\n",
            "/etc/patchctl/server.toml:1:1: [database] max_connections must be a whole number \
             from 1 to 1000",
        ),
        (
            "[database]\nacquire_timeout_seconds = 86400\n",
            "/etc/patchctl/server.toml:1:1: [database] acquire_timeout_seconds must be a whole \
             number from 1 to 3600",
        ),
        (
            "[database]\nmax_connections = \"many\"\n",
            "/etc/patchctl/server.toml:1:1: [database] max_connections must be a whole number \
             from 1 to 1000",
        ),
        (
            "[database]\nmax_conections = 4\n",
            "/etc/patchctl/server.toml:1:1: unknown key \"max_conections\" in [database]: \
             expected path, max_connections or acquire_timeout_seconds",
        ),
        (
            "database = 5\n",
            "/etc/patchctl/server.toml:1:12: database must be the SQLite file's path, or a \
             [database] table",
        ),
        (
            "database_url = \"postgres://db/patch\"\n[database]\npath = \"s.db\"\n",
            "/etc/patchctl/server.toml:1:16: database_url and database both name the state: \
             keep one",
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(check(text).unwrap_err(), expected, "{text}");
    }
}
