//! The OpenSPF test suites (`rfc-vectors/rfc7208/`: the RFC 7208 and RFC 4408
//! editions) run through `gannet::spf` over a static zone built from each
//! scenario's zonedata. One table row per scenario.
//!
//! The zonedata conventions are those of the suite's reference driver (pyspf's
//! test harness): type SPF records also serve as TXT records unless the name has
//! TXT entries of its own (a `TXT: NONE` entry counts, and adds no record); a
//! `TIMEOUT` entry makes lookups of the name time out for every type not listed
//! before it; a value `TIMEOUT` makes lookups of that type time out.

use std::fs;
use std::path::Path;

use gannet::dns::{Record, RecordType, StaticZone};
use gannet::spf::{self, SpfResult};
use yaml_rust2::{Yaml, YamlLoader};

use crate::Suite;

/// The suite files and their table names.
const FILES: &[(&str, &str)] = &[
    ("rfc7208-tests.yml", "RFC 7208"),
    ("rfc4408-tests.yml", "RFC 4408"),
];

/// Where gannet differs from a case's expectation, and why that is right.
const LOWERCASE_NIBBLES: &str = "explanations write %{i} of an IPv6 address in lowercase nibbles, as RFC 7208 7.4's example does; the suite's reference implementation (pyspf) writes them in uppercase (DNS names are case-insensitive, so only the explanation text differs)";

pub fn run(dir: &Path) -> Vec<Suite> {
    let mut suites = Vec::new();
    for (file, rfc) in FILES {
        let path = dir.join(file);
        let docs = fs::read_to_string(&path)
            .map_err(|e| e.to_string())
            .and_then(|text| YamlLoader::load_from_str(&text).map_err(|e| e.to_string()));
        match docs {
            Ok(docs) => suites.extend(docs.iter().map(|doc| scenario(rfc, doc))),
            Err(e) => {
                let mut suite = Suite::new(format!("{rfc} OpenSPF"));
                suite.record(Err(format!("{}: {e}", path.display())));
                suites.push(suite);
            }
        }
    }
    suites
}

fn scenario(rfc: &str, doc: &Yaml) -> Suite {
    let mut suite = Suite::new(format!("{rfc} SPF: {}", text(&doc["description"])));
    let zone = match zone_of(&doc["zonedata"]) {
        Ok(zone) => zone,
        Err(e) => {
            suite.record(Err(format!("zonedata: {e}")));
            return suite;
        }
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a tokio runtime");
    let Some(tests) = doc["tests"].as_hash() else {
        suite.record(Err("no tests".into()));
        return suite;
    };
    for (name, case) in tests {
        let name = text(name);
        let outcome = runtime.block_on(case_result(&zone, case, &mut suite));
        suite.record(outcome.map_err(|e| format!("{name}: {e}")));
    }
    suite
}

/// Runs one case: Ok when the result is one of those expected and the explanation
/// (if the case gives one) matches.
async fn case_result(zone: &StaticZone, case: &Yaml, suite: &mut Suite) -> Result<(), String> {
    let ip = text(&case["host"])
        .parse()
        .map_err(|_| format!("bad host {:?}", case["host"]))?;
    let helo = text(&case["helo"]);
    let mail_from = text(&case["mailfrom"]);
    let verdict = spf::check_mail_from(zone, ip, &helo, &mail_from, "receiver.example").await;
    let expected: Vec<String> = match &case["result"] {
        Yaml::Array(list) => list.iter().map(text).collect(),
        one => vec![text(one)],
    };
    if !expected.iter().any(|e| e == verdict.result.name()) {
        return Err(format!(
            "gave {} ({}), expected {}",
            verdict.result,
            verdict.reason,
            expected.join(" or ")
        ));
    }
    let Some(wanted) = case["explanation"].as_str() else {
        return Ok(());
    };
    if verdict.result != SpfResult::Fail {
        return Ok(());
    }
    // "DEFAULT": the driver's own default, i.e. the domain gave no explanation.
    let got = verdict.explanation.as_deref().unwrap_or("DEFAULT");
    if got == wanted {
        return Ok(());
    }
    if got.eq_ignore_ascii_case(wanted) && ip.is_ipv6() {
        suite.deviation(LOWERCASE_NIBBLES);
        return Ok(());
    }
    Err(format!("explained {got:?}, expected {wanted:?}"))
}

fn zone_of(zonedata: &Yaml) -> Result<StaticZone, String> {
    let mut zone = StaticZone::new();
    let Some(names) = zonedata.as_hash() else {
        return Ok(zone);
    };
    for (name, entries) in names {
        let name = text(name);
        let entries = entries
            .as_vec()
            .ok_or_else(|| format!("{name}: not a list"))?;
        let mut seen: Vec<RecordType> = Vec::new();
        let mut spf_copies = Vec::new();
        let mut has_txt = false;
        let mut timed_out = false;
        for entry in entries {
            if entry.as_str() == Some("TIMEOUT") {
                for rtype in RecordType::ALL.into_iter().filter(|t| !seen.contains(t)) {
                    zone.fail(&name, Some(rtype));
                }
                timed_out = true;
                break;
            }
            let (kind, value) = entry
                .as_hash()
                .and_then(|h| h.iter().next())
                .ok_or_else(|| format!("{name}: bad entry {entry:?}"))?;
            let kind = text(kind);
            has_txt |= kind == "TXT";
            if kind == "SPF" {
                spf_copies.push(value.clone());
                continue;
            }
            let rtype =
                RecordType::from_name(&kind).ok_or_else(|| format!("{name}: type {kind}"))?;
            if value.as_str() != Some("NONE") {
                seen.push(rtype);
            }
            if value.as_str() == Some("TIMEOUT") {
                zone.fail(&name, Some(rtype));
            } else if value.as_str() != Some("NONE") {
                zone.add(
                    &name,
                    record_of(rtype, value).map_err(|e| format!("{name}: {e}"))?,
                );
            }
        }
        if !has_txt && !timed_out {
            for value in spf_copies {
                zone.add(&name, record_of(RecordType::Txt, &value)?);
            }
        }
    }
    Ok(zone)
}

fn record_of(rtype: RecordType, value: &Yaml) -> Result<Record, String> {
    let bad = || format!("bad {rtype} value {value:?}");
    Ok(match rtype {
        RecordType::A => Record::A(text(value).parse().map_err(|_| bad())?),
        RecordType::Aaaa => Record::Aaaa(text(value).parse().map_err(|_| bad())?),
        RecordType::Ptr => Record::Ptr(dns_name(&text(value))),
        RecordType::Cname => Record::Cname(dns_name(&text(value))),
        RecordType::Mx => {
            let pair = value.as_vec().filter(|v| v.len() == 2).ok_or_else(bad)?;
            Record::Mx {
                preference: u16::try_from(pair[0].as_i64().ok_or_else(bad)?).map_err(|_| bad())?,
                exchange: dns_name(&text(&pair[1])),
            }
        }
        RecordType::Txt => Record::Txt(match value {
            Yaml::Array(strings) => strings.iter().map(|s| text(s).into_bytes()).collect(),
            one => vec![text(one).into_bytes()],
        }),
        RecordType::Tlsa => return Err(bad()),
    })
}

/// A target name as the zone keeps it (the suite writes some with a root dot).
fn dns_name(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// A scalar as text (hosts and names may read as numbers).
fn text(value: &Yaml) -> String {
    match value {
        Yaml::String(s) | Yaml::Real(s) => s.clone(),
        Yaml::Integer(n) => n.to_string(),
        Yaml::Boolean(b) => b.to_string(),
        _ => String::new(),
    }
}
