//! A wrapper is its inner loss or miner to the engine: parameters, modes, records, key and state.

/// `Component` for `$ty`, forwarding every method to its field `$inner`.
macro_rules! component_of_inner {
    ($ty:ident, $bound:path, $inner:ident) => {
        impl<X: $bound> $crate::component::Component for $ty<X> {
            fn var_store(&self) -> Option<&tch::nn::VarStore> {
                self.$inner.var_store()
            }
            fn set_training(&mut self, training: bool) {
                self.$inner.set_training(training)
            }
            fn records(&self) -> Vec<$crate::component::Record> {
                self.$inner.records()
            }
            fn bind_key(&mut self, key: &str) {
                self.$inner.bind_key(key)
            }
            fn as_any(&self) -> Option<&dyn std::any::Any> {
                self.$inner.as_any()
            }
            fn state(&self) -> Vec<(String, tch::Tensor)> {
                self.$inner.state()
            }
            fn load_state(&mut self, state: Vec<(String, tch::Tensor)>) -> Result<(), String> {
                self.$inner.load_state(state)
            }
        }
    };
}
pub(super) use component_of_inner;
