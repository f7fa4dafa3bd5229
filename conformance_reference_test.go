package descent_test

import (
	"fmt"
	"math"
	"strconv"

	"github.com/descentml/descent/optim"
)

// methodFromReference maps the optimizers ported from their authors'
// reference code (the conformance README's "Newer optimizers" and "More
// optimizers") to Methods, reading every key the files write out. It
// reports false for a name it does not know.
func methodFromReference(c *conf, k *kwargs, name string) (optim.Method, bool) {
	switch name {
	case "Muon":
		m := optim.DefaultMuon()
		m.WeightDecay = k.float("weight_decay", m.WeightDecay)
		m.Momentum = k.float("momentum", m.Momentum)
		m.Nesterov = k.bool("nesterov", m.Nesterov)
		coef := m.NSCoefficients[:]
		if k.get("ns_coefficients", &coef) && len(coef) != 3 {
			c.Errorf("Muon.ns_coefficients = %v: want three values", coef)
		} else {
			m.NSCoefficients = [3]float64(coef)
		}
		m.Eps = k.float("eps", m.Eps)
		m.NSSteps = k.int("ns_steps", m.NSSteps)
		var adjust *string
		k.get("adjust_lr_fn", &adjust)
		switch {
		case adjust == nil || *adjust == "original":
		case *adjust == "match_rms_adamw":
			m.MatchRMSAdamW = true
		default:
			c.Errorf("Muon: unknown adjust_lr_fn %q", *adjust)
		}
		return m, true
	case "Prodigy":
		m := optim.DefaultProdigy()
		m.Beta1, m.Beta2 = k.betas(m.Beta1, m.Beta2)
		var b3 *float64
		if k.get("beta3", &b3) && b3 != nil {
			m.Beta3 = *b3
		}
		m.Eps = k.float("eps", m.Eps)
		m.WeightDecay = k.float("weight_decay", 0)
		m.Decouple = k.bool("decouple", true)
		m.UseBiasCorrection = k.bool("use_bias_correction", false)
		m.SafeguardWarmup = k.bool("safeguard_warmup", false)
		m.D0 = k.float("d0", m.D0)
		m.DCoef = k.float("d_coef", m.DCoef)
		if g := k.float("growth_rate", math.Inf(1)); !math.IsInf(g, 1) {
			m.GrowthRate = g
		}
		if k.int("slice_p", 1) != 1 || k.bool("fsdp_in_use", false) {
			c.Errorf("Prodigy: slice_p other than 1 and fsdp_in_use are not supported")
		}
		return m, true
	case "SOAP":
		m := optim.DefaultSOAP()
		m.Beta1, m.Beta2 = k.betas(m.Beta1, m.Beta2)
		m.ShampooBeta = k.float("shampoo_beta", m.ShampooBeta)
		m.Eps = k.float("eps", m.Eps)
		m.WeightDecay = k.float("weight_decay", m.WeightDecay)
		m.PreconditionFrequency = k.int("precondition_frequency", m.PreconditionFrequency)
		m.MaxPrecondDim = k.int("max_precond_dim", m.MaxPrecondDim)
		m.CorrectBias = k.bool("correct_bias", m.CorrectBias)
		if df := k.str("data_format", "channels_first"); df != "channels_first" {
			c.Errorf("SOAP: data_format %q is not supported", df)
		}
		if k.bool("merge_dims", false) || k.bool("precondition_1d", false) || k.bool("normalize_grads", false) {
			c.Errorf("SOAP: merge_dims, precondition_1d and normalize_grads are not supported")
		}
		return m, true
	case "LAMB":
		m := optim.DefaultLAMB()
		m.Beta1, m.Beta2 = k.betas(m.Beta1, m.Beta2)
		m.Eps = k.float("eps", m.Eps)
		m.EpsRoot = k.float("eps_root", 0)
		m.WeightDecay = k.float("weight_decay", 0)
		m.DecayMask = maskOf(c, k, "weight_decay_mask")
		return m, true
	case "LARS":
		m := optim.DefaultLARS()
		m.WeightDecay = k.float("weight_decay", 0)
		m.DecayMask = maskOf(c, k, "weight_decay_mask")
		m.TrustCoefficient = k.float("trust_coefficient", m.TrustCoefficient)
		m.Eps = k.float("eps", 0)
		m.TrustMask = maskOf(c, k, "trust_ratio_mask")
		m.Momentum = k.float("momentum", m.Momentum)
		m.Nesterov = k.bool("nesterov", false)
		return m, true
	}
	return nil, false
}

// maskOf reads a mask given as one boolean per parameter tensor (optax's
// mask over a list of parameters) as a function of the parameters' names,
// which are their positions.
func maskOf(c *conf, k *kwargs, key string) func(string, []int) bool {
	var list []bool
	if !k.get(key, &list) {
		return nil
	}
	return func(name string, _ []int) bool {
		i, err := strconv.Atoi(name)
		if err != nil || i >= len(list) {
			c.Errorf("%s: no entry for parameter %q", key, name)
			return false
		}
		return list[i]
	}
}

// checkReferenceStep checks the per-step fields of the reference ports:
// Prodigy's estimate d, with the file's rtol alone (d starts near 1e-6,
// below float32's atol), and the trust ratios of LAMB and LARS.
func checkReferenceStep[T optim.Float](c *conf, step int, o *optim.Optimizer[T], d *float64, ratios []float64) {
	if d != nil {
		got, ok := optim.ProdigyD(o, 0)
		if !ok {
			c.Errorf("step %d: the file gives d, but the optimizer has no Prodigy estimate", step)
		} else if math.Abs(got-*d) > c.tol.Rtol*math.Abs(*d) {
			c.Errorf("step %d: d = %.17g; want %.17g (rtol %g)", step, got, *d, c.tol.Rtol)
		}
	}
	if ratios != nil {
		for _, tr := range o.Transforms(0) {
			if r, ok := tr.(*optim.ScaleByTrustRatio[T]); ok {
				c.near(fmt.Sprintf("step %d: trust_ratios", step), r.Ratios(), ratios)
				return
			}
		}
		c.Errorf("step %d: the file gives trust ratios, but the optimizer has no trust ratio", step)
	}
}
