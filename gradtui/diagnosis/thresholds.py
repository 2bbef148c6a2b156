"""Every number the diagnosis rules compare against, with where it comes from.

Sources are the sections of ``../shared/reference/prior-art.md``: SMD = SageMaker Debugger's
built-in rules (section 1), AUTOTRAINER (section 7), CS231n (section 7), and the recommended
defaults of section (c). "Own heuristic" marks a number no source gives; the comment says why
we chose it, including what the shipped scenarios and their variations showed.
"""

from __future__ import annotations

# -- patience ---------------------------------------------------------------------------------
# A condition must hold on this many consecutive checks before it fires. Section (c) recommends
# at least 3 consecutive checks for vanishing gradients (SMD and AUTOTRAINER both use patience
# or repeated checks); we use the same patience for the other sustained conditions.
PATIENCE = 3

# -- the chain: vanishing and exploding ---------------------------------------------------------
# Depth-wise ratio: ||dL/d(output of the first block)|| / ||dL/d(output of the head)||, i.e. the
# product of every link gain between the loss and the first block. AUTOTRAINER calls a network
# vanishing when its first/last gradient rate is below 1e-3 and exploding when it is above 70.
# We apply those rates to the gradients at the block outputs rather than to the weight
# gradients, so the size of the input data (which scales a first layer's weight gradient but
# not the gradient flowing back) cannot fake a collapse. Healthy runs stay within 0.05..30.
VANISH_DEPTH_GAIN = 1e-3
EXPLODE_DEPTH_GAIN = 70.0
# A run whose links are not measured (one link: a compiled model, a model that is one block)
# falls back to AUTOTRAINER's own test on the weight gradients: first layer / last layer below
# VANISH_DEPTH_GAIN, and the first layer's gradient norm itself below 1e-4, which keeps a first
# layer fed with small inputs (and so given a small weight gradient) from passing for vanishing.
VANISH_FIRST_LAYER_NORM = 1e-4
# SMD's WeightUpdateRatio error bound: below 1e-8 a layer's weights effectively do not move.
# A vanishing diagnosis becomes an error when the first layer updates less than this.
STALLED_UPDATE_RATIO = 1e-8
# A link is named as a culprit when its median gain is at most 0.5 (it halves the gradient or
# worse) or at least 2 (it doubles it). Own heuristic: one octave per link is far outside the
# 0.6..1.7 we see on healthy ReLU/Kaiming and residual links, yet within the 0.25 bound of a
# sigmoid's slope, so the links that really carry the collapse are the ones named.
LINK_SHRINK = 0.5
LINK_GROW = 2.0
# Link gains are summarised as the median of the most recent steps.
GAIN_WINDOW = 20

# Temporal explosion: the total gradient norm against the median of its recent past. Section
# (c) suggests 10x its running median (own heuristic, no source). Healthy transients reach
# 16-24x (a deep sigmoid stack at lr 0.1, batch norm settling in its first ten steps), so we
# require two decades: 100x. A jump of four decades is an error, not a warning.
EXPLODE_JUMP = 100.0
EXPLODE_JUMP_ERROR = 1e4
NORM_WINDOW = 20

