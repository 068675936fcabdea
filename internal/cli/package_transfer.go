package cli

import "github.com/spf13/cobra"

// addPackageTransferCmds adds "package export" and "package import".
func addPackageTransferCmds(parent *cobra.Command) {}
