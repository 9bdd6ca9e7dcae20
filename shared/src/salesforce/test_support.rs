//! Test helpers: the real Salesforce responses kept beside the repository, and a throwaway key.

use std::path::PathBuf;

/// RSA key pair generated for these tests only; it signs nothing outside them.
pub const TEST_PRIVATE_KEY: &str = include_str!("testdata/jwt-test-key.pem");
pub const TEST_PUBLIC_KEY: &str = include_str!("testdata/jwt-test-key.pub.pem");

/// `../shared/fixtures/salesforce` next to the repository root (CI checks it out beside the clone).
pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/salesforce")
}

/// A fixture's text. Panics loudly when the fixtures folder is missing, because these tests
/// assert against real Salesforce answers and must not pass vacuously.
pub fn fixture(name: &str) -> String {
    let dir = fixtures_dir();
    assert!(
        dir.is_dir(),
        "\n\n*** Salesforce fixtures not found at {} ***\n\
         These tests read real Salesforce responses from ../shared/fixtures/salesforce beside the \
         repository root. Check out the shared folder next to this clone.\n",
        dir.display()
    );
    let path = dir.join(name);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read Salesforce fixture {}: {e}", path.display()))
}
