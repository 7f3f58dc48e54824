use super::super::testutil::*;
use super::*;
use crate::crypto::HashAlgorithm;
use serde_json::{json, Value};

/// The bundle's side of the comparison, owned.
struct Claim {
    dsse: bool,
    signatures: Vec<Vec<u8>>,
    digest: Digest,
    payload_type: String,
    payload: Vec<u8>,
    verifier: Vec<u8>,
    is_cert: bool,
}

impl Claim {
    fn of(c: &Case) -> Claim {
        let (verifier, is_cert) = match c.leaf_der() {
            Some(der) => (der, true),
            None => {
                let pem = String::from_utf8(c.file("key.pub").unwrap()).unwrap();
                (crate::crypto::pem_decode(&pem).unwrap().1, false)
            }
        };
        let artifact = c
            .file("artifact")
            .unwrap_or_else(|| std::fs::read(fixture_path("sigstore-conformance/bundle-verify/a.txt")).unwrap());
        let b = &c.bundle;
        if let Some(env) = b.get("dsseEnvelope") {
            Claim {
                dsse: true,
                signatures: env["signatures"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| b64(s["sig"].as_str().unwrap()))
                    .collect(),
                digest: HashAlgorithm::Sha256.hash(&artifact),
                payload_type: env["payloadType"].as_str().unwrap().to_string(),
                payload: b64(env["payload"].as_str().unwrap()),
                verifier,
                is_cert,
            }
        } else {
            Claim {
                dsse: false,
                signatures: vec![b64(b["messageSignature"]["signature"].as_str().unwrap())],
                digest: HashAlgorithm::Sha256.hash(&artifact),
                payload_type: String::new(),
                payload: Vec::new(),
                verifier,
                is_cert,
            }
        }
    }

    fn check(&self, kind: &str, version: &str, body: &[u8]) -> Result<(), TlogError> {
        let refs: Vec<&[u8]> = self.signatures.iter().map(Vec::as_slice).collect();
        let expected = if self.dsse {
            ExpectedEntry::Dsse {
                payload_type: &self.payload_type,
                payload: &self.payload,
                signatures: &refs,
                verifier_der: &self.verifier,
                verifier_is_cert: self.is_cert,
            }
        } else {
            ExpectedEntry::MessageSignature {
                signature: refs[0],
                digest: &self.digest,
                verifier_der: &self.verifier,
                verifier_is_cert: self.is_cert,
            }
        };
        check_entry_body(kind, version, body, &expected)
    }
}

fn run(case: &str) -> Result<(), TlogError> {
    let c = Case::load(case);
    let e = c.entry();
    Claim::of(&c).check(&e.kind, &e.version, &e.body)
}

/// Re-serialises the case's body after `edit`, and checks it.
fn run_edited(case: &str, edit: impl FnOnce(&mut Value)) -> Result<(), TlogError> {
    let c = Case::load(case);
    let e = c.entry();
    let mut v: Value = serde_json::from_slice(&e.body).unwrap();
    edit(&mut v);
    Claim::of(&c).check(&e.kind, &e.version, &serde_json::to_vec(&v).unwrap())
}

fn flip_b64(s: &str) -> String {
    let mut raw = b64(s);
    let last = raw.len() - 1;
    raw[last] ^= 1;
    base64::engine::general_purpose::STANDARD.encode(raw)
}

#[test]
fn bodies_of_passing_bundles_match() {
    for case in [
        "happy-path-v0.1",
        "happy-path-v0.2",
        "happy-path-v0.3",
        "happy-path-v0.3-new-mediaType",
        "managed-key-happy-path",
        "managed-key-and-trusted-root",
        "rekor2-happy-path",
        "bundle-with-sct-with-extensions",
        "happy-path-intoto-in-dsse-v3",
        "intoto-with-custom-trust-root",
        "rekor2-dsse-happy-path",
        "trust-root-tlog-validity-end-inclusive",
    ] {
        run(case).unwrap_or_else(|e| panic!("{case}: {e}"));
    }
}

