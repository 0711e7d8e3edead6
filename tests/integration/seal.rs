//! Issue 27: a seal that means something. A bundle signed with an OpenSSH key verifies with
//! `verify --allowed-signers` and with OpenSSH's own `ssh-keygen -Y verify` (Debian's
//! `openssh-client`); a manifest forged through redb's own API — any field changed and the
//! unkeyed digest computed anew, or the format set back — fails both. Without a key the
//! seal is said to be what it is, and `--expect` compares it with a digest kept elsewhere.

use super::common::*;
use beacon_blackbox::store::bundle;
use redb::{ReadableDatabase, ReadableTable};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn ssh_keygen() -> Option<PathBuf> {
    let ok = Command::new("ssh-keygen")
        .arg("-?")
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if ok {
        Some(PathBuf::from("ssh-keygen"))
    } else {
        eprintln!("SKIPPED: ssh-keygen is not installed (.ci/run installs openssh-client)");
        None
    }
}

/// An Ed25519 key made by OpenSSH, and an allowed_signers file naming it.
fn new_key(dir: &Path) -> (PathBuf, PathBuf) {
    let key = dir.join("id_ed25519");
    let st = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "ops", "-f"])
        .arg(&key)
        .status()
        .unwrap();
    assert!(st.success());
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    let allowed = dir.join("allowed_signers");
    std::fs::write(
        &allowed,
        format!("ops@example.org namespaces=\"beacon-blackbox\" {public}"),
    )
    .unwrap();
    (key, allowed)
}

/// `blackbox digest | ssh-keygen -Y verify ...`: OpenSSH alone judges the bundle.
fn openssh_verifies(bundle: &Path, allowed: &Path, sig: &Path) -> bool {
    let line = bb(bundle, &["digest"]);
    if line.code != 0 {
        return false;
    }
    let mut child = Command::new("ssh-keygen")
        .args(["-Y", "verify", "-f"])
        .arg(allowed)
        .args(["-I", "ops@example.org", "-n", "beacon-blackbox", "-s"])
        .arg(sig)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(line.stdout.as_bytes())
        .unwrap();
    child.wait().unwrap().success()
}

/// A change to a manifest.
type Edit = dyn Fn(&mut serde_json::Value);

/// Changes the bundle through redb: `edit` gets its manifest as JSON; the unkeyed digest is
/// computed anew and kept, as a forger with this library would.
fn forge(bundle: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let db = redb::Database::open(bundle).unwrap();
    let txn = db.begin_write().unwrap();
    {
        let mut meta = txn
            .open_table(beacon_blackbox::store::schema::META)
            .unwrap();
        let mut m: serde_json::Value =
            serde_json::from_slice(meta.get("manifest").unwrap().unwrap().value()).unwrap();
        edit(&mut m);
        meta.insert("manifest", serde_json::to_vec(&m).unwrap().as_slice())
            .unwrap();
    }
    txn.commit().unwrap();
    let d = bundle::digest(&db.begin_read().unwrap()).unwrap();
    let txn = db.begin_write().unwrap();
    txn.open_table(beacon_blackbox::store::schema::META)
        .unwrap()
        .insert("digest", d.as_bytes())
        .unwrap();
    txn.commit().unwrap();
}

