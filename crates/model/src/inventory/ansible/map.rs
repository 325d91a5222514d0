//! From an Ansible inventory as read ([`Source`]) to ours ([`Document`]): the connection
//! variables become fields (group ones written on each host, `all`'s in `[defaults]`), every
//! other variable is kept in `vars` with a warning, and hosts reached by a connection patchctl
//! does not have are left out with a warning.

use std::collections::BTreeMap;

use super::{ImportConfig, ImportWarning, Place, Source, Var, is_implicit, write};
use crate::inventory::validate::{
    check_address, check_environment, check_name, check_port, check_text, check_user,
};
use crate::inventory::{InvalidInventory, TransportKind};

impl Source<'_> {
    fn vars_of(&self, group: &str) -> Vec<Var> {
        self.group(group).map(|g| g.vars.clone()).unwrap_or_default()
    }

    pub(super) fn map(mut self, config: &ImportConfig) -> Result<Document, InvalidInventory> {
        if let Err(message) = check_environment(&config.environment) {
            self.error(
                Place { file: 0, line: 1, column: 1 },
                format!("the environment to import into: {message}"),
            );
        }
        let all_vars = self.vars_of("all");
        let defaults = connection(&all_vars).0;
        let mut hosts = Vec::new();
        let mut renamed = BTreeMap::new();
        for index in 0..self.hosts.len() {
            if let Some(host) = self.map_host(index, &all_vars) {
                if host.name != self.hosts[index].name {
                    renamed.insert(self.hosts[index].name.clone(), host.name.clone());
                }
                hosts.push(host);
            }
        }
        // A renamed host must not take another's name.
        let mut taken: BTreeMap<&str, usize> = BTreeMap::new();
        for host in &hosts {
            *taken.entry(host.name.as_str()).or_default() += 1;
        }
        let mut clashes = Vec::new();
        for (ansible_name, name) in &renamed {
            if taken.get(name.as_str()).copied().unwrap_or(0) > 1 {
                let place = self.hosts[self.host_index[ansible_name]].place;
                let message = format!(
                    "host {ansible_name:?} would be renamed {name:?}, the name of another host: \
                     give it a name and set ansible_host={ansible_name}"
                );
                clashes.push((place, message));
            }
        }
        for (place, message) in clashes {
            self.error(place, message);
        }
        let mut groups = Vec::new();
        for index in 0..self.groups.len() {
            let group = &self.groups[index];
            let (name, place) = (group.name.clone(), group.place);
            let children: Vec<String> =
                group.children.iter().map(|(c, _)| c.clone()).filter(|c| !is_implicit(c)).collect();
            let vars = group.vars.clone();
            let subject = format!("group {name:?}");
            match name.as_str() {
                "all" | "ungrouped" => {
                    let kept_in = if name == "all" {
                        "[defaults.vars]".to_owned()
                    } else {
                        "the vars of each host in no group".to_owned()
                    };
                    self.unknown_vars(&vars, &subject, &kept_in);
                }
                _ => match check_name("group", &name) {
                    Ok(()) => {
                        let kept_in = format!("[groups.{}.vars]", write::key(&name));
                        let vars = self.unknown_vars(&vars, &subject, &kept_in);
                        groups.push(DocumentGroup { name, children, vars });
                    }
                    Err(message) => self.error(place, message),
                },
            }
        }
        let default_vars = kept(&all_vars);
        if !self.errors.is_empty() {
            return Err(InvalidInventory::new(self.errors));
        }
        Ok(Document {
            source: self.path.display().to_string(),
            environment: config.environment.clone(),
            defaults,
            default_vars,
            hosts,
            groups,
            warnings: self.warnings,
            renamed,
        })
    }

    fn map_host(&mut self, index: usize, all_vars: &[Var]) -> Option<DocumentHost> {
        let host = &self.hosts[index];
        let source_name = host.name.clone();
        let place = host.place;
        let subject = format!("host {source_name:?}");
        let precedence: Vec<String> =
            self.groups_by_precedence(host).into_iter().map(str::to_owned).collect();
        let own_vars = host.vars.clone();
        let direct_groups = host.groups.clone();
        // Variables from groups and the host, in precedence order: the last setting wins.
        let mut inherited: Vec<Var> = Vec::new();
        for group in &precedence {
            inherited.extend(self.vars_of(group));
        }
        inherited.extend(own_vars.iter().cloned());
        let connection_var = all_vars
            .iter()
            .chain(&inherited)
            .rev()
            .find(|v| v.name == "ansible_connection")
            .cloned();
        let transport = match connection_var.as_ref().map(|v| connection_plugin(&v.value)) {
            None | Some("ssh" | "smart" | "paramiko" | "paramiko_ssh") => TransportKind::Ssh,
            Some("local") => TransportKind::Local,
            Some(_) => {
                let other = connection_var.as_ref().map_or("", |v| v.value.trim());
                let var =
                    connection_var.as_ref().map_or((place, ""), |v| (v.place, v.name.as_str()));
                let message = format!(
                    "not imported: connection {other:?} is not one patchctl has (ssh, local)"
                );
                self.warn(var.0, subject, Some(var.1), message);
                return None;
            }
        };
        // Settings from `all` are in [defaults]; the host gets what differs from them once its
        // groups and itself are applied (an `ansible_ssh_*` spelling set anywhere wins, as in
        // Ansible, so a group's may beat the host's other spelling).
        let defaults = connection(all_vars).0;
        let full: Vec<Var> = all_vars.iter().chain(&inherited).cloned().collect();
        let full = connection(&full).0;
        let mut fields = Fields {
            address: full.address.clone(),
            user: full.user.clone().filter(|_| full.user != defaults.user),
            port: full.port.filter(|_| full.port != defaults.port),
            ssh_key: full.ssh_key.clone().filter(|_| full.ssh_key != defaults.ssh_key),
            sudo: full.sudo.filter(|_| full.sudo != defaults.sudo),
            transport: None,
        };
        fields.transport = (transport == TransportKind::Local).then_some(TransportKind::Local);
        let name = match check_name("host", &source_name) {
            Ok(()) => source_name.clone(),
            // An IPv6 address is a fine Ansible host name but not one of ours.
            Err(_) if source_name.contains(':') && check_address(&source_name).is_ok() => {
                let name = source_name.replace([':', '%'], "-");
                // `::1` would become `--1`, which reads as an option.
                let name = if name.starts_with('-') { format!("ipv6{name}") } else { name };
                if let Err(message) = check_name("host", &name) {
                    let message = format!(
                        "host {source_name:?} cannot be renamed: {message}; give it a name and \
                         set ansible_host={source_name}"
                    );
                    self.error(place, message);
                    return None;
                }
                let message =
                    format!("renamed {name:?}: ':' and '%' are not allowed in host names");
                self.warn(place, subject.clone(), None, message);
                name
            }
            Err(message) => {
                self.error(place, message);
                return None;
            }
        };
        if fields.address.is_none() && transport == TransportKind::Ssh {
            match check_address(&source_name) {
                Ok(()) => fields.address = Some(source_name.clone()),
                Err(message) => {
                    self.error(place, format!("{subject}: {message} (set ansible_host)"))
                }
            }
        }
        let kept_in = format!("[hosts.{}.vars]", write::key(&name));
        let mut vars = self.unknown_vars(&own_vars, &subject, &kept_in);
        if direct_groups.is_empty() {
            // `ungrouped` is not a group of ours; its variables go to its hosts (warned once).
            for (key, value) in kept(&self.vars_of("ungrouped")) {
                vars.entry(key).or_insert(value);
            }
        }
        Some(DocumentHost { name, fields, groups: direct_groups, vars })
    }

    /// Warns about each variable patchctl does not act on and returns them, to be kept. The few
    /// it understands without a field of its own (`become_method=sudo`, `become_user=root`)
    /// are dropped quietly.
    fn unknown_vars(
        &mut self,
        vars: &[Var],
        subject: &str,
        kept_in: &str,
    ) -> BTreeMap<String, String> {
        for var in vars.iter().filter(|v| !understood(v)) {
            if let Err(message) = check_text("variable name", &var.name) {
                self.error(var.place, format!("{subject}: {message}"));
                continue;
            }
            let value = var.value.trim();
            let message = match var.name.as_str() {
                "ansible_become_method" => {
                    format!("patchctl becomes root with sudo, not {value}; kept in {kept_in}")
                }
                "ansible_become_user" => {
                    format!("patchctl becomes root, not {value}; kept in {kept_in}")
                }
                _ => format!("not used by patchctl; kept in {kept_in}"),
            };
            self.warn(var.place, subject.to_owned(), Some(&var.name), message);
        }
        kept(vars)
    }
}