#[test]
fn mismatching_bodies_fail() {
    for (case, err) in [
        ("wrong-hashedrekord-artifact_fail", TlogError::BodyMismatch("digest")),
        (
            "wrong-hashedrekord-cert-and-sig_fail",
            TlogError::BodyMismatch("signature"),
        ),
        ("wrong-hashedrekord-entry_fail", TlogError::BodyMismatch("digest")),
        ("wrong-material_fail", TlogError::BodyMismatch("digest")),
        ("incorrect-public-key_fail", TlogError::BodyMismatch("verifier")),
        ("dsse-mismatch-envelope_fail", TlogError::BodyMismatch("payload hash")),
        ("dsse-mismatch-sig_fail", TlogError::BodyMismatch("signature")),
        ("dsse-invalid-sig_fail", TlogError::BodyMismatch("signature")),
        ("intoto-log-entry-mismatch_fail", TlogError::BodyMismatch("signature")),
        ("rekor2-dsse-mismatch-envelope_fail", TlogError::BodyMismatch("digest")),
        ("rekor2-dsse-mismatch-sig_fail", TlogError::BodyMismatch("signature")),
        ("rekor2-dsse-invalid-sig_fail", TlogError::BodyMismatch("signature")),
    ] {
        assert_eq!(run(case), Err(err), "{case}");
    }
    assert_eq!(TlogError::BodyMismatch("digest").code(), "tlog.body_mismatch");
}

#[test]
fn hashedrekord_v001_fields_are_bound() {
    let case = "happy-path-v0.3";
    run_edited(case, |_| {}).unwrap();
    let r = run_edited(case, |v| v["spec"]["data"]["hash"]["algorithm"] = json!("sha512"));
    assert_eq!(r, Err(TlogError::BodyMismatch("digest algorithm")));
    let r = run_edited(case, |v| {
        let h = v["spec"]["data"]["hash"]["value"].as_str().unwrap().to_uppercase();
        v["spec"]["data"]["hash"]["value"] = json!(h);
    });
    assert_eq!(r, Ok(()), "hex is case-insensitive");
    let r = run_edited(case, |v| v["spec"]["data"]["hash"]["value"] = json!("00".repeat(32)));
    assert_eq!(r, Err(TlogError::BodyMismatch("digest")));
    let r = run_edited(case, |v| v["spec"]["data"]["hash"]["value"] = json!("zz"));
    assert_eq!(r.unwrap_err().code(), "tlog.body_malformed");
    let r = run_edited(case, |v| {
        let s = flip_b64(v["spec"]["signature"]["content"].as_str().unwrap());
        v["spec"]["signature"]["content"] = json!(s);
    });
    assert_eq!(r, Err(TlogError::BodyMismatch("signature")));
    let r = run_edited(case, |v| v["spec"]["signature"]["content"] = json!("%%%"));
    assert_eq!(r.unwrap_err().code(), "tlog.body_malformed");
    // The certificate replaced by its public key: not the same verifier.
    let r = run_edited(case, |v| {
        let pem = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE2G2Y+2tabdTV5BcGiBIx0a9fAFwrkBbmLSGtks4L3qX6yYY0zufBnhC8Ur/iy55GhWP/9A/bY2LhC30M9+RYtw==\n-----END PUBLIC KEY-----\n";
        v["spec"]["signature"]["publicKey"]["content"] = json!(base64::engine::general_purpose::STANDARD.encode(pem));
    });
    assert_eq!(r, Err(TlogError::BodyMismatch("verifier")));
    let r = run_edited(case, |v| {
        v["spec"]["signature"]["publicKey"]["content"] =
            json!(base64::engine::general_purpose::STANDARD.encode("not pem"));
    });
    assert_eq!(r.unwrap_err().code(), "tlog.body_malformed");
    // Other PEM layouts (76-character lines, CRLF, no final newline) hold the same certificate.
    for (width, eol, tail) in [
        (76usize, "\n", "\n"),
        (64, "\r\n", "\r\n"),
        (64, "\n", ""),
        (20, "\n", "\n"),
    ] {
        let r = run_edited(case, |v| {
            let pem = String::from_utf8(b64(v["spec"]["signature"]["publicKey"]["content"].as_str().unwrap())).unwrap();
            let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
            let lines: Vec<&str> = body
                .as_bytes()
                .chunks(width)
                .map(|c| std::str::from_utf8(c).unwrap())
                .collect();
            let rewrapped = format!(
                "-----BEGIN CERTIFICATE-----{eol}{}{eol}-----END CERTIFICATE-----{tail}",
                lines.join(eol)
            );
            v["spec"]["signature"]["publicKey"]["content"] =
                json!(base64::engine::general_purpose::STANDARD.encode(rewrapped));
        });
        assert_eq!(r, Ok(()), "width {width}, eol {eol:?}");
    }
    // Two PEM blocks.
    let r = run_edited(case, |v| {
        let pem = b64(v["spec"]["signature"]["publicKey"]["content"].as_str().unwrap());
        let twice = [pem.clone(), pem].concat();
        v["spec"]["signature"]["publicKey"]["content"] = json!(base64::engine::general_purpose::STANDARD.encode(twice));
    });
    assert_eq!(r.unwrap_err().code(), "tlog.body_malformed");
    // Kind and version inside the body must be the declared ones.
    let r = run_edited(case, |v| v["apiVersion"] = json!("0.0.2"));
    assert_eq!(r.unwrap_err().code(), "tlog.entry_kind_mismatch");
    let r = run_edited(case, |v| v["kind"] = json!("rekord"));
    assert_eq!(r.unwrap_err().code(), "tlog.entry_kind_mismatch");
    let r = run_edited(case, |v| v["spec"]["data"] = json!({}));
    assert_eq!(r.unwrap_err().code(), "tlog.body_malformed");
}

