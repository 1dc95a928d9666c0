// Command bench measures multiserver's stacks next to their limits (raw
// TCP, the ciphers on one core) and their peers (go-libp2p, quic-go,
// JavaScript multiserver), all in one run on loopback, and prints a table
// and the targets, met or not. It writes the same as JSON.
//
//	cd bench && go run . [-runs 3] [-json bench-results.json] [-only REGEX] [-quick] [-cpuprofile FILE] [-memprofile FILE]
//
// Every figure is the median of -runs rounds, with min and max, and also
// a ratio to its references measured in the same round: absolute numbers
// drift on a shared machine, ratios much less. README.md says how to read
// the results.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"runtime/pprof"
)

func main() {
	if childMain() {
		return
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run runs the suite with the command line args, prints the table to
// stdout and progress to stderr, and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	runs := fs.Int("runs", 3, "rounds to run; each figure is their median")
	jsonPath := fs.String("json", "bench-results.json", "write the results as JSON to this file (empty: don't)")
	only := fs.String("only", "", "run only the figures whose \"ROW MEASURE\" matches this regular expression")
	quick := fs.Bool("quick", false, "a fast smoke run: short windows, few connections, 1 round unless -runs is given")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file (with -only, of one measure)")
	memProfile := fs.String("memprofile", "", "write a heap profile of each memory measure's open connections to FILE.ROW")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "bench: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	o := fullOptions()
	if *quick {
		o = quickOptions()
	}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "runs" {
			o.runs = *runs
		}
	})
	if o.runs < 1 {
		fmt.Fprintln(stderr, "bench: -runs must be at least 1")
		return 2
	}
	if *only != "" {
		re, err := regexp.Compile(*only)
		if err != nil {
			fmt.Fprintf(stderr, "bench: -only: %v\n", err)
			return 2
		}
		o.only = re
	}
	o.log = stderr
	o.memProf = *memProfile
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintf(stderr, "bench: %v\n", err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(stderr, "bench: %v\n", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rep := runSuite(ctx, &o)
	rep.writeTable(stdout)
	if *jsonPath != "" {
		if err := rep.writeJSON(*jsonPath); err != nil {
			fmt.Fprintf(stderr, "bench: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "\nresults: %s\n", *jsonPath)
	}
	return 0
}
