// Binaries, tests and doctests that link this crate must find libtorch at run time without
// LD_LIBRARY_PATH: torch-sys puts no rpath on the final link, so we add one to the folder it
// linked against (DEP_TCH_LIBTORCH_LIB is exported by torch-sys's build script).
fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    if let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
    }
}
