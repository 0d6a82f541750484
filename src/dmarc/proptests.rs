//! parse(print(x)) == x for DMARC records.

use proptest::prelude::*;

use super::*;

fn policy() -> impl Strategy<Value = Policy> {
    prop_oneof![
        Just(Policy::None),
        Just(Policy::Quarantine),
        Just(Policy::Reject)
    ]
}

fn alignment() -> impl Strategy<Value = Alignment> {
    prop_oneof![Just(Alignment::Relaxed), Just(Alignment::Strict)]
}

fn uri() -> impl Strategy<Value = ReportUri> {
    (
        "(mailto:[a-z0-9.+]{1,8}(%2[bB])?@[a-z0-9]{1,8}\\.example|https://[a-z]{1,8}\\.example/[a-z/?=&]{0,10})",
        prop::option::of(0u64..1 << 40),
    )
        .prop_map(|(uri, max_size)| ReportUri { uri, max_size })
}

fn record() -> impl Strategy<Value = Record> {
    (
        (
            policy(),
            prop::option::of(policy()),
            prop::option::of(policy()),
        ),
        (alignment(), alignment(), 0u8..=100, any::<bool>()),
        prop_oneof![
            Just(PublicSuffix::Yes),
            Just(PublicSuffix::No),
            Just(PublicSuffix::Unknown)
        ],
        (
            prop::collection::vec(uri(), 0..3),
            prop::collection::vec(uri(), 0..3),
        ),
        prop::collection::vec(
            prop_oneof![
                Just(FailureOption::AllFail),
                Just(FailureOption::AnyFail),
                Just(FailureOption::Dkim),
                Just(FailureOption::Spf)
            ],
            1..4,
        ),
        prop::collection::vec("[a-z0-9]([a-z0-9-]{0,6}[a-z0-9])?", 1..3),
        any::<u32>(),
    )
        .prop_map(
            |((p, sp, np), (adkim, aspf, pct, t), psd, (rua, ruf), fo, rf, ri)| Record {
                policy: p,
                subdomain_policy: sp,
                nonexistent_policy: np,
                dkim_alignment: adkim,
                spf_alignment: aspf,
                percent: pct,
                testing: t,
                public_suffix: psd,
                aggregate_reports: rua,
                failure_reports: ruf,
                failure_options: fo,
                report_formats: rf,
                report_interval: ri,
            },
        )
}

proptest! {
    #[test]
    fn records_round_trip(record in record()) {
        let text = record.to_string();
        let parsed = Parsed::parse(&text).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        prop_assert_eq!(parsed.warnings, Vec::<String>::new(), "{}", text);
        prop_assert_eq!(parsed.record, record);
    }

    #[test]
    fn any_text_is_parsed_or_refused_without_panicking(text in "v=DMARC1;[ -~]{0,60}") {
        let _ = Parsed::parse(&text);
    }
}
