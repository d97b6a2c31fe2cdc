module faro.dev/bench/replay

go 1.26