# -- parameters ---------------------------------------------------------------------------------
# A trainable layer whose .grad stays None this many steps in a row is not in the graph.
# Section (c) calls a None grad after backward an error (own heuristic there); patience keeps a
# branch that is skipped on one step (a conditional path) from firing it.
MISSING_PATIENCE = PATIENCE
# Frozen: weights unchanged over 3 steps (SMD UnchangedTensor: 3 saved steps) although the
# gradient would move them, or a gradient that is exactly zero everywhere (SMD AllZero: 100%).
FROZEN_PATIENCE = PATIENCE
# "Would move them": the update this layer should get, estimated from the layers that do move,
# is above 1e-6 of its weight norm. float32 keeps about 7 digits (machine epsilon 1.2e-7), so
# an update that small or larger cannot round away to nothing. Own heuristic.
FROZEN_MIN_EXPECTED = 1e-6
# Carried gradients (no zero_grad): section (c)'s own heuristic says a non-zero .grad seen
# before accumulation means the last step's gradients were not cleared; we require it on 3
# steps in a row so one deliberate accumulation step does not fire it. It is an error: a
# deliberate accumulation clears .grad after each optimizer step, so gradients carried across
# three optimizer steps are a bug, and every later symptom of the run (growing updates, dead
# units, a rising loss) follows from it, so it must lead the list.
ACCUMULATION_PATIENCE = PATIENCE
# Parameters left out of the optimizer keep their .grad through optimizer.zero_grad(), so
# their gradients pile up too. When the carried norm is no larger than those frozen layers'
# weight gradients (with 25% slack for their biases), the carry is theirs alone and is
# reported as frozen, not as a missing zero_grad(). Own heuristic.
ACCUMULATION_FROZEN_SLACK = 1.25

# Update/weight ratio |dW|/|W| per step. CS231n: "somewhere around 1e-3" for plain SGD, and
# section (c) puts an info band one decade either side of it. Measured, that band fired on 17
# of 18 healthy runs (issue 10): Adam moves a weight initialised at std 0.02 by lr/0.02 a step
# (a small GPT with AdamW at 1e-3 sits at 0.035), a small or scaled-down head moves by 0.1-0.26
# of its size for its first tens of steps (a character MLP's, exploding_clipped's), and norm
# gains (weights of 1.0 with small gradients) sit at 3e-5-6e-5. So the learning rate, one
# number for the run, is judged on the run's typical layer (the median over layers of each
# layer's window median), and the band is two decades wide on either side of the healthy
# spread we measured: [1e-5, 1e-1]. Healthy runs' typical layer stays within 1e-3..4e-2;
# lr_too_low's is 1e-6. Own heuristic, from those measurements.
UPDATE_LOW = 1e-5
UPDATE_HIGH = 1e-1
# The typical layer must sit outside the band on this many checks in a row (30 steps and
# more): the first steps of a run, before the weights have grown from their init, do not count.
UPDATE_PATIENCE = PATIENCE
# SMD's error bounds, per layer: below 1e-8 for PATIENCE steps a layer's weights do not move
# (float32 rounds its updates away); above 10 in a single step is a divergence (rules_diverge).
UPDATE_ERROR_LOW = STALLED_UPDATE_RATIO
UPDATE_ERROR_HIGH = 10.0
# A stuck loss whose layers move by under this much a step (at most 1e-3 of their size over
# 100 steps) is blamed on the learning rate, unless another finding (vanishing, dead units,
# ...) explains the small steps. Own heuristic, the low edge of the band above.
LOSS_SLOW_UPDATE = UPDATE_LOW
UPDATE_WINDOW = 20  # steps whose median is compared with the info band
UPDATE_CHECK_EVERY = 10  # the info band is checked this often; the error bands every step

# -- activations -------------------------------------------------------------------------------
# Dead ReLU units: SMD counts a unit dead when active on under 1% of samples and fires when more
# than 50% of a layer is dead (strictly more: a share of exactly 50% does not count); section
# (c) keeps those. Our probe's unit is dead when inactive
# on every sample of the batch. A live unit that fires on half the samples looks dead on a
# batch of B with chance 0.5**B, so the threshold is raised by that much for small batches.
DEAD_FRAC = 0.5
# Every unit dead: no gradient passes back through the block at all, so everything before it
# stops learning. That is an error.
DEAD_ERROR_FRAC = 1.0
# Saturated sigmoid/tanh: the same 50% share as SMD's SaturatedActivation. Our probe counts a
# pre-activation saturated where the slope is below a tenth of its peak.
SATURATED_FRAC = 0.5
ACTIVATION_PATIENCE = PATIENCE  # heavy checks in a row

