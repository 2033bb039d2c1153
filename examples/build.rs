// The build script the README gives a project that depends on metric-learning: an rpath to the
// libtorch it linked, so that binaries, tests and examples start without LD_LIBRARY_PATH; and,
// when that libtorch has CUDA, the argument that keeps libtorch_cuda linked, so that
// `Device::cuda_if_available()` finds the GPU.
fn main() {
    if let Ok(lib) = std::env::var("DEP_METRIC_LEARNING_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
    }
    if let Ok(cuda) = std::env::var("DEP_METRIC_LEARNING_CUDA") {
        println!("cargo:rustc-link-arg={cuda}");
    }
}
