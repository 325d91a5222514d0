//! From the text of an inventory file to an [`Inventory`]: deserialize, check every value, apply
//! defaults and groups. Every problem found is collected with its position, not only the first.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::Spanned;

use super::error::LineIndex;
use super::file::{DefaultsFile, Entries, GroupFile, HostFile, InventoryFile};
use super::group_graph::GroupGraph;
use super::validate::{
    check_address, check_environment, check_name, check_port, check_text, check_user,
};
use super::{
    AuditSettings, Group, HostKey, InvalidInventory, Inventory, InventoryError, ResolvedHost,
    TransportKind,
};

pub(super) fn parse(path: &Path, text: &str) -> Result<Inventory, InvalidInventory> {
    let file: InventoryFile = toml::from_str(text)
        .map_err(|error| InvalidInventory::new(vec![toml_error(path, text, &error)]))?;
    let mut cx = Context { path, text, lines: None, errors: Vec::new() };
    let defaults = file.defaults.unwrap_or_default();
    cx.check_defaults(&defaults);
    let graph = Groups::build(&mut cx, &file.hosts, &file.groups);
    let hosts: Vec<ResolvedHost> = file
        .hosts
        .iter()
        .filter_map(|(name, host)| cx.resolve_host(name, host, &defaults, &graph))
        .collect();
    if !cx.errors.is_empty() {
        return Err(InvalidInventory::new(cx.errors));
    }
    let groups = graph.into_groups(&file.groups, &hosts);
    let audit = file.audit.map_or_else(AuditSettings::default, |audit| AuditSettings {
        anchor_file: audit.anchor_file.map(std::path::PathBuf::from),
        syslog: audit.syslog,
    });
    Ok(Inventory { hosts, groups, checks: file.checks, hooks: file.hooks, audit })
}

/// Turns toml's error into ours: its byte span becomes line and column, and serde's backquoted
/// message becomes the plain one users read (`unknown field "adress", expected one of address,
/// …`), with a suggestion when the unknown word is a near miss.
pub(crate) fn toml_error(path: &Path, text: &str, error: &toml::de::Error) -> InventoryError {
    let offset = error.span().map_or(0, |span| span.start);
    InventoryError::at(path, text, offset, plain_message(error.message()))
}

fn plain_message(message: &str) -> String {
    let message = message.trim().replace('\n', "; ");
    let (head, expected) = match message.split_once(", expected ") {
        Some((head, expected)) => (head.to_owned(), Some(expected.to_owned())),
        None => (message.clone(), None),
    };
    // The word in error is the first backquoted one: quote it as a string.
    let mut plain = head.replacen('`', "\"", 2).replace('`', "");
    let Some(expected) = expected else { return plain };
    let mut alternatives = expected.replace('`', "");
    if alternatives == "i64" {
        alternatives = "an integer".to_owned();
    }
    plain.push_str(", expected ");
    plain.push_str(&alternatives);
    let unknown = head.split('`').nth(1).unwrap_or("");
    let nearest = alternatives
        .trim_start_matches("one of ")
        .split([',', ' '])
        .filter(|word| !word.is_empty() && *word != "or")
        .map(|word| (edit_distance(unknown, word), word))
        .min();
    // No let chains: the workspace promises Rust 1.85.
    match nearest {
        Some((distance, word))
            if !unknown.is_empty() && distance <= 2 && distance < unknown.chars().count() =>
        {
            plain.push_str(&format!(" (did you mean {word:?}?)"));
        }
        _ => {}
    }
    plain
}

/// Edit distance counting a swap of two neighbours as one edit (optimal string alignment), for
/// "did you mean": `wbe` is one edit from `web`.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // rows[i][j]: the distance between a[..i] and b[..j].
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best =
                (rows[i - 1][j] + 1).min(rows[i][j - 1] + 1).min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = best;
        }
    }
    rows[a.len()][b.len()]
}

