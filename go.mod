module github.com/descentml/descent

go 1.25.0

require github.com/nlpodyssey/safetensors v0.0.0-20250209183917-bfb01cc25f7c
