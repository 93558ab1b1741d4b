// Package buildinfo reports what the running binary was built from.
package buildinfo

import "runtime/debug"

// Version returns the module version and the first 12 characters of the
// VCS revision, as far as the Go toolchain recorded them, or "unknown".
func Version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}

	v := info.Main.Version
	for _, setting := range info.Settings {
		if setting.Key == "vcs.revision" && len(setting.Value) >= 12 {
			v += " (" + setting.Value[:12] + ")"
		}
	}

	return v
}
