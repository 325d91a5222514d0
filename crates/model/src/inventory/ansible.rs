//! Import of Ansible inventories (INI, YAML and TOML), purely: the text of an Ansible inventory in,
//! the text of our `inventory.toml` out, with a warning for everything patchctl does not use.
//!
//! Ansible's model maps onto ours directly: groups with `children`, group and host variables
//! with the same precedence (`all`, then groups from general to specific, then the host). The
//! connection variables become our fields: `ansible_host` → `address`, `ansible_user` → `user`,
//! `ansible_port` → `port`, `ansible_ssh_private_key_file` → `ssh_key`, `ansible_become` →
//! `sudo`, `ansible_connection=local` → `transport = "local"` (and the older `ansible_ssh_*`
//! spellings). Our groups carry no connection settings, so those set on a group are written on
//! each of its hosts; those set on `all` go to `[defaults]`. Every other variable is kept in
//! `vars` where Ansible had it, and listed as a warning, since patchctl does not act on it.
//!
//! Ansible has no environments; every imported host gets [`ImportConfig::environment`].
//! Ansible's default is not to become root; ours is `sudo` for any user but root, which
//! patching needs, so an unset `ansible_become` is left unset.
//!
//! The output is checked by parsing it back with [`Inventory::parse`].
//!
//! The file may come from anywhere, so its size is bounded where it would cost: lines of at
//! most [`MAX_LINE_BYTES`], chains of `children` at most [`MAX_GROUP_DEPTH`] deep, at most
//! `MAX_HOSTS` hosts; cycles are errors; and the groups are walked once for the whole file
//! (`group_graph.rs`), so no step is quadratic in the groups.

mod ini;
mod map;
mod range;
mod toml;
mod vars_files;
mod write;
mod yaml;

pub use vars_files::{VarsFile, VarsName, VarsScope, vars_scope};

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use super::group_graph::GroupGraph;
use super::{InvalidInventory, Inventory, InventoryError};

/// What the importer cannot learn from an Ansible inventory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportConfig {
    /// The environment of every imported host (checked like any environment name).
    pub environment: String,
}

/// The result of an import.
#[derive(Debug, Clone, PartialEq)]
pub struct AnsibleImport {
    /// Our inventory file's text; it parses with [`Inventory::parse`].
    pub toml: String,
    /// The same, parsed.
    pub inventory: Inventory,
    /// What was not imported as Ansible meant it, in the order of the source file.
    pub warnings: Vec<ImportWarning>,
    /// The hosts imported under another name than Ansible's (an IPv6 address as a name), by
    /// their Ansible name.
    pub renamed: BTreeMap<String, String>,
}

/// Something patchctl keeps but does not act on, or leaves out, with where it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportWarning {
    pub path: PathBuf,
    /// 1-based. For YAML, the line of the key, found by following its path through the text.
    pub line: usize,
    pub column: usize,
    /// `host "web1"` or `group "webservers"`.
    pub subject: String,
    /// The Ansible variable concerned, when there is one.
    pub variable: Option<String>,
    pub message: String,
}