# -- loss ---------------------------------------------------------------------------------------
# SMD's LossNotDecreasing compares with the loss at least 10 steps back and any decrease
# passes. Single minibatch losses are too noisy for that, so we compare window medians: a
# window of 50 steps (a quarter of the run when it is shorter, at least 10), and a window
# improves only when its median is below the best earlier one by more than 2 standard errors
# (own heuristic; the standard error of a median is about 1.25 * 1.4826 * MAD / sqrt(n)).
LOSS_WINDOW = 50
LOSS_WINDOW_MIN = 10
LOSS_SIGNIFICANCE = 2.0
# Two windows in a row without improvement: one flat window is common in healthy runs (a deep
# ReLU stack at lr 0.01 sits flat for ~70 steps before it starts to fall). Own heuristic.
LOSS_PATIENCE = 2
# A warning needs full 50-step windows. With shorter ones (a short run), the medians of noisy
# minibatch losses cannot tell a slowly falling loss from a flat one (relu_deep cut to 60
# steps falls 6% and is not yet "clear"), so the finding is only info there. Own heuristic.
LOSS_WARNING_WINDOW = LOSS_WINDOW
# A loss down by three decades from where it started has converged: tiny gradients and updates
# are expected then, and the frozen / small-update / not-decreasing checks stand down. Own
# heuristic (a four-example overfit reaches 1e-9 of its start; stuck runs stay within 20%).
CONVERGED_DROP = 1e-3
LOSS_START_STEPS = 10  # the loss "at the start" is the median of the first 10 finite losses

# -- divergence: single bad steps ---------------------------------------------------------------
# An update that moves a layer's weights by more than their own size (|dW|/|W| > 1) in one step
# throws the model somewhere its gradient never described: the definition of a bad step.
# It is three decades above the healthy ~1e-3 (CS231n), and 4x above the largest window median
# of any layer in our healthy and published-recipe runs (a scaled-down head early on: 0.26).
DIVERGE_UPDATE = 1.0
# Above UPDATE_ERROR_HIGH (SMD's bound, 10) one such step is a divergence on its own. Between
# the two it is the divergence's date only once the loss confirms it (below): a small head
# under SGD often moves 1-3x its size in the first steps of a healthy run and settles (our
# bn_sigmoid variation spikes its loss 800x at step 7 and converges).
# A weight initialised at exactly zero (a LoRA B matrix, a zero-init residual gain) has no size
# of its own to compare with until it has taken a few steps; it is judged after this many.
DIVERGE_ZERO_INIT_STEPS = 10
# A loss whose recent median (the last LOSS_START_STEPS finite losses) ends this many times above
# its starting median has diverged, whatever the gradients said. Own heuristic: a cross-entropy
# starts near ln(classes), so three times that is worse than guessing; healthy runs of ours and
# published recipes never end above their start, the faulty ones end 17-600x above it.
DIVERGE_LOSS_RISE = 3.0
# "Where it started" is the median of the first 3 finite losses: a run that blows up within
# its first ten steps would already have lifted LOSS_START_STEPS' median.
DIVERGE_START_STEPS = 3
# The recent median must stay above DIVERGE_LOSS_RISE for this many steps in a row: twice the
# 10-step window, so a spike the run recovers from (bn_sigmoid's stays above for 7) passes.
DIVERGE_LOSS_PATIENCE = 2 * LOSS_START_STEPS
# A one-step jump of the total gradient norm this far above its recent median is named in a
# divergence's message (section (c)'s 10x running median; alone it stays a note of the chain's
# exploding rule, which wants EXPLODE_JUMP).
DIVERGE_JUMP = 10.0

