package cli

import "github.com/spf13/cobra"

// addClientCmds adds the commands that talk to a bacport server over its
// HTTP API: login, resources, import/export and private link.
func addClientCmds(root *cobra.Command) {}