/// A connection plugin's short name: `ansible.builtin.ssh` and `ansible.legacy.ssh` are `ssh`.
fn connection_plugin(value: &str) -> &str {
    let value = value.trim();
    value
        .strip_prefix("ansible.builtin.")
        .or_else(|| value.strip_prefix("ansible.legacy."))
        .unwrap_or(value)
}

fn understood(var: &Var) -> bool {
    let value = var.value.trim();
    MAPPED.contains(&var.name.as_str())
        || var.name == "ansible_connection"
        || var.name == GROUP_PRIORITY
        || (var.name == "ansible_become_method" && value == "sudo")
        || (var.name == "ansible_become_user" && value == "root")
}

/// The variables to keep in `vars`: those not understood; the last setting of a name wins.
fn kept(vars: &[Var]) -> BTreeMap<String, String> {
    vars.iter().filter(|v| !understood(v)).map(|v| (v.name.clone(), v.value.clone())).collect()
}

/// The connection fields `vars` set (the last setting of each variable wins), and the problems
/// found, each at the place its variable was set. Of the two spellings of a setting, the
/// `ansible_ssh_*` one wins whatever the order, as in Ansible's ssh connection plugin, which
/// lists it after the other.
pub(super) fn connection(vars: &[Var]) -> (Fields, Vec<(Place, String)>) {
    // [plain spelling, ssh spelling]
    let mut fields = [Fields::default(), Fields::default()];
    let mut problems = Vec::new();
    for var in vars {
        let value = var.value.trim();
        let (plain, ssh) = fields.split_at_mut(1);
        let (plain, ssh) = (&mut plain[0], &mut ssh[0]);
        let result = match var.name.as_str() {
            "ansible_host" => check_address(value).map(|()| plain.address = Some(value.to_owned())),
            "ansible_ssh_host" => {
                check_address(value).map(|()| ssh.address = Some(value.to_owned()))
            }
            "ansible_user" => check_user(value).map(|()| plain.user = Some(value.to_owned())),
            "ansible_ssh_user" => check_user(value).map(|()| ssh.user = Some(value.to_owned())),
            "ansible_port" => parse_port(value).map(|port| plain.port = Some(port)),
            "ansible_ssh_port" => parse_port(value).map(|port| ssh.port = Some(port)),
            "ansible_private_key_file" => {
                check_text("ssh key", value).map(|()| plain.ssh_key = Some(value.to_owned()))
            }
            "ansible_ssh_private_key_file" => {
                check_text("ssh key", value).map(|()| ssh.ssh_key = Some(value.to_owned()))
            }
            "ansible_become" => parse_bool(value).map(|sudo| plain.sudo = Some(sudo)),
            GROUP_PRIORITY => parse_priority(value).map(|_| ()),
            _ => Ok(()),
        };
        if let Err(message) = result {
            problems.push((var.place, format!("{}: {message}", var.name)));
        }
    }
    let [plain, ssh] = fields;
    let fields = Fields {
        address: ssh.address.or(plain.address),
        user: ssh.user.or(plain.user),
        port: ssh.port.or(plain.port),
        ssh_key: ssh.ssh_key.or(plain.ssh_key),
        sudo: plain.sudo,
        transport: None,
    };
    (fields, problems)
}

