// Package optim holds descent's optimizers: the rules that move parameters to
// lower a loss, given its gradient.
//
// # Shape
//
// As in optax, every optimizer is a chain of small gradient transforms, and
// the order of the chain is the math:
//
//	Adam + L2:  AddDecayedWeights → ScaleByAdam → ScaleByLR
//	AdamW:      ScaleByAdam → AddDecayedWeights → ScaleByLR
//
// In the first, the decay term joins the gradient and is divided by √v̂ like
// it; in the second it bypasses the adaptive scaling, which is why AdamW
// regularizes every weight alike and usually generalizes better (Loshchilov &
// Hutter 2019). Each transform rewrites an update buffer in place; the
// optimizer then subtracts the update, θ ← θ − u, which is the only place
// the sign flips.
//
// Unlike optax, a Go transform owns its state (moments, accumulators) and
// works in place, so a step allocates nothing; the optimizer owns the one
// step counter. The named optimizers — [SGD] (with PyTorch's or the
// textbook's momentum, Nesterov), [RMSprop], [Adam] (AMSGrad), [AdamW]
// (cautious), [Adagrad], [Adadelta], [Adamax], [NAdam], [RAdam], [Lion]
// (cautious), [ADOPT], [AdEMAMix], [ScheduleFreeAdamW] and
// [ScheduleFreeSGD] — are configuration structs, one per file, whose doc
// comments state their update rule in full; a [Chain] of transforms,
// including your own, is an update rule too. A transform that needs a sum
// over whole tensors first (a cautious update's mask count) is a [Reducer].
//
// Most transforms rewrite each block of elements on its own, so a chain
// runs as one pass over memory, fused into one kernel for the common
// shapes. A [Reducer] needs more: a norm per tensor (the trust ratio of
// [LAMB] and [LARS]), a sum over every parameter ([Prodigy]'s step-size
// estimate), or each matrix whole ([Muon]'s Newton–Schulz iteration,
// [SOAP]'s eigenbasis). It gathers sums while the blocks stream past and
// reduces them once, and the chain continues in a second pass; it is a
// transform like the others, composable and saved by name. [Split] routes
// parameters to groups by rule: Muon for the hidden weight matrices
// ([HiddenMatrix]), AdamW for the rest. A [SharedReducer] reduces across
// groups: [Prodigy]'s sums run over every group with the same settings,
// so that all of them step with one estimate d, as the authors' code does.
//
// # Use
//
// The package knows nothing of layers or autodiff: a parameter is a [Param],
// a name, a shape and two slices (values and gradient), so any Go program can
// use it on its own parameters.
//
//	opt, err := optim.New(params, optim.Config{
//		Method:    optim.DefaultAdamW(),
//		LR:        schedule.Cosine{Base: 1e-3, TMax: steps},
//		ClipNorm:  1,
//		DecayMask: optim.WeightsOnly,
//	})
//	for … {
//		// fill each params[i].Grad
//		if err := opt.Step(); err != nil { … }
//	}
//
// [Config] adds what surrounds the rule: the learning-rate schedule (package
// schedule; a pure function of the step count), a momentum schedule (one-cycle
// and cyclic schedules cycle β₁ against the rate), clipping by global norm or
// by value (a transform at the head of the chain), a weight-decay mask, and
// the policy for non-finite gradients: a NaN or infinite gradient never
// reaches the parameters or the state; the step returns an error, or is
// skipped. Config.Maximize climbs instead. Parameter groups ([NewGroups])
// have their own learning rate or method.
//
// Around the optimizer: [Optimizer.Eval] and [Optimizer.Train] switch the
// parameters, exactly, between the point a method trains and the point to
// evaluate and save (Schedule-Free's y and x; the same for other methods);
// an [Averager] keeps an SWA or EMA average of the weights and swaps it in
// for evaluation (SWA's learning rate is schedule.SWALR); an [Accumulator]
// makes several micro-batches one step. Both save their state for a
// checkpoint.
//
// # Conventions
//
// Defaults and placements follow PyTorch (torch.optim, 1.13), which the
// conformance tests check to within float rounding. Where the textbook
// differs, the textbook form is an option, named as such: momentum as an
// exponential moving average (SGD.EMA), ε inside the square root
// (RMSprop.EpsInSqrt), the L2 penalty λ‖θ‖² whose gradient is 2λθ (the L2
// fields, next to PyTorch's WeightDecay, which adds λθ), and AdamW's decay
// following the schedule multiplier rather than the learning rate
// (AdamW.DecaySchedule).
//
// # Speed
//
// A step is one pass over memory per parameter, however long the chain: the
// optimizer walks each parameter in blocks small enough to stay in the L1
// cache, runs the whole chain on a block, and moves on, with blocks of large
// parameters spread over the cores. State buffers live in one slab, placed
// so that the streams a step walks in lockstep do not alias in the cache.
//
// # State
//
// [Optimizer.Save] writes the step count, every state buffer and scalar, and
// stateful schedules' state as a safetensors file keyed by parameter name;
// [Optimizer.Load] restores it into an optimizer made the same way, and the
// run continues bit for bit. A parameter missing, extra or reshaped is an
// error that names it.
package optim
