use crate::indices::{random_triplets, Tuples};
use crate::losses::{ClassifierLoss, MetricLoss, TripletMarginLoss};
use crate::miners::{OptionalMiner, TupleMiner};
use crate::trainer::InlineLoss;
use crate::{trainer, Error, Iteration, Model, Result, Step};
use tch::{Kind, Tensor};

/// Deep adversarial metric learning (Duan et al., 2018): a generator turns (anchor, positive,
/// negative) trunk outputs into synthetic hard negatives, trained to fool the metric
/// (`g_adv_loss`), to stay near the anchor (`g_hard_loss`) and near the real negative
/// (`g_reg_loss`); the metric learns from real tuples (`metric_loss`) and from the synthetic
/// ones (`synth_loss`). Epochs `1..=metric_alone_epochs` train the metric only, the next
/// `g_alone_epochs` the generator only, the rest both, in one backward pass. PML's
/// `DeepAdversarialMetricLearning`.
///
/// `g_adv_loss` is the user's `TripletMarginLoss`, turned into its adversarial form
/// ([`TripletMarginLoss::adversarial`]) by `build()`; the other losses are untouched. The
/// generator must take `3 x` the trunk's output width and return it; `build()` checks both.
#[trainer]
pub struct DeepAdversarialMetricLearning {
    /// The backbone.
    #[model]
    pub trunk: Model,
    /// Maps the trunk's output to the embedding; the identity when not set.
    #[model(optional = Model::identity())]
    pub embedder: Model,
    /// An optional classifier of the embeddings.
    #[model(optional)]
    pub classifier: Option<Model>,
    /// Maps concatenated (anchor, positive, negative) trunk outputs to a synthetic negative.
    #[model]
    pub generator: Model,
    /// The loss on real embeddings.
    #[loss]
    pub metric_loss: Box<dyn MetricLoss>,
    /// The classifier's loss.
    #[loss(optional)]
    pub classifier_loss: Option<Box<dyn ClassifierLoss>>,
    /// The loss on the synthetic triplets, for the metric.
    #[loss]
    pub synth_loss: Box<dyn MetricLoss>,
    /// The generator's adversarial loss (made adversarial by `build()`).
    #[loss]
    pub g_adv_loss: TripletMarginLoss,
    /// Mean squared distance between each normalised synthetic negative and its anchor.
    #[loss(inline)]
    pub g_hard_loss: InlineLoss,
    /// Mean squared distance between each normalised synthetic negative and its real negative.
    #[loss(inline)]
    pub g_reg_loss: InlineLoss,
    /// Chooses the real tuples the metric loss sees.
    #[miner(optional)]
    pub tuple_miner: Option<Box<dyn TupleMiner>>,
    /// Epochs that train the metric alone, first.
    #[param(default = 0)]
    pub metric_alone_epochs: usize,
    /// Epochs that train the generator alone, next.
    #[param(default = 0)]
    pub g_alone_epochs: usize,
    /// Random real triplets per anchor the generator starts from.
    #[param(default = 100)]
    pub g_triplets_per_anchor: i64,
}

/// Which parts train in an epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PhaseKind {
    MetricAlone,
    GeneratorAlone,
    Both,
}

impl DeepAdversarialMetricLearning {
    fn phase(&self, epoch: usize) -> PhaseKind {
        if epoch <= self.metric_alone_epochs {
            PhaseKind::MetricAlone
        } else if epoch <= self.metric_alone_epochs + self.g_alone_epochs {
            PhaseKind::GeneratorAlone
        } else {
            PhaseKind::Both
        }
    }

    fn unit_rows(x: &Tensor) -> Tensor {
        x / x.norm_scalaropt_dim(2, [1i64].as_slice(), true).clamp_min(1e-12)
    }