#[test]
fn a_signed_bundle_verifies_here_and_with_openssh_and_a_forgery_fails_both() {
    let Some(_) = ssh_keygen() else { return };
    let (d, db, _) = record_scenario("classic", 30.0);
    let (key, allowed) = new_key(d.path());
    let allowed_arg = allowed.to_str().unwrap();
    let b = d.path().join("INC-42.redb");
    let out = bb(
        &db,
        &[
            "cut",
            "--from",
            "5",
            "--to",
            "20",
            "--sign",
            key.to_str().unwrap(),
            "--out",
            b.to_str().unwrap(),
        ],
    )
    .ok();
    assert!(out.stdout.contains("signed by SHA256:"), "{}", out.stdout);
    let sig = d.path().join("INC-42.redb.sig");
    assert!(
        std::fs::read_to_string(&sig)
            .unwrap()
            .starts_with("-----BEGIN SSH SIGNATURE-----")
    );
    let v = bb(&b, &["verify", "--allowed-signers", allowed_arg]).ok();
    assert!(
        v.stdout.contains("signed by ops@example.org"),
        "{}",
        v.stdout
    );
    assert!(
        openssh_verifies(&b, &allowed, &sig),
        "OpenSSH verifies our signature"
    );

    // Forgeries, each on a fresh copy: a field changed (digest recomputed), the format set
    // back, a field this version does not know, the same manifest written out again.
    let forgeries: Vec<(&str, Box<Edit>)> = vec![
        (
            "from",
            Box::new(|m| m["from"] = "2020-01-01T00:00:00Z".into()),
        ),
        (
            "counts",
            Box::new(|m| m["counts"]["snapshots"] = 999.into()),
        ),
        (
            "jobs",
            Box::new(|m| m["jobs"] = serde_json::json!(["another-job"])),
        ),
        (
            "recording",
            Box::new(|m| m["source_recording_id"] = "00000000000000000000000000000000".into()),
        ),
        (
            "format 2",
            Box::new(|m| m["format"] = "beacon-blackbox bundle 2".into()),
        ),
        (
            "format 1",
            Box::new(|m| m["format"] = "beacon-blackbox bundle 1".into()),
        ),
        (
            "unknown field",
            Box::new(|m| m["approved_by"] = "the incident commander".into()),
        ),
    ];
    for (what, edit) in forgeries {
        let f = d
            .path()
            .join(format!("forged-{}.redb", what.replace(' ', "-")));
        std::fs::copy(&b, &f).unwrap();
        forge(&f, edit);
        let v = bb(&f, &["verify", "--allowed-signers", allowed_arg]);
        assert_eq!(v.code, 1, "{what}: {}", v.stdout);
        assert!(
            !openssh_verifies(&f, &allowed, &sig),
            "{what}: OpenSSH refuses it too"
        );
        // Without a key, the manifest's facts still fail against the content (except a
        // re-serialised one, which only the digest or a signature can tell).
        let plain = bb(&f, &["verify"]);
        assert_eq!(plain.code, 1, "{what} without a key: {}", plain.stdout);
    }
    // Deleted manifest: a plain recording, unless a seal is asked for.
    let f = d.path().join("no-manifest.redb");
    std::fs::copy(&b, &f).unwrap();
    {
        let db = redb::Database::open(&f).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(beacon_blackbox::store::schema::META)
            .unwrap()
            .remove("manifest")
            .unwrap();
        txn.commit().unwrap();
    }
    assert_eq!(bb(&f, &["verify", "--sealed"]).code, 1);
    assert_eq!(
        bb(&f, &["verify", "--allowed-signers", allowed_arg]).code,
        1
    );
    // Another key's signature does not verify against these allowed signers.
    let other = d.path().join("other");
    std::fs::create_dir(&other).unwrap();
    let (key2, _) = new_key(&other);
    let b2 = d.path().join("other.redb");
    bb(
        &db,
        &[
            "cut",
            "--from",
            "5",
            "--to",
            "6",
            "--sign",
            key2.to_str().unwrap(),
            "--out",
            b2.to_str().unwrap(),
        ],
    )
    .ok();
    let v = bb(&b2, &["verify", "--allowed-signers", allowed_arg]);
    assert_eq!(v.code, 1);
    assert!(
        v.stdout.contains("not in the allowed signers"),
        "{}",
        v.stdout
    );
}

/// Without a key: the seal is called a checksum, `--expect` compares it with the digest
/// printed at the cut, and `verify --sealed` refuses a plain recording.
#[test]
fn an_unsigned_seal_is_a_checksum_compared_with_a_digest_kept_elsewhere() {
    let (d, db, _) = record_scenario("classic", 30.0);
    let b = d.path().join("b.redb");
    let out = bb(
        &db,
        &[
            "cut",
            "--from",
            "1",
            "--to",
            "4",
            "--out",
            b.to_str().unwrap(),
        ],
    )
    .ok();
    assert!(
        out.stdout
            .contains("not signed: the digest is a checksum against damage, not proof"),
        "{}",
        out.stdout
    );
    let line = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("digest: "))
        .unwrap()
        .to_string();
    assert_eq!(bb(&b, &["digest"]).ok().stdout.trim(), line);
    let v = bb(&b, &["verify", "--expect", &line]).ok();
    assert!(
        v.stdout.contains("not signed: its digest is a checksum"),
        "{}",
        v.stdout
    );
    let wrong = "0".repeat(64);
    assert_eq!(bb(&b, &["verify", "--expect", &wrong]).code, 1);
    // A forged manifest with the digest recomputed passes a keyless check of the digest, but
    // not one kept elsewhere.
    forge(&b, |m| m["created_by"] = "someone else".into());
    assert_eq!(bb(&b, &["verify", "--expect", &line]).code, 1);
    assert_eq!(
        bb(&db, &["verify", "--sealed"]).code,
        1,
        "a recording has no seal"
    );
    bb(&db, &["digest"]).clean_failure();
}
