//! Panics from tch turned into errors. Many of tch's methods unwrap libtorch's error (a shape
//! mismatch in `matmul`, a dtype mismatch in `linear`), and modules built from `tch::nn` have no
//! fallible form; a user's model or data must not bring the program down. `catch` runs such
//! code and returns the panic's message as an error, and keeps the default hook from printing
//! it, since the error carries it.

use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

thread_local! {
    static CATCHING: Cell<usize> = const { Cell::new(0) };
}

/// Runs `f`; a panic inside it becomes `Err(message)`.
pub(crate) fn catch<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    install_quiet_hook();
    CATCHING.with(|depth| depth.set(depth.get() + 1));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    CATCHING.with(|depth| depth.set(depth.get() - 1));
    result.map_err(|payload| {
        let text = payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "a panic without a message".to_string());
        first_line(&text)
    })
}

/// Runs a fallible `f`; a panic inside it becomes [`Error::Panic`](crate::Error::Panic).
pub(crate) fn run<T>(f: impl FnOnce() -> crate::Result<T>) -> crate::Result<T> {
    catch(f).unwrap_or_else(|panic| Err(crate::Error::Panic(panic)))
}

/// libtorch's messages carry a C++ backtrace after the first line; the first line says it. tch
/// panics with the error's `Debug` form, so that line ends at an escaped `\n` (or the closing
/// `")`) rather than a real newline.
fn first_line(text: &str) -> String {
    let text = text.strip_prefix("called `Result::unwrap()` on an `Err` value: ").unwrap_or(text);
    let text = text.strip_prefix("Torch(\"").unwrap_or(text);
    let line = text.lines().next().unwrap_or("");
    let line = line.split("\\n").next().unwrap_or(line);
    line.trim_end_matches("\")").to_string()
}

/// Wraps the process's panic hook once: panics caught by `catch` on this thread are not
/// printed; every other panic goes to the previous hook as before.
fn install_quiet_hook() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if CATCHING.with(Cell::get) == 0 {
                previous(info);
            }
        }));
    });
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_panic_becomes_its_first_line() {
        let caught = super::catch(|| -> i32 { panic!("shapes differ\nbacktrace line") });
        assert_eq!(caught, Err("shapes differ".to_string()));
        assert_eq!(super::catch(|| 3), Ok(3));
        let tch_style = super::catch(|| -> i32 {
            panic!("called `Result::unwrap()` on an `Err` value: Torch(\"shapes differ\\nException raised from meta\\nframe #0\")")
        });
        assert_eq!(tch_style, Err("shapes differ".to_string()));
    }
}
