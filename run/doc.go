// Package run is the life of a run directory, the files `descent train`
// writes and `descent train --resume` and `descent eval` read:
//
//	config.json             the recipe, resolved (recipe.Recipe)
//	data.json               how the data was standardised (Data)
//	metrics.jsonl           one line per epoch (train.Epoch)
//	checkpoint.safetensors  the state to resume from, after every epoch
//	                        (a language model's: every evaluation)
//	checkpoint.prev.safetensors  the one before, resumed from when the
//	                        latest is damaged (SkippedCheckpoint says so)
//	model.safetensors       the trained model, when the run is finished
//	summary.json            its final numbers (Summary; a number that is
//	                        not finite, as an overflowing perplexity, null)
//	loss.png, accuracy.png, lr.png
//
// [New] creates a run and [Resume] opens one to continue it, for as many
// epochs as it was made for or more; [Run.Train] trains it and
// [Run.Finish] writes the model, the summary and the plots. A run
// interrupted at any point — Ctrl-C, a crash, kill -9 — resumes to a model
// byte-identical to that of a run that never stopped, and a new run that
// fails before its first checkpoint leaves its directory usable again. A
// figure that the run's numbers cannot draw is left out, and
// Run.SkippedFigures says why: it does not fail the run.
//
// The other commands' results go to a directory of their own
// ([OpenOutput]): one that holds a run, or another command's results, is
// refused ([CheckOutput]), as [New] refuses one for a run.
package run
