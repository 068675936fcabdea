package cli

import (
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"time"

	"golang.org/x/term"
)

// richStatus is bacport's own status of an operation (GET
// /bacport/operations/{id}), richer than the ARM result: phase, current
// table, rows, bytes, throughput and ETA, the queue position of a queued
// job and whether a running one has stalled.
type richStatus struct {
	ID                         string         `json:"id"`
	RequestType                string         `json:"requestType"`
	Kind                       string         `json:"kind"`
	ServerID                   string         `json:"serverId"`
	DatabaseName               string         `json:"databaseName"`
	BlobURI                    string         `json:"blobUri"`
	Status                     string         `json:"status"`
	Phase                      string         `json:"phase"`
	CurrentTable               string         `json:"currentTable"`
	Percent                    float64        `json:"percent"`
	Rows                       int64          `json:"rows"`
	Bytes                      int64          `json:"bytes"`
	BytesPerSecond             float64        `json:"bytesPerSecond"`
	ETASeconds                 float64        `json:"etaSeconds"`
	QueuePosition              int            `json:"queuePosition"`
	StartedTime                *time.Time     `json:"startedTime"`
	LastProgressTime           *time.Time     `json:"lastProgressTime"`
	Stalled                    bool           `json:"stalled"`
	CancelRequested            bool           `json:"cancelRequested"`
	Error                      *opError       `json:"error"`
	PrivateEndpointConnections []endpointInfo `json:"privateEndpointConnections"`
}

type opError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// endpointInfo is a private endpoint connection an operation owns, as the
// operation result and the rich status list it.
type endpointInfo struct {
	Name      string `json:"privateEndpointConnectionName"`
	ServiceID string `json:"privateLinkServiceId"` // the server or storage account
	Status    string `json:"status"`
}

// connectionID is the connection's resource ID, the argument of
// `bacport private-link approve`.
func (e endpointInfo) connectionID() string {
	return strings.TrimRight(e.ServiceID, "/") + "/privateEndpointConnections/" + e.Name
}

// historyEvent is one entry of an operation's history.
type historyEvent struct {
	Seq       int64     `json:"seq"`
	At        time.Time `json:"time"`
	Event     string    `json:"event"`
	Status    string    `json:"status"`
	Phase     string    `json:"phase"`
	Message   string    `json:"message"`
	Principal string    `json:"principal"`
}

// Operation statuses of the rich status.
const (
	statusQueued    = "Queued"
	statusWaiting   = "WaitingForApproval"
	statusSucceeded = "Succeeded"
	statusFailed    = "Failed"
	statusCancelled = "Cancelled"
)

func terminalStatus(s string) bool {
	return s == statusSucceeded || s == statusFailed || s == statusCancelled
}

// progressView draws a job's progress on w: on a terminal one line redrawn
// in place (carriage return, erase line), elsewhere plain lines written
// only when something worth a line changes, so logs stay short.
type progressView struct {
	w     io.Writer
	tty   bool
	width int  // terminal columns, 0 when unknown
	drawn bool // a bar is on the current line

	lastSeq     int64
	lastLine    string
	lastKey     string // phase and table of the last plain line
	lastPercent float64
	lastTime    time.Time
	advised     string // pending endpoints already explained
}

func newProgressView(w io.Writer) *progressView {
	v := &progressView{w: w, tty: isTerminalWriter(w)}
	if v.tty {
		v.width, _, _ = term.GetSize(int(w.(*os.File).Fd()))
	}
	return v
}

// fit cuts a line to the terminal's width: a line that wrapped could not
// be redrawn in place.
func (v *progressView) fit(line string) string {
	if v.width <= 1 {
		return line
	}
	r := []rune(line)
	if len(r) < v.width {
		return line
	}
	return string(r[:v.width-2]) + "…"
}

