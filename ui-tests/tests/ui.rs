// Compile-fail cases: each `ui/<category>/<case>.rs` must fail to compile with exactly the
// message in its `.stderr`. Regenerate with `TRYBUILD=overwrite cargo test --release
// --manifest-path ui-tests/Cargo.toml` on the pinned toolchain and review the diff like code.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("ui/*/*.rs");
}
