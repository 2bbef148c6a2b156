"""The 'why' and 'fix' of every diagnosis, in plain words.

Messages carry the numbers of one run and are built by the rules; the reasons and the fixes
depend only on the kind of finding and a little context (the activation, the init), so they
live here, where they can be read and reviewed together.
"""

from __future__ import annotations

SQUASHING = ("sigmoid", "tanh")

# -- vanishing ---------------------------------------------------------------------------------
CHAIN_PRODUCT = (
    "The gradient a layer receives is the gradient at the loss multiplied by one factor per "
    "link it passes on the way back. Factors below 1 compound: twenty links that each keep a "
    "seventh of the signal leave almost nothing for the first layers, which then hardly learn."
)


def vanishing_why(activation: str, init: str) -> str:
    if activation == "sigmoid":
        local = (
            " A sigmoid's slope never exceeds 0.25 (at zero input) and is far smaller away from "
            "zero, so every sigmoid link cuts the gradient to a quarter or less unless its "
            "weights are large enough to make up for it."
        )
    elif activation == "tanh":
        local = (
            " tanh has slope 1 only at zero and flattens quickly away from it, so every link "
            "whose inputs are not near zero shrinks the gradient."
        )
    elif activation in ("relu", "leaky_relu", "gelu"):
        local = (
            " ReLU itself passes the gradient unchanged where a unit is active, so here the "
            "weights set each link's factor: weights too small for their fan-in scale the "
            "gradient down at every link, and the signal on the way forward shrinks the same way."
        )
        if init == "small_uniform":
            local += " A small uniform initialisation is exactly that."
    else:
        local = (
            " The factor of a link is its activation's slope times its weight matrix, so both "
            "the activation and the weights' scale decide whether the product holds up."
        )
    return CHAIN_PRODUCT + local


def vanishing_fix(activation: str) -> str:
    if activation in SQUASHING:
        return (
            "Use ReLU or GELU instead of the squashing activation, or put batch norm or layer "
            "norm before each activation, or add residual connections (x + f(x)) so every "
            "link has an identity path worth 1. Raising the learning rate does not help: it "
            "scales all layers alike and the late ones blow up first."
        )
    return (
        "Initialise with a scale that preserves the gradient's size: "
        "nn.init.kaiming_normal_(w, nonlinearity='relu') for ReLU, xavier for tanh. For very "
        "deep stacks add normalisation or residual connections. A larger learning rate only "
        "hides the symptom in the late layers."
    )


# -- exploding ---------------------------------------------------------------------------------
JUMP_WHY = (
    "Training is feeding on itself: an update too large for the curvature of the loss lands "
    "the weights somewhere steeper, the next gradient is larger, so the next update is "
    "larger still. Left alone the numbers overflow to inf within a few steps."
)
JUMP_WHY_CLIPPED = (
    " Gradient clipping capped the size of the update, so this jump could not throw the "
    "weights far; the cause is still there."
)
JUMP_FIX = (
    "Lower the learning rate (3-10x smaller is a good first try), or warm it up over the "
    "first steps; cap the update with torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0) "
    "between backward() and optimizer.step(). Normalisation layers make the loss surface "
    "tamer."
)
DEPTH_WHY = (
    "Each link multiplies the gradient by its factor on the way back; when the factors are "
    "above 1 the product grows exponentially with depth, so the first layers get gradients "
    "far larger than the last and their updates are the first to overshoot."
)
DEPTH_FIX = (
    "Use an initialisation that keeps each link's factor near 1 (Kaiming for ReLU, Xavier "
    "for tanh and sigmoid), add normalisation, and clip the gradient norm; a smaller "
    "learning rate buys time but does not change the product."
)

# -- non-finite --------------------------------------------------------------------------------
NONFINITE_LOSS_WHY = (
    "Every module produced finite outputs, so the loss computation made the inf or NaN, in "
    "its value or in its slope: typically the log of a probability that rounded to exactly 0 "
    "(log(softmax(x)) once the logits are far apart). log(0) is -inf and its slope 1/0 is "
    "inf; backward multiplies that by zeros, which gives NaN, and the chain rule carries the "
    "NaN into every gradient. A division by zero or a square root at 0 does the same."
)
NONFINITE_LOSS_FIX = (
    "Compute the loss with fused, stable ops: F.cross_entropy(logits, y) or "
    "F.nll_loss(F.log_softmax(logits, dim=1), y) instead of log(softmax(...)). Where a log "
    "or division is unavoidable, clamp its input (x.clamp_min(1e-12)) or add a small eps."
)
NONFINITE_MODULE_WHY = (
    "A module's output overflowed: its input or its weights had grown past what float32 can "
    "hold (about 3e38), or it computed 0/0. Every layer after it, the loss and then every "
    "gradient inherit the NaN, and one optimizer step writes it into the weights for good."
)
NONFINITE_GROWN_WHY = (
    " The gradients had been growing step after step before this: the overflow is the end "
    "of that explosion."
)
NONFINITE_MODULE_FIX = (
    "Lower the learning rate and clip the gradient norm (clip_grad_norm_) so the weights "
    "cannot run away; check the scale of the input data; use a variance-preserving init. "
    "torch.autograd.set_detect_anomaly(True) pinpoints a backward op that makes NaN."
)
NONFINITE_BACKWARD_WHY = (
    "The forward pass and the loss were finite, so the backward pass made the bad value: a "
    "backward formula that divides by an output that is 0 (sqrt at 0, norm of a zero "
    "vector), or gradients that overflowed while being multiplied back through the links."
)
NONFINITE_BACKWARD_FIX = (
    "Re-run the step under torch.autograd.detect_anomaly() to name the backward op; add an "
    "eps where a sqrt or norm can see 0; lower the learning rate and clip gradients if the "
    "numbers were growing."
)

