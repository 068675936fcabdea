package cli

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// operationResult is the ImportExportOperationResult the status link
// serves, with the bacport fields beside the ARM ones.
type operationResult struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Type       string `json:"type"`
	Properties struct {
		RequestID        string         `json:"requestId"`
		RequestType      string         `json:"requestType"`
		QueuedTime       string         `json:"queuedTime"`
		LastModifiedTime string         `json:"lastModifiedTime"`
		BlobURI          string         `json:"blobUri"`
		ServerName       string         `json:"serverName"`
		DatabaseName     string         `json:"databaseName"`
		Status           string         `json:"status"`
		ErrorMessage     string         `json:"errorMessage,omitempty"`
		Endpoints        []endpointInfo `json:"privateEndpointConnections"`
		Phase            string         `json:"phase,omitempty"`
		ErrorCode        string         `json:"errorCode,omitempty"`
		RequestedBy      string         `json:"requestedBy,omitempty"`
	} `json:"properties"`
	Link string `json:"operationStatusLink,omitempty"`
	// StatusMessage is the cmdlet's one-line progress, from bacport's rich
	// status, e.g. "Running (data, dbo.Orders), Progress = 45.00 %".
	StatusMessage string `json:"statusMessage,omitempty"`
	// From the rich status too: where a queued job stands in the line for
	// a worker, when it started, and whether a running one has stalled.
	QueuePosition    int        `json:"queuePosition,omitempty"`
	StartedTime      *time.Time `json:"startedTime,omitempty"`
	LastProgressTime *time.Time `json:"lastProgressTime,omitempty"`
	Stalled          bool       `json:"stalled,omitempty"`
}

// fetchResult GETs the status link, which answers 202 while the job runs
// and 200 at the end, with the result in both.
func fetchResult(cmd *cobra.Command, c *apiClient, link string) (*operationResult, error) {
	var res operationResult
	if _, _, err := c.do(ctxOf(cmd), "GET", link, nil, &res); err != nil {
		return nil, err
	}
	res.Link = link
	var s richStatus
	rich := "/bacport/operations/" + res.Properties.RequestID
	if _, _, err := c.do(ctxOf(cmd), "GET", rich, nil, &s); err == nil {
		res.StatusMessage = statusMessage(&s)
		res.QueuePosition, res.StartedTime = s.QueuePosition, s.StartedTime
		res.LastProgressTime, res.Stalled = s.LastProgressTime, s.Stalled
	}
	return &res, nil
}

// statusMessage words the rich status as the cmdlets' StatusMessage.
func statusMessage(s *richStatus) string {
	what := s.Status
	if s.Phase != "" && !terminalStatus(s.Status) {
		what += " (" + s.Phase
		if s.CurrentTable != "" {
			what += ", " + s.CurrentTable
		}
		what += ")"
	}
	return fmt.Sprintf("%s, Progress = %.2f %%", what, s.Percent)
}

// printStatus prints the fields Get-AzSqlDatabaseImportExportStatus
// prints, in its order.
func printStatus(cmd *cobra.Command, r *operationResult) error {
	if outputJSON(cmd) {
		return render(cmd, r)
	}
	p := r.Properties
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "OperationStatusLink          : %s\n", r.Link)
	fmt.Fprintf(w, "RequestId                    : %s\n", p.RequestID)
	fmt.Fprintf(w, "RequestType                  : %s\n", p.RequestType)
	fmt.Fprintf(w, "Status                       : %s\n", p.Status)
	fmt.Fprintf(w, "StatusMessage                : %s\n", r.StatusMessage)
	fmt.Fprintf(w, "Phase                        : %s\n", p.Phase)
	if r.QueuePosition > 0 {
		fmt.Fprintf(w, "QueuePosition                : %d\n", r.QueuePosition)
	}
	fmt.Fprintf(w, "QueuedTime                   : %s\n", p.QueuedTime)
	if r.StartedTime != nil {
		fmt.Fprintf(w, "StartedTime                  : %s\n", r.StartedTime.Format(time.RFC3339Nano))
	}
	if r.Stalled && r.LastProgressTime != nil {
		fmt.Fprintf(w, "Stalled                      : no progress since %s (%s ago)\n",
			r.LastProgressTime.Format(time.RFC3339Nano), sinceText(time.Since(*r.LastProgressTime)))
	}
	fmt.Fprintf(w, "LastModifiedTime             : %s\n", p.LastModifiedTime)
	fmt.Fprintf(w, "ServerName                   : %s\n", p.ServerName)
	fmt.Fprintf(w, "DatabaseName                 : %s\n", p.DatabaseName)
	fmt.Fprintf(w, "BlobUri                      : %s\n", p.BlobURI)
	fmt.Fprintf(w, "ErrorMessage                 : %s\n", p.ErrorMessage)
	for _, e := range p.Endpoints {
		fmt.Fprintf(w, "PrivateEndpointRequestStatus : %s %s on %s\n", e.Status, e.Name, e.ServiceID)
	}
	return nil
}

