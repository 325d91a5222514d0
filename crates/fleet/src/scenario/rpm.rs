//! The RPM side of the scenario: a spec and a payload directory per package version, built with
//! `rpmbuild`, and one dnf repository (`createrepo_c`) whose updateinfo (`modifyrepo_c`) carries
//! an advisory for each 1.1.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context as _;
use model::Classification;

use super::{
    BASE_PROVIDES_PACKAGE, Dependency, InputFile, PackageSpec, Version, payload, substitute,
};
use crate::images::run;

/// Below the work directory: payloads in `SOURCES/<name>-<version>/`, specs in `SPECS/`.
const SOURCES: &str = "rpm/SOURCES";
const SPECS: &str = "rpm/SPECS";
const UPDATEINFO: &str = "rpm/updateinfo.xml";
/// The files dpkg owns that the scenario's RPMs need: the scriptlet shell and busybox.
const BASE_PROVIDES: [&str; 6] =
    ["/bin/sh", "/bin/bash", "/usr/bin/sh", "/usr/bin/bash", "/bin/busybox", "/usr/bin/busybox"];

/// `rpm/noarch/<name>-<version>.noarch.rpm`, relative to the root.
pub(super) fn package_path(name: &str, version: Version) -> String {
    format!("rpm/noarch/{name}-{}.noarch.rpm", version.full())
}

/// The spec and the payload of one package version.
pub(super) fn render(spec: &PackageSpec, version: Version) -> Vec<InputFile> {
    let payload_dir = PathBuf::from(SOURCES).join(format!("{}-{}", spec.name, version.full()));
    let mut files = payload(spec, version);
    if spec.reboot {
        files.push((needs_restarting_file(spec), format!("{}\n", spec.name), 0o644));
    }
    let mut inputs: Vec<InputFile> = files
        .iter()
        .map(|(path, contents, mode)| InputFile {
            path: payload_dir.join(path.trim_start_matches('/')),
            contents: contents.clone(),
            mode: *mode,
        })
        .collect();
    inputs.push(InputFile {
        path: PathBuf::from(SPECS).join(format!("{}-{}.spec", spec.name, version.full())),
        contents: render_spec(spec, version, &files),
        mode: 0o644,
    });
    inputs
}

/// The no-files package that tells rpm about the shells and busybox that dpkg installed.
pub(super) fn render_base_provides() -> Vec<InputFile> {
    let contents = format!(
        "# Tells rpm about files dpkg owns, so that RPMs with scriptlets (and acme-web, which\n\
         # runs busybox) can be installed on a Debian host managed with dnf.\n\
         Name:      {BASE_PROVIDES_PACKAGE}\n\
         Version:   {}\n\
         Release:   {}\n\
         Summary:   Files dpkg owns that RPMs need\n\
         License:   Apache-2.0\n\
         BuildArch: noarch\n\
         Provides:  {}\n\n\
         %description\n\
         Provides the shells and busybox that dpkg installed.\n\n\
         %files\n",
        super::OLD_VERSION,
        super::REVISION,
        BASE_PROVIDES.join(", "),
    );
    vec![InputFile {
        path: PathBuf::from(SPECS).join(format!("{BASE_PROVIDES_PACKAGE}.spec")),
        contents,
        mode: 0o644,
    }]
}

/// `updateinfo.xml` with one `<update>` per package, for its version 1.1.
pub(super) fn render_updateinfo(specs: &[PackageSpec]) -> InputFile {
    let mut lines =
        vec!["<?xml version=\"1.0\" encoding=\"UTF-8\"?>".to_owned(), "<updates>".to_owned()];
    for spec in specs {
        let advisory = &spec.update;
        let kind = match advisory.kind {
            Classification::Security => "security",
            Classification::Bugfix => "bugfix",
            Classification::Newpackage => "newpackage",
            Classification::Enhancement | Classification::Unknown => "enhancement",
        };
        let date = format!("{} 00:00:00", advisory.issued);
        let name = escape(spec.name);
        let full = Version::New.full();
        lines.push(format!(
            "  <update from=\"security@acme.example\" status=\"final\" type=\"{kind}\" \
             version=\"2.0\">"
        ));
        lines.push(format!("    <id>{}</id>", escape(advisory.id)));
        lines.push(format!("    <title>{}</title>", escape(advisory.title)));
        if let Some(severity) = advisory.severity {
            lines.push(format!("    <severity>{severity:?}</severity>"));
        }
        lines.push(format!("    <issued date=\"{date}\"/>"));
        lines.push(format!("    <updated date=\"{date}\"/>"));
        lines.push(format!("    <description>{}</description>", escape(advisory.description)));
        lines.push("    <references>".to_owned());
        for cve in advisory.cves {
            let cve = escape(cve);
            lines.push(format!(
                "      <reference href=\"https://cve.test/{cve}\" id=\"{cve}\" type=\"cve\" \
                 title=\"{cve}\"/>"
            ));
        }
        lines.push("    </references>".to_owned());
        lines.push("    <pkglist>".to_owned());
        lines.push("      <collection short=\"acme\">".to_owned());
        lines.push("        <name>acme</name>".to_owned());
        lines.push(format!(
            "        <package name=\"{name}\" version=\"{}\" release=\"{}\" epoch=\"0\" \
             arch=\"noarch\" src=\"{name}-{full}.src.rpm\">",
            super::NEW_VERSION,
            super::REVISION,
        ));
        lines.push(format!("          <filename>{name}-{full}.noarch.rpm</filename>"));
        lines.push("        </package>".to_owned());
        lines.push("      </collection>".to_owned());
        lines.push("    </pkglist>".to_owned());
        lines.push("  </update>".to_owned());
    }
    lines.push("</updates>".to_owned());
    let mut xml = lines.join("\n");
    xml.push('\n');
    InputFile { path: PathBuf::from(UPDATEINFO), contents: xml, mode: 0o644 }
}