// isTerminalWriter reports whether w is a terminal.
func isTerminalWriter(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// history prints a history entry once, above the bar on a terminal.
func (v *progressView) history(e historyEvent) {
	if e.Seq != 0 && e.Seq <= v.lastSeq {
		return
	}
	v.lastSeq = e.Seq
	if e.Event == "phase" {
		return // the progress line shows phases
	}
	who := ""
	if e.Principal != "" && e.Event != "started" {
		who = " (" + e.Principal + ")"
	}
	v.println(fmt.Sprintf("%s  %s: %s%s", e.At.Local().Format("15:04:05"), e.Event, e.Message, who))
}

// update shows the status.
func (v *progressView) update(s *richStatus) {
	if s.Status == statusWaiting {
		v.advise(s)
	}
	line := describe(s)
	if v.tty {
		line = v.fit(line)
		if line != v.lastLine || !v.drawn {
			fmt.Fprintf(v.w, "\r\x1b[2K%s", line)
			v.drawn, v.lastLine = true, line
		}
		return
	}
	key := fmt.Sprintf("%s/%s/%s/%d/%v", s.Status, s.Phase, s.CurrentTable, s.QueuePosition, s.Stalled)
	step := s.Percent-v.lastPercent >= 10 || time.Since(v.lastTime) >= 5*time.Second
	if key != v.lastKey || step && line != v.lastLine {
		fmt.Fprintln(v.w, line)
		v.lastKey, v.lastLine, v.lastPercent, v.lastTime = key, line, s.Percent, time.Now()
	}
}

// advise says which endpoints on which resources hold the job, and the
// exact commands that approve them; again only when that set changes.
func (v *progressView) advise(s *richStatus) {
	var pending []endpointInfo
	key := ""
	for _, e := range s.PrivateEndpointConnections {
		if strings.EqualFold(e.Status, "Pending") {
			pending = append(pending, e)
			key += e.connectionID() + ";"
		}
	}
	if len(pending) == 0 {
		if len(s.PrivateEndpointConnections) == 0 {
			key = "none"
		}
		if key == "none" && v.advised != key {
			v.println("The job is on hold until its private endpoints are created and approved.")
		}
		v.advised = key
		return
	}
	if key == v.advised {
		return
	}
	v.advised = key
	var b strings.Builder
	fmt.Fprintf(&b, "The job is on hold until the owners approve its private endpoints:\n")
	for _, e := range s.PrivateEndpointConnections {
		fmt.Fprintf(&b, "  %-9s %s on %s %s\n", e.Status, e.Name, resourceKind(e.ServiceID), e.ServiceID)
	}
	fmt.Fprintf(&b, "Approve them with:\n")
	for _, e := range pending {
		fmt.Fprintf(&b, "  bacport private-link approve %s\n", e.connectionID())
	}
	v.println(strings.TrimSuffix(b.String(), "\n"))
}

// resourceKind names the kind of resource an ARM id points at.
func resourceKind(id string) string {
	switch l := strings.ToLower(id); {
	case strings.Contains(l, "/microsoft.sql/servers/"):
		return "SQL server"
	case strings.Contains(l, "/microsoft.storage/storageaccounts/"):
		return "storage account"
	}
	return "resource"
}

// println writes a line of text, lifting the bar out of the way first.
func (v *progressView) println(text string) {
	if v.tty && v.drawn {
		fmt.Fprint(v.w, "\r\x1b[2K")
	}
	fmt.Fprintln(v.w, text)
	if v.tty && v.drawn {
		fmt.Fprint(v.w, v.lastLine)
	}
}

// done ends the bar's line.
func (v *progressView) done() {
	if v.tty && v.drawn {
		fmt.Fprintln(v.w)
		v.drawn = false
	}
}

// describe renders one progress line: bar, percent, phase (with the
// queue position while queued), table, rows, bytes, throughput and ETA,
// and how long a stalled job has not moved.
func describe(s *richStatus) string { return describeAt(s, time.Now()) }

func describeAt(s *richStatus, now time.Time) string {
	const width = 24
	filled := min(max(int(s.Percent/100*width), 0), width)
	bar := "[" + strings.Repeat("#", filled) + strings.Repeat(".", width-filled) + "]"
	phase := s.Phase
	if phase == "" || s.Status == statusWaiting || terminalStatus(s.Status) {
		phase = s.Status
	}
	if s.Status == statusQueued && s.QueuePosition > 0 {
		phase = fmt.Sprintf("queued, position %d", s.QueuePosition)
	}
	parts := []string{bar, fmt.Sprintf("%5.1f%%", s.Percent), phase}
	if s.CurrentTable != "" && !terminalStatus(s.Status) {
		parts = append(parts, s.CurrentTable)
	}
	if s.Rows > 0 || s.Bytes > 0 {
		parts = append(parts, fmt.Sprintf("%d rows", s.Rows), formatBytes(s.Bytes))
	}
	if s.BytesPerSecond > 0 {
		parts = append(parts, formatBytes(int64(s.BytesPerSecond))+"/s")
	}
	if s.ETASeconds > 0 && !terminalStatus(s.Status) {
		// Whole seconds, rounded up: "ETA 0s" would claim the job is done.
		parts = append(parts, "ETA "+(time.Duration(math.Ceil(s.ETASeconds))*time.Second).String())
	}
	if s.Stalled && s.LastProgressTime != nil && !terminalStatus(s.Status) {
		parts = append(parts, "no progress for "+sinceText(now.Sub(*s.LastProgressTime))+" — stalled?")
	}
	if s.CancelRequested && !terminalStatus(s.Status) {
		parts = append(parts, "(cancelling)")
	}
	return strings.Join(parts, "  ")
}

// sinceText words how long a job has not moved: whole minutes from a
// minute on (so a plain log gets a new line a minute, not a second),
// seconds below.
func sinceText(d time.Duration) string {
	switch {
	case d >= time.Hour:
		return fmt.Sprintf("%dh%dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
	case d >= time.Minute:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	}
	return fmt.Sprintf("%ds", max(int(d/time.Second), 0))
}
