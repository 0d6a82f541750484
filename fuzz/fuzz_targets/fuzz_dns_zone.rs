//! Zone-file text (`gannet --dns-zone`): no input may panic, and the records read
//! must print as a zone that reads back to the same records.

#![no_main]

use gannet::dns::read_zone_file;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(records) = read_zone_file(input) else {
        return;
    };
    let printed: String = records
        .iter()
        .map(|(name, record)| format!("{name}. {} {record}\n", record.record_type()))
        .collect();
    let again = read_zone_file(&printed);
    assert!(
        again.as_ref() == Ok(&records),
        "{input:?} reads as {records:?}, printed as {printed:?}, which reads as {again:?}"
    );
});