/// `rpmbuild -bb` of every spec, into `out/rpm/noarch/`.
pub(super) fn build_packages(work: &Path, out: &Path) -> anyhow::Result<()> {
    let rpm_out = out.join("rpm");
    let mut specs = vec![PathBuf::from(SPECS).join(format!("{BASE_PROVIDES_PACKAGE}.spec"))];
    for spec in super::published_packages() {
        for version in Version::BOTH {
            specs.push(PathBuf::from(SPECS).join(format!("{}-{}.spec", spec.name, version.full())));
        }
    }
    for spec_file in specs {
        let mut command = Command::new("rpmbuild");
        command
            .arg("--quiet")
            .arg("--define")
            .arg(format!("_topdir {}", macro_path(&work.join("rpm/topdir"))?))
            .arg("--define")
            .arg(format!("_sourcedir {}", macro_path(&work.join(SOURCES))?))
            .arg("--define")
            .arg(format!("_rpmdir {}", macro_path(&rpm_out)?))
            // Without this, rpm creates Debian's default database, ~/.rpmdb, in root's home.
            .arg("--define")
            .arg(format!("_dbpath {}", macro_path(&work.join("rpm/db"))?))
            .arg("-bb")
            .arg(work.join(&spec_file))
            .env("LC_ALL", "C");
        run(&mut command, &format!("rpmbuild of {}", spec_file.display()))?;
    }
    Ok(())
}

/// `createrepo_c`, then the updateinfo added with `modifyrepo_c` (a later `createrepo_c
/// --update` would drop it again).
pub(super) fn build_repository(work: &Path, out: &Path) -> anyhow::Result<()> {
    let rpm_out = out.join("rpm");
    run(
        Command::new("createrepo_c").arg("--quiet").arg(&rpm_out).env("LC_ALL", "C"),
        "createrepo_c",
    )?;
    run(
        Command::new("modifyrepo_c")
            .arg("--mdtype=updateinfo")
            .arg(work.join(UPDATEINFO))
            .arg(rpm_out.join("repodata"))
            .env("LC_ALL", "C"),
        "modifyrepo_c --mdtype=updateinfo",
    )
}

fn needs_restarting_file(spec: &PackageSpec) -> String {
    format!("/etc/dnf/plugins/needs-restarting.d/{}.conf", spec.name)
}

fn render_spec(spec: &PackageSpec, version: Version, files: &[(String, String, u32)]) -> String {
    let mut text = format!(
        "# {} {}, rendered from patchctl's fleet scenario table.\n\
         %global debug_package %{{nil}}\n\
         %global __os_install_post %{{nil}}\n\
         Name:      {}\n\
         Version:   {}\n\
         Release:   {}\n\
         Summary:   {}\n\
         License:   Apache-2.0\n\
         BuildArch: noarch\n",
        spec.name,
        version.full(),
        spec.name,
        version.upstream(),
        super::REVISION,
        escape_macros(spec.summary),
    );
    for dependency in spec.depends {
        let requirement = match dependency {
            Dependency::Scenario(name) => *name,
            Dependency::System { rpm_file, .. } => *rpm_file,
        };
        text.push_str(&format!("Requires:  {requirement}\n"));
    }
    if files.iter().any(|(_, contents, _)| contents.starts_with("\x7fELF")) {
        // The packages are noarch; an executable (acme-worker's) is x86-64 all the same.
        text.push_str("%global _binaries_in_noarch_packages_terminate_build 0\n");
    }
    if spec.reboot {
        // What makes dnf install it side by side, as Fedora's and RHEL's kernel-core.
        text.push_str("Provides:  installonlypkg(kernel)\n");
    }
    text.push_str(&format!(
        "\n%description\n{}\n\n%install\nmkdir -p \"%{{buildroot}}\"\n\
         cp -a \"%{{_sourcedir}}/{}-{}/.\" \"%{{buildroot}}/\"\n",
        escape_macros(spec.description),
        spec.name,
        version.full(),
    ));
    let postinst = substitute(spec.postinst.get(version), version);
    if !postinst.is_empty() {
        text.push_str(&format!("\n%post\nset -e\n{}", escape_macros(&postinst)));
    }
    if !spec.on_remove.is_empty() {
        // $1 is the number of versions left installed: 0 on removal, 1 on upgrade.
        text.push_str(&format!(
            "\n%preun\nset -e\nif [ \"$1\" -eq 0 ]; then\n{}fi\n",
            escape_macros(&substitute(spec.on_remove, version))
        ));
    }
    text.push_str("\n%files\n");
    for (path, _, _) in files {
        if path.starts_with("/etc/") {
            text.push_str(&format!("%config(noreplace) {path}\n"));
        } else {
            text.push_str(&format!("{path}\n"));
        }
    }
    text
}

