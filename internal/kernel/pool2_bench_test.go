package kernel

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkPool2Planes measures the fused 2×2 max-pool of a convolution's
// product and its gradient on the small CNN's two layers: a chunk of two
// images' planes (16 of 26×26, 32 of 11×11), rows of the product two
// images wide, as Conv2DReLUPool calls them.
func BenchmarkPool2Planes(b *testing.B) {
	for _, c := range []struct{ h, w, planes int }{{26, 26, 16}, {11, 11, 32}} {
		rng := rand.New(rand.NewPCG(1, 2))
		ldx, q := 2*c.h*c.w, (c.h/2)*(c.w/2)
		x := make([]float32, c.planes*ldx)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		bias := make([]float32, c.planes)
		y, g := make([]float32, c.planes*q), make([]float32, c.planes*q)
		codes := make([]uint8, c.planes*q)
		name := fmt.Sprintf("%dx%dx%d", c.planes, c.h, c.w)
		b.Run("BiasReLUMaxPool2/"+name, func(b *testing.B) {
			b.SetBytes(int64(4 * 2 * c.planes * c.h * c.w))
			b.ReportAllocs()
			for range b.N {
				for img := range 2 {
					BiasReLUMaxPool2Planes(c.h, c.w, c.planes, bias, x[img*c.h*c.w:], ldx, y, codes, q)
				}
			}
		})
		b.Run("ReLUMaxPool2Grad/"+name, func(b *testing.B) {
			b.SetBytes(int64(4 * 2 * c.planes * c.h * c.w))
			b.ReportAllocs()
			for range b.N {
				for img := range 2 {
					ReLUMaxPool2GradPlanes(c.h, c.w, c.planes, y, g, codes, q, x[img*c.h*c.w:], ldx)
				}
			}
		})
	}
}
