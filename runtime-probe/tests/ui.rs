//! What the attribute refuses, with the errors it gives (reviewed `.stderr` files), and
//! the signatures it must accept. Regenerate the expected errors with
//! `TRYBUILD=overwrite cargo test -p waitgraph --test ui` and review the diff.

#[test]
fn attribute_errors_and_tricky_signatures() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/fail/*.rs");
    cases.pass("tests/ui/pass/*.rs");
}