# -- missing, frozen, accumulation, update ratio -----------------------------------------------
MISSING_WHY = (
    "Backward only reaches tensors connected to the loss through differentiable operations. "
    "A .detach(), a .data access, a torch.no_grad() block or a branch that never feeds the "
    "loss cuts those layers off: their .grad stays None, the optimizer skips them and they "
    "keep their initial weights, while the layers after the cut still learn."
)
MISSING_FIX = (
    "Find where the graph is cut (look for .detach(), .data, .item() turned back into a "
    "tensor, torch.no_grad() in forward, or a module built but never called) and remove it. "
    "If those layers are meant to be frozen, set requires_grad_(False) on them and leave "
    "them out of the optimizer, so the intent is explicit."
)
FROZEN_WHY = (
    "A layer only learns when its gradient is non-zero and the optimizer applies it. These "
    "weights stay the same although the loss has not converged: either the optimizer was "
    "not given them (or their learning rate is 0), or the gradient is exactly zero because "
    "nothing upstream of them varies."
)
FROZEN_FIX = (
    "Check that these parameters are in the optimizer (build it from model.parameters() "
    "after the model is complete) and that their param group's lr is not 0. If the "
    "gradient itself is zero, look at the layer's input: all-zero activations before it "
    "(dead units) or a multiplication by zero."
)
ACCUMULATION_WHY = (
    "PyTorch adds each new gradient to whatever .grad already holds. Without a reset every "
    "step's update contains all the earlier gradients as well, so the effective step size "
    "grows with time, momentum-like but uncontrolled: the loss turns noisy and then climbs."
)
ACCUMULATION_FIX = (
    "Call optimizer.zero_grad() (or model.zero_grad(set_to_none=True)) once per step, "
    "before loss.backward(). If you accumulate over k batches on purpose, divide each loss "
    "by k and zero the gradients right after every optimizer.step()."
)
UPDATE_HIGH_WHY = (
    "The optimizer changes these weights by a large share of their own size every step. A "
    "healthy ratio is about 1e-3; far above it the step is bigger than the region where the "
    "gradient is a good guide, so training bounces around instead of descending."
)
UPDATE_HIGH_FIX = (
    "Lower the learning rate until |dW|/|W| sits near 1e-3, or add a warm-up; clipping the "
    "gradient norm limits single bad steps."
)
UPDATE_LOW_WHY = (
    "These weights move by a tiny share of their size each step (a healthy ratio is about "
    "1e-3), so they will take a very long time to learn anything. When every layer is slow "
    "the learning rate is too low; when only some are, their gradients are too small."
)
UPDATE_LOW_FIX = (
    "Raise the learning rate until |dW|/|W| is near 1e-3 for most layers. If only the early "
    "layers are slow, look at the chain view: a shrinking link is starving them."
)

