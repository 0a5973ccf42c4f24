//go:build !race

package api

// raceEnabled says the tests run under the race detector.
const raceEnabled = false
