//go:build !unix

package main

import "os/exec"

// killGroupOnCancel leaves cmd as it is: when its context ends, os/exec
// kills the process itself.
func killGroupOnCancel(*exec.Cmd) {}
