//! DMARC aggregate reports arrive by mail from anyone: no bytes may panic the
//! reader (XML, gzip, zip, or a message with one attached).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = gannet::dmarc::report::read_report(data);
});
