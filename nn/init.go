package nn

import (
	"math"
	"math/rand/v2"

	"github.com/descentml/descent/tensor"
)

// kaimingUniform fills w from U(−b, b) with b = 1/√fanIn: PyTorch's default
// initialisation of Linear and Conv2d weights, kaiming_uniform_ with
// a = √5, whose bound gain·√(3/fan_in) with gain = √(2/(1 + a²)) reduces to
// 1/√fan_in. PyTorch draws the biases from the same U(−1/√fan_in,
// 1/√fan_in), so this fills them too.
func kaimingUniform[T tensor.Float](w []T, fanIn int, rng *rand.Rand) {
	if rng == nil {
		panic("nn: nil rng for initialisation")
	}
	if fanIn <= 0 {
		clear(w)
		return
	}
	bound := 1 / math.Sqrt(float64(fanIn))
	for i := range w {
		w[i] = T((2*rng.Float64() - 1) * bound)
	}
}
