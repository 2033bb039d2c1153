// Binaries, tests and doctests that link libtorch must find it at run time without
// LD_LIBRARY_PATH, and torch-sys puts no rpath on the final link. DEP_TCH_LIBTORCH_LIB is the
// folder torch-sys linked against (its build script exports it):
//   - this crate's own tests and doctests get an rpath to it here;
//   - a crate that depends on this one reads it back as DEP_METRIC_LEARNING_LIBTORCH_LIB (this
//     package declares `links = "metric_learning"` for that) and sets the same rpath in its own
//     three-line build script: examples/build.rs, and the README's "Use it in your own project".
// With the full wheel set (CUDA), binaries keep libtorch_cuda (see `has_cuda`).
// It compiles csrc/autocast.cpp (mixed precision) against the same libtorch, and with the
// `distributed` feature csrc/c10d.cpp too.
fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    if let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
        println!("cargo:libtorch_lib={lib}");
        if has_cuda(std::path::Path::new(&lib)) {
            // libtorch_cuda registers CUDA with libtorch when it loads, but nothing calls into it,
            // so the linker's --as-needed would drop it and CUDA would never be found. Dependents
            // read DEP_METRIC_LEARNING_CUDA and add the same argument (examples/build.rs).
            println!("cargo:rustc-link-arg={CUDA_LINK_ARG}");
            println!("cargo:cuda={CUDA_LINK_ARG}");
        }
        autocast_shim(std::path::Path::new(&lib));
        #[cfg(feature = "distributed")]
        c10d_shim(std::path::Path::new(&lib));
    }
}

/// Keeps libtorch_cuda among the binary's libraries.
const CUDA_LINK_ARG: &str = "-Wl,--no-as-needed,-ltorch_cuda,--as-needed";

/// Whether the wheel set has CUDA: libtorch_cuda, and the NVIDIA libraries it needs beside the
/// wheel (`ML_TORCH_FULL=1 scripts/setup` installs them; the slim install has libtorch_cuda
/// but not cuDNN or cuBLAS, so linking it there would fail).
fn has_cuda(lib: &std::path::Path) -> bool {
    let nvidia = lib.parent().and_then(|torch| torch.parent()).map(|packages| packages.join("nvidia"));
    lib.join("libtorch_cuda.so").exists() && nvidia.is_some_and(|n| n.join("cudnn").exists())
}

/// libtorch's wheel headers, beside its `lib` folder.
fn torch_include(lib: &std::path::Path) -> std::path::PathBuf {
    lib.parent().map(|torch| torch.join("include")).unwrap_or_default()
}

/// The shim over libtorch's autocast switches (tch exposes CUDA's only).
fn autocast_shim(lib: &std::path::Path) {
    println!("cargo:rerun-if-changed=csrc/autocast.cpp");
    cc::Build::new()
        .cpp(true)
        .std("c++17")
        .file("csrc/autocast.cpp")
        .include(torch_include(lib))
        .define("_GLIBCXX_USE_CXX11_ABI", "1")
        .warnings(false)
        .compile("ml_autocast");
    println!("cargo:rustc-link-lib=dylib=torch_cpu");
    println!("cargo:rustc-link-lib=dylib=c10");
}

/// The shim over c10d's TCPStore and ProcessGroupGloo. The wheel ships c10d's headers but not
/// Gloo's, which ProcessGroupGloo.hpp includes; the symbols are all in libtorch_cpu, so the
/// shim links that and c10 only (not libtorch, which would pull in libtorch_cuda).
#[cfg(feature = "distributed")]
fn c10d_shim(lib: &std::path::Path) {
    println!("cargo:rerun-if-changed=csrc/c10d.cpp");
    let gloo = std::path::Path::new("/usr/include/gloo/config.h");
    if !gloo.exists() {
        panic!("the `distributed` feature needs Gloo's C++ headers ({} is missing): run scripts/setup, which installs Debian's libgloo-dev", gloo.display());
    }
    let include = torch_include(lib);
    cc::Build::new()
        .cpp(true)
        .std("c++17")
        .file("csrc/c10d.cpp")
        .include(&include)
        .include(include.join("torch/csrc/api/include"))
        // The wheel is built with the new C++ ABI and with Gloo.
        .define("_GLIBCXX_USE_CXX11_ABI", "1")
        .define("USE_C10D_GLOO", None)
        // libtorch's headers warn by the hundred under -Wall; the shim's own code is small.
        .warnings(false)
        .compile("ml_c10d");
    println!("cargo:rustc-link-lib=dylib=torch_cpu");
    println!("cargo:rustc-link-lib=dylib=c10");
}
