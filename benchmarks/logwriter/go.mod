module github.com/faro-k8s/faro/benchmarks/logwriter

go 1.26
