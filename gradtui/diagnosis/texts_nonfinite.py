"""The why and the fix of each cause of a NaN or inf (see nonfinite_causes.py)."""

from __future__ import annotations

INPUT_WHY = (
    "The batch held the NaN or inf before any layer saw it: each layer's output, the loss "
    "and every gradient inherit it. The model and the optimizer did nothing wrong, so no "
    "learning rate or clipping changes this."
)
INPUT_FIX = (
    "Check the data and the loader: find the bad rows with torch.isnan(x).any(dim=1) (and, "
    "for a table, the columns with .any(dim=0)); fill or drop missing values before batching; "
    "a standardisation that divides by a column's std makes 0/0 where that column is "
    "constant, so add an eps to the std. An assert torch.isfinite(x).all() in the loader "
    "catches the next one where it is made."
)
TARGETS_WHY = (
    "The targets held the NaN or inf: the model's outputs were finite, the loss compared "
    "them with a NaN, and every gradient inherits it. No learning rate or clipping changes this."
)
TARGETS_FIX = (
    "Check the labels and targets in the data and the loader (torch.isnan(y).any()), fill "
    "or drop the missing ones, and assert torch.isfinite(y).all() where the batch is built."
)
WEIGHTS_WHY = (
    "The weights were not finite before the first step: the initialisation or the checkpoint "
    "they were loaded from already held the NaN or inf, so the very first forward pass did too."
)
WEIGHTS_FIX = (
    "Check the checkpoint (torch.isfinite(p).all() for each tensor of the state dict) and any "
    "custom init (a std divided by a fan of 0, a log of 0); re-initialise or reload."
)
UPDATE_GROWN_WHY = (
    "The gradients were finite but had grown large, and the optimizer's step in proportion "
    "to them pushed the weights past what their dtype can hold: the end of an explosion."
)
UPDATE_GROWN_FIX = (
    "Lower the learning rate (or warm it up) and clip the gradient norm "
    "(torch.nn.utils.clip_grad_norm_) so one step cannot run away; check the input's scale."
)
UPDATE_DECAY_WHY = (
    "Decoupled weight decay multiplies every weight by 1 - lr * weight_decay each step. Past "
    "2 that factor is below -1: the weights flip sign and grow every step, whatever the "
    "gradients, until they overflow."
)
UPDATE_DECAY_FIX = (
    "Make lr * weight_decay small (weight_decay 0.01-0.1 at the usual learning rates); a "
    "weight decay meant for a tiny learning rate does not suit a large one."
)
UPDATE_EPS_WHY = (
    "The gradients were finite and small, the weights are float16, and the optimizer's eps "
    "is below float16's smallest positive value (6e-8): it rounds to 0. Adam divides by "
    "sqrt(v) + eps, and v, the mean of squared gradients, underflows to 0 in float16 for any "
    "gradient under about 2.4e-4, so the step is m/0 = inf or 0/0 = NaN."
)
UPDATE_EPS_FIX = (
    "Keep the weights and the optimizer in float32 and train under torch.autocast (bfloat16, "
    "or float16 with torch.amp.GradScaler), or use bfloat16 weights (float32's range); if the "
    "weights must stay float16, raise eps to 1e-4 or more."
)
UPDATE_LR_WHY = (
    "The gradients were finite and small, yet one optimizer step made the weights non-finite: "
    "the step is the learning rate times the gradient (Adam's is about the learning rate "
    "itself), and this learning rate is large enough to push a weight past its dtype's range."
)
UPDATE_LR_FIX = (
    "Use a learning rate in the usual range (1e-4 to 1e-2 for Adam, up to about 1 for SGD), "
    "and check the schedule: a warm-up or a multiplier that compounds can reach a huge rate."
)
UPDATE_UNSURE_WHY = (
    "The gradients were finite and small, and the optimizer's update made the weights "
    "non-finite, but what was measured does not say which setting did it."
)
UPDATE_UNSURE_FIX = (
    "Check, in this order: the optimizer's eps against the weights' dtype (float16 rounds "
    "1e-8 to 0), the learning rate the schedule reached, lr * weight_decay (above 2 it grows "
    "the weights), and any code that edits p.data or .grad between backward and the step "
    "(a GradScaler that is not unscaled, a custom optimizer)."
)
FORWARD_MASK_WHY = (
    "A softmax over a row whose every entry was masked to -inf computes exp(-inf) / sum = "
    "0/0 = NaN for that row: a sequence that is all padding, or a padding mask and a causal "
    "mask that together leave a query nothing to attend to. The NaN then spreads to the loss "
    "and every gradient."
)
FORWARD_MASK_FIX = (
    "Fix the mask handling: make sure every row keeps at least one position (drop empty "
    "sequences, never mask a query from itself), fill masked scores with "
    "torch.finfo(scores.dtype).min instead of -inf, or set the fully masked rows to 0 after "
    "the softmax (torch.where(mask.all(-1, keepdim=True), 0.0, attn))."
)
FORWARD_HALF_WHY = (
    "float16 holds nothing larger than 65504: a matrix product or activation in float16 "
    "whose result passes that is inf, and the next operation turns inf into NaN. The inputs "
    "and weights were finite; their product was not representable."
)
FORWARD_HALF_FIX = (
    "Do not train in pure float16: use bfloat16 (float32's range), or keep the weights in "
    "float32 and run the forward under torch.autocast(device_type, dtype=torch.float16) with "
    "a torch.amp.GradScaler; normalise the inputs, and keep large reductions in float32."
)
FORWARD_EXP_WHY = (
    "exp overflows float32 for any input above about 88 (float16: about 11): a hand-written "
    "softmax exp(x) / sum(exp(x)), a variance exp(logvar), or a temperature that scales the "
    "logits up gives inf, and inf / inf or inf - inf is NaN."
)
FORWARD_EXP_FIX = (
    "Use the stable forms: torch.softmax / log_softmax / logsumexp (they subtract the max "
    "first), or clamp the exponent (logvar.clamp(-30, 20)) before exp."
)
FORWARD_GROWN_WHY = (
    "The gradients had been growing step after step, and the weights the optimizer wrote "
    "with them grew until the forward pass or the loss could not hold the result."
)
FORWARD_GROWN_FIX = (
    "Lower the learning rate and clip the gradient norm (clip_grad_norm_) so the weights "
    "cannot run away; check the scale of the input data; use a variance-preserving init."
)
FORWARD_ZERO_WHY = (
    "An operation made a NaN or inf out of finite inputs that held a 0: a division by 0 "
    "(0/0 is NaN), a log of 0 (-inf), or a square root or power at 0 whose slope is inf."
)
FORWARD_ZERO_FIX = (
    "Guard that operation: add an eps to the divisor or the argument (x / (n + 1e-8), "
    "log(x.clamp_min(1e-12)), sqrt(x + 1e-12)), or use the stable form (log_softmax, "
    "logsumexp, F.normalize)."
)
FORWARD_UNSURE_WHY = (
    "A module's output went non-finite from finite inputs and weights, and the gradients "
    "before were not large, so it is not the end of an explosion; the replay does not tell "
    "which of the usual causes it was."
)
FORWARD_UNSURE_FIX = (
    "Check, in this order: an exp or a power that overflows (use logsumexp, or subtract the "
    "max first), a division or log that can see 0 (add an eps), a mask filled with -inf that "
    "leaves a row empty, and the scale of the inputs. torch.autograd.set_detect_anomaly(True) "
    "names the operation."
)
LOSS_LOG_WHY = (
    "Every module's output was finite, so the loss made the first non-finite value: a log of "
    "a probability that rounded to exactly 0 (log(softmax(x)) once the logits are far apart, "
    "log(1 - sigmoid(x)) once x passes about 17) is -inf, and its slope 1/0 is inf; backward "
    "multiplies that by zeros, giving NaN."
)
LOSS_LOG_FIX = (
    "Compute the loss with fused, stable ops on the logits: F.cross_entropy(logits, y) or "
    "F.nll_loss(F.log_softmax(logits, dim=1), y) instead of log(softmax(...)), and "
    "F.binary_cross_entropy_with_logits (or F.logsigmoid) instead of log(sigmoid(...)); "
    "where a log is unavoidable, clamp its input (p.clamp_min(1e-12)) or add a small eps."
)
LOSS_UNSURE_WHY = (
    "Every module's output was finite, so the loss computation made the first non-finite "
    "value; what was measured does not say whether it was the targets or an operation in it."
)
LOSS_UNSURE_FIX = (
    "Check, in this order: NaN or inf in the targets (torch.isfinite(y).all()), a log, "
    "division or sqrt in the loss that can see 0 (use F.cross_entropy or log_softmax; add an "
    "eps), and a loss summed over a very large batch instead of averaged."
)
BACKWARD_HALF_WHY = (
    "The forward pass and the loss were finite; the float16 gradients overflowed 65504 on "
    "their way back, where a product of links grows past what float16 holds."
)
BACKWARD_HALF_FIX = (
    "Scale the loss with torch.amp.GradScaler (it skips steps that overflow and adjusts the "
    "scale), or train in bfloat16, or keep the weights in float32 under torch.autocast."
)
BACKWARD_ZERO_WHY = (
    "The forward pass and the loss were finite and the gradients before were not large, so "
    "a backward formula made the bad value: the slope of sqrt at 0, of a norm of a zero "
    "vector, or of a power below 1 at 0 is a division by 0."
)
BACKWARD_ZERO_FIX = (
    "Re-run the step under torch.autograd.detect_anomaly() to name the backward op; add an "
    "eps where a sqrt, norm or fractional power can see 0 (torch.sqrt(x + 1e-12), "
    "F.normalize, x.norm() + eps)."
)
BACKWARD_GROWN_WHY = (
    "The forward pass and the loss were finite; the gradients had been growing and overflowed "
    "while being multiplied back through the links."
)
BACKWARD_GROWN_FIX = UPDATE_GROWN_FIX
UNCHECKED_WHY = (
    "The loss was not finite, and this step's forward pass was not checked (finite_checks="
    '"off", or no replay was left), so where the first NaN or inf appeared is not known.'
)
UNCHECKED_FIX = (
    'Watch with finite_checks="sampled" (the default) to have it found. Meanwhile check, in '
    "this order: NaN in the inputs and targets (torch.isfinite(x).all()), a softmax over a "
    "row that is all masked, float16 overflow (use bfloat16 or autocast with a GradScaler), "
    "and a log or division that can see 0 (add an eps)."
)