# -- activations and loss ----------------------------------------------------------------------
DEAD_WHY = (
    "ReLU's slope is 0 for negative inputs. A unit whose input is negative on every sample "
    "passes no gradient back, so neither its own weights nor anything that reaches the loss "
    "only through it learn, and it may never come back. A large learning rate or a large "
    "negative bias pushes units there."
)
DEAD_FIX = (
    "Lower the learning rate; use Kaiming initialisation with zero biases; switch to "
    "LeakyReLU or GELU, whose slope is never exactly 0; add normalisation before the "
    "activation so inputs stay centred."
)
SATURATED_WHY = (
    "In its flat tails a sigmoid or tanh has a slope near 0, so a saturated unit passes "
    "almost no gradient back and its input weights stop learning. Large weights, large "
    "inputs or a too-large learning rate push pre-activations into the tails."
)
SATURATED_FIX = (
    "Normalise the inputs, use Xavier initialisation, put batch norm or layer norm before "
    "the activation, or switch to ReLU/GELU; lower the learning rate if saturation grew "
    "during training."
)
LOSS_STUCK_WHY = (
    "The optimizer is not finding a direction that lowers the loss: gradients too small to "
    "move the weights (look for vanishing or frozen layers), a learning rate far too low or "
    "so high that steps bounce, or a bug that disconnects the loss from the parameters."
)
LOSS_STUCK_FIX = (
    "Check the other diagnoses first. Then try to overfit 4-8 examples: if the loss cannot "
    "go to about zero there, the model or the loss is broken, not the data. Sweep the "
    "learning rate over a few decades."
)
LOSS_SLOW_FIX = (
    "Raise the learning rate, a decade at a time, until |dW|/|W| sits near 1e-3. Had the "
    "gradients been tiny instead (vanishing), a larger learning rate would not be the fix: "
    "the layer sparklines tell the two apart."
)
LOSS_PLATEAU_WHY = (
    "The loss fell earlier and has stopped falling: the model may have learned what it can "
    "at this learning rate and capacity, or the steps are now too large to settle lower."
)
LOSS_PLATEAU_FIX = (
    "If the loss is still high, lower the learning rate (a schedule that decays it), or "
    "give the model more capacity; if it is good enough, stop training here."
)
LOSS_RISING_FIX = (
    "Look at the other diagnoses for the cause (growing gradients, gradients carried over "
    "between steps, dying units); lower the learning rate or clip the gradient norm, and "
    "keep the checkpoint from where the loss was lowest."
)


# -- rank divergence (distributed runs) ---------------------------------------------------------
RANK_DIVERGENCE_WHY = (
    "Data-parallel training keeps one copy of the model per rank and averages the gradients "
    "across ranks after backward, so every copy takes the same step. Once one copy's gradient "
    "differs, its weights drift from the others and the ranks train different models; a "
    "non-finite value on one rank alone also means that rank was not averaged with the others."
)
RANK_DIVERGENCE_FIX = (
    "Wrap the model in DistributedDataParallel before making the optimizer, and do not edit "
    ".grad per rank after backward (or do it identically everywhere). Parameters used on some "
    "ranks only need find_unused_parameters=True. Use the same seed for the initial weights "
    "on every rank (or let DDP broadcast them from rank 0), and keep per-rank randomness to the "
    "data."
)


# -- divergence --------------------------------------------------------------------------------
DIVERGE_WHY = (
    "The gradient describes the loss only near the current weights. An update larger than the "
    "weights themselves lands them far outside that region, where the loss is higher and "
    "steeper: the next gradient is larger, the next update larger still, and units saturate or "
    "die on the way. What follows such a step (collapsed or vanishing gradients, dead units, a "
    "loss far above its start) is its aftermath, not a cause of its own."
)
DIVERGE_FIX = (
    "Lower the learning rate (3-10x smaller is a good first try) or warm it up over the first "
    "few hundred steps, and clip the gradient norm: "
    "torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0) between backward() and "
    "optimizer.step(), so one bad batch cannot throw the weights."
)
CONSEQUENCE_FIX = (
    "Fix the divergence named above first (a lower or warmed-up learning rate, clipping); this "
    "finding is its aftermath and should go away with it."
)

# -- setup: what the optimizer or autograd never sees -----------------------------------------
NOT_IN_OPTIMIZER_WHY = (
    "An optimizer updates exactly the tensors it was given when it was built. backward() still "
    "computes these parameters' gradients, but optimizer.step() never applies them, so the "
    "weights keep their initial values and the loss cannot use them. Building the optimizer "
    "over another model object (a copy, or the model before it was rebuilt or moved) leaves "
    "out every parameter at once."
)
NOT_IN_OPTIMIZER_FIX = (
    "Build the optimizer from the model you train, after it is complete: "
    "torch.optim.AdamW(model.parameters(), ...). If you split parameters into groups, check "
    "that every trainable parameter lands in one; if these are meant to stay fixed, set "
    "requires_grad_(False) on them so the intent is explicit."
)