impl fmt::Display for ImportWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: warning: {}",
            self.path.display(),
            self.line,
            self.column,
            self.subject
        )?;
        if let Some(variable) = &self.variable {
            write!(f, ", variable {variable:?}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Which syntax an Ansible inventory is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnsibleFormat {
    Ini,
    Yaml,
    Toml,
}

impl AnsibleFormat {
    /// By extension, as Ansible's plugins are usually chosen: `.yml`, `.yaml` and `.json` (a
    /// subset of YAML) are YAML, `.toml` TOML; anything else (`.ini`, `hosts`, no extension)
    /// is INI.
    pub fn from_path(path: &Path) -> AnsibleFormat {
        match path.extension().and_then(|e| e.to_str()) {
            Some("yml" | "yaml" | "json") => AnsibleFormat::Yaml,
            Some("toml") => AnsibleFormat::Toml,
            _ => AnsibleFormat::Ini,
        }
    }
}

/// Imports an Ansible inventory. `path` names the source in messages and chooses the format
/// ([`AnsibleFormat::from_path`]).
pub fn import(
    path: &Path,
    text: &str,
    config: &ImportConfig,
) -> Result<AnsibleImport, InvalidInventory> {
    import_as(AnsibleFormat::from_path(path), path, text, &[], config)
}

/// Imports an Ansible inventory with the `group_vars/` and `host_vars/` files beside it, whose
/// variables beat those the inventory sets for the same group or host, as in Ansible.
pub fn import_with_vars(
    path: &Path,
    text: &str,
    vars_files: &[VarsFile],
    config: &ImportConfig,
) -> Result<AnsibleImport, InvalidInventory> {
    import_as(AnsibleFormat::from_path(path), path, text, vars_files, config)
}

/// Imports an Ansible inventory written in `format`, with its variables files; `path` names it
/// in messages.
pub fn import_as(
    format: AnsibleFormat,
    path: &Path,
    text: &str,
    vars_files: &[VarsFile],
    config: &ImportConfig,
) -> Result<AnsibleImport, InvalidInventory> {
    let mut source = Source::new(path);
    if text.trim_start().starts_with(VAULT_HEADER) {
        source.error(
            Place { file: 0, line: 1, column: 1 },
            "the file is encrypted with ansible-vault: patchctl does not read vault passwords; \
             import the decrypted inventory (ansible-vault view FILE > PLAIN)"
                .to_owned(),
        );
        return Err(InvalidInventory::new(source.errors));
    }
    if let Some((line, length)) = long_line(text) {
        source.error(
            Place { file: 0, line, column: 1 },
            format!(
                "this line is {length} bytes long, more than the {MAX_LINE_BYTES} an inventory \
                 line may have: not an inventory (a YAML or JSON one written on one line must be \
                 split over several)"
            ),
        );
        return Err(InvalidInventory::new(source.errors));
    }
    match format {
        AnsibleFormat::Ini => ini::parse(&mut source, text),
        AnsibleFormat::Yaml => yaml::parse(&mut source, text),
        AnsibleFormat::Toml => toml::parse(&mut source, text),
    }
    if source.errors.is_empty() {
        for file in vars_files {
            vars_files::read(&mut source, file);
        }
    }
    source.unique_host_groups();
    if source.errors.is_empty() {
        source.check_children();
    }
    source.check_connection_vars();
    if !source.errors.is_empty() {
        return Err(InvalidInventory::new(source.errors));
    }
    let document = source.map(config)?;
    let toml = write::document(&document);
    let inventory = Inventory::parse(Path::new("inventory.toml"), &toml).map_err(|invalid| {
        // The checks above are meant to make this impossible; if not, say so plainly.
        InvalidInventory::new(vec![InventoryError {
            path: path.to_path_buf(),
            line: 1,
            column: 1,
            message: format!(
                "the imported inventory would not be valid (a patchctl bug): {invalid}"
            ),
        }])
    })?;
    let mut warnings = document.warnings;
    warnings.sort_by_key(|w| (w.line, w.column));
    Ok(AnsibleImport { toml, inventory, warnings, renamed: document.renamed })
}

/// How a file or a value encrypted by ansible-vault begins.
const VAULT_HEADER: &str = "$ANSIBLE_VAULT;";

/// The longest line read, in bytes. Real inventory lines are a host and a few variables;
/// a longer line is not an inventory, and every line is scanned by the YAML reader's search for
/// the positions of keys.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// The deepest chain of `children` imported: a top-level group is 1 deep, its child 2. Real
/// inventories are a few deep.
pub const MAX_GROUP_DEPTH: usize = 64;

/// The first line longer than [`MAX_LINE_BYTES`]: its number (1-based) and length.
fn long_line(text: &str) -> Option<(usize, usize)> {
    text.split('\n')
        .enumerate()
        .find(|(_, line)| line.len() > MAX_LINE_BYTES)
        .map(|(index, line)| (index + 1, line.len()))
}

/// A position in the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Place {
    /// 0: the inventory; n: the n-th variables file ([`VarsFile`]).
    file: usize,
    line: usize,
    column: usize,
}

#[derive(Debug, Clone)]
struct Var {
    name: String,
    value: String,
    place: Place,
}

#[derive(Debug)]
struct SourceHost {
    name: String,
    place: Place,
    /// Direct groups, in order of appearance; `all` and `ungrouped` are never listed.
    groups: Vec<String>,
    vars: Vec<Var>,
}

#[derive(Debug)]
struct SourceGroup {
    name: String,
    place: Place,
    children: Vec<(String, Place)>,
    vars: Vec<Var>,
}

/// An Ansible inventory as read, before it is mapped onto ours: what both syntaxes produce.
struct Source<'p> {
    path: &'p Path,
    hosts: Vec<SourceHost>,
    groups: Vec<SourceGroup>,
    /// Positions in `hosts` and `groups` by name.
    host_index: HashMap<String, usize>,
    group_index: HashMap<String, usize>,
    /// The `children` edges between `groups` (by position), once they are checked.
    graph: Option<GroupGraph>,
    errors: Vec<InventoryError>,
    warnings: Vec<ImportWarning>,
    /// The variables files read, for messages: `Place::file` n is `vars_paths[n - 1]`.
    vars_paths: Vec<PathBuf>,
}

