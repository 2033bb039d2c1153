// The C side of mixed precision: libtorch's autocast switches for a device type, which tch
// exposes for CUDA only (and under the deprecated names). Autocast's state is per thread, as in
// PyTorch. Device types are at::DeviceType's numbers; dtypes at::ScalarType's.
#include <ATen/autocast_mode.h>

#include <exception>

extern "C" {

// Turns autocast on for `device_type` with `dtype`, one nesting level deeper. Writes what was
// set before, for ml_autocast_exit; returns 0, or 1 when libtorch refused (an unknown device).
int ml_autocast_enter(int device_type, int dtype, int* was_enabled, int* was_dtype) {
  try {
    auto type = static_cast<at::DeviceType>(device_type);
    *was_enabled = at::autocast::is_autocast_enabled(type) ? 1 : 0;
    *was_dtype = static_cast<int>(at::autocast::get_autocast_dtype(type));
    at::autocast::set_autocast_enabled(type, true);
    at::autocast::set_autocast_dtype(type, static_cast<at::ScalarType>(dtype));
    at::autocast::increment_nesting();
    return 0;
  } catch (const std::exception&) {
    return 1;
  }
}

// Leaves the level ml_autocast_enter opened: restores what was set, and drops the cast copies
// of the weights when the outermost level closes (as torch.autocast's __exit__ does).
void ml_autocast_exit(int device_type, int was_enabled, int was_dtype) {
  try {
    auto type = static_cast<at::DeviceType>(device_type);
    if (at::autocast::decrement_nesting() == 0) {
      at::autocast::clear_cache();
    }
    at::autocast::set_autocast_enabled(type, was_enabled != 0);
    at::autocast::set_autocast_dtype(type, static_cast<at::ScalarType>(was_dtype));
  } catch (const std::exception&) {
  }
}

// Switches autocast for `device_type` on or off without a new level (the losses run in full
// precision inside an autocast step); returns whether it was on.
int ml_autocast_set_enabled(int device_type, int enabled) {
  try {
    auto type = static_cast<at::DeviceType>(device_type);
    int before = at::autocast::is_autocast_enabled(type) ? 1 : 0;
    at::autocast::set_autocast_enabled(type, enabled != 0);
    return before;
  } catch (const std::exception&) {
    return 0;
  }
}

}  // extern "C"
