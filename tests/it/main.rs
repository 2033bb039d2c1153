//! Integration tests: they link libtorch and train on real and synthetic data.

mod adversarial;
mod augmentations;
mod bad_input;
mod declarations;
mod engine;
mod learning;
mod pml_cases;
mod precision;
mod schedules;
mod stock_trainers;
