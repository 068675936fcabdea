package cli

import "github.com/spf13/cobra"

// newPackageCmd groups the standalone package tools, which work on files
// and databases directly, without the service, as SqlPackage does.
func newPackageCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "package",
		Short: "Inspect, verify, export and import BACPAC packages without the service",
	}
	addPackageInspectCmds(cmd)  // package_inspect.go
	addPackageTransferCmds(cmd) // package_transfer.go
	return cmd
}
