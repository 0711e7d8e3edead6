//! Signing a bundle's digest line with an OpenSSH key, in OpenSSH's own signature format
//! (`SSHSIG`, what `ssh-keygen -Y sign` writes), and checking such a signature against an
//! `allowed_signers` file (the format `ssh-keygen -Y verify` reads). The namespace is
//! `beacon-blackbox`: a signature made for anything else never verifies here, and ours never
//! verifies as anything else. Because the format is OpenSSH's, nobody has to trust this
//! binary: `blackbox digest | ssh-keygen -Y verify -f allowed_signers -I ID -n beacon-blackbox
//! -s B.redb.sig` checks the same signature.
//!
//! Keys: Ed25519 and ECDSA (P-256, P-384), unencrypted or with a passphrase read from the
//! environment (never a flag: a command line is visible to every user of the machine).

use ssh_key::{HashAlg, LineEnding, PrivateKey, PublicKey, SshSig};
use std::path::Path;

/// The signature namespace of bundles.
pub const NAMESPACE: &str = "beacon-blackbox";

/// The environment variable holding the passphrase of an encrypted signing key.
pub const PASSPHRASE_ENV: &str = "BLACKBOX_SIGN_PASSPHRASE";

#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("cannot read the signing key {path}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not an OpenSSH private key ({why})")]
    NotKey { path: String, why: String },
    #[error(
        "{path} is encrypted: put its passphrase in {PASSPHRASE_ENV} (not on the command line)"
    )]
    Encrypted { path: String },
    #[error("{path}: the passphrase in {PASSPHRASE_ENV} does not open it")]
    Passphrase { path: String },
    #[error("signing with {path} failed ({why}); use an Ed25519 or ECDSA key")]
    Sign { path: String, why: String },
}

/// A signing key, read and opened before anything is written.
pub struct Signer {
    key: PrivateKey,
    shown: String,
}

impl Signer {
    /// The OpenSSH private key at `path` (its passphrase from `PASSPHRASE_ENV` when encrypted).
    pub fn load(path: &Path) -> Result<Signer, SignError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| SignError::Read {
            path: shown.clone(),
            source,
        })?;
        let mut key = PrivateKey::from_openssh(&text).map_err(|e| SignError::NotKey {
            path: shown.clone(),
            why: e.to_string(),
        })?;
        if key.is_encrypted() {
            let pass = std::env::var(PASSPHRASE_ENV)
                .ok()
                .filter(|p| !p.is_empty())
                .ok_or_else(|| SignError::Encrypted {
                    path: shown.clone(),
                })?;
            key = key
                .decrypt(pass.as_bytes())
                .map_err(|_| SignError::Passphrase {
                    path: shown.clone(),
                })?;
        }
        // Refused now, not after the bundle is written: a key type we cannot sign with.
        let s = Signer { key, shown };
        s.sign(b"probe")?;
        Ok(s)
    }

    /// The key's SHA-256 fingerprint (`SHA256:...`, as `ssh-keygen -l` prints it).
    pub fn fingerprint(&self) -> String {
        self.key
            .public_key()
            .fingerprint(HashAlg::Sha256)
            .to_string()
    }

    /// The armored signature (`-----BEGIN SSH SIGNATURE-----`) of `message`.
    pub fn sign(&self, message: &[u8]) -> Result<String, SignError> {
        let sig = self
            .key
            .sign(NAMESPACE, HashAlg::Sha512, message)
            .map_err(|e| SignError::Sign {
                path: self.shown.clone(),
                why: e.to_string(),
            })?;
        sig.to_pem(LineEnding::LF).map_err(|e| SignError::Sign {
            path: self.shown.clone(),
            why: e.to_string(),
        })
    }
}

/// Who signed: the principals of the allowed signer whose key made the signature.
#[derive(Debug, Clone, PartialEq)]
pub struct Signed {
    pub principals: String,
    pub fingerprint: String,
}

/// The key a signature names (whether or not it is allowed), as a fingerprint.
pub fn signer(armored: &str) -> Result<String, String> {
    let sig = SshSig::from_pem(armored).map_err(|e| format!("unreadable signature: {e}"))?;
    Ok(PublicKey::from(sig.public_key().clone())
        .fingerprint(HashAlg::Sha256)
        .to_string())
}

