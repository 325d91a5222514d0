"""What dnf makes of each updateinfo file of ../shared/data/external/updateinfo/, as JSON lines.

Run by hand with the python3 of Debian's python3-dnf (dnf 4, libdnf's hawkey):

    /usr/bin/python3 capture.py ../../../../../../shared/data/external/updateinfo > dnf.jsonl

hawkey links an advisory to the packages of a repository, so each file is loaded as the
updateinfo of a repository whose primary.xml lists every name and arch the file names at
version 0-0, below any fixed version. Every advisory package dnf then reports as newer than
one of them (hawkey.GT, what `dnf updateinfo list --updates` asks) is written, grouped by
advisory id as `dnf updateinfo` and `dnf upgrade --advisory=ID` treat elements sharing an id:
the types, severities, CVE references and packages of all of them.
"""
import glob
import gzip
import json
import os
import sys
import tempfile
import xml.etree.ElementTree as ET

import hawkey

TYPES = {
    hawkey.ADVISORY_SECURITY: "security",
    hawkey.ADVISORY_BUGFIX: "bugfix",
    hawkey.ADVISORY_ENHANCEMENT: "enhancement",
    hawkey.ADVISORY_NEWPACKAGE: "newpackage",
    hawkey.ADVISORY_UNKNOWN: "unknown",
}
REF_CVE = hawkey.REFERENCE_CVE


def read(path):
    with open(path, "rb") as f:
        data = f.read()
    return gzip.decompress(data) if path.endswith(".gz") else data


def capture(path, work):
    text = read(path)
    names = set()
    for package in ET.fromstring(text).iter("package"):
        if package.get("name") and package.get("arch"):
            names.add((package.get("name"), package.get("arch")))
    primary = ['<?xml version="1.0" encoding="UTF-8"?>',
               '<metadata xmlns="http://linux.duke.edu/metadata/common" '
               'xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="%d">' % len(names)]
    for i, (name, arch) in enumerate(sorted(names)):
        primary.append(
            '<package type="rpm"><name>%s</name><arch>%s</arch>'
            '<version epoch="0" ver="0" rel="0"/>'
            '<checksum type="sha256" pkgid="YES">%064x</checksum>'
            '<location href="p%d.rpm"/><format/></package>'
            % (escape(name), escape(arch), i, i))
    primary.append("</metadata>")
    for fn, content in [("primary.xml", "\n".join(primary).encode()),
                        ("updateinfo.xml", text),
                        ("repomd.xml", b'<repomd xmlns="http://linux.duke.edu/metadata/repo">'
                                       b'<revision>1</revision></repomd>')]:
        with open(os.path.join(work, fn), "wb") as f:
            f.write(content)
    sack = hawkey.Sack(arch="x86_64", cachedir=os.path.join(work, "cache"))
    repo = hawkey.Repo("external")
    repo.repomd_fn = os.path.join(work, "repomd.xml")
    repo.primary_fn = os.path.join(work, "primary.xml")
    repo.updateinfo_fn = os.path.join(work, "updateinfo.xml")
    sack.load_repo(repo, load_updateinfo=True, build_cache=False)
    merged = {}
    for apkg in hawkey.Query(sack).get_advisory_pkgs(hawkey.GT):
        advisory = apkg.get_advisory(sack)
        entry = merged.setdefault(advisory.id, {
            "id": advisory.id, "types": set(), "severities": set(), "cves": set(),
            "packages": set()})
        entry["types"].add(TYPES.get(advisory.type, str(advisory.type)))
        entry["severities"].add(advisory.severity or "")
        for reference in advisory.references:
            if reference.type == REF_CVE:
                entry["cves"].add(reference.id)
        entry["packages"].add("%s %s %s" % (apkg.name, apkg.evr, apkg.arch))
    for entry in sorted(merged.values(), key=lambda e: e["id"]):
        yield {k: sorted(v) if isinstance(v, set) else v for k, v in entry.items()}


def escape(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def main(folder):
    for path in sorted(glob.glob(os.path.join(folder, "*"))):
        name = os.path.basename(path)
        if not (name.endswith(".xml") or name.endswith(".xml.gz")):
            continue
        with tempfile.TemporaryDirectory() as work:
            advisories = list(capture(path, work))
        print(json.dumps({"file": name, "advisories": advisories}, sort_keys=True))


if __name__ == "__main__":
    main(sys.argv[1])