struct Context<'a> {
    path: &'a Path,
    text: &'a str,
    /// Made at the first error.
    lines: Option<LineIndex>,
    errors: Vec<InventoryError>,
}

impl Context<'_> {
    fn error(&mut self, span: Range<usize>, message: String) {
        let lines = self.lines.get_or_insert_with(|| LineIndex::new(self.text));
        let (line, column) = lines.line_column(self.text, span.start);
        self.errors.push(InventoryError { path: self.path.to_path_buf(), line, column, message });
    }

    /// Records the error of a check at the value's position; true when it passed.
    fn check(&mut self, span: Range<usize>, result: Result<(), String>) -> bool {
        match result {
            Ok(()) => true,
            Err(message) => {
                self.error(span, message);
                false
            }
        }
    }

    fn check_defaults(&mut self, defaults: &DefaultsFile) {
        if let Some(user) = &defaults.user {
            self.check(user.span(), check_user(user.get_ref()));
        }
        if let Some(port) = &defaults.port {
            self.port(port);
        }
        if let Some(ssh_key) = &defaults.ssh_key {
            self.check(ssh_key.span(), check_text("ssh_key", ssh_key.get_ref()));
        }
        if let Some(environment) = &defaults.environment {
            self.check(environment.span(), check_environment(environment.get_ref()));
        }
        if let Some(owner) = &defaults.owner {
            self.check(owner.span(), check_text("owner", owner.get_ref()));
        }
        self.vars(&defaults.vars);
    }

    fn port(&mut self, port: &Spanned<i64>) -> Option<u16> {
        match check_port(*port.get_ref()) {
            Ok(port) => Some(port),
            Err(message) => {
                self.error(port.span(), message);
                None
            }
        }
    }

    fn vars(&mut self, vars: &Entries<String>) {
        for (name, _) in vars.iter() {
            self.check(name.span(), check_text("variable name", name.get_ref()));
        }
    }

    /// Checks a list of names (groups, tags) and returns them without duplicates, in order.
    fn names(&mut self, what: &str, names: &[Spanned<String>]) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut seen: HashSet<&str> = HashSet::new();
        for name in names {
            if self.check(name.span(), check_name(what, name.get_ref()))
                && seen.insert(name.get_ref())
            {
                out.push(name.get_ref().clone());
            }
        }
        out
    }

    /// Resolves one host, or records why it cannot be (and returns `None`).
    fn resolve_host(
        &mut self,
        name: &Spanned<String>,
        host: &HostFile,
        defaults: &DefaultsFile,
        graph: &Groups,
    ) -> Option<ResolvedHost> {
        let n_errors = self.errors.len();
        let host_name = name.get_ref();
        self.check(name.span(), check_name("host", host_name));
        let transport = host.transport.or(defaults.transport).unwrap_or_default();
        let address = match (&host.address, transport) {
            (Some(address), _) => {
                self.check(address.span(), check_address(address.get_ref()));
                address.get_ref().clone()
            }
            (None, TransportKind::Local) => "localhost".to_owned(),
            (None, TransportKind::Ssh) => {
                self.error(
                    name.span(),
                    format!(
                        "host {host_name:?} has no address: expected address = \"IP or DNS name\""
                    ),
                );
                String::new()
            }
        };
        let environment = match host.environment.as_ref().or(defaults.environment.as_ref()) {
            Some(environment) => {
                // The default's own error is reported once, by `check_defaults`.
                if host.environment.is_some() {
                    self.check(environment.span(), check_environment(environment.get_ref()));
                }
                environment.get_ref().clone()
            }
            None => {
                self.error(
                    name.span(),
                    format!(
                        "host {host_name:?} has no environment: set environment = \"NAME\" here \
                         or in [defaults]"
                    ),
                );
                String::new()
            }
        };
        let direct_groups = self.names("group", &host.groups);
        let tags = self.names("tag", &host.tags);
        let host_key = host.host_key.as_ref().and_then(|key| match HostKey::parse(key.get_ref()) {
            Ok(key) => Some(key.to_string()),
            Err(message) => {
                self.error(key.span(), message);
                None
            }
        });
        if let Some(user) = &host.user {
            self.check(user.span(), check_user(user.get_ref()));
        }
        let port = match &host.port {
            Some(port) => self.port(port),
            None => defaults.port.as_ref().and_then(|p| check_port(*p.get_ref()).ok()),
        };
        if let Some(ssh_key) = &host.ssh_key {
            self.check(ssh_key.span(), check_text("ssh_key", ssh_key.get_ref()));
        }
        if let Some(owner) = &host.owner {
            self.check(owner.span(), check_text("owner", owner.get_ref()));
        }
        self.vars(&host.vars);
        if self.errors.len() > n_errors {
            return None;
        }

        let groups = graph.with_ancestors(&direct_groups);
        let user = host.user.as_ref().or(defaults.user.as_ref()).map_or("root", |u| u.get_ref());
        let mut vars = defaults.vars.to_map();
        let mut owner = defaults.owner.as_ref().map(|o| o.get_ref().clone());
        for group in graph.by_precedence(&groups) {
            if let Some(declared) = graph.declared(group) {
                vars.extend(declared.vars.to_map());
                if let Some(group_owner) = &declared.owner {
                    owner = Some(group_owner.get_ref().clone());
                }
            }
        }
        vars.extend(host.vars.to_map());
        if let Some(host_owner) = &host.owner {
            owner = Some(host_owner.get_ref().clone());
        }
        Some(ResolvedHost {
            name: host_name.clone(),
            address,
            port: port.unwrap_or(22),
            user: user.to_owned(),
            ssh_key: host
                .ssh_key
                .as_ref()
                .or(defaults.ssh_key.as_ref())
                .map(|k| PathBuf::from(k.get_ref())),
            // A user other than root needs sudo for package operations, so that is the default.
            sudo: host.sudo.or(defaults.sudo).unwrap_or(user != "root"),
            environment,
            groups,
            tags,
            owner,
            package_manager: host.package_manager.or(defaults.package_manager),
            host_key,
            transport,
            vars,
            checks: host.checks.clone().or_else(|| defaults.checks.clone()),
            hooks: host.hooks.clone().or_else(|| defaults.hooks.clone()),
        })
    }
}

