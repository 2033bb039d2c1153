// Binaries, tests and doctests that link libtorch must find it at run time without
// LD_LIBRARY_PATH, and torch-sys puts no rpath on the final link. DEP_TCH_LIBTORCH_LIB is the
// folder torch-sys linked against (its build script exports it):
//   - this crate's own tests and doctests get an rpath to it here;
//   - a crate that depends on this one reads it back as DEP_METRIC_LEARNING_LIBTORCH_LIB (this
//     package declares `links = "metric_learning"` for that) and sets the same rpath in its own
//     three-line build script: examples/build.rs, and the README's "Use it in your own project".
fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    if let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
        println!("cargo:libtorch_lib={lib}");
    }
}
