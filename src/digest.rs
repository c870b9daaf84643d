//! SHA-256, computed with `ring` (the crypto library the TLS stack and the token verifier
//! already use), for PKCE challenges, the keys of cached verdicts and refresh flights, the
//! step-up attempt slots' ids and the session labels in logs.

/// The SHA-256 digest of `parts`, concatenated.
pub(crate) fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut context = ring::digest::Context::new(&ring::digest::SHA256);
    for part in parts {
        context.update(part);
    }
    let mut digest = [0; 32];
    digest.copy_from_slice(context.finish().as_ref());
    digest
}

#[cfg(test)]
mod tests {
    #[test]
    fn known_digests() {
        // FIPS 180-2, appendix B.1, split in two parts.
        let abc = super::sha256(&[b"a", b"bc"]);
        assert_eq!(
            abc[..4],
            [0xba, 0x78, 0x16, 0xbf],
            "SHA-256(\"abc\") starts ba7816bf"
        );
        assert_eq!(abc[28..], [0xf2, 0x00, 0x15, 0xad]);
    }
}