/// The groups and their `children` edges, checked: every child is a known group (declared, or
/// named by a host) and no group contains itself. The edges are walked by [`GroupGraph`], in
/// time linear in the groups and edges.
struct Groups<'f> {
    declared: BTreeMap<&'f str, &'f GroupFile>,
    /// Every group name, declared or named by a host, sorted; a group's number in `graph` is
    /// its position here.
    known: Vec<String>,
    graph: GroupGraph,
}

impl<'f> Groups<'f> {
    fn build(
        cx: &mut Context<'_>,
        hosts: &'f Entries<HostFile>,
        groups: &'f Entries<GroupFile>,
    ) -> Self {
        let mut known: BTreeSet<String> = hosts
            .iter()
            .flat_map(|(_, host)| host.groups.iter().map(|g| g.get_ref().clone()))
            .collect();
        let mut declared = BTreeMap::new();
        for (name, group) in groups.iter() {
            cx.check(name.span(), check_name("group", name.get_ref()));
            if let Some(owner) = &group.owner {
                cx.check(owner.span(), check_text("owner", owner.get_ref()));
            }
            cx.vars(&group.vars);
            known.insert(name.get_ref().clone());
            declared.insert(name.get_ref().as_str(), group);
        }
        let known: Vec<String> = known.into_iter().collect();
        let number = |name: &str| known.binary_search_by(|k| k.as_str().cmp(name)).ok();
        // Each child entry, with its parent and child numbers when it is an edge.
        let mut entries = Vec::new();
        for (name, group) in groups.iter() {
            for child in &group.children {
                let mut edge = None;
                if cx.check(child.span(), check_name("group", child.get_ref())) {
                    match (number(name.get_ref()), number(child.get_ref())) {
                        (Some(parent), Some(child)) => edge = Some((parent, child)),
                        _ => cx.error(
                            child.span(),
                            format!(
                                "group {:?} lists child {:?}, which is not a group: expected a \
                                 group declared under [groups] or named in a host's groups",
                                name.get_ref(),
                                child.get_ref()
                            ),
                        ),
                    }
                }
                entries.push((name, child, edge));
            }
        }
        let edges: Vec<(usize, usize)> = entries.iter().filter_map(|(_, _, edge)| *edge).collect();
        let graph = GroupGraph::new(known.len(), &edges);
        // A cycle is reported where it closes: at each child entry that leads back.
        for (name, child, edge) in entries {
            let closes = match edge {
                Some((parent, child)) => graph.closes_cycle(parent, child),
                None => child.get_ref() == name.get_ref(),
            };
            if closes {
                cx.error(
                    child.span(),
                    format!(
                        "group {:?} lists child {:?}, which contains {:?}: children must not \
                         form a cycle",
                        name.get_ref(),
                        child.get_ref(),
                        name.get_ref()
                    ),
                );
            }
        }
        Groups { declared, known, graph }
    }