impl<'p> Source<'p> {
    fn new(path: &'p Path) -> Self {
        Source {
            path,
            hosts: Vec::new(),
            groups: Vec::new(),
            host_index: HashMap::new(),
            group_index: HashMap::new(),
            graph: None,
            errors: Vec::new(),
            warnings: Vec::new(),
            vars_paths: Vec::new(),
        }
    }

    /// The file a place is in.
    fn path_of(&self, place: Place) -> PathBuf {
        match place.file {
            0 => self.path.to_path_buf(),
            n => self.vars_paths[n - 1].clone(),
        }
    }

    fn error(&mut self, place: Place, message: String) {
        self.errors.push(InventoryError {
            path: self.path_of(place),
            line: place.line,
            column: place.column,
            message,
        });
    }

    fn warn(&mut self, place: Place, subject: String, variable: Option<&str>, message: String) {
        self.warnings.push(ImportWarning {
            path: self.path_of(place),
            line: place.line,
            column: place.column,
            subject,
            variable: variable.map(str::to_owned),
            message,
        });
    }

    fn host_mut(&mut self, name: &str, place: Place) -> &mut SourceHost {
        let index = match self.host_index.get(name) {
            Some(index) => *index,
            None => {
                self.host_index.insert(name.to_owned(), self.hosts.len());
                self.hosts.push(SourceHost {
                    name: name.to_owned(),
                    place,
                    groups: Vec::new(),
                    vars: Vec::new(),
                });
                self.hosts.len() - 1
            }
        };
        &mut self.hosts[index]
    }

    fn group_mut(&mut self, name: &str, place: Place) -> &mut SourceGroup {
        let index = match self.group_index.get(name) {
            Some(index) => *index,
            None => {
                self.group_index.insert(name.to_owned(), self.groups.len());
                self.groups.push(SourceGroup {
                    name: name.to_owned(),
                    place,
                    children: Vec::new(),
                    vars: Vec::new(),
                });
                self.groups.len() - 1
            }
        };
        &mut self.groups[index]
    }

    fn group(&self, name: &str) -> Option<&SourceGroup> {
        self.group_index.get(name).map(|index| &self.groups[*index])
    }

    /// Adds the hosts a pattern names (ranges expanded, port taken) to `group` (`None`: only
    /// to the implicit `all`), with their variables. Returns false after an error.
    fn add_hosts(
        &mut self,
        pattern: &str,
        place: Place,
        group: Option<&str>,
        vars: &[Var],
    ) -> bool {
        let expanded =
            range::split_port(pattern).and_then(|(names, port)| Ok((range::expand(names)?, port)));
        let (names, port) = match expanded {
            Ok(ok) => ok,
            Err(message) => {
                self.error(place, message);
                return false;
            }
        };
        for name in names {
            if self.hosts.len() >= MAX_HOSTS && !self.host_index.contains_key(&name) {
                self.error(
                    place,
                    format!("more than {MAX_HOSTS} hosts: patchctl imports at most that many"),
                );
                return false;
            }
            let host = self.host_mut(&name, place);
            // Listed as often as the file names it; made unique once all is read.
            if let Some(group) = group.filter(|g| !is_implicit(g)) {
                host.groups.push(group.to_owned());
            }
            if let Some(port) = port {
                host.vars.push(Var {
                    name: "ansible_port".to_owned(),
                    value: port.to_string(),
                    place,
                });
            }
            host.vars.extend(vars.iter().cloned());
        }
        true
    }

    /// Each host's direct groups once, in the order first named.
    fn unique_host_groups(&mut self) {
        for host in &mut self.hosts {
            let mut seen = HashSet::new();
            host.groups.retain(|group| seen.insert(group.clone()));
        }
    }