func newStatusCmd() *cobra.Command {
	var wait, history bool
	cmd := &cobra.Command{
		Use:   "import-export-status LINK|ID",
		Short: "Show an import or export operation (Get-AzSqlDatabaseImportExportStatus)",
		Long: `Show an import or export operation: its status link (OperationStatusLink), type,
status, phase, times, blob, server, database, error and private endpoint
connections. Pass the status link that export or import printed, or just the
request ID. With --wait, follow the job live until it ends; the exit code is
then 1 for a failed job and 3 for a cancelled one. With --history, also list
what happened to it and who did it: accepted, held, each approval, started,
cancelled, finished.`,
		Example: `  bacport sql db import-export-status 6f1c2d3e-0000-4000-8000-1234567890ab --wait
  bacport sql db import-export-status 6f1c2d3e-0000-4000-8000-1234567890ab --history
  bacport sql db import-export-status \
      'https://127.0.0.1:7443/subscriptions/…/importExportOperationResults/6f1c…?api-version=…' -o json`,
		Args: cobra.ExactArgs(1),
		RunE: withClient(func(cmd *cobra.Command, c *apiClient, args []string) error {
			link, id, err := resolveOperation(cmd, c, args[0])
			if err != nil {
				return err
			}
			if wait {
				return follow(cmd, c, id, link)
			}
			r, err := fetchResult(cmd, c, link)
			if err != nil {
				return err
			}
			if history {
				return printHistory(cmd, c, r)
			}
			return printStatus(cmd, r)
		}),
	}
	cmd.Flags().BoolVar(&wait, "wait", false, "follow the operation live until it ends")
	cmd.Flags().BoolVar(&history, "history", false, "also list the operation's history")
	return cmd
}

// printHistory prints the status followed by the operation's history.
func printHistory(cmd *cobra.Command, c *apiClient, r *operationResult) error {
	var events struct {
		Value []historyEvent `json:"value"`
	}
	path := "/bacport/operations/" + r.Properties.RequestID + "/history"
	if _, _, err := c.do(ctxOf(cmd), "GET", path, nil, &events); err != nil {
		return err
	}
	if outputJSON(cmd) {
		return render(cmd, map[string]any{"result": r, "history": events.Value})
	}
	if err := printStatus(cmd, r); err != nil {
		return err
	}
	w := cmd.OutOrStdout()
	fmt.Fprintln(w, "History:")
	for _, e := range events.Value {
		who := ""
		if e.Principal != "" {
			who = " (" + e.Principal + ")"
		}
		fmt.Fprintf(w, "  %s  %-24s %s%s\n", e.At.Local().Format(time.RFC3339), e.Event, oneLine(e.Message), who)
	}
	return nil
}

var uuidRE = regexp.MustCompile(
	`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// resolveOperation turns a status link or a request ID into both.
func resolveOperation(cmd *cobra.Command, c *apiClient, arg string) (link, id string, err error) {
	if strings.Contains(arg, "/importExportOperationResults/") {
		u, err := url.Parse(arg)
		if err != nil {
			return "", "", usageError{fmt.Errorf("read the status link: %w", err)}
		}
		id = u.Path[strings.LastIndexByte(u.Path, '/')+1:]
		return arg, id, nil
	}
	if !uuidRE.MatchString(arg) {
		return "", "", usageError{errors.New("pass the operation status link or the request ID " +
			"that export or import printed")}
	}
	var s richStatus
	if _, _, err := c.do(ctxOf(cmd), "GET", "/bacport/operations/"+arg, nil, &s); err != nil {
		return "", "", err
	}
	// The link carries the server's location; the server ignores it, so
	// a deleted server still leaves a working link.
	srv := struct {
		Location string `json:"location"`
	}{Location: "local"}
	c.do(ctxOf(cmd), "GET", s.ServerID, nil, &srv)
	parts := strings.Split(strings.TrimPrefix(s.ServerID, "/"), "/")
	if len(parts) < 2 {
		return "", "", fmt.Errorf("operation %s names no server", arg)
	}
	sub := parts[1]
	link = c.url("/subscriptions/" + sub + "/providers/Microsoft.Sql/locations/" +
		url.PathEscape(srv.Location) + "/importExportOperationResults/" + arg)
	return link, arg, nil
}
