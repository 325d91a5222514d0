//! Advisories: imported, imported again without duplicates, updated, found by id and CVE,
//! still there after reopening the file; a large import in several transactions.

use crate::backends::test_dbs;
use model::advisory::{Advisory, AdvisoryFormat, AffectedPackage, AffectedRange, Ecosystem};
use model::{Classification, Severity};
use store::{AdvisoryImportCounts, NewAdvisory};

fn advisory(id: &str, format: AdvisoryFormat, cves: &[&str], fixed: &str) -> Advisory {
    Advisory {
        id: id.to_owned(),
        format,
        kind: Classification::Security,
        summary: format!("{id} summary"),
        cves: cves.iter().map(|c| c.to_string()).collect(),
        aliases: Vec::new(),
        distribution_severity: Some(Severity::Important),
        cvss: vec![
            model::advisory::CvssScore::parse("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H")
                .unwrap(),
        ],
        published: Some("2026-01-10T00:00:00Z".to_owned()),
        modified: None,
        affected: vec![AffectedPackage {
            ecosystem: Ecosystem::parse("Rocky Linux:9").unwrap(),
            package: "examplesh".to_owned(),
            binaries: Vec::new(),
            ranges: vec![AffectedRange {
                introduced: None,
                fixed: Some(fixed.to_owned()),
                last_affected: None,
            }],
        }],
    }
}

fn new<'a>(advisory: &'a Advisory) -> NewAdvisory<'a> {
    NewAdvisory { advisory, source_file: "fixtures/x.json" }
}

#[tokio::test]
async fn reimport_updates_in_place_and_never_duplicates() {
    for db in test_dbs().await {
        eprintln!("on {}", db.name());
        let store = db.open().await;
        let first = advisory(
            "RLSA-2026:1",
            AdvisoryFormat::Osv,
            &["CVE-2026-1", "CVE-2026-2"],
            "1.1-1.el9",
        );
        let same_id_updateinfo =
            advisory("RLSA-2026:1", AdvisoryFormat::Updateinfo, &["CVE-2026-1"], "1.1-1.el9");
        let other = advisory("RLSA-2026:2", AdvisoryFormat::Osv, &["CVE-2026-2"], "2.0-1.el9");
        let counts = store
            .import_advisories(&[new(&first), new(&same_id_updateinfo), new(&other)], 100)
            .await
            .unwrap();
        assert_eq!(counts, AdvisoryImportCounts { inserted: 3, updated: 0, unchanged: 0 });
        let counts = store.import_advisories(&[new(&first), new(&other)], 200).await.unwrap();
        assert_eq!(counts, AdvisoryImportCounts { inserted: 0, updated: 0, unchanged: 2 });

        // A newer version of the record: same key, new content, one CVE fewer.
        let newer = advisory("RLSA-2026:1", AdvisoryFormat::Osv, &["CVE-2026-1"], "1.1-2.el9");
        let counts = store.import_advisories(&[new(&newer)], 300).await.unwrap();
        assert_eq!(counts, AdvisoryImportCounts { inserted: 0, updated: 1, unchanged: 0 });
        store.close().await;

        let store = db.open().await;
        let all = store.advisories().await.unwrap();
        assert_eq!(all.len(), 3);
        assert_eq!(all[0].advisory, newer);
        assert_eq!(all[0].imported_at_unix, 300);
        assert_eq!(all[1].advisory.format, AdvisoryFormat::Updateinfo);
        let by_id = store.advisories_by_id("RLSA-2026:1").await.unwrap();
        assert_eq!(by_id.len(), 2);
        let by_cve: Vec<_> = store
            .advisories_by_id("CVE-2026-2")
            .await
            .unwrap()
            .into_iter()
            .map(|s| s.advisory.id)
            .collect();
        assert_eq!(by_cve, ["RLSA-2026:2"], "the newer RLSA-2026:1 no longer lists CVE-2026-2");
        assert!(store.advisories_by_id("CVE-1999-0001").await.unwrap().is_empty());
    }
}

/// 2,500 records are three transactions (1,000, 1,000, 500): every record lands, the counts
/// are the whole import's, and importing again changes nothing.
#[tokio::test]
async fn a_large_import_is_written_in_batches_and_lands_whole() {
    for db in test_dbs().await {
        eprintln!("on {}", db.name());
        let store = db.open().await;
        let records: Vec<Advisory> = (0..2_500)
            .map(|n| {
                let cve = format!("CVE-2026-{:05}", n);
                advisory(&format!("RLSA-2026:{n}"), AdvisoryFormat::Osv, &[&cve], "1.1-1.el9")
            })
            .collect();
        let new_records: Vec<NewAdvisory<'_>> = records.iter().map(new).collect();
        let counts = store.import_advisories(&new_records, 100).await.unwrap();
        assert_eq!(counts, AdvisoryImportCounts { inserted: 2_500, updated: 0, unchanged: 0 });
        let stored = store.advisories().await.unwrap();
        assert_eq!(stored.len(), 2_500);
        let mut ids: Vec<&str> = stored.iter().map(|s| s.advisory.id.as_str()).collect();
        ids.sort_unstable();
        let mut expected: Vec<&str> = records.iter().map(|r| r.id.as_str()).collect();
        expected.sort_unstable();
        assert_eq!(ids, expected);
        // The last record of the last batch, found by its CVE.
        let by_cve = store.advisories_by_id("CVE-2026-02499").await.unwrap();
        assert_eq!(by_cve.len(), 1);
        assert_eq!(by_cve[0].advisory, records[2_499]);

        // Again, with one record changed in the second batch: replaced by key, nothing doubled.
        let mut again = records.clone();
        again[1_500] =
            advisory("RLSA-2026:1500", AdvisoryFormat::Osv, &["CVE-2026-01500"], "1.1-2.el9");
        let new_again: Vec<NewAdvisory<'_>> = again.iter().map(new).collect();
        let counts = store.import_advisories(&new_again, 200).await.unwrap();
        assert_eq!(counts, AdvisoryImportCounts { inserted: 0, updated: 1, unchanged: 2_499 });
        assert_eq!(store.advisories().await.unwrap().len(), 2_500);
    }
}