    /// The synthetic step: real triplets of trunk outputs, the generator's negatives, and the
    /// synthetic and generator losses on them.
    fn synthesise(&mut self, it: &mut Iteration<'_, Self>, trunk_output: &Tensor, labels: &Tensor, both: bool) -> Result<()> {
        use DeepAdversarialMetricLearningLoss as L;
        let Tuples::Triplets { a, p, n } = random_triplets(labels, None, self.g_triplets_per_anchor) else {
            unreachable!("random_triplets returns triplets")
        };
        if a.numel() == 0 {
            return Ok(());
        }
        let (anchors, positives, negatives) =
            (trunk_output.f_index_select(0, &a)?, trunk_output.f_index_select(0, &p)?, trunk_output.f_index_select(0, &n)?);
        let synthetic = self.generator.forward(&Tensor::f_cat(&[&anchors, &positives, &negatives], 1)?)?;
        // [a0, p0, s0, a1, p1, s1, ...]: each synthetic negative packaged with its real pair.
        let width = anchors.size()[1];
        let packaged = Tensor::f_stack(&[&anchors, &positives, &synthetic], 1)?.f_reshape([-1, width])?;
        let embeddings = self.embedder.forward(&packaged)?;
        let packaged_labels =
            Tensor::f_stack(&[labels.f_index_select(0, &a)?, labels.f_index_select(0, &p)?, labels.f_index_select(0, &n)?], 1)?.f_reshape([-1])?;
        let count = a.numel() as i64;
        let step = |offset: i64| Tensor::arange_start_step(offset, 3 * count, 3, (Kind::Int64, embeddings.device()));
        let triplets = Tuples::Triplets { a: step(0), p: step(1), n: step(2) };
        if both {
            it.compute(L::SynthLoss, || self.synth_loss.compute(&embeddings, &packaged_labels, Some(&triplets)))?;
        }
        it.compute(L::GAdvLoss, || self.g_adv_loss.compute(&embeddings, &packaged_labels, Some(&triplets)))?;
        let synthetic_unit = Self::unit_rows(&synthetic);
        it.compute(L::GHardLoss, || Ok(synthetic_unit.f_mse_loss(&Self::unit_rows(&anchors), tch::Reduction::Mean)?))?;
        it.compute(L::GRegLoss, || Ok(synthetic_unit.f_mse_loss(&Self::unit_rows(&negatives), tch::Reduction::Mean)?))?;
        Ok(())
    }
}

impl Step for DeepAdversarialMetricLearning {
    fn embed(&self, data: &Tensor) -> Result<Tensor> {
        self.embedder.forward(&self.trunk.forward(data)?)
    }

    /// Makes `g_adv_loss` adversarial, and checks the models on one sample: the embeddings, and
    /// the generator's widths (it takes 3 x the trunk's output and returns the trunk's width).
    fn setup(&mut self, sample: &Tensor) -> Result<()> {
        self.g_adv_loss = std::mem::take(&mut self.g_adv_loss).adversarial();
        let _ = self.embed(sample)?;
        let width = self.trunk.forward(sample)?.size().last().copied().unwrap_or(0);
        let probe = Tensor::f_zeros([1, 3 * width], (sample.kind(), sample.device()))?;
        let output = self.generator.forward(&probe).map_err(|error| {
            Error::mismatch("generator", format!("to take 3 x the trunk's output width = {} features", 3 * width), error.root().to_string())
        })?;
        let produced = output.size().last().copied().unwrap_or(0);
        if produced != width {
            return Err(Error::mismatch(
                "generator",
                format!("to return the trunk's output width {width}"),
                format!("{produced} features"),
            ));
        }
        Ok(())
    }

    /// PML's phases: loss weights and which keys train follow the epoch; the engine puts the
    /// keys left out of a phase in eval mode (and keeps frozen ones frozen).
    fn begin_iteration(&mut self, phase: &mut crate::engine::Phase<'_, Self>) {
        use DeepAdversarialMetricLearningKey as K;
        use DeepAdversarialMetricLearningLoss as L;
        let kind = self.phase(phase.epoch());
        let (metric, adversarial) = (kind != PhaseKind::GeneratorAlone, kind != PhaseKind::MetricAlone);
        for (loss, on) in [
            (L::MetricLoss, metric),
            (L::ClassifierLoss, metric),
            (L::SynthLoss, kind == PhaseKind::Both),
            (L::GAdvLoss, adversarial),
            (L::GHardLoss, adversarial),
            (L::GRegLoss, adversarial),
        ] {
            let weight = if on { phase.configured_weight(loss) } else { 0.0 };
            phase.set_loss_weight(loss, weight);
        }
        for key in [K::Trunk, K::Embedder, K::Classifier] {
            phase.set_stepping(key, metric);
        }
        phase.set_stepping(K::Generator, adversarial);
    }

    fn calculate_loss(&mut self, it: &mut Iteration<'_, Self>, data: &Tensor, labels: &Tensor) -> Result<()> {
        use DeepAdversarialMetricLearningLoss as L;
        let kind = self.phase(it.epoch());
        let trunk_output = self.trunk.forward(data)?;
        if kind != PhaseKind::GeneratorAlone {
            let embeddings = self.embedder.forward(&trunk_output)?;
            it.compute(L::MetricLoss, || {
                let tuples = self.tuple_miner.mine_if_set(&embeddings, labels).map_err(|e| e.in_key("tuple_miner"))?;
                self.metric_loss.compute(&embeddings, labels, tuples.as_ref())
            })?;
            if let (Some(classifier), Some(loss)) = (&self.classifier, &mut self.classifier_loss) {
                it.compute(L::ClassifierLoss, || loss.compute(&classifier.forward(&embeddings)?, labels))?;
            }
        }
        if kind != PhaseKind::MetricAlone {
            self.synthesise(it, &trunk_output, labels, kind == PhaseKind::Both)?;
        }
        Ok(())
    }
}