#[test]
fn hashedrekord_v002_fields_are_bound() {
    for case in ["rekor2-happy-path", "rekor2-dsse-happy-path"] {
        run_edited(case, |_| {}).unwrap();
        let r = run_edited(case, |v| {
            let s = flip_b64(v["spec"]["hashedRekordV002"]["data"]["digest"].as_str().unwrap());
            v["spec"]["hashedRekordV002"]["data"]["digest"] = json!(s);
        });
        assert_eq!(r, Err(TlogError::BodyMismatch("digest")), "{case}");
        let r = run_edited(case, |v| {
            v["spec"]["hashedRekordV002"]["data"]["algorithm"] = json!("SHA2_384")
        });
        assert_eq!(r, Err(TlogError::BodyMismatch("digest algorithm")), "{case}");
        let r = run_edited(case, |v| {
            v["spec"]["hashedRekordV002"]["data"]["algorithm"] = json!("MD5")
        });
        assert_eq!(r.unwrap_err().code(), "tlog.body_malformed", "{case}");
        let r = run_edited(case, |v| {
            let s = flip_b64(v["spec"]["hashedRekordV002"]["signature"]["content"].as_str().unwrap());
            v["spec"]["hashedRekordV002"]["signature"]["content"] = json!(s);
        });
        assert_eq!(r, Err(TlogError::BodyMismatch("signature")), "{case}");
        let r = run_edited(case, |v| {
            let verifier = &mut v["spec"]["hashedRekordV002"]["signature"]["verifier"];
            let s = flip_b64(verifier["x509Certificate"]["rawBytes"].as_str().unwrap());
            verifier["x509Certificate"]["rawBytes"] = json!(s);
        });
        assert_eq!(r, Err(TlogError::BodyMismatch("verifier")), "{case}");
        // A public-key verifier where the bundle has a certificate.
        let r = run_edited(case, |v| {
            let verifier = &mut v["spec"]["hashedRekordV002"]["signature"]["verifier"];
            let raw = verifier["x509Certificate"].take();
            verifier["publicKey"] = raw;
            verifier.as_object_mut().unwrap().remove("x509Certificate");
        });
        assert_eq!(r, Err(TlogError::BodyMismatch("verifier")), "{case}");
    }
}

#[test]
fn dsse_as_hashedrekord_needs_exactly_one_signature() {
    let c = Case::load("rekor2-dsse-happy-path");
    let e = c.entry();
    let mut claim = Claim::of(&c);
    let one = claim.signatures[0].clone();
    claim.signatures.push(one);
    assert_eq!(
        claim.check(&e.kind, &e.version, &e.body),
        Err(TlogError::BodyMismatch("signature count"))
    );
    claim.signatures.clear();
    assert_eq!(
        claim.check(&e.kind, &e.version, &e.body),
        Err(TlogError::BodyMismatch("signature count"))
    );
    // The payload type is part of the PAE.
    let mut claim = Claim::of(&c);
    claim.payload_type.push('x');
    assert_eq!(
        claim.check(&e.kind, &e.version, &e.body),
        Err(TlogError::BodyMismatch("digest"))
    );
}