    /// Every child must be a group, no group may contain itself, and no chain of children may
    /// be deeper than [`MAX_GROUP_DEPTH`]. Keeps the graph for the precedence of variables.
    fn check_children(&mut self) {
        let mut problems = Vec::new();
        // Edges between groups of ours: `all` holds every group already, and `ungrouped`
        // only hosts in no group.
        let mut edges = Vec::new();
        let mut entries = Vec::new();
        for (parent, group) in self.groups.iter().enumerate() {
            for (child, place) in &group.children {
                if is_implicit(child) {
                    continue;
                }
                match self.group_index.get(child) {
                    None => problems.push((
                        *place,
                        format!(
                            "group {:?} lists child {child:?}, which is not a group",
                            group.name
                        ),
                    )),
                    Some(&child) if !is_implicit(&group.name) => {
                        edges.push((parent, child));
                        entries.push((parent, child, *place));
                    }
                    Some(_) => {}
                }
            }
        }
        let graph = GroupGraph::new(self.groups.len(), &edges);
        let mut cycles = false;
        for (parent, child, place) in entries {
            if graph.closes_cycle(parent, child) {
                cycles = true;
                let (parent, child) = (&self.groups[parent].name, &self.groups[child].name);
                problems.push((
                    place,
                    format!(
                        "group {parent:?} lists child {child:?}, which contains {parent:?}: \
                         children must not form a cycle"
                    ),
                ));
            }
        }
        // Depths mean something only without a cycle. One error is enough: the first group
        // one level too deep (every chain too deep passes through one).
        let too_deep = (0..self.groups.len()).find(|g| graph.depth(*g) == MAX_GROUP_DEPTH);
        if let Some(group) = too_deep.filter(|_| !cycles) {
            let group = &self.groups[group];
            problems.push((
                group.place,
                format!(
                    "group {:?} is nested {} deep (a child of a child … of a top-level group): \
                     at most {MAX_GROUP_DEPTH} levels of children are imported",
                    group.name,
                    MAX_GROUP_DEPTH + 1
                ),
            ));
        }
        self.graph = Some(graph);
        for (place, message) in problems {
            self.error(place, message);
        }
    }

    /// Connection variables are checked once, where they are set (before any is used).
    fn check_connection_vars(&mut self) {
        let mut problems = Vec::new();
        for group in &self.groups {
            problems.extend(map::connection(&group.vars).1);
        }
        for host in &self.hosts {
            problems.extend(map::connection(&host.vars).1);
        }
        for (place, message) in problems {
            self.error(place, message);
        }
    }

    /// A host's groups, direct and inherited, in Ansible's order of precedence (general first:
    /// fewer parents above them, then a lower `ansible_group_priority`, then by name);
    /// `ungrouped` for a host in no group, whose variables Ansible applies to such hosts.
    /// Costs what the host's groups and those above them cost, whatever the size of the
    /// inventory.
    fn groups_by_precedence<'a>(&'a self, host: &'a SourceHost) -> Vec<&'a str> {
        if host.groups.is_empty() {
            return vec!["ungrouped"];
        }
        let direct = host.groups.iter().filter_map(|g| self.group_index.get(g).copied());
        let key = |depth: usize, group: usize| {
            let group = &self.groups[group];
            (depth, group.priority(), group.name.as_str())
        };
        let mut ordered: Vec<(usize, i64, &str)> = match &self.graph {
            Some(graph) => {
                graph.with_ancestors(direct).into_iter().map(|g| key(graph.depth(g), g)).collect()
            }
            // Not reached: the graph is built before any host is mapped.
            None => direct.map(|g| key(0, g)).collect(),
        };
        ordered.retain(|(_, _, g)| !is_implicit(g));
        ordered.sort_unstable();
        ordered.into_iter().map(|(_, _, g)| g).collect()
    }
}

impl SourceGroup {
    /// `ansible_group_priority`, the last setting of it; 1 when unset (or invalid, which
    /// `check_connection_vars` reports).
    fn priority(&self) -> i64 {
        self.vars
            .iter()
            .rev()
            .find(|v| v.name == map::GROUP_PRIORITY)
            .and_then(|v| map::parse_priority(&v.value).ok())
            .unwrap_or(1)
    }
}

/// ` (did you mean "hosts"?)` when `word` is a near miss of one of `known`, else nothing.
fn did_you_mean(word: &str, known: &[&str]) -> String {
    known
        .iter()
        .map(|k| (super::edit_distance(word, k), *k))
        .filter(|(distance, _)| *distance <= 2)
        .min()
        .map(|(_, k)| format!(" (did you mean {k:?}?)"))
        .unwrap_or_default()
}

/// `all` and `ungrouped` exist in every Ansible inventory and are not groups of ours: `all` is
/// `[defaults]`, and `ungrouped` means no group.
fn is_implicit(group: &str) -> bool {
    matches!(group, "all" | "ungrouped")
}

/// At most this many hosts in one inventory, so that ranges in a hostile file cannot exhaust
/// memory (each pattern is capped too, by `range::MAX_HOSTS_PER_PATTERN`).
const MAX_HOSTS: usize = 100_000;

#[cfg(test)]
mod tests;