# -- spikes -------------------------------------------------------------------------------------
# A value is a spike when it is SPIKE_RATIO times the median of its last SPIKE_WINDOW finite
# values and SPIKE_Z robust deviations (1.4826 x the median absolute deviation) above it.
# SPIKE_Z is OLMo-core's 6 sigma; SPIKE_RATIO is Megatron-LM's 10x and section (c)'s 10x
# running median. The window is W&B's z-score alert window (30), rounded up; OLMo-core uses 128,
# too long for the few hundred steps of a scenario. The loss spikes at 2x its median
# (llm-foundry's KillLossSpike outlier multiplier), also 6 deviations out.
SPIKE_WINDOW = 32
SPIKE_RATIO = 10.0
LOSS_SPIKE_RATIO = 2.0
SPIKE_Z = 6.0
# ... and the loss must rise by a quarter of the run's starting loss at least: llm-foundry's 2x
# is for language models' losses, which never approach 0; near convergence a classifier's
# batch loss doubles on ordinary noise (seen on the healthy scenarios: 2.5-4.8x, from a median
# under a tenth of the start). Own heuristic.
LOSS_SPIKE_OF_START = 0.25
# A loss spike with every gradient in its band must rise by the whole starting loss: mini-batch
# losses are heavy-tailed, and the healthy scenarios' batches reach 2.5-4.8x the median (a
# rise of 0.4x the start) on ordinary noise. Grad-norm spikes precede loss spikes (OLMo 2), so
# a gradient spike opens the episode in the usual case.
LOSS_ALONE_OF_START = 1.0
# Judge nothing before this many finite values: the first ten steps of a healthy run reach
# 16-24x (see EXPLODE_JUMP), and a median of fewer values moves with every step.
SPIKE_MIN_HISTORY = 16
# The cached median that screens ordinary steps is refreshed every this many values (own
# heuristic: the exact median runs only on a step past half the bound).
SPIKE_REFRESH = 8
# One layer's gradient norm out of its band opens no episode (a small layer's norm swings
# widely: a dead network's head reached 15x on noise); it names where a spike of the total began
# when it left its band up to this many steps before the total did (own heuristic).
SPIKE_LEAD = 4
# Recovered: the gradient norm back under SPIKE_RECOVER times its median before the spike and
# the loss under SPIKE_LOSS_RECOVER times, for SPIKE_CALM_STEPS steps in a row (the patience of
# the other sustained conditions). Own heuristic: a healthy band is narrower than both.
SPIKE_RECOVER = 3.0
SPIKE_LOSS_RECOVER = 1.5
SPIKE_CALM_STEPS = PATIENCE
# Not back after this many steps: a divergence's onset if the loss is still high, else a new
# level that the bands learn afresh (the divergence rule's own patience, DIVERGE_LOSS_PATIENCE).
SPIKE_PATIENCE = 2 * LOSS_START_STEPS
# This many recovered spikes in one run make the fix name the learning rate (own heuristic:
# one or two are the data's; more are the optimiser's).
SPIKE_REPEATS = 3

# -- clipping saturated -------------------------------------------------------------------------
# The clip sets the step size when it cuts the norm on at least CLIP_SAT_SHARE of the last
# CLIP_SAT_WINDOW steps by a median of CLIP_SAT_RATIO or more (own heuristic: at 2x every update
# is at most half of what the gradient asked for; a window of 50 steps outlasts the large
# gradients of a run's first steps: the shipped exploding_clipped run cuts 94 of its 200 steps,
# nearly all early and by under 4x).
# A step counts as cut when the norm after clipping is under CLIP_CUT times the norm before
# (clip_grad_norm_ leaves a norm at max_norm within rounding when it cuts by nothing).
CLIP_SAT_WINDOW = 50
CLIP_SAT_SHARE = 0.9
CLIP_SAT_RATIO = 2.0
CLIP_CUT = 0.999
# The first steps are not judged: large early gradients are what a clip is for (a healthy
# ReLU net at lr 0.2 with momentum cut 47 of its first 50 steps by 3x). Own heuristic.
CLIP_SAT_SKIP = 2 * LOSS_START_STEPS
# A saturated clip while the loss has halved from its start is a note, not a warning: the run
# trains, at the clip's pace (own heuristic: the loss rule's own CONVERGED_DROP is stricter).
CLIP_SAT_FALLING = 0.5

