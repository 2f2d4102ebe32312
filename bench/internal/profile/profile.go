// Package profile writes the CPU and allocation profiles of a benchmark
// child process. It is small on purpose: the children link it, and nothing
// else of the benchmark, so their memory is their own.
package profile

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
)

// Start begins a CPU profile into cpuPath (if not empty) and returns the
// function that stops it and writes the allocation profile into memPath (if
// not empty). Either path may be empty; with both empty it does nothing.
func Start(cpuPath, memPath string) (stop func() error, err error) {
	var cpu *os.File
	if cpuPath != "" {
		if cpu, err = os.Create(cpuPath); err != nil {
			return nil, fmt.Errorf("cpu profile: %w", err)
		}
		if err := pprof.StartCPUProfile(cpu); err != nil {
			cpu.Close()
			return nil, fmt.Errorf("cpu profile: %w", err)
		}
	}
	return func() error {
		var errs error
		if cpu != nil {
			pprof.StopCPUProfile()
			errs = errors.Join(errs, cpu.Close())
		}
		if memPath != "" {
			errs = errors.Join(errs, writeAllocs(memPath))
		}
		return errs
	}, nil
}

// writeAllocs writes the allocation profile (alloc_space, alloc_objects and
// the in-use figures) of the whole run.
func writeAllocs(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("allocation profile: %w", err)
	}
	runtime.GC() // the in-use figures are those after the last GC
	err = pprof.Lookup("allocs").WriteTo(f, 0)
	return errors.Join(err, f.Close())
}
