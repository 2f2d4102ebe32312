// Package bench measures the connector end to end: Freshchat simulator →
// connector process → Kafka (kfake), with exactly-once on, against a plain
// pipeline of the typical kind (bench/baseline) over the same report.
//
// The bench process hosts the environment: the simulator, whose report is
// generated once, untimed (see [Generate]), and a kfake broker (see
// [Kafka]). What is measured runs in a child process of its own
// ([Measure]), so its CPU time and peak RSS come from the kernel's
// accounting of that process alone (wait4 rusage), not from the broker or
// the simulator next to it.
//
// bench/cmd/e2ebench is the command; bench/run.sh repeats it and compares
// runs with benchstat; BENCHMARKS.md records the figures.
package bench