# -- rank skew (one rank of a distributed run unlike the others) --------------------------------
# Judged over at least RANK_SKEW_MIN_STEPS steps that every rank reported, the most recent
# RANK_SKEW_WINDOW of them.
# Slow rank: its median time outside the step (loading its batch, code between steps) exceeds
# every other rank's median by RANK_SLOW_SECONDS and by RANK_SLOW_FACTOR times. The others wait
# that long at the step's first collective, so the whole run goes at its pace. Own heuristic:
# 10 ms is above the timer and scheduler jitter of a busy machine (a few ms), and a factor of 2
# keeps a loader that is slow on every rank alike (no one waits) from naming one rank.
RANK_SKEW_MIN_STEPS = 16
RANK_SKEW_WINDOW = 256
RANK_SLOW_SECONDS = 0.010
RANK_SLOW_FACTOR = 2.0
# Same data: every rank's loss equal to RANK_SAME_LOSS relative on every compared step (at
# least RANK_SKEW_MIN_STEPS of them) while the loss itself changed over those steps. Ranks that
# draw different batches give different losses on every step; equal ones mean equal batches
# (no DistributedSampler). 1e-6 is float32 rounding of the same computation done alike.
RANK_SAME_LOSS = 1e-6
# Odd rank out: one rank's loss the highest (or the lowest) of all ranks on RANK_ODD_SHARE of
# the compared steps, and its median loss RANK_ODD_GAP away (relative) from the median of the
# others'. With batches drawn alike, one rank of two is the highest on 15 of 16 steps by
# chance about once in 4,000 runs (fewer with more ranks); the gap keeps a consistent but small
# difference (a rank with a slightly easier shard, the few samples a DistributedSampler pads
# the last rank with) from being called different data. Own heuristic: a tenth of the loss is
# above what a shard's ordinary make-up shifts it by, and a rank fed labels that mean other
# classes sat 25-30% above the others in a 3-rank test while the model learned.
RANK_ODD_SHARE = 0.9
RANK_ODD_GAP = 0.1

# -- where a NaN or inf came from (rules_nonfinite, nonfinite_causes) --------------------------
# The gradients before a non-finite step count as large, and so the advice of a smaller learning
# rate and gradient clipping applies, when the exploding rule already fired, or when the last
# finite step's total gradient norm was EXPLODE_JUMP (two decades) above the median of the
# run's first finite steps, or above NONFINITE_LARGE_GRAD outright. The absolute bound is our
# own heuristic: the total norms of the healthy runs in our scenarios and trust loops stay
# within 1e-3..1e1, and float16's largest value (65504) is within a decade of 1e4, so a norm of
# 1e4 is three decades past healthy and one step from overflowing half precision.
NONFINITE_GROWN = EXPLODE_JUMP
NONFINITE_LARGE_GRAD = 1e4
NONFINITE_BASELINE_STEPS = 5  # the first finite steps whose median is the baseline
# float16's smallest positive value is 2**-24 (6e-8); an eps below half of it rounds to 0, and
# below it to that one subnormal step, so Adam's sqrt(v) + eps can be 0 where v underflowed
# (a gradient under 2.4e-4 squares to 0 in float16). IEEE 754 binary16, not a heuristic.
FLOAT16_TINY = 2.0**-24
FLOAT16_MAX = 65504.0
# A learning rate above this is called huge: the recipes we know stay at or below 1 (SGD on a
# normalised network) and Adam's below 1e-2. Own heuristic, a decade past the largest of them.
NONFINITE_HUGE_LR = 10.0
# Decoupled weight decay (AdamW, and SGD's, at its step) multiplies each weight by
# 1 - lr * weight_decay: above 2 that factor is below -1 and every step grows the weights.
# Arithmetic, not a heuristic.
DECAY_GROWS = 2.0

# -- why a gradient vanishes ----------------------------------------------------------------------
# tanh links that cut the gradient while at most this share of their units is saturated (slope
# under a tenth of its peak) are cut by their weights' scale, not by the slope. Own heuristic: a
# twentieth of the units in the tails lowers a link's mean slope by at most 5%, far from the
# several-fold cut per link that vanishing takes; a saturating stack sits at 50% and more
# (SATURATED_FRAC).
VANISH_UNSATURATED = 0.05
