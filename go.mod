module github.com/descentml/descent

go 1.25.0
