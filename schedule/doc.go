// Package schedule gives hyperparameters — the learning rate, and for
// one-cycle and cyclic schedules the momentum — a value at every step.
//
// A [Schedule] is a pure function of the step: At(step) is the value that
// optimizer step number step+1 uses, so At(0) is the first step's value. The
// optimizer owns the step count; nothing here counts steps or remembers the
// previous rate, so a schedule can be evaluated at any step in any order, and
// resuming a run needs only the step number. A plain [Constant] satisfies the
// same interface.
//
// The schedules reproduce PyTorch's torch.optim.lr_scheduler values (1.13)
// when the scheduler is stepped once after each optimizer step: [Step]
// (StepLR), [MultiStep], [Exponential], [Cosine] (CosineAnnealingLR, also
// past TMax), [CosineRestarts] (CosineAnnealingWarmRestarts), [Linear]
// (LinearLR, the usual warmup), [Polynomial], [OneCycle], [Cyclic]. Composite
// schedules are built from simple ones: [Join] runs one schedule after another
// (warmup then cosine is a Join of a Linear and a Cosine), as SequentialLR
// does. [Every] holds each value for N steps, for schedules written in
// epochs. [SWALR] (torch.optim.swa_utils.SWALR) is the rate of stochastic
// weight averaging, joined after a base schedule where SWA begins.
//
// Each schedule's Validate refuses what would make a value that no run can
// use: a rate that is negative or not finite (NaN, ±Inf), a period or
// length below 1. The optimizer validates its schedules when it is made.
// At is defined without it: a length below 1 counts as 1, so At never
// divides by zero or loops, and the zero value of every schedule is 0 at
// every step; a NaN or infinite field still gives what the formula makes
// of it.
//
// [Plateau] (ReduceLROnPlateau) is the one stateful schedule: it lowers the
// rate when a metric stops improving, so its value depends on the metrics it
// was shown through [Plateau.Observe], and its state is saved with the
// optimizer's.
package schedule
