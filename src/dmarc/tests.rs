use super::*;
use crate::dkim::{DkimResult, SignatureResult};
use crate::dns::{RecordType, StaticZone};
use crate::spf::SpfResult;

fn parse(text: &str) -> Parsed {
    Parsed::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

#[test]
fn records_read_with_defaults_and_print_back_canonically() {
    let cases = [
        ("v=DMARC1; p=none", "v=DMARC1; p=none"),
        ("v=DMARC1;p=REJECT;", "v=DMARC1; p=reject"),
        (
            "v = DMARC1 ; p = quarantine ; sp = none",
            "v=DMARC1; p=quarantine; sp=none",
        ),
        (
            "v=DMARC1; p=reject; np=reject; adkim=s; aspf=s; pct=20; t=y; psd=n",
            "v=DMARC1; p=reject; np=reject; adkim=s; aspf=s; pct=20; t=y; psd=n",
        ),
        (
            "v=DMARC1; p=none; rua=mailto:a@example.com!10m, mailto:b@example.net; ruf=mailto:f@example.com",
            "v=DMARC1; p=none; rua=mailto:a@example.com!10485760,mailto:b@example.net; ruf=mailto:f@example.com",
        ),
        (
            "v=DMARC1; p=none; fo=1:d; rf=afrf; ri=3600",
            "v=DMARC1; p=none; fo=1:d; ri=3600",
        ),
        // Unknown tags are ignored (RFC 7489 6.3).
        ("v=DMARC1; p=none; future=thing", "v=DMARC1; p=none"),
    ];
    for (text, canonical) in cases {
        let parsed = parse(text);
        assert_eq!(parsed.warnings, Vec::<String>::new(), "{text}");
        assert_eq!(parsed.record.to_string(), canonical, "{text}");
    }
    let record = parse("v=DMARC1; p=reject").record;
    assert_eq!(record, Record::with_policy(Policy::Reject));
    assert_eq!(record.percent, 100);
    assert_eq!(record.report_interval, 86400);
}

#[test]
fn bad_values_fall_back_to_defaults_with_a_warning_naming_the_tag() {
    let parsed = parse("v=DMARC1; p=reject; pct=150; adkim=x; ri=soon; rua=http:");
    assert_eq!(parsed.record, Record::with_policy(Policy::Reject));
    let warnings = parsed.warnings.join("\n");
    for tag in [
        "pct=150: not 0 to 100",
        "adkim=x: ",
        "ri=soon: ",
        "rua=http:: ",
    ] {
        assert!(warnings.contains(tag), "{tag} in {warnings}");
    }
    assert!(warnings.contains("the default is used"), "{warnings}");
}

#[test]
fn not_dmarc_records_and_unusable_ones_are_told_apart() {
    // Not a DMARC record at all: ignored by discovery.
    for text in [
        "v=spf1 -all",
        "v=dmarc1; p=none",
        "p=none; v=DMARC1",
        "v=DMARC10; p=none",
        "",
    ] {
        assert_eq!(Parsed::parse(text), Err(RecordError::NotDmarc), "{text:?}");
    }
    // Meant as DMARC but unusable.
    let no_policy = Parsed::parse("v=DMARC1; p=block").unwrap_err();
    assert_eq!(
        no_policy.to_string(),
        "p=block: unexpected 'b' at 1, expected none, quarantine or reject, \
         and no valid rua= address to fall back to p=none with"
    );
    assert_eq!(
        Parsed::parse("v=DMARC1").unwrap_err().to_string(),
        "no p= tag, and no valid rua= address to fall back to p=none with"
    );
    assert!(matches!(
        Parsed::parse("v=DMARC1; p=none; p=reject"),
        Err(RecordError::Tags(crate::tag_list::TagListError::Duplicate(ref t))) if t == "p"
    ));
    assert!(matches!(
        Parsed::parse("v=DMARC1; p=none; =x"),
        Err(RecordError::Tags(_))
    ));
}

#[test]
fn a_missing_or_invalid_policy_with_a_valid_rua_is_taken_as_none() {
    for text in [
        "v=DMARC1; rua=mailto:r@example.com",
        "v=DMARC1; p=bogus; rua=mailto:r@example.com",
        "v=DMARC1; p=reject; sp=bogus; rua=mailto:r@example.com",
    ] {
        let parsed = parse(text);
        assert_eq!(parsed.record.policy, Policy::None, "{text}");
        assert_eq!(parsed.record.subdomain_policy, None, "{text}");
        assert!(
            parsed
                .warnings
                .iter()
                .any(|w| w.contains("taken as p=none")),
            "{text}"
        );
    }
    let late = parse("v=DMARC1; rua=mailto:r@example.com; p=reject");
    assert_eq!(late.record.policy, Policy::Reject);
    assert!(
        late.warnings[0].contains("right after v="),
        "{:?}",
        late.warnings
    );
}

#[test]
fn mailto_uris_give_their_decoded_address() {
    let record = parse(
        "v=DMARC1; p=none; rua=mailto:dmarc%2Breports@example.com?subject=x,https://r.example/x",
    )
    .record;
    assert_eq!(
        record.aggregate_reports[0].mailto().as_deref(),
        Some("dmarc+reports@example.com")
    );
    assert_eq!(record.aggregate_reports[1].mailto(), None);
}

fn zone() -> StaticZone {
    StaticZone::from_zone_file(
        r#"
$ORIGIN example.com.
_dmarc          TXT "v=DMARC1; p=reject; sp=quarantine; np=reject; rua=mailto:agg@example.com,mailto:agg@reports.example.net,mailto:agg@elsewhere.example.org"
mail            A   192.0.2.1
strict          A   192.0.2.2
_dmarc.strict   TXT "v=DMARC1; p=quarantine; adkim=s; aspf=s"
testing         A   192.0.2.3
_dmarc.testing  TXT "v=DMARC1; p=reject; t=y"
sampled         A   192.0.2.4
_dmarc.sampled  TXT "v=DMARC1; p=reject; pct=25"
two             A   192.0.2.5
_dmarc.two      TXT "v=DMARC1; p=none"
_dmarc.two      TXT "v=DMARC1; p=reject"
broken          A   192.0.2.6
_dmarc.broken   TXT "v=DMARC1; p=none; p=reject"
_dmarc.other    TXT "v=spf1 -all"
other           A   192.0.2.7
$ORIGIN example.net.
example.com._report._dmarc.reports TXT "v=DMARC1"
"#,
    )
    .unwrap()
}

fn signature(domain: &str, result: DkimResult) -> SignatureResult {
    SignatureResult {
        result,
        reason: String::new(),
        domain: domain.into(),
        selector: "s".into(),
        algorithm: None,
        identity: None,
        testing: false,
    }
}

fn run<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(future)
}

