package cli

import "github.com/spf13/cobra"

// addPackageInspectCmds adds "package inspect" and "package verify".
func addPackageInspectCmds(parent *cobra.Command) {}
