//! The scenario's packages, as data: one row per patch situation the fleet must show (a critical
//! security fix of a service, a bug fix, a kernel that asks for a reboot, an update whose postinst
//! fails, an update that breaks a health check, a package the lifecycle holds, a service an
//! update leaves running its old code).
//!
//! Scripts are POSIX sh, shared by the Debian maintainer scripts and the RPM scriptlets, and run
//! under `set -e`. They also run in a chroot at image build time, where no systemd is running:
//! `systemctl enable` works offline there, and starting is skipped unless `/run/systemd/system`
//! exists (the test systemd itself uses, `sd_booted()`).

use model::{Classification, Severity};

use super::{Advisory, Dependency, FileSpec, PackageSpec, PerVersion};

/// What Debian's kernel packages run on `configure` (and Fedora's run through kernel-install):
/// the kernel hooks, with the release and the image. On a host with GRUB, one of them
/// regenerates grub.cfg.
const ACME_KERNEL_POSTINST: &str = "\
if [ -d /etc/kernel/postinst.d ]; then
    run-parts --report --exit-on-error --arg=@UPSTREAM@-acme --arg=/boot/vmlinuz-@UPSTREAM@-acme \\
        /etc/kernel/postinst.d
fi
";

pub static PACKAGES: &[PackageSpec] = &[
    PackageSpec {
        name: "acme-web",
        summary: "Acme web service with an HTTP health endpoint",
        description: "Serves GET /health (\"ok\" when healthy) and GET /version (the package \
                      version) on port 8080 with busybox httpd, as the systemd service acme-web.",
        section: "web",
        depends: &[Dependency::System { deb: "busybox", rpm_file: "/bin/busybox" }],
        files: &[FileSpec {
            path: "/usr/lib/systemd/system/acme-web.service",
            contents: ACME_WEB_UNIT,
            mode: 0o644,
        }],
        postinst: PerVersion::same(ACME_WEB_POSTINST),
        on_remove: ACME_WEB_PRERM,
        reboot: false,
        update: Advisory {
            id: "ACME-2026:0001",
            kind: Classification::Security,
            severity: Some(Severity::Critical),
            cves: &["CVE-2026-10001", "CVE-2026-10002"],
            title: "Critical: acme-web security update",
            description: "acme-web 1.1 fixes a remote code execution flaw (CVE-2026-10001) and a \
                          header injection (CVE-2026-10002). Both identifiers are fictional.",
            issued: "2026-01-10",
        },
    },
    PackageSpec {
        name: "acme-tools",
        summary: "Acme command line tools",
        description: "A plain package with nothing but files.",
        section: "utils",
        depends: &[],
        files: &[],
        postinst: PerVersion::same(""),
        on_remove: "",
        reboot: false,
        update: Advisory {
            id: "ACME-2026:0002",
            kind: Classification::Bugfix,
            severity: None,
            cves: &[],
            title: "acme-tools bug fix update",
            description: "acme-tools 1.1 fixes a crash when the configuration file is empty.",
            issued: "2026-01-11",
        },
    },
    PackageSpec {
        name: "acme-kernel",
        summary: "Acme kernel image (kernel-like test package)",
        description: "Installs a boot image under /boot and asks for a reboot, as a kernel does. \
                      The image is a small text file, not a kernel.",
        section: "kernel",
        depends: &[],
        files: &[FileSpec {
            path: "/boot/vmlinuz-@UPSTREAM@-acme",
            contents: "acme-kernel @VERSION@: a stand-in for a boot image\n",
            mode: 0o644,
        }],
        postinst: PerVersion::same(ACME_KERNEL_POSTINST),
        on_remove: "",
        reboot: true,
        update: Advisory {
            id: "ACME-2026:0003",
            kind: Classification::Security,
            severity: Some(Severity::Important),
            cves: &["CVE-2026-10003"],
            title: "Important: acme-kernel security update",
            description: "acme-kernel 1.1 fixes a local privilege escalation (CVE-2026-10003, \
                          fictional). A reboot is required.",
            issued: "2026-01-12",
        },
    },
    PackageSpec {
        name: "acme-broken",
        summary: "Acme package whose update fails to configure",
        description: "Version 1.1's postinst prints an error and exits 1.",
        section: "utils",
        depends: &[],
        files: &[],
        postinst: PerVersion {
            old: "",
            new: "echo \"acme-broken: postinst of @VERSION@ failed on purpose \
                  (patchctl scenario: a broken update)\" >&2\nexit 1\n",
        },
        on_remove: "",
        reboot: false,
        update: Advisory {
            id: "ACME-2026:0004",
            kind: Classification::Bugfix,
            severity: None,
            cves: &[],
            title: "acme-broken bug fix update",
            description: "acme-broken 1.1 is meant to fix a bug; its postinst fails.",
            issued: "2026-01-13",
        },
    },
    PackageSpec {
        name: "acme-regress",
        summary: "Acme plugin whose update breaks acme-web's health check",
        description: "Version 1.1 marks acme-web degraded (GET /health no longer says ok); \
                      version 1.0 marks it ok again, so a rollback heals it.",
        section: "web",
        depends: &[Dependency::Scenario("acme-web")],
        files: &[],
        postinst: PerVersion {
            old: "mkdir -p /var/lib/acme-web/www\necho ok > /var/lib/acme-web/www/health\n",
            new: "mkdir -p /var/lib/acme-web/www\necho degraded > /var/lib/acme-web/www/health\n",
        },
        on_remove: "",
        reboot: false,
        update: Advisory {
            id: "ACME-2026:0005",
            kind: Classification::Bugfix,
            severity: None,
            cves: &[],
            title: "acme-regress bug fix update",
            description: "acme-regress 1.1 is meant to fix a bug; it breaks acme-web's health \
                          check.",
            issued: "2026-01-14",
        },
    },
    PackageSpec {
        name: "acme-held",
        summary: "Acme package that administrators pin",
        description: "A plain package with an update, held on some hosts.",
        section: "utils",
        depends: &[],
        files: &[],
        postinst: PerVersion::same(""),
        on_remove: "",
        reboot: false,
        update: Advisory {
            id: "ACME-2026:0006",
            kind: Classification::Enhancement,
            severity: None,
            cves: &[],
            title: "acme-held enhancement update",
            description: "acme-held 1.1 adds a feature.",
            issued: "2026-01-15",
        },
    },
];