#[test]
fn dsse_v001_fields_are_bound() {
    let case = "happy-path-intoto-in-dsse-v3";
    run_edited(case, |_| {}).unwrap();
    let r = run_edited(case, |v| v["spec"]["payloadHash"]["value"] = json!("11".repeat(32)));
    assert_eq!(r, Err(TlogError::BodyMismatch("payload hash")));
    let r = run_edited(case, |v| {
        let s = flip_b64(v["spec"]["signatures"][0]["signature"].as_str().unwrap());
        v["spec"]["signatures"][0]["signature"] = json!(s);
    });
    assert_eq!(r, Err(TlogError::BodyMismatch("signature")));
    let r = run_edited(case, |v| {
        let sig = v["spec"]["signatures"][0].clone();
        v["spec"]["signatures"].as_array_mut().unwrap().push(sig);
    });
    assert_eq!(r, Err(TlogError::BodyMismatch("signature count")));
    let r = run_edited(case, |v| v["spec"]["signatures"] = json!([]));
    assert_eq!(r, Err(TlogError::BodyMismatch("signature count")));
    // The envelope hash is not reproducible and not checked.
    run_edited(case, |v| v["spec"]["envelopeHash"]["value"] = json!("22".repeat(32))).unwrap();
}

#[test]
fn intoto_v002_fields_are_bound() {
    let case = "intoto-with-custom-trust-root";
    run_edited(case, |_| {}).unwrap();
    let r = run_edited(case, |v| {
        v["spec"]["content"]["envelope"]["payloadType"] = json!("text/plain")
    });
    assert_eq!(r, Err(TlogError::BodyMismatch("payload type")));
    let r = run_edited(case, |v| {
        v["spec"]["content"]["payloadHash"]["value"] = json!("11".repeat(32))
    });
    assert_eq!(r, Err(TlogError::BodyMismatch("payload hash")));
    let r = run_edited(case, |v| {
        let inner = String::from_utf8(b64(v["spec"]["content"]["envelope"]["payload"].as_str().unwrap())).unwrap();
        let outer = base64::engine::general_purpose::STANDARD.encode(flip_b64(&inner));
        v["spec"]["content"]["envelope"]["payload"] = json!(outer);
    });
    assert_eq!(r, Err(TlogError::BodyMismatch("payload")));
    // Without the logged payload, the payload hash still binds it.
    run_edited(case, |v| {
        v["spec"]["content"]["envelope"]
            .as_object_mut()
            .unwrap()
            .remove("payload");
    })
    .unwrap();
    let r = run_edited(case, |v| {
        v["spec"]["content"]["envelope"]
            .as_object_mut()
            .unwrap()
            .remove("payload");
        v["spec"]["content"].as_object_mut().unwrap().remove("payloadHash");
    });
    assert_eq!(r.unwrap_err().code(), "tlog.body_malformed");
    let r = run_edited(case, |v| {
        let sig = &mut v["spec"]["content"]["envelope"]["signatures"][0];
        let inner = String::from_utf8(b64(sig["sig"].as_str().unwrap())).unwrap();
        sig["sig"] = json!(base64::engine::general_purpose::STANDARD.encode(flip_b64(&inner)));
    });
    assert_eq!(r, Err(TlogError::BodyMismatch("signature")));
    let r = run_edited(case, |v| {
        let sig = &mut v["spec"]["content"]["envelope"]["signatures"][0];
        let pem = String::from_utf8(b64(sig["publicKey"].as_str().unwrap())).unwrap();
        let pem = pem.replacen("MII", "MIJ", 1);
        sig["publicKey"] = json!(base64::engine::general_purpose::STANDARD.encode(pem));
    });
    assert_eq!(r, Err(TlogError::BodyMismatch("verifier")));
}

#[test]
fn dsse_v002_bodies_are_checked() {
    // No fixture uses dsse 0.0.2 yet: build one from the rekor2 DSSE bundle's material.
    let c = Case::load("rekor2-dsse-happy-path");
    let claim = Claim::of(&c);
    let enc = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let body = |payload_hash: &[u8], sig: &[u8], cert: &[u8]| {
        serde_json::to_vec(&json!({
            "apiVersion": "0.0.2",
            "kind": "dsse",
            "spec": {"dsseV002": {
                "payloadHash": {"algorithm": "SHA2_256", "digest": enc(payload_hash)},
                "signatures": [{"content": enc(sig), "verifier": {
                    "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                    "x509Certificate": {"rawBytes": enc(cert)}
                }}]
            }}
        }))
        .unwrap()
    };
    let ph = crate::crypto::sha256(&claim.payload);
    let sig = &claim.signatures[0];
    claim.check("dsse", "0.0.2", &body(&ph, sig, &claim.verifier)).unwrap();
    let mut bad = ph;
    bad[0] ^= 1;
    assert_eq!(
        claim.check("dsse", "0.0.2", &body(&bad, sig, &claim.verifier)),
        Err(TlogError::BodyMismatch("payload hash"))
    );
    assert_eq!(
        claim.check("dsse", "0.0.2", &body(&ph, b"other", &claim.verifier)),
        Err(TlogError::BodyMismatch("signature"))
    );
    assert_eq!(
        claim.check("dsse", "0.0.2", &body(&ph, sig, b"other")),
        Err(TlogError::BodyMismatch("verifier"))
    );
}