fn parse_port(value: &str) -> Result<u16, String> {
    value
        .parse::<i64>()
        .map_err(|_| format!("port {value:?} is not a number: expected 1 to 65535"))
        .and_then(check_port)
}

/// The variable that orders groups of the same depth before their names do: the higher
/// priority is applied later, so it wins.
pub(super) const GROUP_PRIORITY: &str = "ansible_group_priority";

/// A group's priority as Ansible reads it, an integer (1 when not set).
pub(super) fn parse_priority(value: &str) -> Result<i64, String> {
    value.trim().parse::<i64>().map_err(|_| format!("{value:?} is not an integer"))
}

/// Variables that become fields.
const MAPPED: &[&str] = &[
    "ansible_host",
    "ansible_ssh_host",
    "ansible_user",
    "ansible_ssh_user",
    "ansible_port",
    "ansible_ssh_port",
    "ansible_ssh_private_key_file",
    "ansible_private_key_file",
    "ansible_become",
];

/// Ansible's booleans (`ansible.module_utils.parsing.convert_bool`).
fn parse_bool(value: &str) -> Result<bool, String> {
    match value.to_ascii_lowercase().as_str() {
        "y" | "yes" | "on" | "1" | "true" | "t" | "1.0" => Ok(true),
        "n" | "no" | "off" | "0" | "false" | "f" | "0.0" => Ok(false),
        _ => Err(format!("{value:?} is not a boolean: expected true or false")),
    }
}

/// Our inventory, ready to be written.
pub(super) struct Document {
    pub(super) source: String,
    pub(super) environment: String,
    pub(super) defaults: Fields,
    pub(super) default_vars: BTreeMap<String, String>,
    pub(super) hosts: Vec<DocumentHost>,
    pub(super) groups: Vec<DocumentGroup>,
    pub(super) warnings: Vec<ImportWarning>,
    pub(super) renamed: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Fields {
    pub(super) address: Option<String>,
    pub(super) user: Option<String>,
    pub(super) port: Option<u16>,
    pub(super) ssh_key: Option<String>,
    pub(super) sudo: Option<bool>,
    pub(super) transport: Option<TransportKind>,
}

pub(super) struct DocumentHost {
    pub(super) name: String,
    pub(super) fields: Fields,
    pub(super) groups: Vec<String>,
    pub(super) vars: BTreeMap<String, String>,
}

pub(super) struct DocumentGroup {
    pub(super) name: String,
    pub(super) children: Vec<String>,
    pub(super) vars: BTreeMap<String, String>,
}