/// A complete x86-64 Linux executable of 13 instructions' bytes: `pause()`, then `exit(0)`. So
/// it waits for a signal; SIGTERM (a stop or restart) ends it. A real ELF file the package owns,
/// so that the service's `/proc/PID/exe` is a package file, which an update replaces: the
/// running process then executes a deleted file, which is what needrestart looks for. (A shell
/// script would not do: its process executes the shell.) Every byte is below 0x80, so the file
/// is also a valid `&str`; the text after the code, which the kernel never reads, makes the two
/// versions differ.
///
/// ELF header (64 bytes: executable, x86-64, entry 0x400078, one program header at 64), one
/// `PT_LOAD` program header (56 bytes: read and execute, file offset 0 at 0x400000, 0x100 bytes),
/// then at 0x78 the code: `push 34; pop rax; syscall` (pause), `push 60; pop rax; push 0; pop
/// rdi; syscall` (exit 0).
const ACME_WORKER_EXECUTABLE: &str = concat!(
    "\x7f\x45\x4c\x46\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00",
    "\x02\x00\x3e\x00\x01\x00\x00\x00\x78\x00\x40\x00\x00\x00\x00\x00",
    "\x40\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00",
    "\x00\x00\x00\x00\x40\x00\x38\x00\x01\x00\x00\x00\x00\x00\x00\x00",
    "\x01\x00\x00\x00\x05\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00",
    "\x00\x00\x40\x00\x00\x00\x00\x00\x00\x00\x40\x00\x00\x00\x00\x00",
    "\x00\x01\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00",
    "\x00\x10\x00\x00\x00\x00\x00\x00",
    "\x6a\x22\x58\x0f\x05\x6a\x3c\x58\x6a\x00\x5f\x0f\x05",
    "\nacme-worker @VERSION@ (patchctl test fleet): waits for a signal, then exits 0.\n",
    "The bytes above are the whole program; this text pads the file past its 0x100-byte \
     segment.\n",
);

const ACME_WORKER_UNIT: &str = "\
[Unit]
Description=Acme background worker (patchctl test fleet)

[Service]
ExecStart=/usr/lib/acme-worker/acme-worker

[Install]
WantedBy=multi-user.target
";

/// Enables the service and starts it when systemd runs; never restarts it, so an update leaves
/// the old process running.
const ACME_WORKER_POSTINST: &str = "\
systemctl enable --quiet acme-worker.service
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    systemctl start acme-worker.service
fi
";

