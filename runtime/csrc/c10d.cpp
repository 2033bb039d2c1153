// The C side of `distributed`: PyTorch's own c10d (a TCPStore for the rendezvous and
// ProcessGroupGloo for the collectives), behind a C interface that never lets a C++ exception
// cross into Rust. Every function returns null (or 0) on success and a message the caller frees
// with ml_c10d_free_error otherwise. Tensors are tch's (`at::Tensor*`, torch-sys's `tensor`).
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <c10/util/Logging.h>

#include <chrono>
#include <cstring>
#include <string>
#include <vector>

namespace {

struct Group {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> gloo;
  std::chrono::milliseconds timeout;
};

char* message(const std::string& text) {
  char* out = static_cast<char*>(std::malloc(text.size() + 1));
  if (out != nullptr) {
    std::memcpy(out, text.c_str(), text.size() + 1);
  }
  return out;
}

// c10's messages end with a C++ backtrace after the first line break in some builds; the
// first paragraph is what a user can act on.
std::string first_paragraph(const char* what) {
  std::string text(what);
  auto cut = text.find("\nException raised from");
  return cut == std::string::npos ? text : text.substr(0, cut);
}

template <typename F>
char* guarded(F&& body) {
  try {
    body();
    return nullptr;
  } catch (const std::exception& e) {
    return message(first_paragraph(e.what()));
  } catch (...) {
    return message("an unknown C++ exception");
  }
}

void wait(Group* group, const c10::intrusive_ptr<c10d::Work>& work) {
  work->wait(group->timeout);
}

}  // namespace

extern "C" {

void ml_c10d_free_error(char* error) { std::free(error); }

// The store: rank 0 serves it on `port` of `host`, the others connect (retrying until
// `timeout_ms`).
char* ml_c10d_store_new(const char* host, uint16_t port, int rank, int world_size, int64_t timeout_ms, void** out) {
  return guarded([&] {
    // Reads TORCH_CPP_LOG_LEVEL, as Python's torch does at import (a C++ program must ask).
    c10::initLogging();
    c10d::TCPStoreOptions options;
    options.port = port;
    options.isServer = rank == 0;
    options.numWorkers = static_cast<size_t>(world_size);
    // The wait for every worker is ours (ml_c10d_arrivals), to name the ranks that are missing.
    options.waitWorkers = false;
    options.timeout = std::chrono::milliseconds(timeout_ms);
    auto* store = new c10::intrusive_ptr<c10d::Store>(c10::make_intrusive<c10d::TCPStore>(std::string(host), options));
    *out = store;
  });
}

void ml_c10d_store_free(void* store) { delete static_cast<c10::intrusive_ptr<c10d::Store>*>(store); }

// Adds one to `key` and returns the new count (a duplicated rank shows as a count above one).
char* ml_c10d_store_add(void* store, const char* key, int64_t value, int64_t* out) {
  return guarded([&] { *out = (*static_cast<c10::intrusive_ptr<c10d::Store>*>(store))->add(std::string(key), value); });
}

// Whether every key is set, without waiting.
char* ml_c10d_store_check(void* store, const char* const* keys, int64_t count, int* out) {
  return guarded([&] {
    std::vector<std::string> names(keys, keys + count);
    *out = (*static_cast<c10::intrusive_ptr<c10d::Store>*>(store))->check(names) ? 1 : 0;
  });
}

// The process group over the store, its collectives bounded by `timeout_ms`.
char* ml_c10d_gloo_new(void* store, const char* host, int rank, int world_size, int64_t timeout_ms, void** out) {
  return guarded([&] {
    auto timeout = std::chrono::milliseconds(timeout_ms);
    auto options = c10d::ProcessGroupGloo::Options::create(timeout);
    // The given address, not the machine's hostname, which need not resolve in a container.
    options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(std::string(host)));
    auto prefixed = c10::make_intrusive<c10d::PrefixStore>("ml/gloo", *static_cast<c10::intrusive_ptr<c10d::Store>*>(store));
    auto* group = new Group{prefixed, c10::make_intrusive<c10d::ProcessGroupGloo>(prefixed, rank, world_size, options), timeout};
    *out = group;
  });
}

void ml_c10d_gloo_free(void* group) { delete static_cast<Group*>(group); }

// Sums `tensor` over the ranks, in place.
char* ml_c10d_allreduce_sum(void* group, at::Tensor* tensor) {
  return guarded([&] {
    auto* g = static_cast<Group*>(group);
    std::vector<at::Tensor> tensors{*tensor};
    wait(g, g->gloo->allreduce(tensors, c10d::AllreduceOptions{}));
  });
}

// `tensor` as rank `root` holds it, on every rank, in place.
char* ml_c10d_broadcast(void* group, at::Tensor* tensor, int root) {
  return guarded([&] {
    auto* g = static_cast<Group*>(group);
    std::vector<at::Tensor> tensors{*tensor};
    c10d::BroadcastOptions options;
    options.rootRank = root;
    wait(g, g->gloo->broadcast(tensors, options));
  });
}

// Every rank's `input` (all of one shape) into `output`, (world_size * rows, ...) in rank order.
char* ml_c10d_allgather(void* group, at::Tensor* input, at::Tensor* output) {
  return guarded([&] {
    auto* g = static_cast<Group*>(group);
    std::vector<at::Tensor> inputs{*input};
    std::vector<std::vector<at::Tensor>> outputs{output->chunk(g->gloo->getSize(), 0)};
    wait(g, g->gloo->allgather(outputs, inputs, c10d::AllgatherOptions{}));
  });
}

char* ml_c10d_barrier(void* group) {
  return guarded([&] {
    auto* g = static_cast<Group*>(group);
    wait(g, g->gloo->barrier(c10d::BarrierOptions{}));
  });
}

}  // extern "C"
