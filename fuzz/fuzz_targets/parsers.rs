//! Fuzzes trust-core's input parsers with arbitrary bytes: trusted roots (JSON), RFC 3339
//! times, and public keys (DER SPKI and PEM). Parsers must return errors, never panic, and
//! whatever parses must survive a round trip through its own encoding.

#![no_main]

use libfuzzer_sys::fuzz_target;
use trust_core::crypto::{pem_encode, PublicKey};
use trust_core::time::UnixTime;
use trust_core::trust_root::TrustedRoot;

fuzz_target!(|data: &[u8]| {
    let _ = TrustedRoot::from_json(data);

    if let Ok(key) = PublicKey::from_spki_der(data) {
        check_key_round_trip(&key);
    }

    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(t) = UnixTime::parse_rfc3339(text) {
            check_time_round_trip(t);
        }
        if let Ok(key) = PublicKey::from_pem(text) {
            check_key_round_trip(&key);
        }
    }
});

/// A parsed key re-encoded as PEM parses back to the same key.
fn check_key_round_trip(key: &PublicKey) {
    let pem = pem_encode("PUBLIC KEY", key.spki_der());
    let again = PublicKey::from_pem(&pem).expect("re-encoded PEM key parses");
    assert_eq!(&again, key, "PEM round trip changed the key");
}

/// A parsed time printed as RFC 3339 parses back to the same instant (within the four-digit
/// years RFC 3339 can express).
fn check_time_round_trip(t: UnixTime) {
    let (year, ..) = t.to_civil();
    if (0..=9999).contains(&year) {
        let printed = t.to_string();
        let again = UnixTime::parse_rfc3339(&printed).expect("printed time parses");
        assert_eq!(again, t, "RFC 3339 round trip changed the time ({printed})");
    }
}