    fn declared(&self, name: &str) -> Option<&'f GroupFile> {
        self.declared.get(name).copied()
    }

    fn number(&self, name: &str) -> Option<usize> {
        self.known.binary_search_by(|known| known.as_str().cmp(name)).ok()
    }

    /// `direct` and all their ancestors, sorted by name.
    fn with_ancestors(&self, direct: &[String]) -> Vec<String> {
        let direct = direct.iter().filter_map(|name| self.number(name));
        let mut all: Vec<String> =
            self.graph.with_ancestors(direct).into_iter().map(|g| self.known[g].clone()).collect();
        all.sort_unstable();
        all
    }

    /// Groups in order of precedence: general first (fewer parents above them), so that
    /// specific ones override them, then by name.
    fn by_precedence<'g>(&self, groups: &'g [String]) -> Vec<&'g str> {
        let depth = |name: &str| self.number(name).map_or(0, |g| self.graph.depth(g));
        let mut ordered: Vec<(usize, &str)> =
            groups.iter().map(|g| (depth(g), g.as_str())).collect();
        ordered.sort_unstable();
        ordered.into_iter().map(|(_, g)| g).collect()
    }

    fn into_groups(self, files: &Entries<GroupFile>, hosts: &[ResolvedHost]) -> Vec<Group> {
        let mut children: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for (name, group) in files.iter() {
            let mut listed: HashSet<&str> = HashSet::new();
            let list = group
                .children
                .iter()
                .filter(|child| listed.insert(child.get_ref()))
                .map(|child| child.get_ref().clone())
                .collect();
            children.insert(name.get_ref(), list);
        }
        // Each group's hosts in the order of the file, in one pass over the hosts.
        let mut members: HashMap<&str, Vec<String>> = HashMap::new();
        for host in hosts {
            for group in &host.groups {
                members.entry(group).or_default().push(host.name.clone());
            }
        }
        self.known
            .iter()
            .map(|name| {
                let declared = self.declared(name);
                Group {
                    name: name.clone(),
                    owner: declared.and_then(|g| g.owner.as_ref()).map(|o| o.get_ref().clone()),
                    children: children.get(name.as_str()).cloned().unwrap_or_default(),
                    vars: declared.map(|g| g.vars.to_map()).unwrap_or_default(),
                    hosts: members.remove(name.as_str()).unwrap_or_default(),
                    checks: declared.and_then(|g| g.checks.clone()),
                    hooks: declared.and_then(|g| g.hooks.clone()),
                }
            })
            .collect()
    }
}