/// Stops and disables the service when the package is removed for good (not on upgrades).
const ACME_WORKER_PRERM: &str = "\
if [ -d /run/systemd/system ]; then
    systemctl stop acme-worker.service || true
fi
systemctl disable --quiet acme-worker.service || true
";

/// Packages the repositories publish (both versions) and the host images do not install: a test
/// that wants one installs version 1.0 itself, so the updates every other test sees are
/// [`PACKAGES`]' alone.
pub static EXTRA_PACKAGES: &[PackageSpec] = &[
    PackageSpec {
        name: "acme-agent",
        summary: "Acme agent whose update alters its own program after installing it",
        description: "Ships /usr/bin/acme-agent and the configuration file /etc/acme-agent.conf. \
                      Version 1.1's postinst appends to /usr/bin/acme-agent, as a tampered or buggy \
                      package would: the installed program no longer matches the package's \
                      digests (dpkg --verify, rpm -V). Version 1.0 leaves it alone.",
        section: "admin",
        depends: &[],
        files: &[
            FileSpec { path: "/usr/bin/acme-agent", contents: ACME_AGENT_PROGRAM, mode: 0o755 },
            FileSpec { path: "/etc/acme-agent.conf", contents: ACME_AGENT_CONF, mode: 0o644 },
        ],
        postinst: PerVersion {
            old: "",
            new: "echo 'echo \"acme-agent: altered after installation\"' >> /usr/bin/acme-agent\n",
        },
        on_remove: "",
        reboot: false,
        update: Advisory {
            id: "ACME-2026:0008",
            kind: Classification::Bugfix,
            severity: None,
            cves: &[],
            title: "acme-agent bug fix update",
            description: "acme-agent 1.1 is meant to fix a bug; its postinst alters the program it \
                          ships.",
            issued: "2026-01-17",
        },
    },
    PackageSpec {
        name: "acme-worker",
        summary: "Acme background worker, which an update leaves running its old code",
        description: "Runs /usr/lib/acme-worker/acme-worker, a small x86-64 executable that \
                      waits for a signal, as the systemd service acme-worker. The postinst \
                      starts the service but never restarts it, so after an update the running \
                      process still executes the replaced (deleted) file, as needrestart \
                      reports. Not installed in the host images: a test installs it.",
        section: "utils",
        depends: &[],
        files: &[
            FileSpec {
                path: "/usr/lib/acme-worker/acme-worker",
                contents: ACME_WORKER_EXECUTABLE,
                mode: 0o755,
            },
            FileSpec {
                path: "/usr/lib/systemd/system/acme-worker.service",
                contents: ACME_WORKER_UNIT,
                mode: 0o644,
            },
        ],
        postinst: PerVersion::same(ACME_WORKER_POSTINST),
        on_remove: ACME_WORKER_PRERM,
        reboot: false,
        update: Advisory {
            id: "ACME-2026:0007",
            kind: Classification::Bugfix,
            severity: None,
            cves: &[],
            title: "acme-worker bug fix update",
            description: "acme-worker 1.1 fixes a bug. Like many daemons' packages, it does not \
                          restart the running service.",
            issued: "2026-01-16",
        },
    },
];

const ACME_AGENT_PROGRAM: &str = "\
#!/bin/sh
echo \"acme-agent @VERSION@\"
";

/// The same in both versions, so an upgrade keeps the administrator's edits without asking.
const ACME_AGENT_CONF: &str = "\
# acme-agent configuration
interval = 60
";

const ACME_WEB_UNIT: &str = "\
[Unit]
Description=Acme web service (patchctl test fleet)
After=network.target

[Service]
ExecStart=/bin/busybox httpd -f -p 8080 -h /var/lib/acme-web/www
Restart=on-failure

[Install]
WantedBy=multi-user.target
";

/// Writes the served files, enables the service, and (re)starts it when systemd runs.
const ACME_WEB_POSTINST: &str = "\
mkdir -p /var/lib/acme-web/www
echo ok > /var/lib/acme-web/www/health
echo @VERSION@ > /var/lib/acme-web/www/version
systemctl enable --quiet acme-web.service
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    systemctl restart acme-web.service
fi
";

/// Stops and disables the service when the package is removed for good (not on upgrades).
const ACME_WEB_PRERM: &str = "\
if [ -d /run/systemd/system ]; then
    systemctl stop acme-web.service || true
fi
systemctl disable --quiet acme-web.service || true
";
