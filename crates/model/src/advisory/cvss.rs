//! CVSS v3.0, v3.1 and v4.0 vectors, parsed and scored with the `cvss` crate (which is held
//! against Red Hat's reference implementation for every v4.0 vector), and the severity a score
//! means in the FIRST specifications' qualitative scale.

use std::str::FromStr;

use crate::Severity;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CvssVersion {
    V3_0,
    V3_1,
    V4_0,
}

/// A vector and the base score it gives.
#[derive(Debug, Clone, PartialEq)]
pub struct CvssScore {
    pub version: CvssVersion,
    /// The vector as the record writes it, e.g. `CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H`.
    pub vector: String,
    /// 0.0 to 10.0, one decimal.
    pub score: f64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("CVSS vector {vector:?} cannot be scored: {problem}")]
pub struct InvalidCvss {
    pub vector: String,
    pub problem: String,
}

impl CvssScore {
    /// Parses and scores a CVSS v3.x or v4.0 vector (the `CVSS:` prefix says which).
    pub fn parse(vector: &str) -> Result<CvssScore, InvalidCvss> {
        let vector = vector.trim();
        let invalid = |problem: String| InvalidCvss { vector: vector.to_owned(), problem };
        let (version, score) = if vector.starts_with("CVSS:3.0/") || vector.starts_with("CVSS:3.1/")
        {
            let parsed =
                cvss::v3::Vector::from_str(vector).map_err(|error| invalid(error.to_string()))?;
            let version =
                if vector.starts_with("CVSS:3.0/") { CvssVersion::V3_0 } else { CvssVersion::V3_1 };
            (version, parsed.base_score().value())
        } else if vector.starts_with("CVSS:4.0/") {
            let parsed =
                cvss::v4::Vector::from_str(vector).map_err(|error| invalid(error.to_string()))?;
            (CvssVersion::V4_0, parsed.score().value())
        } else {
            return Err(invalid("not a CVSS:3.0, CVSS:3.1 or CVSS:4.0 vector".to_owned()));
        };
        if !(0.0..=10.0).contains(&score) || score.is_nan() {
            return Err(invalid(format!("score {score} is outside 0.0 to 10.0")));
        }
        Ok(CvssScore { version, vector: vector.to_owned(), score })
    }

    /// The qualitative rating of the score (CVSS v3.1 and v4.0 specifications share it): None
    /// 0.0, Low 0.1–3.9, Medium 4.0–6.9, High 7.0–8.9, Critical 9.0–10.0. Medium and High are
    /// patchctl's `Moderate` and `Important`, the words dnf uses.
    pub fn severity(&self) -> Severity {
        severity_of_score(self.score)
    }
}

/// See [`CvssScore::severity`].
pub fn severity_of_score(score: f64) -> Severity {
    if score >= 9.0 {
        Severity::Critical
    } else if score >= 7.0 {
        Severity::Important
    } else if score >= 4.0 {
        Severity::Moderate
    } else if score > 0.0 {
        Severity::Low
    } else {
        Severity::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn score(vector: &str) -> f64 {
        CvssScore::parse(vector).unwrap_or_else(|error| panic!("{error}")).score
    }

    /// Base scores as FIRST's calculators and NVD publish them.
    #[test]
    fn v3_1_scores_match_published_ones() {
        // CVSS v3.1 specification, section 7.4 examples and common NVD scores.
        assert_eq!(score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"), 9.8);
        assert_eq!(score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"), 10.0);
        assert_eq!(score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"), 7.5);
        assert_eq!(score("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H"), 8.1);
        assert_eq!(score("CVSS:3.1/AV:N/AC:L/PR:L/UI:R/S:C/C:H/I:N/A:N"), 6.8);
        assert_eq!(score("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N"), 5.5);
        assert_eq!(score("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H"), 8.8);
        assert_eq!(score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N"), 0.0);
        // The CVSS v3.0 vector of CVE-2014-0160 (Heartbleed) as NVD scores it.
        assert_eq!(score("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"), 7.5);
    }

    /// CVSS v4.0 scores as the FIRST calculator gives them (the specification's examples).
    #[test]
    fn v4_0_scores_match_published_ones() {
        assert_eq!(score("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"), 9.3);
        assert_eq!(score("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H"), 10.0);
        assert_eq!(score("CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"), 8.5);
        assert_eq!(score("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N"), 0.0);
    }

    #[test]
    fn severity_follows_the_qualitative_scale() {
        assert_eq!(severity_of_score(0.0), Severity::None);
        assert_eq!(severity_of_score(0.1), Severity::Low);
        assert_eq!(severity_of_score(3.9), Severity::Low);
        assert_eq!(severity_of_score(4.0), Severity::Moderate);
        assert_eq!(severity_of_score(6.9), Severity::Moderate);
        assert_eq!(severity_of_score(7.0), Severity::Important);
        assert_eq!(severity_of_score(8.9), Severity::Important);
        assert_eq!(severity_of_score(9.0), Severity::Critical);
        assert_eq!(severity_of_score(10.0), Severity::Critical);
    }

    #[test]
    fn bad_vectors_are_errors_that_name_them() {
        for bad in
            ["", "CVSS:3.1/AV:X", "CVSS:2.0/AV:N", "AV:N/AC:L/Au:N/C:P/I:P/A:P", "CVSS:4.0/AV:N"]
        {
            let error = CvssScore::parse(bad).unwrap_err();
            assert!(error.to_string().contains("cannot be scored"), "{error}");
        }
    }
}
