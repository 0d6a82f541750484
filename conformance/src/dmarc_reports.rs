//! DMARC aggregate report samples (parsedmarc's, see rfc-vectors/dmarc-reports/
//! SOURCE.txt) read by `gannet::dmarc::report::read_report`: those in aggregate/ and
//! extract_report/ must read, with a report id and at least one row of messages;
//! those in aggregate_invalid/ must be refused.

use std::fs;
use std::path::Path;

use gannet::dmarc::report::read_report;

use crate::Suite;

/// Samples gannet refuses though they sit among the readable ones, and why.
const DEVIATIONS: &[(&str, &str)] = &[(
    "invalid_xml.xml",
    "not well-formed XML (an address in angle brackets inside <email>): RFC 9990 has receivers discard reports that do not follow the schema, so gannet refuses it where parsedmarc's recovering parser reads on",
)];

pub fn run(dir: &Path) -> Suite {
    let mut suite = Suite::new("RFC 7489/9990 DMARC aggregate reports (parsedmarc samples)");
    for (folder, readable) in [
        ("aggregate", true),
        ("extract_report", true),
        ("aggregate_invalid", false),
    ] {
        let mut files: Vec<_> = match fs::read_dir(dir.join(folder)) {
            Ok(entries) => entries.filter_map(|e| e.ok().map(|e| e.path())).collect(),
            Err(e) => {
                suite.record(Err(format!("{}: {e}", dir.join(folder).display())));
                continue;
            }
        };
        files.sort();
        for path in files {
            let name = path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            let deviation = DEVIATIONS.iter().find(|(file, _)| *file == name);
            let expect_read = readable && deviation.is_none();
            let result = fs::read(&path)
                .map_err(|e| e.to_string())
                .and_then(|bytes| read_report(&bytes).map_err(|e| e.to_string()));
            let outcome = match (&result, expect_read) {
                (Ok(report), true) if report.report_metadata.report_id.is_empty() => {
                    Err("read, but with no report id".to_string())
                }
                (Ok(report), true) if report.records.is_empty() => {
                    Err("read, but with no rows".to_string())
                }
                (Ok(_), true) | (Err(_), false) => Ok(()),
                (Err(e), true) => Err(format!("refused: {e}")),
                (Ok(_), false) => Err("read, though it is invalid".to_string()),
            };
            if let (Ok(()), Some((_, reason))) = (&outcome, deviation) {
                suite.deviation(reason);
            }
            suite.record(outcome.map_err(|why| format!("{folder}/{name}: {why}")));
        }
    }
    suite
}
