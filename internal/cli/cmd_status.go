package cli

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// operationResult is the ImportExportOperationResult the status link
// serves, with the bacport progress fields it may carry beside them.
type operationResult struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Properties struct {
		RequestID        string `json:"requestId"`
		RequestType      string `json:"requestType"`
		QueuedTime       string `json:"queuedTime"`
		LastModifiedTime string `json:"lastModifiedTime"`
		BlobURI          string `json:"blobUri"`
		ServerName       string `json:"serverName"`
		DatabaseName     string `json:"databaseName"`
		Status           string `json:"status"`
		ErrorMessage     string `json:"errorMessage"`
		Endpoints        []struct {
			Name    string `json:"privateEndpointConnectionName"`
			Service string `json:"privateLinkServiceId"`
			Status  string `json:"status"`
		} `json:"privateEndpointConnections"`
	} `json:"properties"`
	Link string `json:"operationStatusLink,omitempty"`
}

func fetchStatus(cmd *cobra.Command, c *apiClient, link string) (*operationResult, error) {
	var res operationResult
	if _, _, err := c.do(ctxOf(cmd), "GET", link, nil, &res); err != nil {
		return nil, err
	}
	res.Link = link
	return &res, nil
}

// printStatus prints the fields Get-AzSqlDatabaseImportExportStatus prints.
func printStatus(cmd *cobra.Command, r *operationResult) error {
	if outputJSON(cmd) {
		return render(cmd, r)
	}
	p := r.Properties
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "OperationStatusLink : %s\n", r.Link)
	fmt.Fprintf(w, "RequestType         : %s\n", p.RequestType)
	fmt.Fprintf(w, "Status              : %s\n", p.Status)
	fmt.Fprintf(w, "QueuedTime          : %s\n", p.QueuedTime)
	fmt.Fprintf(w, "LastModifiedTime    : %s\n", p.LastModifiedTime)
	fmt.Fprintf(w, "ServerName          : %s\n", p.ServerName)
	fmt.Fprintf(w, "DatabaseName        : %s\n", p.DatabaseName)
	fmt.Fprintf(w, "BlobUri             : %s\n", p.BlobURI)
	fmt.Fprintf(w, "ErrorMessage        : %s\n", p.ErrorMessage)
	for _, e := range p.Endpoints {
		fmt.Fprintf(w, "PrivateEndpoint     : %s on %s: %s\n", e.Name, e.Service, e.Status)
	}
	return nil
}

func newStatusCmd() *cobra.Command {
	var wait bool
	cmd := &cobra.Command{
		Use:   "import-export-status LINK",
		Short: "Show an import or export operation (Get-AzSqlDatabaseImportExportStatus)",
		Example: `  bacport sql db import-export-status \
      'https://127.0.0.1:8443/subscriptions/…/importExportOperationResults/ID?api-version=…' --wait`,
		Args: cobra.ExactArgs(1),
		RunE: withClient(func(cmd *cobra.Command, c *apiClient, args []string) error {
			link := args[0]
			if !strings.Contains(link, "importExportOperationResults") {
				return usageError{errors.New("pass the operation status link that export or import printed")}
			}
			if wait {
				return follow(cmd, c, link)
			}
			r, err := fetchStatus(cmd, c, link)
			if err != nil {
				return err
			}
			return printStatus(cmd, r)
		}),
	}
	cmd.Flags().BoolVar(&wait, "wait", false, "follow the operation until it ends")
	return cmd
}

// terminal states of an ImportExportOperationResult.
func isDone(status string) bool {
	switch strings.ToLower(status) {
	case "completed", "succeeded", "failed", "cancelled", "canceled":
		return true
	}
	return false
}

// follow polls an operation until it ends, drawing progress, and maps its
// outcome to the exit code.
func follow(cmd *cobra.Command, c *apiClient, link string) error {
	view := newProgressView(cmd)
	for {
		r, err := fetchStatus(cmd, c, link)
		if err != nil {
			view.done()
			return err
		}
		rich, _ := fetchProgress(cmd, c, r.Properties.RequestID)
		view.update(r, rich)
		if isDone(r.Properties.Status) {
			view.done()
			if err := printStatus(cmd, r); err != nil {
				return err
			}
			switch strings.ToLower(r.Properties.Status) {
			case "failed":
				return &ExitError{Code: ExitFailure, Err: fmt.Errorf("the %s failed: %s",
					strings.ToLower(r.Properties.RequestType), r.Properties.ErrorMessage)}
			case "cancelled", "canceled":
				return &ExitError{Code: ExitCancelled, Err: fmt.Errorf("the %s was cancelled",
					strings.ToLower(r.Properties.RequestType))}
			}
			return nil
		}
		select {
		case <-ctxOf(cmd).Done():
			view.done()
			return ctxOf(cmd).Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// isTerminal reports whether the command writes to a terminal.
func isTerminal(cmd *cobra.Command) bool {
	f, ok := cmd.OutOrStdout().(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
