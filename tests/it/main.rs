//! Integration tests: they link libtorch and train on real and synthetic data.

mod adversarial;
mod augmentations;
mod bad_input;
mod checkpoints;
mod declarations;
mod distributed;
mod engine;
mod errors;
mod evaluation;
mod hooks;
mod idx;
mod image_folder;
mod learning;
mod loader;
mod mixed_precision;
mod pml_cases;
mod precision;
mod rank_losses;
mod resume;
mod roles;
mod samplers;
mod schedules;
mod stock_trainers;
mod testers;
mod tuple_losses;
mod wrappers;