fn evaluated(
    zone: &StaticZone,
    from: &str,
    spf: Option<(&str, SpfResult)>,
    dkim: &[SignatureResult],
    sample: u8,
) -> Evaluation {
    let ids = Identifiers {
        from_domain: from,
        spf,
        dkim,
    };
    run(evaluate(zone, &ids, sample))
}

/// (From domain, SPF domain and result, DKIM d= and result, expected DMARC result,
/// expected disposition)
type Row = (
    &'static str,
    Option<(&'static str, SpfResult)>,
    Option<(&'static str, DkimResult)>,
    DmarcResult,
    Policy,
);

#[test]
fn alignment_table() {
    use DkimResult as D;
    use DmarcResult as R;
    use SpfResult as S;
    let rows: &[Row] = &[
        // Relaxed: the same organizational domain aligns.
        (
            "example.com",
            Some(("example.com", S::Pass)),
            None,
            R::Pass,
            Policy::None,
        ),
        (
            "example.com",
            Some(("bounce.example.com", S::Pass)),
            None,
            R::Pass,
            Policy::None,
        ),
        (
            "mail.example.com",
            None,
            Some(("example.com", D::Pass)),
            R::Pass,
            Policy::None,
        ),
        (
            "example.com",
            None,
            Some(("EXAMPLE.COM.", D::Pass)),
            R::Pass,
            Policy::None,
        ),
        // A pass for another organization does not align.
        (
            "example.com",
            Some(("example.net", S::Pass)),
            Some(("example.org", D::Pass)),
            R::Fail,
            Policy::Reject,
        ),
        // Aligned but not passing.
        (
            "example.com",
            Some(("example.com", S::Softfail)),
            Some(("example.com", D::Fail)),
            R::Fail,
            Policy::Reject,
        ),
        // Subdomains get sp=.
        (
            "mail.example.com",
            Some(("example.com", S::Fail)),
            None,
            R::Fail,
            Policy::Quarantine,
        ),
        // A subdomain that does not exist gets np= (RFC 9989).
        ("nowhere.example.com", None, None, R::Fail, Policy::Reject),
        // Strict: only the same domain aligns.
        (
            "strict.example.com",
            Some(("example.com", S::Pass)),
            Some(("mail.strict.example.com", D::Pass)),
            R::Fail,
            Policy::Quarantine,
        ),
        (
            "strict.example.com",
            Some(("strict.example.com", S::Pass)),
            None,
            R::Pass,
            Policy::None,
        ),
        (
            "strict.example.com",
            None,
            Some(("Strict.Example.com", D::Pass)),
            R::Pass,
            Policy::None,
        ),
        // Temporary failures of aligned identifiers: temperror, no policy.
        (
            "example.com",
            Some(("example.com", S::Temperror)),
            None,
            R::Temperror,
            Policy::None,
        ),
        (
            "example.com",
            None,
            Some(("example.com", D::Temperror)),
            R::Temperror,
            Policy::None,
        ),
        // ... but not of unaligned ones.
        (
            "example.com",
            Some(("example.net", S::Temperror)),
            None,
            R::Fail,
            Policy::Reject,
        ),
        // t=y: one step milder.
        (
            "testing.example.com",
            None,
            None,
            R::Fail,
            Policy::Quarantine,
        ),
        // No policy anywhere; a TXT record that is not DMARC is no policy.
        (
            "example.org",
            Some(("example.org", S::Fail)),
            None,
            R::None,
            Policy::None,
        ),
        ("other.example.com", None, None, R::Fail, Policy::Quarantine),
        // Two records: discovery ends, no policy (RFC 7489 6.6.3).
        ("two.example.com", None, None, R::None, Policy::None),
        ("broken.example.com", None, None, R::Permerror, Policy::None),
        ("exa..mple.com", None, None, R::Permerror, Policy::None),
    ];
    let zone = zone();
    for (from, spf, dkim, result, disposition) in rows {
        let dkim: Vec<SignatureResult> = dkim.iter().map(|(d, r)| signature(d, *r)).collect();
        let got = evaluated(&zone, from, *spf, &dkim, 0);
        assert_eq!(
            (got.result, got.disposition),
            (*result, *disposition),
            "{from} {spf:?} {dkim:?}: {}",
            got.reason
        );
    }
}

#[test]
fn pct_applies_the_policy_to_a_sample_and_one_step_milder_to_the_rest() {
    let zone = zone();
    let at = |sample| evaluated(&zone, "sampled.example.com", None, &[], sample);
    assert_eq!(at(24).disposition, Policy::Reject);
    assert_eq!(at(25).disposition, Policy::Quarantine);
    assert_eq!(at(25).requested, Some(Policy::Reject));
}

#[test]
fn dns_failures_give_temperror_never_a_policy() {
    let mut zone = zone();
    zone.fail("_dmarc.example.com", Some(RecordType::Txt));
    let got = evaluated(&zone, "example.com", None, &[], 0);
    assert_eq!(
        (got.result, got.disposition),
        (DmarcResult::Temperror, Policy::None)
    );
    assert!(got.reason.contains("_dmarc.example.com"), "{}", got.reason);
    // np= needs to know whether the subdomain exists.
    let mut zone = self::zone();
    zone.fail("gone.example.com", Some(RecordType::Mx));
    let got = evaluated(&zone, "gone.example.com", None, &[], 0);
    assert_eq!(got.result, DmarcResult::Temperror, "{}", got.reason);
}

#[test]
fn discovery_says_where_the_policy_came_from() {
    let zone = zone();
    let found = run(discover(&zone, "a.b.mail.example.com"))
        .unwrap()
        .unwrap();
    assert_eq!(found.policy_domain, "example.com");
    assert_eq!(found.organizational_domain, "example.com");
    let found = run(discover(&zone, "Strict.Example.COM."))
        .unwrap()
        .unwrap();
    assert_eq!(found.policy_domain, "strict.example.com");
    assert_eq!(run(discover(&zone, "example.org")), Ok(None));
}

#[test]
fn outside_report_destinations_must_agree() {
    let zone = zone();
    let record = run(discover(&zone, "example.com"))
        .unwrap()
        .unwrap()
        .parsed
        .record;
    let checked = run(verify_destinations(
        &zone,
        "example.com",
        &record.aggregate_reports,
    ));
    assert_eq!(checked[0], Destination::Internal);
    assert_eq!(checked[1], Destination::Authorized);
    assert_eq!(
        checked[2],
        Destination::Refused(
            "example.com._report._dmarc.elsewhere.example.org has no v=DMARC1 record".into()
        )
    );
    assert!(checked[0].allowed() && checked[1].allowed() && !checked[2].allowed());
    let https = [ReportUri {
        uri: "https://r.example/".into(),
        max_size: None,
    }];
    assert_eq!(
        run(verify_destinations(&zone, "example.com", &https)),
        [Destination::Unsupported]
    );
}

fn report_sample(path: &str) -> Vec<u8> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rfc-vectors/dmarc-reports");
    std::fs::read(dir.join(path)).unwrap()
}

#[test]
fn an_rfc_9990_report_reads_field_by_field() {
    use report::*;
    let feedback = read_report(&report_sample("aggregate/rfc9990-sample.xml")).unwrap();
    assert_eq!(feedback.version.as_deref(), Some("1.0"));
    let meta = &feedback.report_metadata;
    assert_eq!(
        (meta.org_name.as_str(), meta.report_id.as_str()),
        ("Sample Reporter", "3v98abbp8ya9n3va8yr8oa3ya")
    );
    assert_eq!(
        meta.date_range,
        DateRange {
            begin: 302832000,
            end: 302918399
        }
    );
    let policy = &feedback.policy_published;
    assert_eq!(
        (policy.p, policy.np),
        (Disposition::Quarantine, Some(Disposition::None))
    );
    assert_eq!(policy.discovery_method.as_deref(), Some("treewalk"));
    let [record] = &feedback.records[..] else {
        panic!("{:?}", feedback.records)
    };
    assert_eq!(
        record.row.source_ip,
        "192.0.2.123".parse::<std::net::IpAddr>().unwrap()
    );
    assert_eq!(record.row.count, 123);
    let evaluated = &record.row.policy_evaluated;
    assert_eq!(
        (evaluated.disposition, evaluated.dkim, evaluated.spf),
        (Disposition::Pass, Some(Verdict::Pass), Some(Verdict::Fail))
    );
    assert_eq!(
        record.auth_results.dkim[0].selector.as_deref(),
        Some("abc123")
    );
    assert_eq!(record.auth_results.spf[0].result, SpfResult::Fail);
}

#[test]
fn reports_read_the_same_bare_gzipped_zipped_and_mailed() {
    use report::read_report;
    let bare = read_report(&report_sample("extract_report/nice-input.xml")).unwrap();
    for packed in [
        "extract_report/nice-input.xml.gz",
        "extract_report/nice-input.xml.zip",
    ] {
        assert_eq!(
            read_report(&report_sample(packed)).unwrap(),
            bare,
            "{packed}"
        );
    }
    let mailed = read_report(&report_sample(
        "aggregate/Report domain- borschow.com Submitter- google.com Report-ID- 949348866075514174.eml",
    ))
    .unwrap();
    assert_eq!(mailed.report_metadata.report_id, "949348866075514174");
    assert_eq!(mailed.policy_published.domain, "borschow.com");
}

#[test]
fn unreadable_reports_are_refused_with_what_is_wrong() {
    use report::{MAX_REPORT_SIZE, ReportError, read_report};
    let upper = read_report(&report_sample(
        "aggregate_invalid/report_with_upper_cased_pass.xml",
    ));
    assert!(
        matches!(&upper, Err(ReportError::Xml(e)) if e.contains("unknown variant `None`")),
        "{upper:?}"
    );
    let zeros = {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&vec![b' '; MAX_REPORT_SIZE as usize + 1])
            .unwrap();
        gz.finish().unwrap()
    };
    assert_eq!(read_report(&zeros), Err(ReportError::TooLarge));
    assert!(matches!(
        read_report(b"<html>no</html>"),
        Err(ReportError::NotAReport(_))
    ));
    assert!(matches!(
        read_report(b"Subject: hi\r\n\r\nno report here\r\n"),
        Err(ReportError::NotAReport(_))
    ));
}
