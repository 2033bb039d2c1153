// Every builder answers `.tuple_miner(...)` and `.subset_batch_miner(...)`. A trainer that
// declares no such key gets a method bounded by a trait the miner does not implement, so that
// setting one reads "trainer `TwoStreamMetricLoss` does not accept a `subset_batch_miner`"
// instead of "no method named `subset_batch_miner` found for struct `...`".

use crate::model::Trainer;
use crate::symbol::{ENGINE_MINER_SLOTS, TUPLE_MINER};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

pub fn emit(trainer: &Trainer) -> TokenStream {
    let krate = &trainer.crate_path;
    let ident = trainer.ident;
    ENGINE_MINER_SLOTS
        .iter()
        .filter(|slot| !trainer.has_key(slot))
        .map(|slot| {
            let method = format_ident!("{slot}");
            let refusal = if *slot == TUPLE_MINER {
                quote!(#krate::builder::AcceptedAsTupleMinerBy<#ident>)
            } else {
                quote!(#krate::builder::AcceptedAsSubsetBatchMinerBy<#ident>)
            };
            quote! {
                #[doc(hidden)]
                pub fn #method<M: #refusal>(self, miner: M) -> Self {
                    let _ = miner;
                    self
                }
            }
        })
        .collect()
}