/// Checks `armored` over `message` against the keys of an `allowed_signers` file: the
/// signature must be valid, in our namespace, by a key the file lists for it.
pub fn verify(armored: &str, message: &[u8], allowed_signers: &str) -> Result<Signed, String> {
    let sig = SshSig::from_pem(armored).map_err(|e| format!("unreadable signature: {e}"))?;
    if sig.namespace() != NAMESPACE {
        return Err(format!(
            "the signature is for namespace {:?}, not {NAMESPACE:?}",
            sig.namespace()
        ));
    }
    let key = PublicKey::from(sig.public_key().clone());
    let fingerprint = key.fingerprint(HashAlg::Sha256).to_string();
    let allowed = allowed_signers_of(allowed_signers)
        .into_iter()
        .find(|a| a.key.key_data() == key.key_data())
        .ok_or_else(|| format!("the signing key {fingerprint} is not in the allowed signers"))?;
    if let Some(ns) = &allowed.namespaces
        && !ns.split(',').any(|n| n.trim() == NAMESPACE)
    {
        return Err(format!(
            "the allowed signers let {} sign only for {ns}",
            allowed.principals
        ));
    }
    key.verify(NAMESPACE, message, &sig)
        .map_err(|_| "the signature does not match the bundle's digest: the bundle changed after it was signed".to_string())?;
    Ok(Signed {
        principals: allowed.principals,
        fingerprint,
    })
}

/// One line of an `allowed_signers` file.
struct Allowed {
    principals: String,
    namespaces: Option<String>,
    key: PublicKey,
}

/// The lines of an `allowed_signers` file (ssh-keygen(1), ALLOWED SIGNERS): principals,
/// options, a key; comments and lines it cannot read are left out (a line that is not a
/// signer allows nothing). `cert-authority` lines are not supported and allow nothing.
fn allowed_signers_of(text: &str) -> Vec<Allowed> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((principals, rest)) = line.split_once(char::is_whitespace) else {
            continue;
        };
        let mut rest = rest.trim_start();
        let mut namespaces = None;
        let mut authority = false;
        // Options until the key: `namespaces="a,b"`, `valid-after=...`, `cert-authority`.
        while !rest.starts_with("ssh-") && !rest.starts_with("ecdsa-") && !rest.is_empty() {
            let (opt, after) = split_option(rest);
            if opt == "cert-authority" {
                authority = true;
            } else if let Some(v) = opt.strip_prefix("namespaces=") {
                namespaces = Some(v.trim_matches('"').to_string());
            }
            rest = after.trim_start();
        }
        if authority {
            continue;
        }
        if let Ok(key) = PublicKey::from_openssh(rest) {
            out.push(Allowed {
                principals: principals.to_string(),
                namespaces,
                key,
            });
        }
    }
    out
}

/// One option and the rest: up to the first blank outside quotes.
fn split_option(s: &str) -> (&str, &str) {
    let mut quoted = false;
    for (i, c) in s.char_indices() {
        match c {
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => return (&s[..i], &s[i..]),
            _ => {}
        }
    }
    (s, "")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> PrivateKey {
        PrivateKey::random(&mut ssh_key::rand_core::OsRng, ssh_key::Algorithm::Ed25519).unwrap()
    }

    #[test]
    fn a_signature_verifies_only_with_its_message_namespace_and_an_allowed_key() {
        let k = key();
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("id");
        std::fs::write(&path, k.to_openssh(LineEnding::LF).unwrap().as_bytes()).unwrap();
        let s = Signer::load(&path).unwrap();
        let (sig, fp) = (s.sign(b"line\n").unwrap(), s.fingerprint());
        assert!(sig.starts_with("-----BEGIN SSH SIGNATURE-----"));
        let pubkey = k.public_key().to_openssh().unwrap();
        let allowed = format!("# a comment\nops@example.org {pubkey}\n");
        let ok = verify(&sig, b"line\n", &allowed).unwrap();
        assert_eq!(ok.principals, "ops@example.org");
        assert_eq!(ok.fingerprint, fp);
        assert_eq!(signer(&sig).unwrap(), fp);
        assert!(
            verify(&sig, b"other\n", &allowed).is_err(),
            "another message"
        );
        let other = key().public_key().to_openssh().unwrap();
        assert!(
            verify(&sig, b"line\n", &format!("x {other}\n")).is_err(),
            "another key"
        );
        let limited = format!("ops namespaces=\"git,file\" {pubkey}\n");
        assert!(
            verify(&sig, b"line\n", &limited)
                .unwrap_err()
                .contains("only for")
        );
        let ours = format!("ops namespaces=\"beacon-blackbox\" {pubkey}\n");
        assert!(verify(&sig, b"line\n", &ours).is_ok());
        // A signature for another namespace.
        let git = k.sign("git", HashAlg::Sha512, b"line\n").unwrap();
        let git = git.to_pem(LineEnding::LF).unwrap();
        assert!(
            verify(&git, b"line\n", &allowed)
                .unwrap_err()
                .contains("namespace")
        );
    }
}