#[test]
fn kinds_and_contents_must_fit() {
    let c = Case::load("happy-path-v0.3");
    let e = c.entry();
    let claim = Claim::of(&c);
    for (kind, version) in [("dsse", "0.0.1"), ("intoto", "0.0.2"), ("dsse", "0.0.2")] {
        assert_eq!(
            claim.check(kind, version, &e.body).unwrap_err().code(),
            "tlog.entry_kind_mismatch",
            "{kind}"
        );
    }
    for (kind, version) in [
        ("rekord", "0.0.1"),
        ("hashedrekord", "0.0.3"),
        ("intoto", "0.0.1"),
        ("", ""),
    ] {
        assert_eq!(
            claim.check(kind, version, &e.body).unwrap_err().code(),
            "tlog.unsupported_entry_kind"
        );
    }
    // The body is hashedrekord 0.0.1, the entry says 0.0.2: it does not parse as 0.0.2.
    assert_eq!(
        claim.check("hashedrekord", "0.0.2", &e.body).unwrap_err().code(),
        "tlog.body_malformed"
    );
    // A DSSE bundle cannot be a hashedrekord 0.0.1 entry.
    let d = Case::load("happy-path-intoto-in-dsse-v3");
    assert_eq!(
        Claim::of(&d)
            .check("hashedrekord", "0.0.1", &e.body)
            .unwrap_err()
            .code(),
        "tlog.entry_kind_mismatch"
    );
    for garbage in [&b""[..], b"{", b"[]", b"null", b"{\"kind\":1}", &[0xff, 0xfe]] {
        assert_eq!(
            claim.check("hashedrekord", "0.0.1", garbage).unwrap_err().code(),
            "tlog.body_malformed"
        );
    }
}

#[test]
fn pae_matches_the_dsse_spec() {
    let want = crate::crypto::sha256(b"DSSEv1 29 http://example.com/HelloWorld 11 hello world");
    assert_eq!(pae_sha256("http://example.com/HelloWorld", b"hello world"), want);
    assert_eq!(pae_sha256("", b""), crate::crypto::sha256(b"DSSEv1 0  0 "));
}

#[test]
fn base64_comparison_handles_every_length() {
    let enc = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    for n in [0usize, 1, 2, 3, 767, 768, 769, 1535, 1536, 4000] {
        let data: Vec<u8> = (0..n).map(|i| (i * 7 + 3) as u8).collect();
        let e = enc(&data);
        assert!(b64_eq(e.as_bytes(), &data, "x").unwrap(), "{n}");
        if n > 0 {
            assert!(!b64_eq(e.as_bytes(), &data[..n - 1], "x").unwrap(), "{n}");
            let mut other = data.clone();
            other[n / 2] ^= 1;
            assert!(!b64_eq(e.as_bytes(), &other, "x").unwrap(), "{n}");
        }
        let mut longer = data.clone();
        longer.push(0);
        assert!(!b64_eq(e.as_bytes(), &longer, "x").unwrap(), "{n}");
    }
    assert!(b64_eq(b"AA=A", b"", "x").is_err());
    assert!(b64_eq(b"AAA", b"", "x").is_err());
}

#[test]
fn body_strings_borrow_from_the_body() {
    // serde only borrows fields spelled `Cow<'a, str>` with `#[serde(borrow)]`.
    let e = Case::load("happy-path-v0.3").entry();
    let b: Body<'_, HashedRekordV001<'_>> = serde_json::from_slice(&e.body).unwrap();
    assert!(matches!(b.kind, Cow::Borrowed("hashedrekord")));
    assert!(matches!(b.spec.signature.content, Cow::Borrowed(_)));
    assert!(matches!(b.spec.signature.public_key.content, Cow::Borrowed(_)));
    let body = br#"{"content":{"envelope":{"payloadType":"t","payload":"cGF5","signatures":[]}}}"#;
    let i: IntotoV002<'_> = serde_json::from_slice(body).unwrap();
    assert!(matches!(
        i.content.envelope.payload,
        Some(BorrowedStr(Cow::Borrowed("cGF5")))
    ));
}