/// rpm expands `%` everywhere in a spec, scriptlets included.
fn escape_macros(text: &str) -> String {
    text.replace('%', "%%")
}

/// A path given to rpmbuild as a macro value: a `%` in it would be expanded.
fn macro_path(path: &Path) -> anyhow::Result<String> {
    let text = path.to_str().with_context(|| format!("{} is not UTF-8", path.display()))?;
    anyhow::ensure!(!text.contains('%'), "rpmbuild cannot work in a path with `%`: {text}");
    Ok(text.to_owned())
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::super::PACKAGES;
    use super::*;

    fn spec(name: &str) -> &'static PackageSpec {
        super::super::published_packages().find(|spec| spec.name == name).unwrap()
    }

    fn spec_file(name: &str, version: Version) -> String {
        render(spec(name), version)
            .into_iter()
            .find(|file| file.path.starts_with(SPECS))
            .unwrap()
            .contents
    }

    #[test]
    fn kernel_is_installonly_and_names_itself_for_needs_restarting() {
        let text = spec_file("acme-kernel", Version::New);
        assert!(text.contains("Provides:  installonlypkg(kernel)\n"), "{text}");
        assert!(
            text.ends_with(
                "%files\n/boot/vmlinuz-1.1-acme\n\
                 %config(noreplace) /etc/dnf/plugins/needs-restarting.d/acme-kernel.conf\n"
            ),
            "{text}"
        );
        let conf = render(spec("acme-kernel"), Version::New)
            .into_iter()
            .find(|f| f.path.ends_with("needs-restarting.d/acme-kernel.conf"))
            .unwrap();
        assert_eq!(conf.contents, "acme-kernel\n");
    }

    #[test]
    fn service_scriptlets_are_rendered_with_the_version() {
        let text = spec_file("acme-web", Version::Old);
        assert!(text.contains("Requires:  /bin/busybox\n"), "{text}");
        assert!(text.contains("%post\nset -e\nmkdir -p /var/lib/acme-web/www\n"), "{text}");
        assert!(text.contains("echo 1.0-1 > /var/lib/acme-web/www/version\n"), "{text}");
        assert!(text.contains("%preun\nset -e\nif [ \"$1\" -eq 0 ]; then\n"), "{text}");
        assert!(text.contains("/usr/lib/systemd/system/acme-web.service\n"), "{text}");
    }

    #[test]
    fn broken_update_fails_in_post() {
        assert!(!spec_file("acme-broken", Version::Old).contains("%post"));
        let text = spec_file("acme-broken", Version::New);
        assert!(
            text.contains("failed on purpose (patchctl scenario: a broken update)\" >&2\nexit 1\n")
        );
    }

    #[test]
    fn updateinfo_has_types_severities_and_cves() {
        let xml = render_updateinfo(PACKAGES).contents;
        assert_eq!(xml.matches("<update ").count(), PACKAGES.len());
        assert!(xml.contains("type=\"security\" version=\"2.0\">\n    <id>ACME-2026:0001</id>"));
        assert!(xml.contains("<severity>Critical</severity>"));
        assert!(xml.contains("<severity>Important</severity>"));
        assert!(xml.contains("id=\"CVE-2026-10002\" type=\"cve\""));
        assert!(xml.contains("type=\"enhancement\" version=\"2.0\">\n    <id>ACME-2026:0006</id>"));
        assert!(xml.contains("<filename>acme-regress-1.1-1.noarch.rpm</filename>"));
    }

    #[test]
    fn an_executable_in_a_noarch_package_does_not_fail_the_build() {
        let worker = spec_file("acme-worker", Version::New);
        assert!(worker.contains("%global _binaries_in_noarch_packages_terminate_build 0\n"));
        assert!(!spec_file("acme-web", Version::New).contains("_binaries_in_noarch"));
    }

    #[test]
    fn macros_are_escaped() {
        assert_eq!(escape_macros("printf '%s\\n'"), "printf '%%s\\n'");
    }
}
