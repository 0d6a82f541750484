//! DKIM verification of arbitrary messages: no message may panic the verifier,
//! whatever its signatures claim. Keys exist for the selectors "rsa" and "ed" at
//! example.org (valid records with keys that signed nothing), "revoked", and
//! "down" (DNS fails), so inputs reach every step.

#![no_main]

use std::sync::OnceLock;
use std::task::{Context, Poll, Waker};

use gannet::dkim::verify;
use gannet::dns::StaticZone;
use libfuzzer_sys::fuzz_target;

const ZONE: &str = r#"
$ORIGIN example.org.
ed._domainkey TXT "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
rsa._domainkey TXT ( "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2E"
                      "eC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB" )
revoked._domainkey TXT "v=DKIM1; p="
"#;

fn zone() -> &'static StaticZone {
    static ZONE_CELL: OnceLock<StaticZone> = OnceLock::new();
    ZONE_CELL.get_or_init(|| {
        let mut zone = StaticZone::from_zone_file(ZONE).expect("the fuzz zone reads");
        zone.fail("down._domainkey.example.org", None);
        zone
    })
}

fuzz_target!(|data: &[u8]| {
    // A static zone answers at once, so one poll finishes the verification: no
    // runtime needed.
    let mut future = std::pin::pin!(verify(zone(), data, 1_700_000_000));
    let mut context = Context::from_waker(Waker::noop());
    let Poll::Ready(results) = future.as_mut().poll(&mut context) else {
        panic!("verification over a static zone waited for something");
    };
    assert!(
        results.len() <= 11,
        "at most 10 signatures and one note: {results:?}"
    );
});
