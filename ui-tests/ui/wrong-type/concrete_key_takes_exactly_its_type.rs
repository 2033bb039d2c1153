use metric_learning::losses::ContrastiveLoss;
use metric_learning::trainers::DeepAdversarialMetricLearning;

fn main() {
    let _builder = DeepAdversarialMetricLearning::builder().g_adv_loss(ContrastiveLoss::new());
}