# -- the loss's graph --------------------------------------------------------------------------
LOG_OF_SOFTMAX_WHY = (
    "softmax rounds the probabilities of unlikely classes to exactly 0 in float32 once the "
    "logits are some 100 apart, and log(0) is -inf; its slope 1/0 is inf, and backward turns "
    "that into NaN in every gradient. Until then it trains, so the bug shows up late, as a NaN "
    "out of nowhere."
)
LOG_OF_SOFTMAX_FIX = (
    "Use the fused, stable form: F.log_softmax(logits, dim=-1) instead of "
    "torch.log(F.softmax(logits, dim=-1)), or pass the logits straight to F.cross_entropy."
)
SOFTMAX_INTO_LOSS_WHY = (
    "cross_entropy applies log_softmax to its input itself, so it expects raw logits. Fed "
    "probabilities, it applies a second softmax to numbers between 0 and 1: the outputs it "
    "can reach are nearly uniform, the loss has a high floor it cannot go below, and the "
    "gradient is squashed by both softmaxes, so the loss barely moves. nll_loss expects "
    "log-probabilities: fed probabilities it optimises the wrong quantity."
)
SOFTMAX_INTO_LOSS_FIX = (
    "Remove the softmax (or nn.Softmax layer) before the loss and pass the logits: "
    "F.cross_entropy(logits, y). Apply softmax only where you need probabilities (at "
    "inference). With nll_loss, feed it F.log_softmax(logits, dim=-1)."
)
SIGMOID_INTO_BCE_WHY = (
    "binary_cross_entropy takes log(p) and log(1 - p) of the sigmoid's output. Once a logit "
    "is beyond about ±17 the sigmoid rounds to exactly 1 or 0 in float32, torch clamps the "
    "log at -100, and the gradient through the flat sigmoid is close to 0: confident wrong "
    "predictions stop being corrected."
)
SIGMOID_INTO_BCE_FIX = (
    "Drop the sigmoid and use F.binary_cross_entropy_with_logits(logits, y) (or "
    "nn.BCEWithLogitsLoss), which computes the same loss stably from the logits."
)
UNREACHED_WHY = (
    "backward() only reaches tensors the loss was computed from. Parameters the loss never "
    "used (a module built but not called in forward, a branch that is skipped, weights read "
    "through .data or after .detach()) get no gradient, and the optimizer leaves them as they "
    "are. A branch that is only skipped on some steps is fine; one skipped on every step is "
    "a bug."
)
UNREGISTERED_WHY = (
    "model.parameters() yields only tensors registered as nn.Parameter (or inside a registered "
    "submodule). A tensor kept as a plain attribute with requires_grad=True does get a "
    "gradient, but an optimizer built from model.parameters() never holds it, and it is not "
    "saved in the state_dict, moved by .to(device) or counted as part of the model."
)
UNREGISTERED_FIX = (
    "Register it: self.scale = nn.Parameter(torch.ones(n)). If it should not train, make it "
    "a buffer instead: self.register_buffer('scale', torch.ones(n))."
)
NOT_WATCHED_WHY = (
    "gradtui.watch looks at the model as it is when watch() is called: the modules that hold "
    "parameters then are the ones it measures. A module added later runs and trains (if the "
    "optimizer holds it) but no statistic of it is taken, and an optimizer built before it "
    "was added does not hold it either."
)
NOT_WATCHED_FIX = (
    "Build the model completely first, then the optimizer, then call gradtui.watch(model, "
    "optimizer=opt)."
)
UNTRAINED_WHY = (
    "A parameter with requires_grad=False gets no gradient: backward skips it and no "
    "optimizer changes it. That is how a backbone is frozen on purpose, and also how one stays "
    "frozen by mistake after a fine-tuning recipe's first phase."
)
UNTRAINED_FIX = (
    "If these layers should learn, call layer.requires_grad_(True) on them and make sure the "
    "optimizer holds their parameters (build it again after unfreezing)."
)


# -- gradtui.watch's own recording ---------------------------------------------------------------
RECORDING_GAP_WHY = (
    "gradtui hands each step to a writer of its own (a process, or a thread) and never makes "
    "training wait for it; a machine busy elsewhere can starve that writer."
)
RECORDING_GAP_FIX = "Nothing to fix in the model. Free a CPU core, or pass a larger every=."
RECORDING_THINNED_WHY = "A long run recorded in full grows by about a kilobyte a step."
RECORDING_THINNED_FIX = "gradtui.watch(..., keep_every_step=True) records every step."

ZERO_LR_WHY = (
    "An optimizer step moves each weight by the learning rate times its (for Adam, rescaled) "
    "gradient: with a rate of 0 every update is 0, whatever the gradients are, so the model "
    "stays where it is and the loss with it."
)
ZERO_LR_FIX = (
    "Give the optimizer a learning rate above 0 (lr=1e-3 is a common start for Adam, 0.01 to "
    "0.1 for SGD), and check what sets param_groups[...]['lr'] after it is built."
)
ZERO_LR_SCHEDULE_FIX = (
    "Make the schedule as long as the run, or end it at a floor above 0 (eta_min for cosine "
    "annealing, a minimum in a LambdaLR's function), and call scheduler.step() once per "
    "optimizer step, not once per micro-batch or per sample."
)
LOSS_CONSEQUENCE_FIX = "Fix the finding this follows from; the loss moves once the weights do."
